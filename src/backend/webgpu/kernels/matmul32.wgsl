// The small-product twin of matmul.wgsl (same parameters, strides, bias, ones column and split-K): a 32x32
// block of out per workgroup of 8x8 threads, each computing 4x4 in vec4 registers. A training step's
// products are small (an MLP's 128x784 @ 784x128 has 4 tiles of 64x64) and run one after another, so
// each one's time is its workgroups' latency, not the GPU's throughput: small tiles, and more split-K
// slices, put more of the GPU's multiprocessors on it, each walking a shorter k. The next panels of a and
// b are read into registers while the current ones are multiplied, and each operand is read along
// whichever axis it is stored contiguously (a transposed operand is as cheap to read as a plain one).
// Bindings and the store epilogue: gemm.wgsl.

const T: u32 = 32u;
const TK: u32 = 16u;
var<workgroup> tile_a: array<vec4<f32>, 128>; // [kk][row / 4]
var<workgroup> tile_b: array<vec4<f32>, 128>; // [kk][col / 4]

// The (row, kk) of a's panel, or the (kk, col) of b's, that element `e` (0..512) of a panel load reads:
// consecutive threads walk the operand's contiguous axis, so a warp's reads share cache lines.
fn a_place(e: u32, k_contiguous: bool) -> vec2<u32> {
    if (k_contiguous) {
        return vec2<u32>(e / TK, e % TK);
    }
    return vec2<u32>(e % T, e / T);
}

fn b_place(e: u32, k_contiguous: bool) -> vec2<u32> {
    if (k_contiguous) {
        return vec2<u32>(e % TK, e / TK);
    }
    return vec2<u32>(e / T, e % T);
}

struct Panel {
    m: u32,
    n: u32,
    k_end: u32,
    a0: u32,
    b0: u32,
    row0: u32,
    col0: u32,
    ra: u32,
    ca: u32,
    rb: u32,
    cb: u32,
    ones: bool,
}

fn load_a(q: Panel, t: u32, e: u32) -> f32 {
    let at = a_place(e, q.ca == 1u);
    let row = q.row0 + at.x;
    let kk = t + at.y;
    if (row < q.m && kk < q.k_end) {
        return a[q.a0 + row * q.ra + kk * q.ca];
    }
    return 0.0;
}

fn load_b(q: Panel, t: u32, e: u32) -> f32 {
    let at = b_place(e, q.rb == 1u);
    let kk = t + at.x;
    let col = q.col0 + at.y;
    if (kk < q.k_end && col < q.n) {
        return b[q.b0 + kk * q.rb + col * q.cb];
    }
    if (kk < q.k_end && col == q.n && q.ones) {
        return 1.0;
    }
    return 0.0;
}

fn put_a(e: u32, k_contiguous: bool, v: f32) {
    let at = a_place(e, k_contiguous);
    tile_a[at.y * (T / 4u) + at.x / 4u][at.x % 4u] = v;
}

fn put_b(e: u32, k_contiguous: bool, v: f32) {
    let at = b_place(e, k_contiguous);
    tile_b[at.x * (T / 4u) + at.y / 4u][at.y % 4u] = v;
}

// Elements e, e + 64, e + 128 and e + 192 of a panel: a thread's share of half a panel.
fn load_a4(q: Panel, t: u32, e: u32) -> vec4<f32> {
    return vec4<f32>(load_a(q, t, e), load_a(q, t, e + 64u), load_a(q, t, e + 128u), load_a(q, t, e + 192u));
}

fn load_b4(q: Panel, t: u32, e: u32) -> vec4<f32> {
    return vec4<f32>(load_b(q, t, e), load_b(q, t, e + 64u), load_b(q, t, e + 128u), load_b(q, t, e + 192u));
}

fn put_a4(e: u32, k_contiguous: bool, v: vec4<f32>) {
    put_a(e, k_contiguous, v.x);
    put_a(e + 64u, k_contiguous, v.y);
    put_a(e + 128u, k_contiguous, v.z);
    put_a(e + 192u, k_contiguous, v.w);
}

fn put_b4(e: u32, k_contiguous: bool, v: vec4<f32>) {
    put_b(e, k_contiguous, v.x);
    put_b(e + 64u, k_contiguous, v.y);
    put_b(e + 128u, k_contiguous, v.z);
    put_b(e + 192u, k_contiguous, v.w);
}

@compute @workgroup_size(8, 8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let splits = p[5];
    let batch = wid.z / splits;
    let k_begin = (wid.z % splits) * p[6];
    let k = p[1];
    let q = Panel(p[0], p[2], min(k, k_begin + p[6]), batch * p[3], batch * p[4], wid.y * T, wid.x * T,
        p[7], p[8], p[9], p[10], ones_column());
    let tid = lid.y * 8u + lid.x;
    let a_kc = q.ca == 1u;
    let b_kc = q.rb == 1u;
    // Each thread moves 8 values of each panel (32x16 and 16x32 = 512 values, 64 threads).
    var na0 = load_a4(q, k_begin, tid);
    var na1 = load_a4(q, k_begin, tid + 256u);
    var nb0 = load_b4(q, k_begin, tid);
    var nb1 = load_b4(q, k_begin, tid + 256u);
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    for (var t = k_begin; t < q.k_end; t += TK) {
        put_a4(tid, a_kc, na0);
        put_a4(tid + 256u, a_kc, na1);
        put_b4(tid, b_kc, nb0);
        put_b4(tid + 256u, b_kc, nb1);
        workgroupBarrier();
        // The next panels, read while this one is multiplied (past k_end they read as zeros, unused).
        let u = t + TK;
        na0 = load_a4(q, u, tid);
        na1 = load_a4(q, u, tid + 256u);
        nb0 = load_b4(q, u, tid);
        nb1 = load_b4(q, u, tid + 256u);
        for (var kk = 0u; kk < TK; kk++) {
            let av = tile_a[kk * (T / 4u) + lid.y];
            let bv = tile_b[kk * (T / 4u) + lid.x];
            acc0 = fma(vec4<f32>(av.x), bv, acc0);
            acc1 = fma(vec4<f32>(av.y), bv, acc1);
            acc2 = fma(vec4<f32>(av.z), bv, acc2);
            acc3 = fma(vec4<f32>(av.w), bv, acc3);
        }
        workgroupBarrier();
    }
    let base = wid.z * q.m * q.n;
    let r0 = q.row0 + lid.y * 4u;
    let c0 = q.col0 + lid.x * 4u;
    let bv = bias4(c0, q.n, wid.z % splits == 0u);
    store4(r0, c0, q.m, q.n, base, act4(acc0 + bv));
    store4(r0 + 1u, c0, q.m, q.n, base, act4(acc1 + bv));
    store4(r0 + 2u, c0, q.m, q.n, base, act4(acc2 + bv));
    store4(r0 + 3u, c0, q.m, q.n, base, act4(acc3 + bv));
    store_sum(r0, c0, q.n, q.m, acc0);
    store_sum(r0 + 1u, c0, q.n, q.m, acc1);
    store_sum(r0 + 2u, c0, q.n, q.m, acc2);
    store_sum(r0 + 3u, c0, q.n, q.m, acc3);
}
