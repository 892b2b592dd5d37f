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
            _ => v,
        }
    };
    if !matches!(
        op,
        UnaryOp::Neg
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
