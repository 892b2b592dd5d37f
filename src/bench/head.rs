//! The fused classifier head against the ops it replaces: a training step's last `Linear` layer, its
//! cross-entropy and the backward pass through both, timed as `cross_entropy(linear(x))` + backward (the
//! composite: two passes over x) and as `linear_cross_entropy` + backward (one pass, `cpu::head`), on the
//! batches the workloads train on. A drawn batch's rows are picked from 60,000 as training reads them.

use std::rc::Rc;

use serde::Serialize;

use super::median_of_samples;
use crate::error::Result;
use crate::nn::{Init, Linear, Module};
use crate::tensor::{Rng, Tensor};

/// One head shape, both ways.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HeadRow {
    pub name: String,
    /// Batch, inputs and classes: x (n, k), W (c, k).
    pub n: usize,
    pub k: usize,
    pub c: usize,
    /// Median ms of one forward + backward, composite and fused.
    pub composite_ms: f64,
    pub fused_ms: f64,
    /// Largest |fused − composite| over the loss and W's gradient, relative to the largest |value|.
    pub max_rel_diff: f64,
}

/// W5's head (5,000 drawn rows of 784), W1's (128 drawn rows), W3's dense layer on the flattened maps
/// (128 x 1568, x needs its gradient) and W2's last layer (128 x 64, likewise).
pub fn head_table(now_ms: &dyn Fn() -> f64, budget_ms: f64) -> Vec<HeadRow> {
    let shapes = [
        ("W5 softmax regression, drawn", 5000, 784, true),
        ("W1 softmax regression, drawn", 128, 784, true),
        ("W3 dense head (x needs grad)", 128, 1568, false),
        ("W2 last layer (x needs grad)", 128, 64, false),
    ];
    shapes.into_iter().map(|(name, n, k, drawn)| head_row(name, n, k, drawn, now_ms, budget_ms)).collect()
}

fn head_row(
    name: &str,
    n: usize,
    k: usize,
    drawn: bool,
    now_ms: &dyn Fn() -> f64,
    budget_ms: f64,
) -> HeadRow {
    const C: usize = 10;
    let mut rng = Rng::new(5);
    let rows = if drawn { 60_000 } else { n };
    let base = Rc::new((0..rows * k).map(|_| rng.uniform_range(-1.0, 1.0)).collect::<Vec<f32>>());
    let mut order: Vec<usize> = (0..rows).collect();
    if drawn {
        crate::data::shuffle(&mut order, &mut rng);
    }
    order.truncate(n);
    let targets: Vec<usize> = (0..n).map(|_| rng.below(C)).collect();
    crate::tensor::manual_seed(5);
    let linear = Linear::new(k, C, Init::XavierUniform { fan_avg: true }, true);
    // A fresh batch per step, as training makes one: a drawn batch is read in place, or gathered once.
    let batch = || -> Result<Tensor> {
        let x = Tensor::from_rows(&base, &order, &[k])?;
        Ok(if drawn { x } else { x.detach().requires_grad_(true) })
    };
    let step = |fused: bool| -> Result<(f32, Vec<f32>)> {
        linear.weight.zero_grad();
        let x = batch()?;
        let loss = if fused {
            crate::loss::linear_cross_entropy(&x, &linear.weight, linear.bias.as_ref(), &targets)?
        } else {
            crate::loss::cross_entropy(&linear.forward(&x)?, &targets)?
        };
        loss.backward()?;
        Ok((loss.item()?, linear.weight.grad().map(|g| g.to_vec()).unwrap_or_default()))
    };
    let time = |fused: bool| {
        let mut run = async |reps: usize| {
            let t0 = now_ms();
            for _ in 0..reps {
                step(fused)?;
            }
            Ok((now_ms() - t0) / reps as f64)
        };
        crate::train::now(median_of_samples(now_ms, budget_ms, &mut run)).unwrap_or(f64::NAN)
    };
    let (composite_ms, fused_ms) = (time(false), time(true));
    let max_rel_diff = match (step(false), step(true)) {
        (Ok((l0, g0)), Ok((l1, g1))) => {
            let scale = g0.iter().fold(l0.abs(), |s, v| s.max(v.abs())).max(1e-30);
            let diff = g0.iter().zip(&g1).fold((l0 - l1).abs(), |d, (a, b)| d.max((a - b).abs()));
            f64::from(diff / scale)
        }
        _ => f64::NAN,
    };
    HeadRow { name: name.into(), n, k, c: C, composite_ms, fused_ms, max_rel_diff }
}

/// The rows as a plain-text table.
pub fn format_head_table(rows: &[HeadRow]) -> String {
    let mut out = format!(
        "classifier head, forward + backward: cross_entropy(linear(x)) vs linear_cross_entropy (fused)\n\
         {:<30} {:>16} {:>13} {:>9} {:>8} {:>9}\n",
        "shape", "n x k -> c", "composite ms", "fused ms", "speed-up", "max rel"
    );
    for r in rows {
        out += &format!(
            "{:<30} {:>16} {:>13.3} {:>9.3} {:>7.2}x {:>9.1e}\n",
            r.name,
            format!("{}x{} -> {}", r.n, r.k, r.c),
            r.composite_ms,
            r.fused_ms,
            r.composite_ms / r.fused_ms,
            r.max_rel_diff
        );
    }
    out
}
