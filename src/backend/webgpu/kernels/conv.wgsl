// Twins of backend::cpu::im2col_ref and col2im_ref. x: (N, C, H, W), cols: (C·KH·KW, N·OH·OW).
// p: [N, C, H, W, KH, KW, SH, SW, PH, PW, OH, OW].
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

// One thread per element of cols: row (c, ki, kj), column (n, oy, ox); padding reads 0.
@compute @workgroup_size(256)
fn im2col(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(gid, groups);
    let n = p[0]; let c = p[1]; let h = p[2]; let w = p[3];
    let kh = p[4]; let kw = p[5]; let oh = p[10]; let ow = p[11];
    let width = n * oh * ow;
    if (i >= c * kh * kw * width) {
        return;
    }
    let row = i / width;
    let col = i % width;
    let kj = row % kw;
    let ki = (row / kw) % kh;
    let ci = row / (kw * kh);
    let ox = col % ow;
    let oy = (col / ow) % oh;
    let ni = col / (ow * oh);
    let iy = i32(oy * p[6] + ki) - i32(p[8]);
    let ix = i32(ox * p[7] + kj) - i32(p[9]);
    var v = 0.0;
    if (iy >= 0 && iy < i32(h) && ix >= 0 && ix < i32(w)) {
        v = src[((ni * c + ci) * h + u32(iy)) * w + u32(ix)];
    }
    dst[i] = v;
}

// One thread per element of x, summing every column entry that read it (no races, no atomics).
@compute @workgroup_size(256)
fn col2im(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(gid, groups);
    let n = p[0]; let c = p[1]; let h = p[2]; let w = p[3];
    let kh = p[4]; let kw = p[5]; let sh = p[6]; let sw = p[7];
    let oh = p[10]; let ow = p[11];
    if (i >= n * c * h * w) {
        return;
    }
    let ix = i % w;
    let iy = (i / w) % h;
    let ci = (i / (w * h)) % c;
    let ni = i / (w * h * c);
    let width = n * oh * ow;
    var s = 0.0;
    for (var ki = 0u; ki < kh; ki++) {
        let ty = i32(iy + p[8]) - i32(ki);
        if (ty < 0 || u32(ty) % sh != 0u || u32(ty) / sh >= oh) {
            continue;
        }
        let oy = u32(ty) / sh;
        for (var kj = 0u; kj < kw; kj++) {
            let tx = i32(ix + p[9]) - i32(kj);
            if (tx < 0 || u32(tx) % sw != 0u || u32(tx) / sw >= ow) {
                continue;
            }
            let ox = u32(tx) / sw;
            s += src[((ci * kh + ki) * kw + kj) * width + (ni * oh + oy) * ow + ox];
        }
    }
    dst[i] = s;
}

// Direct convolution forward, the alternative to im2col + GEMM that `bench` measures against it: one thread
// per output (n, o, oy, ox) summing c·kh·kw products straight from x and the weights. p[12] = C_out; with
// p[13] != 0 the bias of channel o is added, with p[14] != 0 a ReLU follows (a Conv2d and the ReLU after
// it in one launch).
@group(0) @binding(3) var<storage, read> weight: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;

@compute @workgroup_size(256)
fn direct_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(gid, groups);
    let n = p[0]; let c = p[1]; let h = p[2]; let w = p[3];
    let kh = p[4]; let kw = p[5]; let oh = p[10]; let ow = p[11]; let co = p[12];
    if (i >= n * co * oh * ow) {
        return;
    }
    let ox = i % ow;
    let oy = (i / ow) % oh;
    let o = (i / (ow * oh)) % co;
    let ni = i / (ow * oh * co);
    let y0 = i32(oy * p[6]) - i32(p[8]);
    let x0 = i32(ox * p[7]) - i32(p[9]);
    var s = 0.0;
    for (var ci = 0u; ci < c; ci++) {
        for (var ki = 0u; ki < kh; ki++) {
            let iy = y0 + i32(ki);
            if (iy < 0 || iy >= i32(h)) {
                continue;
            }
            let row = ((ni * c + ci) * h + u32(iy)) * w;
            let wrow = ((o * c + ci) * kh + ki) * kw;
            for (var kj = 0u; kj < kw; kj++) {
                let ix = x0 + i32(kj);
                if (ix >= 0 && ix < i32(w)) {
                    s += src[row + u32(ix)] * weight[wrow + kj];
                }
            }
        }
    }
    let biased = s + select(0.0, bias[o], p[13] != 0u);
    dst[i] = select(biased, relu_keep_nan(biased), p[14] != 0u);
}
