//! Chapter 1's "why vectorize": one epoch's gradient of a linear model's squared error over the training
//! set, computed three ways on this machine, right now: plain scalar loops sample by sample; the tensor
//! engine called sample by sample (every call pays its overhead, as a numpy call per sample does); and one
//! batched matrix product for the whole set (the SIMD kernel). The three gradients must agree.

use web_time::Instant;

use super::Figure;
use crate::data::Targets;
use crate::error::{LabError, Result};
use crate::nn::Module;
use crate::tensor::Tensor;
use crate::train::Session;

/// ∂MSE/∂w and ∂MSE/∂b for the rows of `x` (n × d, row-major), targets `y`, weights `w`, bias `b`.
type Gradient = (Vec<f32>, f32);

fn scalar_loops(x: &[f32], y: &[f32], w: &[f32], b: f32) -> Gradient {
    let (n, d) = (y.len(), w.len());
    let (mut gw, mut gb) = (vec![0.0f32; d], 0.0f32);
    for i in 0..n {
        let mut pred = b;
        for j in 0..d {
            pred += w[j] * x[i * d + j];
        }
        let err = 2.0 * (pred - y[i]) / n as f32;
        for j in 0..d {
            gw[j] += err * x[i * d + j];
        }
        gb += err;
    }
    (gw, gb)
}

fn per_sample(x: &[f32], y: &[f32], w: &Tensor, b: f32) -> Result<Gradient> {
    let (n, d) = (y.len(), w.numel());
    let (mut gw, mut gb) = (Tensor::zeros([d, 1]), 0.0f32);
    for i in 0..n {
        let xi = Tensor::from_vec(x[i * d..(i + 1) * d].to_vec(), [1, d])?;
        let err = xi.matmul(w)?.add_scalar(b - y[i]).mul_scalar(2.0 / n as f32);
        gw = gw.add(&xi.transpose(0, 1)?.matmul(&err)?)?;
        gb += err.item()?;
    }
    Ok((gw.to_vec(), gb))
}

fn batched(x: &Tensor, y: &Tensor, w: &Tensor, b: f32) -> Result<Gradient> {
    let n = y.numel() as f32;
    let err = x.matmul(w)?.add_scalar(b).sub(y)?.mul_scalar(2.0 / n);
    let gw = x.transpose(0, 1)?.matmul(&err)?;
    Ok((gw.to_vec(), err.sum(&[], false)?.item()?))
}

/// Milliseconds per call of `f`, repeated until 20 ms have passed (at least 3 times).
fn time<T>(mut f: impl FnMut() -> Result<T>) -> Result<(f64, T)> {
    let started = Instant::now();
    let mut reps = 0u32;
    loop {
        let out = f()?;
        reps += 1;
        let ms = started.elapsed().as_secs_f64() * 1e3;
        if reps >= 3 && ms >= 20.0 {
            return Ok((ms / f64::from(reps), out));
        }
    }
}

/// The three ways timed (µs per epoch) as bars, for a session training a linear model on one target.
/// Timed once the run has finished: during training the timing would take turns with the training it
/// interrupts (some 60 ms at each figure update) and measure a busy machine.
pub fn vectorize_figure(session: &Session) -> Result<Figure> {
    let labels = vec![
        "scalar loops, sample by sample".to_string(),
        "tensor ops, sample by sample".into(),
        "one batched matrix product".into(),
    ];
    if !session.finished() {
        return Ok(Figure::Bars {
            title: "Why vectorize: one epoch's gradient three ways, timed when the run ends".into(),
            y_label: "µs per epoch".into(),
            labels,
            series: vec![],
        });
    }
    let Targets::Values { values: y, width: 1 } = &session.train.targets else {
        return Err(LabError::InvalidArgument(
            "the vectorization timing needs one real-valued target".into(),
        ));
    };
    let params = session.model.named_parameters();
    let find = |name: &str| params.iter().find(|(n, _)| n.ends_with(name)).map(|(_, t)| t.to_vec());
    let (Some(w), Some(b)) = (find("weight"), find("bias")) else {
        return Err(LabError::InvalidArgument("the vectorization timing needs a linear model".into()));
    };
    let (n, d) = (y.len(), w.len());
    let x = &session.train.features;
    if x.len() != n * d || b.len() != 1 {
        return Err(LabError::InvalidArgument("the vectorization timing needs a linear model".into()));
    }
    let (xt, yt, wt) = (
        Tensor::from_slice(x, [n, d])?,
        Tensor::from_vec(y.clone(), [n, 1])?,
        Tensor::from_vec(w.clone(), [d, 1])?,
    );
    let (loops_ms, reference) = time(|| Ok(scalar_loops(x, y, &w, b[0])))?;
    let (tensor_ms, one_by_one) = crate::autograd::no_grad(|| time(|| per_sample(x, y, &wt, b[0])))?;
    let (batched_ms, whole) = crate::autograd::no_grad(|| time(|| batched(&xt, &yt, &wt, b[0])))?;
    for (way, (gw, gb)) in [("sample by sample", &one_by_one), ("batched", &whole)] {
        let scale = reference.0.iter().fold(reference.1.abs(), |m, v| m.max(v.abs())).max(1e-6);
        let off =
            gw.iter().zip(&reference.0).fold((gb - reference.1).abs(), |m, (a, b)| m.max((a - b).abs()));
        if off > 1e-3 * scale {
            return Err(LabError::InvalidArgument(format!(
                "the {way} gradient differs from the scalar loops' by {off} (scale {scale})"
            )));
        }
    }
    let us = |ms: f64| (ms * 1e3) as f32;
    Ok(Figure::Bars {
        title: format!(
            "One epoch's gradient over {n} rows on this machine: {:.1} µs in scalar loops, {:.1} µs through \
             the tensor engine one sample at a time, {:.1} µs as one matrix product",
            us(loops_ms),
            us(tensor_ms),
            us(batched_ms)
        ),
        y_label: "µs per epoch".into(),
        labels,
        series: vec![("µs per epoch".into(), vec![us(loops_ms), us(tensor_ms), us(batched_ms)])],
    })
}
