//! From a preset's runs to `Figure`s. Values come from the lab's own tensors and models; this module only
//! arranges them.

use super::{Figure, Series};
use crate::autograd;
use crate::chapters::{PlotKind, Preset, RunOutcome};
use crate::data::{Dataset, NormStats, Targets};
use crate::error::{LabError, Result};
use crate::nn::Module;
use crate::tensor::Tensor;
use crate::train::{DatasetSpec, Session};

/// Every figure `preset` asks for. `session` is the last run's (the one whose model the plots show).
pub fn figures(preset: &Preset, outcomes: &[RunOutcome], session: &Session) -> Result<Vec<Figure>> {
    let mut out = Vec::new();
    for kind in &preset.plots {
        match kind {
            PlotKind::Loss => out.push(loss_curves(outcomes)),
            PlotKind::Accuracy => out.push(accuracy_curves(outcomes)),
            PlotKind::RegressionFit => out.push(regression_fit(session)?),
            PlotKind::LossContour => out.push(loss_contour(session)?),
            PlotKind::DecisionRegions => out.push(decision_regions(session, 64)?),
            PlotKind::Activations => out.push(activations()?),
            PlotKind::Curvature => out.extend(curvature_figures(session)?),
            PlotKind::LayerStats if outcomes.iter().any(|o| o.initial_layers.is_some()) => {
                out.push(initial_spread(outcomes, false));
                out.push(initial_spread(outcomes, true));
            }
            PlotKind::LayerStats => out.push(layer_stats(session)?),
            PlotKind::ToyPath => out.extend(super::toy::toy_figures(preset, outcomes)?),
            PlotKind::Confusion => out.push(super::images::confusion(session)?),
            PlotKind::Mistakes => out.push(super::images::mistakes(session, 16)?),
            PlotKind::Histograms => out.extend(histograms(session)?),
            PlotKind::Vectorize => out.push(super::vectorize::vectorize_figure(session)?),
            PlotKind::Samples => out.push(super::images::samples(session, 12)?),
            PlotKind::FeatureMaps => out.extend(super::images::feature_maps(session, 3, 8)?),
            PlotKind::Filters => out.extend(super::images::filters(session)),
            PlotKind::EdgeFilters => out.push(super::images::edge_filters(session, 3)?),
            PlotKind::Graph => out.push(super::graph::graph_figure(session)?),
            PlotKind::AutogradRules => out.extend(super::graph::autograd_rules(session)?),
        }
    }
    Ok(out)
}

fn per_epoch(o: &RunOutcome, f: impl Fn(&crate::train::EpochMetrics) -> Option<f32>) -> Vec<(f32, f32)> {
    o.history.iter().filter_map(|m| f(m).map(|v| (m.epoch as f32, v))).collect()
}

fn loss_curves(outcomes: &[RunOutcome]) -> Figure {
    let series = if let [one] = outcomes {
        vec![
            Series { label: "train".into(), points: per_epoch(one, |m| Some(m.train_loss)) },
            Series { label: "test".into(), points: per_epoch(one, |m| Some(m.test_loss)) },
        ]
    } else {
        let finite = |v: f32| v.is_finite().then_some(v);
        outcomes
            .iter()
            .map(|o| Series { label: o.label.clone(), points: per_epoch(o, |m| finite(m.test_loss)) })
            .collect()
    };
    let mut y_label = if outcomes.len() == 1 { "loss" } else { "test loss" }.to_string();
    // A run that blows up (raw pixels, lr 0.01), or a steep first epoch, would flatten every other curve
    // and the tail where runs differ: switch to a log scale.
    let mut series = series;
    log_scale_if_wide(&mut series, &mut y_label);
    Figure::Lines { guide: None, title: "Loss per epoch".into(), x_label: "epoch".into(), y_label, series }
}

fn accuracy_curves(outcomes: &[RunOutcome]) -> Figure {
    let series = outcomes
        .iter()
        .map(|o| Series { label: o.label.clone(), points: per_epoch(o, |m| m.test_accuracy) })
        .collect();
    Figure::Lines {
        guide: None,
        title: "Test accuracy".into(),
        x_label: "epoch".into(),
        y_label: "accuracy".into(),
        series,
    }
}

/// Feature names of tabular datasets; x1, x2 for synthetic points.
fn feature_names(session: &Session) -> Vec<String> {
    match &session.config.dataset {
        DatasetSpec::Advertising { features } | DatasetSpec::Iris { features, .. } => features.clone(),
        _ => (1..=session.train.feature_len()).map(|i| format!("x{i}")).collect(),
    }
}

