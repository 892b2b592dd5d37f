//! Layout ops: reshape, permute/transpose and broadcast (expand). Tensors stay contiguous, so permute and
//! expand copy; reshape only relabels.

use super::elementwise::gpu_rank;
use super::{Shape, Storage, Tensor};
use crate::autograd::Op;
use crate::backend::cpu;
use crate::backend::webgpu::ops as gpu;
use crate::error::{LabError, Result};

impl Tensor {
    /// A new shape with the same elements; one dimension may be -1 (inferred), as in PyTorch.
    pub fn reshape(&self, dims: &[isize]) -> Result<Tensor> {
        let inferred = dims.iter().filter(|&&d| d == -1).count();
        let bad =
            || LabError::InvalidArgument(format!("reshape: shape {} cannot become {dims:?}", self.shape()));
        // Checked: an absurd requested shape is an error, never an overflow.
        let known = dims
            .iter()
            .filter(|&&d| d >= 0)
            .try_fold(1usize, |acc, &d| acc.checked_mul(d as usize))
            .ok_or_else(bad)?;
        if inferred > 1 || dims.iter().any(|&d| d < -1) {
            return Err(bad());
        }
        let fill = if inferred == 1 {
            if known == 0 || !self.numel().is_multiple_of(known) {
                return Err(bad());
            }
            self.numel() / known
        } else {
            0
        };
        let shape: Vec<usize> = dims.iter().map(|&d| if d == -1 { fill } else { d as usize }).collect();
        self.reshape_to(&Shape::new(&shape)).map_err(|_| bad())
    }

    /// Reshape to an exact shape with the same number of elements.
    pub fn reshape_to(&self, shape: &Shape) -> Result<Tensor> {
        if shape.numel() != self.numel() {
            return Err(LabError::InvalidArgument(format!(
                "reshape: {} elements of shape {} cannot fill shape {shape}",
                self.numel(),
                self.shape()
            )));
        }
        Ok(Tensor::from_op(self.copied_storage(), shape.clone(), &[self], || Op::Reshape(self.clone())))
    }

    /// Reorders the dimensions: output dimension i is input dimension perm[i].
    pub fn permute(&self, perm: &[usize]) -> Result<Tensor> {
        let rank = self.rank();
        let mut seen = vec![false; rank];
        if perm.len() != rank || perm.iter().any(|&p| p >= rank || std::mem::replace(&mut seen[p], true)) {
            return Err(LabError::InvalidArgument(format!(
                "permute: {perm:?} is not a permutation of the {rank} dimensions of shape {}",
                self.shape()
            )));
        }
        let (dims, strides) = (self.dims(), self.shape().strides());
        let out_dims: Vec<usize> = perm.iter().map(|&p| dims[p]).collect();
        let src_strides: Vec<usize> = perm.iter().map(|&p| strides[p]).collect();
        let out: Storage = match self.gpu() {
            Some(x) => {
                gpu_rank(self.shape(), "permute")?;
                gpu::copy_strided(&x, 0, &src_strides, &out_dims).into()
            }
            None => {
                let mut out = vec![0.0; self.numel()];
                cpu::copy_strided(&self.data(), &src_strides, &out_dims, &mut out);
                out.into()
            }
        };
        let perm = perm.to_vec();
        Ok(Tensor::from_op(out, Shape::new(&out_dims), &[self], || Op::Permute { x: self.clone(), perm }))
    }

    /// Swaps two dimensions (negative indices count from the end).
    pub fn transpose(&self, a: isize, b: isize) -> Result<Tensor> {
        let (a, b) = (self.shape().axis(a, "transpose")?, self.shape().axis(b, "transpose")?);
        let mut perm: Vec<usize> = (0..self.rank()).collect();
        perm.swap(a, b);
        self.permute(&perm)
    }

    /// Broadcasts to `shape` (which must be a broadcast of this tensor's shape), copying the values.
    pub fn expand(&self, shape: &Shape) -> Result<Tensor> {
        if self.shape().broadcast(shape, "expand")? != *shape {
            return Err(LabError::Shape {
                op: "expand",
                left: self.dims().to_vec(),
                right: shape.dims().to_vec(),
            });
        }
        if shape == self.shape() {
            return Ok(self.clone());
        }
        let out: Storage = match self.gpu() {
            Some(x) => {
                gpu_rank(shape, "expand")?;
                gpu::copy_strided(&x, 0, &self.shape().broadcast_strides(shape), shape.dims()).into()
            }
            None => self.expand_data(shape).into(),
        };
        Ok(Tensor::from_op(out, shape.clone(), &[self], || Op::Expand(self.clone())))
    }

    /// The values broadcast to `shape` (already checked by the caller), without recording anything.
    pub(crate) fn expand_data(&self, shape: &Shape) -> Vec<f32> {
        let mut out = vec![0.0; shape.numel()];
        cpu::copy_strided(&self.data(), &self.shape().broadcast_strides(shape), shape.dims(), &mut out);
        out
    }
}
