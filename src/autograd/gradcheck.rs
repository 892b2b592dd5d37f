//! Gradient checking: autograd's gradients against central finite differences.

use crate::autograd::no_grad;
use crate::error::{LabError, Result};
use crate::tensor::{Rng, Tensor};

/// Step and tolerances. The lab computes in f32, so the step cannot be tiny: with eps = 1e-2 the
/// truncation error of the central difference is O(eps²·f''') ≈ 1e-4 for well-scaled inputs and the rounding
/// error O(ε_f32·|L|/eps) ≈ 1e-5·|L|; |analytic − numeric| ≤ atol + rtol·|numeric| with 1e-2 for both
/// leaves a wide margin over those and still catches any wrong formula (errors of O(1)).
#[derive(Debug, Clone, Copy)]
pub struct GradcheckOptions {
    pub eps: f32,
    pub atol: f32,
    pub rtol: f32,
}

impl Default for GradcheckOptions {
    fn default() -> Self {
        GradcheckOptions { eps: 1e-2, atol: 1e-2, rtol: 1e-2 }
    }
}

/// Checks ∂L/∂input for every element of every input, where L = Σ f(inputs) ⊙ W with fixed random weights W
/// (so that every output element gets a different gradient). Inputs must be leaves; they are made to
/// require grad. Returns an error naming the first element that disagrees.
pub fn gradcheck(
    f: impl Fn(&[Tensor]) -> Result<Tensor>,
    inputs: &[Tensor],
    opts: GradcheckOptions,
) -> Result<()> {
    let inputs: Vec<Tensor> = inputs.iter().map(|t| t.detach().requires_grad_(true)).collect();
    let out = f(&inputs)?;
    let mut rng = Rng::new(0x9e37);
    let weights: Vec<f32> = (0..out.numel()).map(|_| rng.uniform_range(-1.0, 1.0)).collect();
    let w = Tensor::from_vec(weights.clone(), out.shape().clone())?;
    out.mul(&w)?.sum(&[], false)?.backward()?;

    let loss = |xs: &[Tensor]| -> Result<f64> {
        let y = no_grad(|| f(xs))?.to_vec();
        Ok(y.iter().zip(&weights).map(|(&a, &b)| f64::from(a) * f64::from(b)).sum())
    };
    for (which, x) in inputs.iter().enumerate() {
        let analytic = x.grad().map(|g| g.to_vec()).unwrap_or_else(|| vec![0.0; x.numel()]);
        let original = x.to_vec();
        for i in 0..x.numel() {
            let mut probe = original.clone();
            probe[i] = original[i] + opts.eps;
            x.assign(&probe)?;
            let plus = loss(&inputs)?;
            probe[i] = original[i] - opts.eps;
            x.assign(&probe)?;
            let minus = loss(&inputs)?;
            x.assign(&original)?;
            let numeric = ((plus - minus) / (2.0 * f64::from(opts.eps))) as f32;
            let got = analytic[i];
            // Written so that a NaN on either side fails the check.
            let close = (got - numeric).abs() <= opts.atol + opts.rtol * numeric.abs();
            if !close {
                return Err(LabError::InvalidArgument(format!(
                    "gradcheck: input {which}, element {i}: autograd gives {got}, finite differences {numeric}"
                )));
            }
        }
    }
    Ok(())
}
