// The large-product twin of matmul.wgsl (same parameters, strides, bias and split-K): a 128x128 block of out per
// workgroup, 16x16 threads each computing 8x8 in vec4 registers, with 128x8 panels of a and 8x128 panels
// of b in workgroup memory. Twice the arithmetic per value loaded from workgroup memory of the 64x64
// kernel; used when the product has at least 64 such tiles (ops::matmul).
// Bindings and the store epilogue: gemm.wgsl.

const T: u32 = 128u;
const TK: u32 = 8u;
var<workgroup> tile_a: array<vec4<f32>, 256>; // [kk][row / 4]
var<workgroup> tile_b: array<vec4<f32>, 256>; // [kk][col / 4]

fn store8(r: u32, c: u32, m: u32, n: u32, base: u32, lo: vec4<f32>, hi: vec4<f32>, first: bool) {
    store4(r, c, m, n, base, act4(lo + bias4(c, n, first)));
    store4(r, c + 4u, m, n, base, act4(hi + bias4(c + 4u, n, first)));
    store_sum(r, c, n, m, lo);
    store_sum(r, c + 4u, n, m, hi);
}

fn load_a(row: u32, k: u32, m: u32, k_end: u32, a0: u32) -> f32 {
    if (row < m && k < k_end) {
        return a[a0 + row * p[7] + k * p[8]];
    }
    return 0.0;
}

fn load_b(k: u32, col: u32, n: u32, k_end: u32, b0: u32) -> f32 {
    if (k < k_end && col < n) {
        return b[b0 + k * p[9] + col * p[10]];
    }
    if (k < k_end && col == n && ones_column()) {
        return 1.0;
    }
    return 0.0;
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let m = p[0];
    let k = p[1];
    let n = p[2];
    let splits = p[5];
    let batch = wid.z / splits;
    let k_begin = (wid.z % splits) * p[6];
    let k_end = min(k, k_begin + p[6]);
    let a0 = batch * p[3];
    let b0 = batch * p[4];
    let row0 = wid.y * T;
    let col0 = wid.x * T;
    let tid = lid.y * 16u + lid.x;
    var c0a = vec4<f32>(0.0);
    var c0b = vec4<f32>(0.0);
    var c1a = vec4<f32>(0.0);
    var c1b = vec4<f32>(0.0);
    var c2a = vec4<f32>(0.0);
    var c2b = vec4<f32>(0.0);
    var c3a = vec4<f32>(0.0);
    var c3b = vec4<f32>(0.0);
    var c4a = vec4<f32>(0.0);
    var c4b = vec4<f32>(0.0);
    var c5a = vec4<f32>(0.0);
    var c5b = vec4<f32>(0.0);
    var c6a = vec4<f32>(0.0);
    var c6b = vec4<f32>(0.0);
    var c7a = vec4<f32>(0.0);
    var c7b = vec4<f32>(0.0);
    for (var t = k_begin; t < k_end; t += TK) {
        // a panel: 128 rows x 8 k as 256 vec4s (4 rows each). Neighbouring threads read neighbouring k of
        // the same rows (k = tid % 8, rows 4·(tid / 8)..).
        let ka = tid % 8u;
        let ra = tid / 8u;
        let r = row0 + ra * 4u;
        tile_a[ka * 32u + ra] = vec4<f32>(
            load_a(r, t + ka, m, k_end, a0),
            load_a(r + 1u, t + ka, m, k_end, a0),
            load_a(r + 2u, t + ka, m, k_end, a0),
            load_a(r + 3u, t + ka, m, k_end, a0));
        // b panel: 8 k x 128 cols as 256 vec4s; neighbouring threads read neighbouring columns.
        let kb = tid / 32u;
        let cq = tid % 32u;
        let c = col0 + cq * 4u;
        tile_b[kb * 32u + cq] = vec4<f32>(
            load_b(t + kb, c, n, k_end, b0),
            load_b(t + kb, c + 1u, n, k_end, b0),
            load_b(t + kb, c + 2u, n, k_end, b0),
            load_b(t + kb, c + 3u, n, k_end, b0));
        workgroupBarrier();
        for (var q = 0u; q < TK; q++) {
            let av0 = tile_a[q * 32u + lid.y * 2u];
            let av1 = tile_a[q * 32u + lid.y * 2u + 1u];
            let bv0 = tile_b[q * 32u + lid.x * 2u];
            let bv1 = tile_b[q * 32u + lid.x * 2u + 1u];
            c0a = fma(vec4<f32>(av0[0]), bv0, c0a);
            c0b = fma(vec4<f32>(av0[0]), bv1, c0b);
            c1a = fma(vec4<f32>(av0[1]), bv0, c1a);
            c1b = fma(vec4<f32>(av0[1]), bv1, c1b);
            c2a = fma(vec4<f32>(av0[2]), bv0, c2a);
            c2b = fma(vec4<f32>(av0[2]), bv1, c2b);
            c3a = fma(vec4<f32>(av0[3]), bv0, c3a);
            c3b = fma(vec4<f32>(av0[3]), bv1, c3b);
            c4a = fma(vec4<f32>(av1[0]), bv0, c4a);
            c4b = fma(vec4<f32>(av1[0]), bv1, c4b);
            c5a = fma(vec4<f32>(av1[1]), bv0, c5a);
            c5b = fma(vec4<f32>(av1[1]), bv1, c5b);
            c6a = fma(vec4<f32>(av1[2]), bv0, c6a);
            c6b = fma(vec4<f32>(av1[2]), bv1, c6b);
            c7a = fma(vec4<f32>(av1[3]), bv0, c7a);
            c7b = fma(vec4<f32>(av1[3]), bv1, c7b);
        }
        workgroupBarrier();
    }
    let base = wid.z * m * n;
    let r0 = row0 + lid.y * 8u;
    let c0 = col0 + lid.x * 8u;
    let first = wid.z % splits == 0u;
    store8(r0 + 0u, c0, m, n, base, c0a, c0b, first);
    store8(r0 + 1u, c0, m, n, base, c1a, c1b, first);
    store8(r0 + 2u, c0, m, n, base, c2a, c2b, first);
    store8(r0 + 3u, c0, m, n, base, c3a, c3b, first);
    store8(r0 + 4u, c0, m, n, base, c4a, c4b, first);
    store8(r0 + 5u, c0, m, n, base, c5a, c5b, first);
    store8(r0 + 6u, c0, m, n, base, c6a, c6b, first);
    store8(r0 + 7u, c0, m, n, base, c7a, c7b, first);
}
