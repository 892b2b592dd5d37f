//! Matrix products. `matmul_ref` is the textbook triple loop. `matmul` is its fast twin: our own SIMD128
//! kernel on wasm32 (`gemm_simd128`, faster there than the crate, see `./lab bench`), and
//! `matrixmultiply`'s packed GEMM natively (runtime-detected AVX/FMA).

/// Reference: a: (m, k), b: (k, n) -> out: (m, n), all row-major. Accumulates in f32, in k order.
pub fn matmul_ref(a: &[f32], b: &[f32], m: usize, k: usize, n: usize, out: &mut [f32]) {
    for i in 0..m {
        for j in 0..n {
            let mut acc = 0.0f32;
            for p in 0..k {
                acc += a[i * k + p] * b[p * n + j];
            }
            out[i * n + j] = acc;
        }
    }
}

/// Products wider than this go to `matrixmultiply` on wasm32 (see `matmul`).
#[cfg(target_arch = "wasm32")]
const WIDE_N: usize = 4096;

/// Fast twin of [`matmul_ref`]. a: (m, k), b: (k, n) -> out: (m, n).
pub fn matmul(a: &[f32], b: &[f32], m: usize, k: usize, n: usize, out: &mut [f32]) {
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        out.fill(0.0);
        return;
    }
    // Measured choice (`./lab bench`): our SIMD128 kernel wins on square and MLP shapes; on very wide
    // products (im2col convolutions, n in the tens of thousands) the crate is faster, so it keeps those.
    #[cfg(target_arch = "wasm32")]
    if n <= WIDE_N {
        return super::gemm_simd128::sgemm(a, b, m, k, n, out);
    }
    matmul_crate(a, b, m, k, n, out);
}

/// The same product through the `matrixmultiply` crate: the native fast path, and the baseline our own
/// wasm32 kernel is benchmarked against. a: (m, k), b: (k, n) -> out: (m, n).
pub fn matmul_crate(a: &[f32], b: &[f32], m: usize, k: usize, n: usize, out: &mut [f32]) {
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        out.fill(0.0);
        return;
    }
    assert!(a.len() >= m * k && b.len() >= k * n && out.len() >= m * n, "matmul: buffers too small");
    // SAFETY: the pointers cover m·k, k·n and m·n elements with the row-major strides given (asserted
    // above), and `out` does not alias the inputs (distinct borrows).
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            k as isize,
            1,
            b.as_ptr(),
            n as isize,
            1,
            0.0,
            out.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}
