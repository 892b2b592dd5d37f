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
