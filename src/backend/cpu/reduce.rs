//! Reductions along one axis. The tensor is seen as (outer, n, inner) with the axis in the middle.

use crate::backend::ops::ReduceOp;

/// Reference: x: (outer, n, inner) -> out: (outer, inner).
/// Sum adds in index order; Max propagates NaN; ArgMax gives the first index of the maximum.
pub fn reduce_ref(op: ReduceOp, x: &[f32], outer: usize, n: usize, inner: usize, out: &mut [f32]) {
    for o in 0..outer {
        for i in 0..inner {
            let at = |k: usize| x[(o * n + k) * inner + i];
            out[o * inner + i] = match op {
                ReduceOp::Sum => (0..n).map(at).sum(),
                ReduceOp::Max => (0..n).map(at).fold(f32::NEG_INFINITY, nan_max),
                ReduceOp::ArgMax => {
                    let mut best = 0;
                    for k in 1..n {
                        let (v, b) = (at(k), at(best));
                        if v > b || (v.is_nan() && !b.is_nan()) {
                            best = k;
                        }
                    }
                    best as f32
                }
            };
        }
    }
}

fn nan_max(acc: f32, v: f32) -> f32 {
    if acc.is_nan() || v.is_nan() { f32::NAN } else { acc.max(v) }
}

/// Fast twin of [`reduce_ref`]: sums accumulate whole inner rows at a time (vectorisable) instead of strided
/// walks. The summation order differs from the reference, hence the 1e-5 relative tolerance in tests.
pub fn reduce(op: ReduceOp, x: &[f32], outer: usize, n: usize, inner: usize, out: &mut [f32]) {
    match op {
        ReduceOp::Sum if n == 0 => out.fill(0.0),
        ReduceOp::Sum if inner == 1 => {
            for (o, row) in out.iter_mut().zip(x.chunks_exact(n)) {
                *o = pairwise_sum(row);
            }
        }
        ReduceOp::Sum => {
            for (acc, block) in out.chunks_exact_mut(inner).zip(x.chunks_exact(n * inner)) {
                acc.fill(0.0);
                for row in block.chunks_exact(inner) {
                    for (a, &v) in acc.iter_mut().zip(row) {
                        *a += v;
                    }
                }
            }
        }
        // Along the last axis (a softmax's max over each row of logits), row by row rather than through
        // the reference's strided index: the same comparisons in the same order, so the same result.
        ReduceOp::Max if inner == 1 && n > 0 => {
            for (o, row) in out.iter_mut().zip(x.chunks_exact(n)) {
                *o = row.iter().copied().fold(f32::NEG_INFINITY, nan_max);
            }
        }
        // Along the last axis (a classifier's predicted class for each row), row by row: the reference's
        // comparisons in its order, so the first maximum (or the first NaN) wins as there.
        ReduceOp::ArgMax if inner == 1 && n > 0 => {
            for (o, row) in out.iter_mut().zip(x.chunks_exact(n)) {
                let mut best = 0;
                for (k, &v) in row.iter().enumerate().skip(1) {
                    let b = row[best];
                    if v > b || (v.is_nan() && !b.is_nan()) {
                        best = k;
                    }
                }
                *o = best as f32;
            }
        }
        _ => reduce_ref(op, x, outer, n, inner, out),
    }
}

/// Sum with eight independent accumulators: vectorisable, and more accurate than one running sum.
fn pairwise_sum(row: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let chunks = row.chunks_exact(8);
    let tail: f32 = chunks.remainder().iter().sum();
    for c in chunks {
        for j in 0..8 {
            acc[j] += c[j];
        }
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}
