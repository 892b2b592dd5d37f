//! Input normalization (textbook §5's study: raw pixels train badly, scaled or standardised ones well).
//! Statistics come from the training split only and are applied to both splits; they travel with the
//! model so the drawing pad transforms its input the same way.

use serde::{Deserialize, Serialize};

use std::rc::Rc;

use super::Dataset;
use crate::error::{LabError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Normalization {
    /// Values as they are (0-255 for images).
    None,
    /// (x − min) / (max − min): [0, 1].
    UnitRange,
    /// 2·(x − min) / (max − min) − 1: [-1, 1].
    SymmetricRange,
    /// (x − mean) / std over every value.
    ZScore,
    /// (x − mean_c) / std_c for each channel c of (C, H, W) features.
    ZScorePerChannel,
}

/// The fitted transform: x' = (x − shift[c]) · scale[c] (+ offset), per channel or global.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NormStats {
    pub mode: Normalization,
    pub shift: Vec<f32>,
    pub scale: Vec<f32>,
    pub offset: f32,
}

impl NormStats {
    /// Computes the statistics of `mode` on `train`.
    pub fn fit(mode: Normalization, train: &Dataset) -> Result<NormStats> {
        let x = &train.features;
        if x.is_empty() {
            return Err(LabError::InvalidArgument("normalization: the training split is empty".into()));
        }
        let (lo, hi) = x.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
        let range = if hi > lo { hi - lo } else { 1.0 };
        let global = |shift: f32, scale: f32, offset: f32| NormStats {
            mode,
            shift: vec![shift],
            scale: vec![scale],
            offset,
        };
        Ok(match mode {
            Normalization::None => global(0.0, 1.0, 0.0),
            Normalization::UnitRange => global(lo, 1.0 / range, 0.0),
            Normalization::SymmetricRange => global(lo, 2.0 / range, -1.0),
            Normalization::ZScore => {
                let (m, s) = mean_std(x.iter().copied());
                global(m, 1.0 / s, 0.0)
            }
            Normalization::ZScorePerChannel => {
                let channels = *train.feature_shape.first().unwrap_or(&1);
                let plane = train.feature_len() / channels.max(1);
                let (mut shift, mut scale) = (Vec::new(), Vec::new());
                for c in 0..channels {
                    let values = x
                        .chunks_exact(train.feature_len())
                        .flat_map(|item| &item[c * plane..(c + 1) * plane]);
                    let (m, s) = mean_std(values.copied());
                    shift.push(m);
                    scale.push(1.0 / s);
                }
                NormStats { mode, shift, scale, offset: 0.0 }
            }
        })
    }

    /// Normalizes a whole dataset in place (the training split and, with the same statistics, the test split).
    pub fn apply_to(&self, data: &mut Dataset) {
        let item_len = data.feature_len();
        self.apply(Rc::<Vec<f32>>::make_mut(&mut data.features), item_len);
    }

    /// Transforms features of items laid out as (C, ...) blocks of `item_len` values, in place.
    pub fn apply(&self, features: &mut [f32], item_len: usize) {
        let channels = self.shift.len().min(self.scale.len());
        if channels == 0 {
            return; // no statistics (e.g. an empty imported file): leave the values alone
        }
        let plane = (item_len / channels.max(1)).max(1);
        for item in features.chunks_mut(item_len.max(1)) {
            for (i, v) in item.iter_mut().enumerate() {
                let c = (i / plane).min(channels - 1);
                *v = (*v - self.shift[c]) * self.scale[c] + self.offset;
            }
        }
    }
}

/// Mean and standard deviation (population), accumulated in f64; a zero deviation becomes 1 (constant input).
fn mean_std(values: impl Iterator<Item = f32>) -> (f32, f32) {
    let (mut n, mut sum, mut sq) = (0f64, 0f64, 0f64);
    for v in values {
        let v = f64::from(v);
        n += 1.0;
        sum += v;
        sq += v * v;
    }
    let mean = sum / n.max(1.0);
    let std = (sq / n.max(1.0) - mean * mean).max(0.0).sqrt();
    (mean as f32, if std > 1e-12 { std as f32 } else { 1.0 })
}