/// Undoes the normalization of feature `c`: x = (x' − offset) / scale + shift.
fn raw(norm: &NormStats, c: usize, v: f32) -> f32 {
    let c = c.min(norm.shift.len().saturating_sub(1));
    (v - norm.offset) / norm.scale[c] + norm.shift[c]
}

fn both(session: &Session) -> impl Iterator<Item = &Dataset> {
    [&session.train, &session.test].into_iter()
}

fn regression_fit(session: &Session) -> Result<Figure> {
    let Targets::Values { width: 1, .. } = session.train.targets else {
        return Err(LabError::InvalidArgument("a regression fit needs one real-valued target".into()));
    };
    if session.train.feature_len() != 1 {
        return Err(LabError::InvalidArgument("a regression fit is drawn for one feature".into()));
    }
    let mut points = Vec::new();
    for d in both(session) {
        if let Targets::Values { values, .. } = &d.targets {
            points.extend(d.features.iter().zip(values).map(|(&x, &y)| (raw(&session.norm, 0, x), y)));
        }
    }
    let (lo, hi) = range(points.iter().map(|p| p.0));
    let xs: Vec<f32> = (0..=50).map(|i| lo + (hi - lo) * i as f32 / 50.0).collect();
    let normalized: Vec<f32> = xs
        .iter()
        .map(|&x| (x - session.norm.shift[0]) * session.norm.scale[0] + session.norm.offset)
        .collect();
    let ys = predict(session, Tensor::from_vec(normalized, [xs.len(), 1])?)?.to_vec();
    let name = feature_names(session).remove(0);
    Ok(Figure::Scatter {
        title: format!("Sales against {name}, with the fitted line"),
        x_label: name,
        y_label: "Sales".into(),
        points,
        line: xs.into_iter().zip(ys).collect(),
    })
}

fn predict(session: &Session, x: Tensor) -> Result<Tensor> {
    session.model.eval();
    let y = autograd::no_grad(|| session.model.forward(&x));
    session.model.train();
    y
}

fn range(v: impl Iterator<Item = f32>) -> (f32, f32) {
    let (lo, hi) = v.fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), x| (a.min(x), b.max(x)));
    if lo.is_finite() && hi > lo { (lo, hi) } else { (lo.min(0.0), lo.max(0.0) + 1.0) }
}

/// The MSE over a grid of (w, b) for a one-feature linear model, with the traced path of the run.
fn loss_contour(session: &Session) -> Result<Figure> {
    let trace =
        session.trace.as_ref().filter(|t| t.first().is_some_and(|p| p.len() == 2)).ok_or_else(|| {
            LabError::InvalidArgument(
                "the loss contour needs a traced run of a model with one weight and a bias".into(),
            )
        })?;
    let path: Vec<(f32, f32)> = trace.iter().map(|p| (p[0], p[1])).collect();
    let pad = |(lo, hi): (f32, f32)| {
        let m = (hi - lo).max(0.5) * 0.25;
        (lo - m, hi + m)
    };
    let (x, y) = (pad(range(path.iter().map(|p| p.0))), pad(range(path.iter().map(|p| p.1))));
    let cols = 60;
    let (ws, bs): (Vec<f32>, Vec<f32>) = (0..cols * cols)
        .map(|i| {
            let (c, r) = ((i % cols) as f32 / (cols - 1) as f32, (i / cols) as f32 / (cols - 1) as f32);
            (x.0 + (x.1 - x.0) * c, y.0 + (y.1 - y.0) * r)
        })
        .unzip();
    let Targets::Values { values, .. } = &session.train.targets else {
        return Err(LabError::InvalidArgument("the loss contour needs a regression dataset".into()));
    };
    let n = session.train.len();
    // pred: (N, 1)·(1, G) + (1, G) -> (N, G); loss: mean over N of (pred − y)² -> (G,)
    let xs = Tensor::from_slice(&session.train.features, [n, 1])?;
    let ys = Tensor::from_slice(values, [n, 1])?;
    let pred =
        xs.matmul(&Tensor::from_vec(ws, [1, cols * cols])?)?.add(&Tensor::from_vec(bs, [1, cols * cols])?)?;
    let err = pred.sub(&ys)?;
    let loss = err.mul(&err)?.mean(&[0], false)?.to_vec();
    Ok(Figure::Contour {
        title: "MSE over (w, b) and the path of gradient descent".into(),
        x_label: "w".into(),
        y_label: "b".into(),
        x,
        y,
        cols,
        values: loss,
        paths: vec![Series { label: "gradient descent".into(), points: path }],
    })
}

