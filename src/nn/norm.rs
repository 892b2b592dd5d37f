//! Normalization layers: BatchNorm (Ioffe & Szegedy, 2015) over (N, C) or (N, C, H, W), and LayerNorm.

use super::{Mode, Module};
use crate::autograd::no_grad;
use crate::error::{LabError, Result};
use crate::tensor::{Shape, Tensor};

/// Batch normalization. Training: normalise with the batch's mean and (biased) variance per channel and
/// update the running statistics; evaluation: use the running statistics. γ = 1, β = 0 at start.
/// x: (N, C) for BatchNorm1d or (N, C, H, W) for BatchNorm2d -> same shape.
pub struct BatchNorm {
    pub weight: Tensor,
    pub bias: Tensor,
    pub running_mean: Tensor,
    pub running_var: Tensor,
    pub momentum: f32,
    pub eps: f32,
    pub(crate) mode: Mode,
}

impl BatchNorm {
    /// For `channels` features or channels (PyTorch's BatchNorm1d/BatchNorm2d defaults: momentum 0.1, eps 1e-5).
    pub fn new(channels: usize) -> BatchNorm {
        BatchNorm {
            weight: Tensor::ones([channels]).requires_grad_(true),
            bias: Tensor::zeros([channels]).requires_grad_(true),
            running_mean: Tensor::zeros([channels]),
            running_var: Tensor::ones([channels]),
            momentum: 0.1,
            eps: 1e-5,
            mode: Mode::default(),
        }
    }

    /// The axes statistics are taken over and the shape per-channel tensors broadcast as.
    fn layout(&self, x: &Tensor) -> Result<(Vec<isize>, Shape)> {
        let c = self.weight.numel();
        match *x.dims() {
            [_, ch] if ch == c => Ok((vec![0], Shape::new(&[1, c]))),
            [_, ch, _, _] if ch == c => Ok((vec![0, 2, 3], Shape::new(&[1, c, 1, 1]))),
            _ => Err(LabError::InvalidArgument(format!(
                "BatchNorm({c}): input must be (N, {c}) or (N, {c}, H, W), got {}",
                x.shape()
            ))),
        }
    }
}

impl Module for BatchNorm {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (axes, per_channel) = self.layout(x)?;
        let (mean, var) = if self.mode.training() {
            let mean = x.mean(&axes, true)?;
            let var = x.sub(&mean)?.pow(2.0).mean(&axes, true)?;
            let count = x.numel() / self.weight.numel();
            no_grad(|| -> Result<()> {
                let m = self.momentum;
                let unbiased = var
                    .mul_scalar(count as f32 / (count.max(2) - 1) as f32)
                    .reshape_to(self.running_var.shape())?;
                let new_mean = self
                    .running_mean
                    .mul_scalar(1.0 - m)
                    .add(&mean.reshape_to(self.running_mean.shape())?.mul_scalar(m))?;
                let new_var = self.running_var.mul_scalar(1.0 - m).add(&unbiased.mul_scalar(m))?;
                self.running_mean.assign_tensor(&new_mean)?;
                self.running_var.assign_tensor(&new_var)
            })?;
            (mean, var)
        } else {
            (self.running_mean.reshape_to(&per_channel)?, self.running_var.reshape_to(&per_channel)?)
        };
        let x_hat = x.sub(&mean)?.div(&var.add_scalar(self.eps).sqrt())?;
        x_hat.mul(&self.weight.reshape_to(&per_channel)?)?.add(&self.bias.reshape_to(&per_channel)?)
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        vec![("weight".into(), self.weight.clone()), ("bias".into(), self.bias.clone())]
    }
    fn named_buffers(&self) -> Vec<(String, Tensor)> {
        vec![
            ("running_mean".into(), self.running_mean.clone()),
            ("running_var".into(), self.running_var.clone()),
        ]
    }
    fn set_training(&self, on: bool) {
        self.mode.set(on);
    }
    fn describe(&self) -> String {
        format!("BatchNorm({})", self.weight.numel())
    }
}

/// PyTorch's name for BatchNorm over (N, C).
pub type BatchNorm1d = BatchNorm;
/// PyTorch's name for BatchNorm over (N, C, H, W).
pub type BatchNorm2d = BatchNorm;

/// Layer normalization over the last dimension (per sample, so it works for any batch size).
/// x: (..., D) -> same shape; γ, β: (D,).
pub struct LayerNorm {
    pub weight: Tensor,
    pub bias: Tensor,
    pub eps: f32,
}

impl LayerNorm {
    pub fn new(features: usize) -> LayerNorm {
        LayerNorm {
            weight: Tensor::ones([features]).requires_grad_(true),
            bias: Tensor::zeros([features]).requires_grad_(true),
            eps: 1e-5,
        }
    }
}

impl Module for LayerNorm {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mean = x.mean(&[-1], true)?;
        let var = x.sub(&mean)?.pow(2.0).mean(&[-1], true)?;
        let x_hat = x.sub(&mean)?.div(&var.add_scalar(self.eps).sqrt())?;
        x_hat.mul(&self.weight)?.add(&self.bias)
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        vec![("weight".into(), self.weight.clone()), ("bias".into(), self.bias.clone())]
    }
    fn describe(&self) -> String {
        format!("LayerNorm({})", self.weight.numel())
    }
}
