//! Per-layer statistics of a model (textbook §6: dying ReLUs, exploding and vanishing activations and
//! gradients): what each layer outputs on a probe batch, and the gradients of its parameters.

use serde::Serialize;

use crate::autograd;
use crate::error::Result;
use crate::nn::{Module, Sequential};
use crate::tensor::Tensor;

/// One layer's numbers.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LayerStats {
    /// Position in the `Sequential` and the layer's own description, e.g. "2 ReLU".
    pub layer: String,
    pub activation_mean: f32,
    pub activation_std: f32,
    /// Share of output units (features, or channels for images) that are ≤ 0 for every probe item: after
    /// a ReLU these units are dead, they pass no gradient.
    pub dead_fraction: f32,
    /// Standard deviation of the gradient of the layer's weight (from the last training step), if it has one.
    pub weight_grad_std: Option<f32>,
}

/// Runs `x` through `model` layer by layer without recording a graph and describes each output.
pub fn layer_stats(model: &Sequential, x: &Tensor) -> Result<Vec<LayerStats>> {
    model.eval();
    let out = autograd::no_grad(|| {
        let mut h = x.clone();
        let mut rows = Vec::with_capacity(model.layers.len());
        for (i, layer) in model.layers.iter().enumerate() {
            h = layer.forward(&h)?;
            let values = h.to_vec();
            let (mean, std) = mean_std(&values);
            let weight_grad_std = layer
                .named_parameters()
                .into_iter()
                .find(|(n, _)| n == "weight")
                .and_then(|(_, w)| w.grad())
                .map(|g| mean_std(&g.to_vec()).1);
            rows.push(LayerStats {
                layer: format!("{i} {}", layer.describe()),
                activation_mean: mean,
                activation_std: std,
                dead_fraction: dead_fraction(&values, h.dims()),
                weight_grad_std,
            });
        }
        Ok(rows)
    });
    model.train();
    out
}

/// One layer's values as a histogram: `bins` equal bins from `lo` to `hi`, each the share of the values
/// that fall in it (the shares sum to 1).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Histogram {
    pub layer: String,
    pub lo: f32,
    pub hi: f32,
    pub shares: Vec<f32>,
}

impl Histogram {
    /// The finite values of `v` in `bins` bins spanning their range (one bin around a constant).
    pub fn of(layer: String, v: &[f32], bins: usize) -> Histogram {
        let finite = v.iter().copied().filter(|x| x.is_finite());
        let (lo, hi) =
            finite.clone().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), x| (a.min(x), b.max(x)));
        let (lo, hi) = if lo > hi {
            (0.0, 1.0)
        } else if lo == hi {
            (lo - 0.5, hi + 0.5)
        } else {
            (lo, hi)
        };
        let bins = bins.max(1);
        let mut counts = vec![0u32; bins];
        let mut n = 0u32;
        for x in finite {
            let at = (((x - lo) / (hi - lo)) * bins as f32) as usize;
            counts[at.min(bins - 1)] += 1;
            n += 1;
        }
        let shares = counts.iter().map(|&c| c as f32 / n.max(1) as f32).collect();
        Histogram { layer, lo, hi, shares }
    }
}

/// Histograms of each activation layer's outputs (ReLU, tanh, ... : the values the next layer receives) for
/// `x`, and of each weight's gradient from the last backward pass (none before the first step).
pub fn layer_histograms(
    model: &Sequential,
    x: &Tensor,
    bins: usize,
) -> Result<(Vec<Histogram>, Vec<Histogram>)> {
    const ACTIVATIONS: [&str; 8] =
        ["Sigmoid", "Tanh", "ReLU", "LeakyReLU", "ELU", "GELU", "Swish", "Softplus"];
    model.eval();
    let out = autograd::no_grad(|| {
        let (mut acts, mut grads) = (Vec::new(), Vec::new());
        let mut h = x.clone();
        for (i, layer) in model.layers.iter().enumerate() {
            h = layer.forward(&h)?;
            let name = layer.describe();
            if ACTIVATIONS.iter().any(|a| name.starts_with(a)) {
                acts.push(Histogram::of(format!("{i} {name}"), &h.to_vec(), bins));
            }
            let weight = layer.named_parameters().into_iter().find(|(n, _)| n == "weight");
            if let Some(g) = weight.and_then(|(_, w)| w.grad()) {
                grads.push(Histogram::of(format!("{i} {name}"), &g.to_vec(), bins));
            }
        }
        Ok((acts, grads))
    });
    model.train();
    out
}

fn mean_std(v: &[f32]) -> (f32, f32) {
    let n = v.len().max(1) as f64;
    let mean = v.iter().map(|&x| f64::from(x)).sum::<f64>() / n;
    let var = v.iter().map(|&x| (f64::from(x) - mean).powi(2)).sum::<f64>() / n;
    (mean as f32, var.sqrt() as f32)
}

/// Units are axis 1 of (N, units, ...); a unit is dead when every value it takes is ≤ 0.
fn dead_fraction(values: &[f32], dims: &[usize]) -> f32 {
    if dims.len() < 2 || values.is_empty() {
        return 0.0;
    }
    let (n, units) = (dims[0], dims[1]);
    let plane = values.len() / (n * units).max(1);
    let mut alive = vec![false; units];
    for item in values.chunks(units * plane) {
        for (u, unit) in item.chunks(plane).enumerate() {
            alive[u] |= unit.iter().any(|&v| v > 0.0);
        }
    }
    alive.iter().filter(|a| !**a).count() as f32 / units as f32
}