/// The model's class over a grid spanning two (normalized) features, with every point on top.
pub fn decision_regions(session: &Session, cols: usize) -> Result<Figure> {
    let (train, norm) = (&session.train, &session.norm);
    if train.feature_len() != 2 {
        return Err(LabError::InvalidArgument("decision regions are drawn for two features".into()));
    }
    let mut points = Vec::new();
    let mut classes = Vec::new();
    for d in both(session) {
        if let Targets::Classes { labels, .. } = &d.targets {
            let xy = d.features.chunks_exact(2).map(|p| (raw(norm, 0, p[0]), raw(norm, 1, p[1])));
            points.extend(xy.zip(labels).map(|((a, b), &l)| (a, b, l as u8)));
            classes.clone_from(&d.class_names);
        }
    }
    let pad = |(lo, hi): (f32, f32)| ((lo - (hi - lo) * 0.1), (hi + (hi - lo) * 0.1));
    let x = pad(range(points.iter().map(|p| p.0)));
    let y = pad(range(points.iter().map(|p| p.1)));
    let mut grid = Vec::with_capacity(cols * cols * 2);
    for r in 0..cols {
        for c in 0..cols {
            let (a, b) = (
                x.0 + (x.1 - x.0) * (c as f32 + 0.5) / cols as f32,
                y.0 + (y.1 - y.0) * (r as f32 + 0.5) / cols as f32,
            );
            grid.push(a);
            grid.push(b);
        }
    }
    norm.apply(&mut grid, 2);
    let out = predict(session, Tensor::from_vec(grid, [cols * cols, 2])?)?;
    let cells = session.predicted_classes(&out)?.into_iter().map(|c| c as u8).collect();
    let names = feature_names(session);
    Ok(Figure::Regions {
        title: "Decision regions".into(),
        x_label: names[0].clone(),
        y_label: names[1].clone(),
        x,
        y,
        cols,
        cells,
        points,
        classes,
    })
}

/// Sigmoid and tanh with their derivatives, the derivatives from the lab's autograd.
fn activations() -> Result<Figure> {
    let xs: Vec<f32> = (0..=120).map(|i| -6.0 + i as f32 * 0.1).collect();
    let mut series = Vec::new();
    for (name, f) in [("sigmoid", Tensor::sigmoid as fn(&Tensor) -> Tensor), ("tanh", Tensor::tanh)] {
        let x = Tensor::from_slice(&xs, [xs.len()])?.requires_grad_(true);
        let y = f(&x);
        y.sum(&[], false)?.backward()?;
        let dy = x.grad().ok_or_else(|| LabError::InvalidArgument("no gradient".into()))?.to_vec();
        series.push(Series { label: name.into(), points: xs.iter().copied().zip(y.to_vec()).collect() });
        series.push(Series { label: format!("{name}'"), points: xs.iter().copied().zip(dy).collect() });
    }
    Ok(Figure::Lines {
        guide: None,
        title: "Sigmoid and tanh, with derivatives".into(),
        x_label: "z".into(),
        y_label: "".into(),
        series,
    })
}

/// Loss along one weight w of z = w·x (first feature, no bias) and its second derivative, for squared
/// error on a sigmoid and for binary cross-entropy; returns (w, mse, bce, mse'', bce''). Derivatives are
/// the closed forms of textbook §3: with p = σ(wx), p' = p(1 − p)x and
/// BCE'' = mean p(1 − p)x² ≥ 0, MSE'' = mean 2x²[p'² + (p − y)·p(1 − p)(1 − 2p)] — the second term can be
/// negative, so MSE on a sigmoid is not convex.
pub fn curvature(x: &[f32], y: &[f32], ws: &[f32]) -> Vec<(f32, f64, f64, f64, f64)> {
    let n = x.len().max(1) as f64;
    ws.iter()
        .map(|&w| {
            let (mut mse, mut bce, mut d2m, mut d2b) = (0.0, 0.0, 0.0, 0.0);
            for (&xi, &yi) in x.iter().zip(y) {
                let (xi, yi) = (f64::from(xi), f64::from(yi));
                let p = 1.0 / (1.0 + (-f64::from(w) * xi).exp());
                let s = p * (1.0 - p);
                mse += (p - yi).powi(2);
                bce -= yi * p.max(1e-12).ln() + (1.0 - yi) * (1.0 - p).max(1e-12).ln();
                d2b += s * xi * xi;
                d2m += 2.0 * xi * xi * (s * s + (p - yi) * s * (1.0 - 2.0 * p));
            }
            (w, mse / n, bce / n, d2m / n, d2b / n)
        })
        .collect()
}

