//! Loss functions, PyTorch-shaped (mean over the batch), built from tensor ops so autograd differentiates
//! them. Targets that are class indices are `&[usize]`.

use crate::error::{LabError, Result};
use crate::tensor::{Device, Tensor};

/// Mean squared error: mean((pred − target)²).
pub fn mse(pred: &Tensor, target: &Tensor) -> Result<Tensor> {
    pred.sub(target)?.pow(2.0).mean(&[], false)
}

/// Binary cross-entropy on probabilities p ∈ (0, 1): −mean(y·log p + (1 − y)·log(1 − p)). Probabilities
/// are clamped to [1e-7, 1 − 1e-7] so a saturated sigmoid gives a large loss, not infinity.
pub fn binary_cross_entropy(p: &Tensor, y: &Tensor) -> Result<Tensor> {
    let eps = 1e-7;
    let p = p.maximum(&Tensor::scalar(eps))?.minimum(&Tensor::scalar(1.0 - eps))?;
    let pos = y.mul(&p.log())?;
    let neg = y.neg().add_scalar(1.0).mul(&p.neg().add_scalar(1.0).log())?;
    pos.add(&neg)?.mean(&[], false).map(|t| t.neg())
}

/// Binary cross-entropy on logits z, stable for any z: mean(max(z, 0) − z·y + log(1 + e^−|z|)).
pub fn binary_cross_entropy_with_logits(z: &Tensor, y: &Tensor) -> Result<Tensor> {
    let softplus_neg_abs = z.abs().neg().exp().add_scalar(1.0).log();
    z.relu().sub(&z.mul(y)?)?.add(&softplus_neg_abs)?.mean(&[], false)
}

/// Cross-entropy on logits (N, C) with class indices: −mean(log_softmax(z)[i, yᵢ]) (fused log-softmax).
pub fn cross_entropy(logits: &Tensor, targets: &[usize]) -> Result<Tensor> {
    let (n, c) = batch_classes(logits, targets.len(), "cross_entropy")?;
    check_targets(targets, c)?;
    let index = Tensor::from_vec(targets.iter().map(|&t| t as f32).collect(), [n, 1])?;
    logits.log_softmax(-1)?.gather(1, &index)?.mean(&[], false).map(|t| t.neg())
}

/// `cross_entropy(x Wᵀ + b, targets)`: a classifier's last `Linear` layer and its loss in one op, its
/// gradients made with the loss. On the CPU the logits and the gradients are made block by block of x's
/// rows, so x is read once per step instead of twice (`cpu::linear_cross_entropy`; Liger-Kernel's fused
/// linear cross-entropy); on the GPU the loss, dz, dW and db take five launches
/// (`Tensor::linear_cross_entropy_gpu`). Where no gradient is recorded, or the inputs are on different
/// devices, it is the composite. x (N, K), weight (C, K), bias (C).
pub fn linear_cross_entropy(
    x: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    targets: &[usize],
) -> Result<Tensor> {
    let (n, c, k) = match (x.dims(), weight.dims(), bias.map(|b| b.dims())) {
        (&[n, k], &[c, kw], None) if k == kw => (n, c, k),
        (&[n, k], &[c, kw], Some(&[cb])) if k == kw && cb == c => (n, c, k),
        _ => {
            return Err(LabError::Shape {
                op: "linear_cross_entropy",
                left: x.dims().to_vec(),
                right: weight.dims().to_vec(),
            });
        }
    };
    let inputs = || [Some(x), Some(weight), bias].into_iter().flatten();
    let device = x.device();
    let one_device = inputs().all(|t| t.device() == device);
    // Without a gradient to record (no_grad, or nothing requires one) the forward pass alone is one pass.
    let recorded = crate::autograd::is_grad_enabled() && inputs().any(|t| t.requires_grad());
    if !one_device || !recorded || c == 0 || k == 0 {
        let logits = x.matmul_t(weight, false, true)?;
        let logits = match bias {
            Some(b) => logits.add(b)?,
            None => logits,
        };
        return cross_entropy(&logits, targets);
    }
    if n != targets.len() {
        return Err(LabError::InvalidArgument(format!(
            "linear_cross_entropy: x has {n} rows for {} targets",
            targets.len()
        )));
    }
    check_targets(targets, c)?;
    Ok(match device {
        Device::Cpu => x.linear_cross_entropy_cpu(weight, bias, targets),
        Device::WebGpu => x.linear_cross_entropy_gpu(weight, bias, targets),
    })
}

/// Cross-entropy on logits (N, C) with one-hot (or soft) targets (N, C): −mean(Σ_c y·log_softmax(z)).
pub fn cross_entropy_one_hot(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    let n = batch_classes(logits, targets.dims().first().copied().unwrap_or(0), "cross_entropy")?.0;
    let total = logits.log_softmax(-1)?.mul(targets)?.sum(&[], false)?;
    Ok(total.mul_scalar(-1.0 / n as f32))
}

/// Multi-class hinge loss of a linear SVM (Weston & Watkins): mean over samples of Σ_{j≠y} max(0, s_j − s_y + 1).
pub fn hinge(scores: &Tensor, targets: &[usize]) -> Result<Tensor> {
    let (n, c) = batch_classes(scores, targets.len(), "hinge")?;
    if let Some(&bad) = targets.iter().find(|&&t| t >= c) {
        return Err(LabError::InvalidArgument(format!("hinge: target {bad} is not one of the {c} classes")));
    }
    let index = Tensor::from_vec(targets.iter().map(|&t| t as f32).collect(), [n, 1])?;
    let correct = scores.gather(1, &index)?; // (N, 1)
    let margins = scores.sub(&correct)?.add_scalar(1.0).relu(); // the true class contributes max(0, 1) = 1
    Ok(margins.sum(&[], false)?.add_scalar(-(n as f32)).mul_scalar(1.0 / n as f32))
}

/// The L2 penalty λ/2 · Σ‖w‖² over `params` (weight decay written as a loss term).
pub fn l2_penalty(params: &[Tensor], lambda: f32) -> Result<Tensor> {
    let mut total = Tensor::scalar(0.0);
    for p in params {
        total = total.add(&p.pow(2.0).sum(&[], false)?)?;
    }
    Ok(total.mul_scalar(lambda / 2.0))
}

/// Every target names one of the c classes.
fn check_targets(targets: &[usize], c: usize) -> Result<()> {
    match targets.iter().find(|&&t| t >= c) {
        Some(bad) => Err(LabError::InvalidArgument(format!(
            "cross_entropy: target {bad} is not one of the {c} classes"
        ))),
        None => Ok(()),
    }
}

/// (N, C) of a logits tensor, checked against the number of targets.
fn batch_classes(logits: &Tensor, targets: usize, op: &str) -> Result<(usize, usize)> {
    match *logits.dims() {
        [n, c] if n == targets && c > 0 => Ok((n, c)),
        _ => Err(LabError::InvalidArgument(format!(
            "{op}: logits must be (N, C) with N = {targets} targets, got shape {}",
            logits.shape()
        ))),
    }
}
