//! Elementwise kernels: unary maps and broadcasting binary ops. `*_ref` are the specification; the fast
//! twins take the common layouts (same shape, scalar operand, trailing broadcast such as a bias row) and
//! otherwise defer to the reference.

use crate::backend::ops::{BinaryOp, UnaryOp};

/// Reference: `out[i] = op(x[i])`.
pub fn unary_ref(op: UnaryOp, x: &[f32], out: &mut [f32]) {
    for (o, &v) in out.iter_mut().zip(x) {
        *o = op.apply(v);
    }
}

/// Fast twin of [`unary_ref`]: SIMD128 for the ops that have instructions, the reference otherwise.
pub fn unary(op: UnaryOp, x: &[f32], out: &mut [f32]) {
    #[cfg(target_arch = "wasm32")]
    if super::simd::unary(op, x, out) {
        return;
    }
    if unary_hoisted(op, x, out) {
        return;
    }
    unary_ref(op, x, out);
}

/// Twin of `unary_ref` for the cheap ops: the `match` on the op is hoisted out of the loop, so each loop
/// is a plain map the compiler vectorises (the same formula per element, so the same bits).
fn unary_hoisted(op: UnaryOp, x: &[f32], out: &mut [f32]) -> bool {
    fn map(x: &[f32], out: &mut [f32], f: impl Fn(f32) -> f32) {
        out.iter_mut().zip(x).for_each(|(o, &v)| *o = f(v));
    }
    match op {
        // Each arm names the op as a constant, so each loop is specialised for it.
        UnaryOp::Relu => map(x, out, |v| UnaryOp::Relu.apply(v)),
        UnaryOp::Step => map(x, out, |v| UnaryOp::Step.apply(v)),
        UnaryOp::Neg => map(x, out, |v| UnaryOp::Neg.apply(v)),
        UnaryOp::Abs => map(x, out, |v| UnaryOp::Abs.apply(v)),
        UnaryOp::AddScalar(c) => map(x, out, |v| v + c),
        UnaryOp::MulScalar(c) => map(x, out, |v| v * c),
        _ => return false,
    }
    true
}

/// Reference: `out[idx] = op(a[idx · a_strides], b[idx · b_strides])` over every index of `out_dims`.
/// Broadcast dimensions have stride 0. a, b: any shapes broadcastable to out_dims -> out: out_dims.
pub fn binary_ref(
    op: BinaryOp,
    a: &[f32],
    a_strides: &[usize],
    b: &[f32],
    b_strides: &[usize],
    out_dims: &[usize],
    out: &mut [f32],
) {
    let rank = out_dims.len();
    let mut index = vec![0usize; rank];
    let (mut ia, mut ib) = (0usize, 0usize);
    for o in out.iter_mut() {
        *o = op.apply(a[ia], b[ib]);
        // Odometer increment, updating both offsets incrementally.
        for d in (0..rank).rev() {
            index[d] += 1;
            ia += a_strides[d];
            ib += b_strides[d];
            if index[d] < out_dims[d] {
                break;
            }
            ia -= a_strides[d] * out_dims[d];
            ib -= b_strides[d] * out_dims[d];
            index[d] = 0;
        }
    }
}

/// Fast twin of [`binary_ref`].
pub fn binary(
    op: BinaryOp,
    a: &[f32],
    a_strides: &[usize],
    b: &[f32],
    b_strides: &[usize],
    out_dims: &[usize],
    out: &mut [f32],
) {
    let n = out.len();
    if a.len() == n
        && b.len() == n
        && is_contiguous(a_strides, out_dims)
        && is_contiguous(b_strides, out_dims)
    {
        return same_shape(op, a, b, out);
    }
    // b repeats along leading dimensions (e.g. a bias row (C,) added to (N, C)): one same-shape op per row.
    let row = b.len();
    if row > 0
        && a.len() == n
        && n.is_multiple_of(row)
        && is_contiguous(a_strides, out_dims)
        && is_trailing(b_strides, out_dims, row)
    {
        for (o_row, a_row) in out.chunks_exact_mut(row).zip(a.chunks_exact(row)) {
            same_shape(op, a_row, b, o_row);
        }
        return;
    }
    // b is one value per index of a middle block of dimensions (a conv bias (1, C, 1, 1) on (N, C, H, W)):
    // each value meets a contiguous run of `inner` elements.
    if a.len() == n && is_contiguous(a_strides, out_dims) {
        if let Some(inner) = middle_block(b_strides, out_dims, b.len()) {
            let mid = b.len();
            for (i, (o, a_chunk)) in out.chunks_exact_mut(inner).zip(a.chunks_exact(inner)).enumerate() {
                let y = b[i % mid];
                o.iter_mut().zip(a_chunk).for_each(|(o, &x)| *o = op.apply(x, y));
            }
            return;
        }
    }
    binary_ref(op, a, a_strides, b, b_strides, out_dims, out);
}

fn same_shape(op: BinaryOp, a: &[f32], b: &[f32], out: &mut [f32]) {
    #[cfg(target_arch = "wasm32")]
    if super::simd::binary(op, a, b, out) {
        return;
    }
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        *o = op.apply(x, y);
    }
}

/// Whether `strides` read `dims` contiguously, row-major.
fn is_contiguous(strides: &[usize], dims: &[usize]) -> bool {
    let mut expect = 1;
    for (&s, &d) in strides.iter().zip(dims).rev() {
        if d != 1 && s != expect {
            return false;
        }
        expect *= d;
    }
    true
}

/// Whether `strides` broadcast a contiguous block of `len` elements over the leading dimensions only.
fn is_trailing(strides: &[usize], dims: &[usize], len: usize) -> bool {
    let mut covered = 1;
    let mut k = dims.len();
    while k > 0 && covered < len {
        k -= 1;
        if strides[k] != covered && dims[k] != 1 {
            return false;
        }
        covered *= dims[k];
    }
    covered == len && strides[..k].iter().zip(&dims[..k]).all(|(&s, &d)| s == 0 || d == 1)
}

/// When `strides` read `len` contiguous values over a middle run of dimensions and broadcast (stride 0)
/// over every dimension before and after it, the number of elements after that run.
fn middle_block(strides: &[usize], dims: &[usize], len: usize) -> Option<usize> {
    let rank = dims.len();
    let mut k1 = rank;
    while k1 > 0 && (strides[k1 - 1] == 0 || dims[k1 - 1] == 1) {
        k1 -= 1;
    }
    let inner: usize = dims[k1..].iter().product();
    let (mut k0, mut covered) = (k1, 1);
    while k0 > 0 && covered < len {
        k0 -= 1;
        if strides[k0] != covered && dims[k0] != 1 {
            return None;
        }
        covered *= dims[k0];
    }
    let leading_broadcast = strides[..k0].iter().zip(&dims[..k0]).all(|(&s, &d)| s == 0 || d == 1);
    (covered == len && leading_broadcast && inner > 1).then_some(inner)
}
