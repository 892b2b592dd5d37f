// Twin of backend::cpu::matmul_ref, batched: a (B, m, k) @ b (B, k, n) (+ bias (n)) -> out (B·splits, m, n),
// with a batch stride of 0 for an operand shared by every batch. p: [m, k, n, a_batch_stride,
// b_batch_stride, splits, chunk, a_row_stride, a_col_stride, b_row_stride, b_col_stride, has_bias,
// ones_column, relu]: element (i, j) of a is at
// i·p[7] + j·p[8], so a transposed operand is read in place (the transpose fused into the loads). With splits > 1 (split-K, for outputs too small to fill the GPU) workgroup z = batch ·
// splits + s sums k in [s·chunk, (s+1)·chunk) into its own slice, and the host adds the slices.
// Tiled: a 64x64 block of out per workgroup, 16x16 threads each computing 4x4 in vec4 registers, with
// 64x16 panels of a and 16x64 panels of b staged in workgroup memory. (An earlier version kept the 4x4
// block in a private array; drivers spilled it to memory and it ran ~50x slower on an H200.)
// Bindings and the store epilogue (bias, ones column, ReLU): gemm.wgsl.

const T: u32 = 64u;
const TK: u32 = 16u;
var<workgroup> tile_a: array<f32, 1024>; // [kk][row]
var<workgroup> tile_b: array<f32, 1024>; // [kk][col]

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
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    for (var t = k_begin; t < k_end; t += TK) {
        for (var e = 0u; e < 4u; e++) {
            let idx = tid + e * 256u;
            let r = idx / TK;
            let kk = idx % TK;
            var va = 0.0;
            if (row0 + r < m && t + kk < k_end) {
                va = a[a0 + (row0 + r) * p[7] + (t + kk) * p[8]];
            }
            tile_a[kk * T + r] = va;
            let kb = idx / T;
            let c = idx % T;
            var vb = 0.0;
            if (t + kb < k_end && col0 + c < n) {
                vb = b[b0 + (t + kb) * p[9] + (col0 + c) * p[10]];
            } else if (t + kb < k_end && col0 + c == n && ones_column()) {
                vb = 1.0;
            }
            tile_b[kb * T + c] = vb;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < TK; kk++) {
            let ai = kk * T + lid.y * 4u;
            let bi = kk * T + lid.x * 4u;
            let bv = vec4<f32>(tile_b[bi], tile_b[bi + 1u], tile_b[bi + 2u], tile_b[bi + 3u]);
            acc0 = fma(vec4<f32>(tile_a[ai]), bv, acc0);
            acc1 = fma(vec4<f32>(tile_a[ai + 1u]), bv, acc1);
            acc2 = fma(vec4<f32>(tile_a[ai + 2u]), bv, acc2);
            acc3 = fma(vec4<f32>(tile_a[ai + 3u]), bv, acc3);
        }
        workgroupBarrier();
    }
    let base = wid.z * m * n;
    let r0 = row0 + lid.y * 4u;
    let c0 = col0 + lid.x * 4u;
    let bv = bias4(c0, n, wid.z % splits == 0u);
    store4(r0, c0, m, n, base, act4(acc0 + bv));
    store4(r0 + 1u, c0, m, n, base, act4(acc1 + bv));
    store4(r0 + 2u, c0, m, n, base, act4(acc2 + bv));
    store4(r0 + 3u, c0, m, n, base, act4(acc3 + bv));
    store_sum(r0, c0, n, m, acc0);
    store_sum(r0 + 1u, c0, n, m, acc1);
    store_sum(r0 + 2u, c0, n, m, acc2);
    store_sum(r0 + 3u, c0, n, m, acc3);
}