fn curvature_figures(session: &Session) -> Result<Vec<Figure>> {
    let Targets::Classes { labels, classes: 2 } = &session.train.targets else {
        return Err(LabError::InvalidArgument("the curvature plot needs two classes".into()));
    };
    let f = session.train.feature_len();
    let x: Vec<f32> = session.train.features.chunks_exact(f).map(|item| item[0]).collect();
    let y: Vec<f32> = labels.iter().map(|&l| l as f32).collect();
    let ws: Vec<f32> = (0..=200).map(|i| -10.0 + i as f32 * 0.1).collect();
    let rows = curvature(&x, &y, &ws);
    let line = |label: &str, pick: fn(&(f32, f64, f64, f64, f64)) -> f64| Series {
        label: label.into(),
        points: rows.iter().map(|r| (r.0, pick(r) as f32)).collect(),
    };
    let name = feature_names(session).remove(0);
    Ok(vec![
        Figure::Lines {
            guide: None,
            title: format!("Loss along the weight of {name}"),
            x_label: "w".into(),
            y_label: "loss".into(),
            series: vec![line("MSE on sigmoid", |r| r.1), line("binary cross-entropy", |r| r.2)],
        },
        Figure::Lines {
            guide: None,
            title: "Second derivative: below zero means not convex".into(),
            x_label: "w".into(),
            y_label: "d²L/dw²".into(),
            series: vec![line("MSE on sigmoid", |r| r.3), line("binary cross-entropy", |r| r.4)],
        },
    ])
}

fn layer_stats(session: &Session) -> Result<Figure> {
    let stats = session.layer_stats(1000)?;
    Ok(Figure::Bars {
        title: "Per layer: activation spread and dead units".into(),
        y_label: "".into(),
        labels: stats.iter().map(|s| s.layer.clone()).collect(),
        series: vec![
            ("activation std".into(), stats.iter().map(|s| s.activation_std).collect()),
            ("share of dead units".into(), stats.iter().map(|s| s.dead_fraction).collect()),
        ],
    })
}

/// Two overlays, one curve per layer: the distribution of each activation layer's outputs on 1,000 test
/// items, and of each weight's gradient at the last step (left out before the first).
fn histograms(session: &Session) -> Result<Vec<Figure>> {
    let (acts, grads) = session.layer_histograms(1000, 40)?;
    let curves = |hs: &[crate::train::Histogram]| -> Vec<Series> {
        hs.iter()
            .map(|h| {
                let width = (h.hi - h.lo) / h.shares.len() as f32;
                let points =
                    h.shares.iter().enumerate().map(|(i, &s)| (h.lo + (i as f32 + 0.5) * width, s)).collect();
                Series { label: h.layer.clone(), points }
            })
            .collect()
    };
    let overlays = [
        ("Per layer: distribution of the activations", "value", acts),
        ("Per layer: distribution of the weight gradients (last step)", "gradient", grads),
    ];
    let out = overlays
        .into_iter()
        .filter(|(_, _, hs)| !hs.is_empty())
        .map(|(title, x_label, hs)| Figure::Lines {
            title: title.into(),
            x_label: x_label.into(),
            y_label: "share of values".into(),
            series: curves(&hs),
            guide: None,
        })
        .collect();
    Ok(out)
}

/// A study's runs side by side before training: the spread of each layer's output, or of each weight's
/// gradient (log scale when it spans orders of magnitude, as a badly scaled initialisation makes it).
fn initial_spread(outcomes: &[RunOutcome], gradients: bool) -> Figure {
    let pick =
        |l: &crate::train::LayerStats| if gradients { l.weight_grad_std } else { Some(l.activation_std) };
    let mut series: Vec<Series> = outcomes
        .iter()
        .map(|o| Series {
            label: o.label.clone(),
            points: o
                .initial_layers
                .iter()
                .flatten()
                .enumerate()
                .filter_map(|(i, l)| pick(l).map(|v| (i as f32, v)))
                .filter(|p| p.1.is_finite() && p.1 > 0.0)
                .collect(),
        })
        .collect();
    let mut y_label = if gradients { "weight gradient std" } else { "activation std" }.to_string();
    log_scale_if_wide(&mut series, &mut y_label);
    let title = if gradients {
        "Spread of each layer's weight gradient at initialisation"
    } else {
        "Spread of each layer's output at initialisation"
    };
    Figure::Lines { guide: None, title: title.into(), x_label: "layer".into(), y_label, series }
}

/// Switches positive values spanning more than 30× to log10 (and says so in the label): one run that blows
/// up, or a steep first epoch, would otherwise flatten everything else.
fn log_scale_if_wide(series: &mut [Series], y_label: &mut String) {
    let values = || series.iter().flat_map(|s| s.points.iter().map(|p| p.1));
    let (lo, hi) = values().fold((f32::INFINITY, 0f32), |(a, b), v| (a.min(v), b.max(v)));
    if lo > 0.0 && hi / lo > 30.0 {
        *y_label = format!("log10 {y_label}");
        series.iter_mut().flat_map(|s| s.points.iter_mut()).for_each(|p| p.1 = p.1.log10());
    }
}
