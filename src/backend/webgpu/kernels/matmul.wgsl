// Twin of backend::cpu::matmul_ref, batched: a (B, m, k) @ b (B, k, n) -> out (B, m, n), with a batch
// stride of 0 for an operand shared by every batch. p: [m, k, n, a_batch_stride, b_batch_stride].
// Tiled: a 64x64 block of out per workgroup, 16x16 threads each computing 4x4, with 64x16 panels of a
// and 16x64 panels of b staged in workgroup memory.
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

const T: u32 = 64u;
const TK: u32 = 16u;
var<workgroup> tile_a: array<f32, 1024>; // [kk][row]
var<workgroup> tile_b: array<f32, 1024>; // [kk][col]

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let m = p[0];
    let k = p[1];
    let n = p[2];
    let a0 = wid.z * p[3];
    let b0 = wid.z * p[4];
    let row0 = wid.y * T;
    let col0 = wid.x * T;
    let tid = lid.y * 16u + lid.x;
    var acc: array<f32, 16>;
    for (var t = 0u; t < k; t += TK) {
        for (var e = 0u; e < 4u; e++) {
            let idx = tid + e * 256u;
            let r = idx / TK;
            let kk = idx % TK;
            var va = 0.0;
            if (row0 + r < m && t + kk < k) {
                va = a[a0 + (row0 + r) * k + t + kk];
            }
            tile_a[kk * T + r] = va;
            let kb = idx / T;
            let c = idx % T;
            var vb = 0.0;
            if (t + kb < k && col0 + c < n) {
                vb = b[b0 + (t + kb) * n + col0 + c];
            }
            tile_b[kb * T + c] = vb;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < TK; kk++) {
            var av: array<f32, 4>;
            var bv: array<f32, 4>;
            for (var i = 0u; i < 4u; i++) {
                av[i] = tile_a[kk * T + lid.y * 4u + i];
                bv[i] = tile_b[kk * T + lid.x * 4u + i];
            }
            for (var i = 0u; i < 4u; i++) {
                for (var j = 0u; j < 4u; j++) {
                    acc[i * 4u + j] = fma(av[i], bv[j], acc[i * 4u + j]);
                }
            }
        }
        workgroupBarrier();
    }
    let o0 = wid.z * m * n;
    for (var i = 0u; i < 4u; i++) {
        let r = row0 + lid.y * 4u + i;
        for (var j = 0u; j < 4u; j++) {
            let c = col0 + lid.x * 4u + j;
            if (r < m && c < n) {
                out[o0 + r * n + c] = acc[i * 4u + j];
            }
        }
    }
}
