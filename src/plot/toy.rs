//! Figures of chapter 5's toy runs: where the point went, on the surface it was minimising.

use super::{Figure, Series};
use crate::chapters::{Preset, RunOutcome};
use crate::error::{LabError, Result};
use crate::train::{DatasetSpec, ToyFunction};

fn functions(preset: &Preset) -> Vec<ToyFunction> {
    preset
        .runs()
        .iter()
        .filter_map(|v| match &v.config.dataset {
            DatasetSpec::Toy { function, .. } => Some(*function),
            _ => None,
        })
        .collect()
}

/// The window the plots show: every recorded point that stayed within ten times the start's reach.
fn window(paths: &[&[Vec<f32>]], coord: usize) -> (f32, f32) {
    let mut lo = f32::INFINITY;
    let mut hi = f32::NEG_INFINITY;
    for path in paths {
        let reach = 10.0 * (1.0 + path.first().map_or(0.0, |p| p[coord].abs()));
        for p in path.iter().map(|p| p[coord]).filter(|v| v.is_finite() && v.abs() <= reach) {
            (lo, hi) = (lo.min(p), hi.max(p));
        }
    }
    if !lo.is_finite() {
        return (-1.0, 1.0);
    }
    let pad = ((hi - lo) * 0.2).max(0.5);
    (lo - pad, hi + pad)
}

/// x after each step, and f with every run's path (1-D); or f's contour with the paths (2-D).
pub fn toy_figures(preset: &Preset, outcomes: &[RunOutcome]) -> Result<Vec<Figure>> {
    let fs = functions(preset);
    let first = *fs.first().ok_or_else(|| LabError::InvalidArgument("not a toy-function preset".into()))?;
    let traces: Vec<&[Vec<f32>]> = outcomes.iter().map(|o| o.trace.as_deref().unwrap_or_default()).collect();
    if first.dims() == 2 {
        return Ok(vec![contour(first, outcomes, &traces)]);
    }
    let (lo, hi) = window(&traces, 0);
    let inside = |x: f32| x.is_finite() && (lo..=hi).contains(&x);
    // Run i has colour i in every figure (the loss plot's order); a diverging path leaves the window.
    let steps = outcomes
        .iter()
        .zip(&traces)
        .map(|(o, t)| Series {
            label: o.label.clone(),
            points: t.iter().enumerate().map(|(i, p)| (i as f32, p[0])).filter(|p| inside(p.1)).collect(),
        })
        .collect();
    let curves: Vec<Series> = outcomes
        .iter()
        .zip(&traces)
        .zip(fs.iter().cycle())
        .map(|((o, t), f)| Series {
            label: format!("{} path", o.label),
            points: t.iter().map(|p| p[0]).filter(|&x| inside(x)).map(|x| (x, f.eval(&[x]) as f32)).collect(),
        })
        .collect();
    // With one function for every run, its curve is drawn underneath as a guide.
    let guide = fs.iter().all(|f| *f == first).then(|| {
        let points =
            (0..=200).map(|i| lo + (hi - lo) * i as f32 / 200.0).map(|x| (x, first.eval(&[x]) as f32));
        Series { label: format!("f(x) = {}", first.formula()), points: points.collect() }
    });
    Ok(vec![
        Figure::Lines {
            guide: None,
            title: "x after each step".into(),
            x_label: "step".into(),
            y_label: "x".into(),
            series: steps,
        },
        Figure::Lines {
            guide,
            title: "The function and each path".into(),
            x_label: "x".into(),
            y_label: "f(x)".into(),
            series: curves,
        },
    ])
}

fn contour(f: ToyFunction, outcomes: &[RunOutcome], traces: &[&[Vec<f32>]]) -> Figure {
    let (x, y) = (window(traces, 0), window(traces, 1));
    let cols = 60;
    let values = (0..cols * cols)
        .map(|i| {
            let (c, r) = ((i % cols) as f32 / (cols - 1) as f32, (i / cols) as f32 / (cols - 1) as f32);
            f.eval(&[x.0 + (x.1 - x.0) * c, y.0 + (y.1 - y.0) * r]) as f32
        })
        .collect();
    let paths = outcomes
        .iter()
        .zip(traces)
        .map(|(o, t)| Series {
            label: o.label.clone(),
            points: t.iter().map(|p| (p[0], p[1])).filter(|p| p.0.is_finite() && p.1.is_finite()).collect(),
        })
        .collect();
    let (xl, yl) = if matches!(f, ToyFunction::AffineSquare { .. }) { ("a", "b") } else { ("x", "y") };
    Figure::Contour {
        title: format!("f = {} and each path", f.formula()),
        x_label: xl.into(),
        y_label: yl.into(),
        x,
        y,
        cols,
        values,
        paths,
    }
}
