//! SIMD128 bodies of the elementwise fast twins (wasm32 only). Each returns `false` when it has no
//! instruction for the op, and the caller runs the reference instead. Lane results equal the scalar
//! definitions in `backend::ops` (IEEE add/sub/mul/div/sqrt are correctly rounded on both paths).

use core::arch::wasm32::*;

use crate::backend::ops::{BinaryOp, UnaryOp};

/// out = op(a, b) on equal-length slices.
pub fn binary(op: BinaryOp, a: &[f32], b: &[f32], out: &mut [f32]) -> bool {
    let f: fn(v128, v128) -> v128 = match op {
        BinaryOp::Add => f32x4_add,
        BinaryOp::Sub => f32x4_sub,
        BinaryOp::Mul => f32x4_mul,
        BinaryOp::Div => f32x4_div,
        // f32x4_max/min propagate NaN, as the scalar definition does.
        BinaryOp::Maximum => f32x4_max,
        BinaryOp::Minimum => f32x4_min,
        _ => return false,
    };
    let n = out.len();
    let body = n - n % 4;
    for i in (0..body).step_by(4) {
        // SAFETY: i + 4 <= body <= the length of all three slices; v128 loads accept unaligned pointers.
        unsafe {
            let x = v128_load(a.as_ptr().add(i) as *const v128);
            let y = v128_load(b.as_ptr().add(i) as *const v128);
            v128_store(out.as_mut_ptr().add(i) as *mut v128, f(x, y));
        }
    }
    for i in body..n {
        out[i] = op.apply(a[i], b[i]);
    }
    true
}

/// out = op(x) for the ops with a SIMD instruction.
pub fn unary(op: UnaryOp, x: &[f32], out: &mut [f32]) -> bool {
    let zero = f32x4_splat(0.0);
    let map = |v: v128| -> v128 {
        match op {
            UnaryOp::Neg => f32x4_neg(v),
            UnaryOp::Abs => f32x4_abs(v),
            UnaryOp::Sqrt => f32x4_sqrt(v),
            // max(v, 0) keeps NaN; -0.0 becomes +0.0 as in the scalar definition.
            UnaryOp::Relu => f32x4_max(v, zero),
            UnaryOp::AddScalar(c) => f32x4_add(v, f32x4_splat(c)),
            UnaryOp::MulScalar(c) => f32x4_mul(v, f32x4_splat(c)),
            UnaryOp::Exp => exp(v),
            _ => v,
        }
    };
    if !matches!(
        op,
        UnaryOp::Neg
            | UnaryOp::Exp
            | UnaryOp::Abs
            | UnaryOp::Sqrt
            | UnaryOp::Relu
            | UnaryOp::AddScalar(_)
            | UnaryOp::MulScalar(_)
    ) {
        return false;
    }
    let n = out.len().min(x.len());
    let body = n - n % 4;
    for i in (0..body).step_by(4) {
        // SAFETY: as in `binary`.
        unsafe {
            let v = v128_load(x.as_ptr().add(i) as *const v128);
            v128_store(out.as_mut_ptr().add(i) as *mut v128, map(v));
        }
    }
    for i in body..n {
        out[i] = op.apply(x[i]);
    }
    true
}

/// eˣ in four lanes, within a few ulp of the scalar `f32::exp` wherever the result is a normal float (the
/// parity tests sweep the whole range): eˣ = 2ⁿ · eʳ with n = round(x / ln 2) and |r| ≤ ln 2 / 2, eʳ by
/// Cephes' polynomial (S. Moshier's `expf`), ln 2 split in two so that r is nearly exact. Below
/// x = −87.34 the result is 0 where the scalar gives a subnormal (an error below 1.2e-38); x > 88.72
/// gives +∞, −∞ gives 0 and NaN stays NaN, as in the scalar definition.
/// A softmax takes one exp per logit: the scalar call was 8 % of the normalization study's time (W5).
#[inline(always)]
fn exp(x: v128) -> v128 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    const P: [f32; 6] = [1.987_569_1e-4, 1.398_199_9e-3, 8.333_452e-3, 4.166_579_6e-2, 0.166_666_65, 0.5];
    const HI: f32 = 88.722_83;
    const LO: f32 = -87.336_54;
    let clamped = f32x4_min(f32x4_max(x, f32x4_splat(LO)), f32x4_splat(HI));
    let n = f32x4_floor(f32x4_add(f32x4_mul(clamped, f32x4_splat(LOG2E)), f32x4_splat(0.5)));
    let r =
        f32x4_sub(f32x4_sub(clamped, f32x4_mul(n, f32x4_splat(LN2_HI))), f32x4_mul(n, f32x4_splat(LN2_LO)));
    let mut p = f32x4_splat(P[0]);
    for c in &P[1..] {
        p = f32x4_add(f32x4_mul(p, r), f32x4_splat(*c));
    }
    let e_r = f32x4_add(f32x4_add(f32x4_mul(p, f32x4_mul(r, r)), r), f32x4_splat(1.0));
    // 2ⁿ as two powers 2ʰ · 2ⁿ⁻ʰ (h = n / 2), each a normal float: n runs from −126 to 128, past both
    // ends of the exponent range, and the product rounds once, into a subnormal where it must.
    let n = i32x4_trunc_sat_f32x4(n);
    let h = i32x4_shr(n, 1);
    let pow2 = |e: v128| i32x4_shl(i32x4_add(e, i32x4_splat(127)), 23);
    let y = f32x4_mul(f32x4_mul(e_r, pow2(h)), pow2(i32x4_sub(n, h)));
    let y = v128_bitselect(f32x4_splat(0.0), y, f32x4_lt(x, f32x4_splat(LO)));
    let y = v128_bitselect(f32x4_splat(f32::INFINITY), y, f32x4_gt(x, f32x4_splat(HI)));
    // NaN compares false everywhere above: pass it through.
    v128_bitselect(x, y, f32x4_ne(x, x))
}
