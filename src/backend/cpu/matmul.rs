//! Matrix products. `matmul_ref` is the textbook triple loop. `matmul` is its fast twin (`matmul_t`: with
//! either operand stored transposed): our own SIMD128 kernel on wasm32 (`gemm_simd128`, faster there than
//! the crate, see `./lab bench`), and `matrixmultiply`'s packed GEMM natively (runtime-detected AVX/FMA).

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

/// Fast twin of [`matmul_ref`]. a: (m, k), b: (k, n) -> out: (m, n).
pub fn matmul(a: &[f32], b: &[f32], m: usize, k: usize, n: usize, out: &mut [f32]) {
    matmul_t(a, b, m, k, n, [false, false], out);
}

/// op(a) · op(b) -> out (m, n), where `trans[0]` says a is stored as its transpose (k, m) and `trans[1]`
/// that b is stored as (n, k), both row-major: the product of the matrices they hold transposed, without
/// a transposed copy (a convolution's weight gradient g · colsᵀ read a 14 MB im2col matrix twice to make
/// one). On wasm32 our SIMD128 kernel (`gemm_simd128`), which reads a transposed operand while packing
/// it; natively `matrixmultiply` with the operands' strides.
pub fn matmul_t(a: &[f32], b: &[f32], m: usize, k: usize, n: usize, trans: [bool; 2], out: &mut [f32]) {
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        out.fill(0.0);
        return;
    }
    // Measured choice (`./lab bench`, GEMM table): on wasm32 our kernel beats the crate on square, MLP and
    // convolution shapes (the im2col products' input gradient 1.4-1.9x, the others level).
    #[cfg(target_arch = "wasm32")]
    return super::gemm_simd128::sgemm(a, b, m, k, n, trans, out);
    #[cfg(not(target_arch = "wasm32"))]
    matmul_crate_t(a, b, m, k, n, trans, out);
}

/// The same product through the `matrixmultiply` crate: the native fast path, and the baseline our own
/// wasm32 kernel is benchmarked against. a: (m, k), b: (k, n) -> out: (m, n).
pub fn matmul_crate(a: &[f32], b: &[f32], m: usize, k: usize, n: usize, out: &mut [f32]) {
    matmul_crate_t(a, b, m, k, n, [false, false], out);
}

/// [`matmul_crate`] with [`matmul_t`]'s transposed operands, read through their strides.
fn matmul_crate_t(a: &[f32], b: &[f32], m: usize, k: usize, n: usize, trans: [bool; 2], out: &mut [f32]) {
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        out.fill(0.0);
        return;
    }
    assert!(a.len() >= m * k && b.len() >= k * n && out.len() >= m * n, "matmul: buffers too small");
    // (row stride, column stride) of a (m, k) and b (k, n) as stored, row-major or transposed.
    let (rsa, csa) = if trans[0] { (1, m as isize) } else { (k as isize, 1) };
    let (rsb, csb) = if trans[1] { (1, k as isize) } else { (n as isize, 1) };
    // SAFETY: the pointers cover m·k, k·n and m·n elements with the strides given (asserted above), and
    // `out` does not alias the inputs (distinct borrows).
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            rsa,
            csa,
            b.as_ptr(),
            rsb,
            csb,
            0.0,
            out.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}
