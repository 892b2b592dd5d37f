//! Four f32 lanes for the kernels that hold a block of results in registers (`matmul`'s narrow products):
//! one SIMD128 vector on wasm32, where LLVM left the same loops written on arrays scalar once they were
//! inlined into the release build; a plain array natively, which the compiler vectorises itself.
//!
//! Multiply-adds go through [`madd`]. Plain SIMD128 has no fused multiply-add: a multiply, then an add,
//! rounded twice. The page's second module (`cvjourney_fma_bg.wasm`, built with relaxed SIMD by
//! `www/fma.mjs`) uses f32x4.relaxed_madd, which the engine runs as one FMA where the CPU has it (rounded
//! once) and as the two steps where it does not; both stay within the reference's summation-order bound.

#[cfg(target_arch = "wasm32")]
use core::arch::wasm32::*;

pub const LANES: usize = 4;

/// a · b + c, lane by lane: one fused multiply-add where the module is built with relaxed SIMD (the
/// engine then picks FMA where the CPU has it), a multiply and an add in plain SIMD128.
#[cfg(target_arch = "wasm32")]
#[inline(always)]
pub fn madd(a: v128, b: v128, c: v128) -> v128 {
    #[cfg(target_feature = "relaxed-simd")]
    {
        f32x4_relaxed_madd(a, b, c)
    }
    #[cfg(not(target_feature = "relaxed-simd"))]
    {
        f32x4_add(c, f32x4_mul(a, b))
    }
}

#[derive(Clone, Copy)]
pub struct F32x4(#[cfg(target_arch = "wasm32")] v128, #[cfg(not(target_arch = "wasm32"))] [f32; LANES]);

#[cfg(target_arch = "wasm32")]
impl F32x4 {
    #[inline(always)]
    pub fn splat(x: f32) -> Self {
        Self(f32x4_splat(x))
    }

    /// Four values at `p`, with no bounds check: the narrow products' inner loops, which otherwise check
    /// a slice per load.
    ///
    /// # Safety
    /// `p..p + LANES` must lie inside one live allocation of f32 (any alignment).
    #[inline(always)]
    pub unsafe fn load_ptr(p: *const f32) -> Self {
        // SAFETY: the caller's contract; v128 loads accept unaligned pointers.
        Self(unsafe { v128_load(p as *const v128) })
    }

    /// One value at `p` in every lane, with no bounds check.
    ///
    /// # Safety
    /// `p` must point at a live f32.
    #[inline(always)]
    pub unsafe fn splat_ptr(p: *const f32) -> Self {
        // SAFETY: the caller's contract.
        Self(unsafe { v128_load32_splat(p as *const u32) })
    }

    /// The first four values of `s` (panics when it is shorter).
    #[inline(always)]
    pub fn load(s: &[f32]) -> Self {
        let s = &s[..LANES];
        // SAFETY: `s` holds LANES floats (checked by the slice above); v128 loads accept unaligned pointers.
        Self(unsafe { v128_load(s.as_ptr() as *const v128) })
    }

    /// self + a · b.
    #[inline(always)]
    pub fn mul_add(self, a: Self, b: Self) -> Self {
        Self(madd(a.0, b.0, self.0))
    }

    #[inline(always)]
    pub fn add(self, other: Self) -> Self {
        Self(f32x4_add(self.0, other.0))
    }

    /// Writes the four lanes to the first four values of `s` (panics when it is shorter).
    #[inline(always)]
    pub fn store(self, s: &mut [f32]) {
        let s = &mut s[..LANES];
        // SAFETY: as in `load`.
        unsafe { v128_store(s.as_mut_ptr() as *mut v128, self.0) }
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl F32x4 {
    #[inline(always)]
    pub fn splat(x: f32) -> Self {
        Self([x; LANES])
    }

    /// Four values at `p`, with no bounds check (see the wasm32 twin).
    ///
    /// # Safety
    /// `p..p + LANES` must lie inside one live allocation of f32 (any alignment).
    #[inline(always)]
    pub unsafe fn load_ptr(p: *const f32) -> Self {
        // SAFETY: the caller's contract.
        Self(unsafe { core::ptr::read_unaligned(p as *const [f32; LANES]) })
    }

    /// One value at `p` in every lane, with no bounds check.
    ///
    /// # Safety
    /// `p` must point at a live f32.
    #[inline(always)]
    pub unsafe fn splat_ptr(p: *const f32) -> Self {
        // SAFETY: the caller's contract.
        Self([unsafe { *p }; LANES])
    }

    /// The first four values of `s` (panics when it is shorter).
    #[inline(always)]
    pub fn load(s: &[f32]) -> Self {
        Self(s[..LANES].try_into().expect("LANES values"))
    }

    /// self + a · b.
    #[inline(always)]
    pub fn mul_add(self, a: Self, b: Self) -> Self {
        Self(std::array::from_fn(|l| self.0[l] + a.0[l] * b.0[l]))
    }

    #[inline(always)]
    pub fn add(self, other: Self) -> Self {
        Self(std::array::from_fn(|l| self.0[l] + other.0[l]))
    }

    /// Writes the four lanes to the first four values of `s` (panics when it is shorter).
    #[inline(always)]
    pub fn store(self, s: &mut [f32]) {
        s[..LANES].copy_from_slice(&self.0);
    }
}
