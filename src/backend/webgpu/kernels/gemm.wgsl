// Shared by matmul.wgsl and matmul128.wgsl (prepended to both after common.wgsl): their bindings and the
// epilogue that runs as a tile of the product is stored. p as in matmul.wgsl.
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read_write> sums: array<f32>;

// Row r's columns c..c+3 of one output slice (from `base`), those past m or n left out.
fn store4(r: u32, c: u32, m: u32, n: u32, base: u32, v: vec4<f32>) {
    if (r >= m) {
        return;
    }
    let o = base + r * n + c;
    if (c < n) { out[o] = v.x; }
    if (c + 1u < n) { out[o + 1u] = v.y; }
    if (c + 2u < n) { out[o + 2u] = v.z; }
    if (c + 3u < n) { out[o + 3u] = v.w; }
}

// The bias of columns c..c+3 when p[11] != 0 (Linear's x Wᵀ + b in one launch); zero without one and in
// every split-K slice but the first, so that the slices' sum adds it once. Columns past n are not stored.
fn bias4(c: u32, n: u32, first: bool) -> vec4<f32> {
    if (p[11] == 0u || !first) {
        return vec4<f32>(0.0);
    }
    let last = n - 1u;
    return vec4<f32>(bias[min(c, last)], bias[min(c + 1u, last)], bias[min(c + 2u, last)], bias[min(c + 3u, last)]);
}

// With p[12] = 1 (one product, no split-K) b gains a virtual column n of ones, so the product's column n is
// each row's sum of a, written to sums (m) rather than out: a layer's weight gradient and its bias
// gradient in one launch.
fn ones_column() -> bool {
    return p[12] != 0u;
}

fn store_sum(r: u32, c: u32, n: u32, m: u32, v: vec4<f32>) {
    if (!ones_column() || r >= m || c > n || c + 3u < n) {
        return;
    }
    sums[r] = v[n - c];
}

// A ReLU applied as the product is stored (p[13] != 0: a Linear followed by ReLU in one launch); with
// split-K the reduction that adds the slices applies it instead (ops::gemm).
fn act4(v: vec4<f32>) -> vec4<f32> {
    if (p[13] == 0u || p[5] > 1u) {
        return v;
    }
    return vec4<f32>(relu_keep_nan(v.x), relu_keep_nan(v.y), relu_keep_nan(v.z), relu_keep_nan(v.w));
}
