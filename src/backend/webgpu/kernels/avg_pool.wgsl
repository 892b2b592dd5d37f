// Twins of backend::cpu::avg_pool2d_ref (padding counted as zeros) and avg_pool2d_backward_ref.
// p: [N, C, H, W, KH, KW, SH, SW, PH, PW, OH, OW].
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(256)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(gid, groups);
    let h = p[2]; let w = p[3]; let oh = p[10]; let ow = p[11];
    if (i >= p[0] * p[1] * oh * ow) {
        return;
    }
    let ox = i % ow;
    let oy = (i / ow) % oh;
    let plane = i / (ow * oh);
    var s = 0.0;
    for (var ki = 0u; ki < p[4]; ki++) {
        let iy = i32(oy * p[6] + ki) - i32(p[8]);
        if (iy < 0 || iy >= i32(h)) {
            continue;
        }
        for (var kj = 0u; kj < p[5]; kj++) {
            let ix = i32(ox * p[7] + kj) - i32(p[9]);
            if (ix >= 0 && ix < i32(w)) {
                s += src[plane * h * w + u32(iy) * w + u32(ix)];
            }
        }
    }
    dst[i] = s * (1.0 / f32(p[4] * p[5]));
}

@compute @workgroup_size(256)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(gid, groups);
    let h = p[2]; let w = p[3]; let sh = p[6]; let sw = p[7]; let oh = p[10]; let ow = p[11];
    if (i >= p[0] * p[1] * h * w) {
        return;
    }
    let ix = i % w;
    let iy = (i / w) % h;
    let plane = i / (w * h);
    let scale = 1.0 / f32(p[4] * p[5]);
    var s = 0.0;
    for (var ki = 0u; ki < p[4]; ki++) {
        let ty = i32(iy + p[8]) - i32(ki);
        if (ty < 0 || u32(ty) % sh != 0u || u32(ty) / sh >= oh) {
            continue;
        }
        for (var kj = 0u; kj < p[5]; kj++) {
            let tx = i32(ix + p[9]) - i32(kj);
            if (tx < 0 || u32(tx) % sw != 0u || u32(tx) / sw >= ow) {
                continue;
            }
            s += src[(plane * oh + u32(ty) / sh) * ow + u32(tx) / sw] * scale;
        }
    }
    dst[i] = s;
}
