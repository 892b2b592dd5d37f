//! Matrix products. `matmul_ref` is the textbook triple loop; `matmul` hands the same product to
//! `matrixmultiply`'s packed, cache-blocked GEMM.

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
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        out.fill(0.0);
        return;
    }
    debug_assert!(a.len() >= m * k && b.len() >= k * n && out.len() >= m * n);
    // SAFETY: the pointers cover m·k, k·n and m·n elements with the row-major strides given (checked above
    // by the frontend's shape logic), and `out` does not alias the inputs (distinct borrows).
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
