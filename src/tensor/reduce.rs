//! Reductions: sum, mean, max, argmax over axes, and `sum_to` (undoing a broadcast, for gradients).

use super::{Shape, Storage, Tensor};
use crate::autograd::{self, Op};
use crate::backend::cpu;
use crate::backend::ops::ReduceOp;
use crate::backend::webgpu::ops as gpu;
use crate::error::{LabError, Result};

impl Tensor {
    /// Views the shape as (outer, n, inner) around `axis`, and the kept-dim output shape.
    fn around(&self, axis: usize) -> (usize, usize, usize, Shape) {
        let dims = self.dims();
        let outer = dims[..axis].iter().product();
        let inner = dims[axis + 1..].iter().product();
        let mut kept = dims.to_vec();
        kept[axis] = 1;
        (outer, dims[axis], inner, Shape::new(&kept))
    }

    fn reduce_axis(&self, op: ReduceOp, axis: usize) -> Storage {
        let (outer, n, inner, _) = self.around(axis);
        if let Some(x) = self.gpu() {
            return gpu::reduce(op, &x, outer, n, inner).into();
        }
        let mut out = vec![0.0; outer * inner];
        cpu::reduce(op, &self.data(), outer, n, inner, &mut out);
        out.into()
    }

    /// Sum over one axis, kept with size 1.
    fn sum_axis(&self, axis: usize) -> Tensor {
        let out = self.reduce_axis(ReduceOp::Sum, axis);
        let (.., kept) = self.around(axis);
        Tensor::from_op(out, kept, &[self], || Op::Sum(self.clone()))
    }

    /// Sum over `axes` (sorted, distinct), kept with size 1, the last axis first. On the GPU each run of
    /// adjacent axes is one launch (a convolution's bias gradient, over N and H·W, is two instead of three);
    /// the CPU reduces axis by axis, in the reference's order.
    fn sum_axes(&self, axes: &[usize]) -> Tensor {
        let mut t = self.clone();
        if self.gpu().is_none() {
            for &a in axes.iter().rev() {
                t = t.sum_axis(a);
            }
            return t;
        }
        let mut end = axes.len();
        while end > 0 {
            let mut start = end - 1;
            while start > 0 && axes[start - 1] + 1 == axes[start] {
                start -= 1;
            }
            t = t.sum_run(axes[start], axes[end - 1]);
            end = start;
        }
        t
    }

    /// Sum over axes first..=last at once (on the GPU), kept with size 1.
    fn sum_run(&self, first: usize, last: usize) -> Tensor {
        let dims = self.dims();
        let (outer, n, inner) = (
            dims[..first].iter().product(),
            dims[first..=last].iter().product(),
            dims[last + 1..].iter().product(),
        );
        let mut kept = dims.to_vec();
        kept[first..=last].fill(1);
        let x = self.gpu().expect("sum_run: on the GPU");
        let out: Storage = gpu::reduce(ReduceOp::Sum, &x, outer, n, inner).into();
        Tensor::from_op(out, Shape::new(&kept), &[self], || Op::Sum(self.clone()))
    }

    /// Sum over `axes` (empty: all of them); `keepdim` keeps them with size 1.
    pub fn sum(&self, axes: &[isize], keepdim: bool) -> Result<Tensor> {
        let axes = self.resolve_axes(axes, "sum")?;
        if self.rank() == 0 {
            return Ok(self.clone());
        }
        let t = self.sum_axes(&axes);
        if keepdim { Ok(t) } else { t.reshape_to(&self.drop_axes(&axes)) }
    }

    /// Mean over `axes` (empty: all of them).
    pub fn mean(&self, axes: &[isize], keepdim: bool) -> Result<Tensor> {
        let resolved = self.resolve_axes(axes, "mean")?;
        let count: usize = resolved.iter().map(|&a| self.dims()[a]).product();
        if count == 0 {
            return Err(LabError::InvalidArgument(format!(
                "mean: no elements along {axes:?} of {}",
                self.shape()
            )));
        }
        Ok(self.sum(axes, keepdim)?.mul_scalar(1.0 / count as f32))
    }

    /// Maximum along one axis (NaN propagates); the gradient goes to the first maximum.
    pub fn max(&self, axis: isize, keepdim: bool) -> Result<Tensor> {
        let a = self.non_empty_axis(axis, "max")?;
        let values = self.reduce_axis(ReduceOp::Max, a);
        let (.., kept) = self.around(a);
        let argmax = Tensor::make(self.reduce_axis(ReduceOp::ArgMax, a), kept.clone(), None);
        let t = Tensor::from_op(values, kept, &[self], || Op::Max { x: self.clone(), axis: a, argmax });
        if keepdim { Ok(t) } else { t.reshape_to(&self.drop_axes(&[a])) }
    }

    /// Index of the first maximum along one axis, as f32 (no gradient).
    pub fn argmax(&self, axis: isize, keepdim: bool) -> Result<Tensor> {
        let a = self.non_empty_axis(axis, "argmax")?;
        let (.., kept) = self.around(a);
        let t = Tensor::make(self.reduce_axis(ReduceOp::ArgMax, a), kept, None);
        if keepdim { Ok(t) } else { t.reshape_to(&self.drop_axes(&[a])) }
    }

    /// Sums a broadcast result back down to `shape` (the gradient of a broadcast).
    pub fn sum_to(&self, shape: &Shape) -> Result<Tensor> {
        if self.shape() == shape {
            return Ok(self.clone());
        }
        let axes = autograd::reduced_axes(self.shape(), shape).ok_or_else(|| LabError::Shape {
            op: "sum_to",
            left: self.dims().to_vec(),
            right: shape.dims().to_vec(),
        })?;
        self.sum_axes(&axes).reshape_to(shape)
    }

    /// Sorted, de-duplicated axes; empty means all.
    fn resolve_axes(&self, axes: &[isize], op: &str) -> Result<Vec<usize>> {
        if axes.is_empty() {
            return Ok((0..self.rank()).collect());
        }
        let mut out = axes.iter().map(|&a| self.shape().axis(a, op)).collect::<Result<Vec<_>>>()?;
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    fn non_empty_axis(&self, axis: isize, op: &str) -> Result<usize> {
        if self.rank() == 0 {
            return Err(LabError::InvalidArgument(format!("{op}: a scalar has no axis {axis}")));
        }
        let a = self.shape().axis(axis, op)?;
        if self.dims()[a] == 0 {
            return Err(LabError::InvalidArgument(format!(
                "{op}: axis {axis} of shape {} is empty",
                self.shape()
            )));
        }
        Ok(a)
    }

    fn drop_axes(&self, axes: &[usize]) -> Shape {
        let dims: Vec<usize> =
            self.dims().iter().enumerate().filter(|(i, _)| !axes.contains(i)).map(|(_, &d)| d).collect();
        Shape::new(&dims)
    }
}
