// Twins of backend::cpu::max_pool2d_ref / avg_pool2d_ref and their adjoints. x: (N, C, H, W),
// out: (N, C, OH, OW). p: [N, C, H, W, KH, KW, SH, SW, PH, PW, OH, OW]. `idx` holds each window's
// argmax as a flat index into x.
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
@group(0) @binding(3) var<storage, read_write> idx: array<u32>;

@compute @workgroup_size(256)
fn max_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(gid, groups);
    let h = p[2]; let w = p[3]; let oh = p[10]; let ow = p[11];
    if (i >= p[0] * p[1] * oh * ow) {
        return;
    }
    let ox = i % ow;
    let oy = (i / ow) % oh;
    let plane = i / (ow * oh);
    var best = -inf();
    var at = 0xffffffffu;
    for (var ki = 0u; ki < p[4]; ki++) {
        let iy = i32(oy * p[6] + ki) - i32(p[8]);
        if (iy < 0 || iy >= i32(h)) {
            continue;
        }
        for (var kj = 0u; kj < p[5]; kj++) {
            let ix = i32(ox * p[7] + kj) - i32(p[9]);
            if (ix < 0 || ix >= i32(w)) {
                continue;
            }
            let j = plane * h * w + u32(iy) * w + u32(ix);
            let v = src[j];
            if (at == 0xffffffffu || v > best || (is_nan(v) && !is_nan(best))) {
                best = v;
                at = j;
            }
        }
    }
    dst[i] = best;
    idx[i] = at;
}

// One thread per element of x: the sum of the gradients of the windows whose argmax it is.
@compute @workgroup_size(256)
fn max_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(gid, groups);
    let h = p[2]; let w = p[3]; let sh = p[6]; let sw = p[7]; let oh = p[10]; let ow = p[11];
    if (i >= p[0] * p[1] * h * w) {
        return;
    }
    let ix = i % w;
    let iy = (i / w) % h;
    let plane = i / (w * h);
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
            let o = (plane * oh + u32(ty) / sh) * ow + u32(tx) / sw;
            if (idx[o] == i) {
                s += src[o];
            }
        }
    }
    dst[i] = s;
}
