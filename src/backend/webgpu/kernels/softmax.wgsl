// log_softmax along one axis in one pass (the CPU composes it from max, sub, exp, sum, log: six launches
// on a GPU). x: (outer, n, inner) -> y, one thread per (outer, inner) row. p: [outer, n, inner].
// y = x − m − log Σ exp(x − m) with m the row's maximum, so no exponent is positive.
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
@group(0) @binding(3) var<storage, read> aux: array<f32>;
@group(0) @binding(4) var<storage, read> labels: array<u32>;
@group(0) @binding(5) var<storage, read_write> row_loss: array<f32>;

@compute @workgroup_size(256)
fn log_softmax(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(gid, groups);
    let n = p[1];
    let inner = p[2];
    if (i >= p[0] * inner) {
        return;
    }
    let base = (i / inner) * n * inner + i % inner;
    var m = -inf();
    var any_nan = false;
    for (var j = 0u; j < n; j++) {
        let v = src[base + j * inner];
        any_nan = any_nan || is_nan(v);
        m = max(m, v);
    }
    var s = 0.0;
    for (var j = 0u; j < n; j++) {
        s += exp(src[base + j * inner] - m);
    }
    let shift = m + log(s);
    for (var j = 0u; j < n; j++) {
        dst[base + j * inner] = select(src[base + j * inner] - shift, nan(), any_nan);
    }
}

// Its adjoint: dx = g − exp(y) · Σ g along the row, with y the forward's output (in aux).
@compute @workgroup_size(256)
fn log_softmax_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(gid, groups);
    let n = p[1];
    let inner = p[2];
    if (i >= p[0] * inner) {
        return;
    }
    let base = (i / inner) * n * inner + i % inner;
    var total = 0.0;
    for (var j = 0u; j < n; j++) {
        total += src[base + j * inner];
    }
    for (var j = 0u; j < n; j++) {
        let k = base + j * inner;
        dst[k] = src[k] - exp(aux[k]) * total;
    }
}

// A classifier head's cross-entropy and its gradient, one thread per row (twin of the softmax part of
// cpu::linear_cross_entropy_ref). src: logits (n, c) before the bias, aux: the bias (c) when p[2] != 0,
// labels: n class indices (checked by the host). dst = dz = (softmax(z) − onehot(y)) / n, row_loss =
// (logsumexp(z) − z_y) / n: their sum is the mean loss. A NaN anywhere in a row makes its loss and dz NaN.
// p: [n, c, has_bias].
@compute @workgroup_size(256)
fn cross_entropy_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(gid, groups);
    let n = p[0];
    let c = p[1];
    if (i >= n) {
        return;
    }
    let base = i * c;
    let biased = p[2] != 0u;
    var m = -inf();
    var any_nan = false;
    for (var j = 0u; j < c; j++) {
        let z = src[base + j] + select(0.0, aux[j], biased);
        any_nan = any_nan || is_nan(z);
        m = max(m, z);
    }
    var s = 0.0;
    for (var j = 0u; j < c; j++) {
        s += exp(src[base + j] + select(0.0, aux[j], biased) - m);
    }
    let lse = m + log(s);
    let y = labels[i];
    let scale = 1.0 / f32(n);
    var zy = 0.0;
    for (var j = 0u; j < c; j++) {
        let z = src[base + j] + select(0.0, aux[j], biased);
        var d = exp(z - lse);
        if (j == y) {
            d -= 1.0;
            zy = z;
        }
        dst[base + j] = select(d * scale, nan(), any_nan);
    }
    row_loss[i] = select((lse - zy) * scale, nan(), any_nan);
}
