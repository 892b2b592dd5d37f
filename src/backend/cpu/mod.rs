//! The CPU backend: a scalar reference kernel for every primitive (the specification) and a fast twin where
//! time goes. On wasm32 the fast twins use SIMD128 (`core::arch::wasm32`); natively they are written so that
//! the compiler vectorises them.

mod conv;
mod elementwise;
#[cfg(target_arch = "wasm32")]
mod gemm_simd128;
mod head;
mod lanes;
mod layout;
mod matmul;
mod narrow;
mod reduce;
#[cfg(target_arch = "wasm32")]
mod simd;

pub use conv::{
    avg_pool2d_backward_ref, avg_pool2d_ref, col2im, col2im_ref, im2col, im2col_ref, max_pool2d,
    max_pool2d_ref,
};
pub use elementwise::{binary, binary_ref, unary, unary_ref};
pub use head::{Head, linear_cross_entropy, linear_cross_entropy_ref};
pub use layout::{copy_strided, copy_strided_ref};
pub use matmul::{matmul, matmul_crate, matmul_ref, matmul_t};
pub use narrow::{NARROW, NARROW_KERNELS, Rows, matmul_a_bt, matmul_at_b};
pub use reduce::{reduce, reduce_ref};

/// The name of the SIMD path this build uses, shown on the page.
#[cfg(all(target_arch = "wasm32", not(target_feature = "relaxed-simd")))]
pub const SIMD_NAME: &str = "WebAssembly SIMD";
/// The name of the SIMD path this build uses, shown on the page: the relaxed-SIMD module (`www/fma.mjs`).
#[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
pub const SIMD_NAME: &str = "WebAssembly SIMD + FMA";
/// The name of the SIMD path this build uses, shown on the page.
#[cfg(not(target_arch = "wasm32"))]
pub const SIMD_NAME: &str = "native SIMD";

/// Reference: `out[i] = a[i] + b[i]`. All three slices have the same length (checked by the caller).
pub fn add_ref(a: &[f32], b: &[f32], out: &mut [f32]) {
    for i in 0..out.len() {
        out[i] = a[i] + b[i];
    }
}

/// Fast twin of [`add_ref`]: four lanes at a time with SIMD128 on wasm32.
#[cfg(target_arch = "wasm32")]
pub fn add(a: &[f32], b: &[f32], out: &mut [f32]) {
    use core::arch::wasm32::{f32x4_add, v128, v128_load, v128_store};
    let n = out.len().min(a.len()).min(b.len());
    let body = n - n % 4;
    let mut i = 0;
    while i < body {
        // SAFETY: i + 4 <= body <= len of all three slices; v128 loads/stores accept unaligned pointers.
        unsafe {
            let x = v128_load(a.as_ptr().add(i) as *const v128);
            let y = v128_load(b.as_ptr().add(i) as *const v128);
            v128_store(out.as_mut_ptr().add(i) as *mut v128, f32x4_add(x, y));
        }
        i += 4;
    }
    add_ref(&a[body..n], &b[body..n], &mut out[body..n]);
}

/// Fast twin of [`add_ref`]: fixed-width chunks that the compiler turns into SSE/AVX/NEON.
#[cfg(not(target_arch = "wasm32"))]
pub fn add(a: &[f32], b: &[f32], out: &mut [f32]) {
    const W: usize = 8;
    let n = out.len().min(a.len()).min(b.len());
    let body = n - n % W;
    for ((o, x), y) in
        out[..body].chunks_exact_mut(W).zip(a[..body].chunks_exact(W)).zip(b[..body].chunks_exact(W))
    {
        for j in 0..W {
            o[j] = x[j] + y[j];
        }
    }
    add_ref(&a[body..n], &b[body..n], &mut out[body..n]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simd_add_equals_reference_on_odd_sizes() {
        for n in [0usize, 1, 3, 4, 5, 7, 8, 9, 31, 1000, 1027] {
            let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin() * 100.0).collect();
            let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos() - 0.5).collect();
            let (mut fast, mut reference) = (vec![0.0; n], vec![0.0; n]);
            add(&a, &b, &mut fast);
            add_ref(&a, &b, &mut reference);
            assert_eq!(fast, reference, "n = {n}");
        }
    }
}
