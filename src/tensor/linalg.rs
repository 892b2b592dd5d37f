//! Matrix products and the (numerically stable) softmax family.

use super::{Shape, Tensor};
use crate::autograd::Op;
use crate::backend::cpu;
use crate::error::{LabError, Result};

impl Tensor {
    /// Matrix product over the last two dimensions; leading (batch) dimensions broadcast.
    /// a: (..., m, k), b: (..., k, n) -> (..., m, n)
    pub fn matmul(&self, other: &Tensor) -> Result<Tensor> {
        let shape_error =
            || LabError::Shape { op: "matmul", left: self.dims().to_vec(), right: other.dims().to_vec() };
        if self.rank() < 2 || other.rank() < 2 {
            return Err(shape_error());
        }
        let (ad, bd) = (self.dims(), other.dims());
        let (m, k, n) = (ad[ad.len() - 2], ad[ad.len() - 1], bd[bd.len() - 1]);
        if bd[bd.len() - 2] != k {
            return Err(shape_error());
        }
        let a_batch = Shape::new(&ad[..ad.len() - 2]);
        let b_batch = Shape::new(&bd[..bd.len() - 2]);
        let batch = a_batch.broadcast(&b_batch, "matmul").map_err(|_| shape_error())?;
        // Materialize broadcast batches only when the batch shapes differ (rare: e.g. (B, m, k) @ (k, n)).
        let full = |t: &Tensor, own: &Shape, mat: [usize; 2]| -> Vec<f32> {
            if *own == batch {
                return t.to_vec();
            }
            let dims: Vec<usize> = batch.dims().iter().copied().chain(mat).collect();
            let target = Shape::new(&dims);
            t.expand_data(&target)
        };
        let (a, b) = (full(self, &a_batch, [m, k]), full(other, &b_batch, [k, n]));
        let mut out = vec![0.0; batch.numel() * m * n];
        for i in 0..batch.numel() {
            let (a_i, b_i) = (&a[i * m * k..(i + 1) * m * k], &b[i * k * n..(i + 1) * k * n]);
            cpu::matmul(a_i, b_i, m, k, n, &mut out[i * m * n..(i + 1) * m * n]);
        }
        let dims: Vec<usize> = batch.dims().iter().copied().chain([m, n]).collect();
        Ok(Tensor::from_op(out, Shape::new(&dims), &[self, other], || {
            Op::MatMul(self.clone(), other.clone())
        }))
    }

    /// softmax(x)ᵢ = exp(xᵢ − m) / Σⱼ exp(xⱼ − m) along `axis`, with m the (detached) maximum: subtracting
    /// it changes nothing mathematically and keeps every exponent ≤ 0, so large logits cannot overflow.
    pub fn softmax(&self, axis: isize) -> Result<Tensor> {
        let shifted = self.sub(&self.max(axis, true)?.detach())?;
        let e = shifted.exp();
        e.div(&e.sum(&[axis], true)?)
    }

    /// log_softmax(x) = (x − m) − log Σ exp(x − m): finite for any finite input, even −1e30.
    pub fn log_softmax(&self, axis: isize) -> Result<Tensor> {
        let shifted = self.sub(&self.max(axis, true)?.detach())?;
        shifted.sub(&shifted.exp().sum(&[axis], true)?.log())
    }
}
