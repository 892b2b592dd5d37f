//! Learning-rate schedules (textbook §6): the rate for epoch (or step) `t` from the initial rate lr0.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Schedule {
    Constant,
    /// lr0 · factor^⌊t / every⌋: multiply by `factor` every `every` epochs.
    StepDecay {
        every: u32,
        factor: f32,
    },
    /// lr0 · λ^(t / k).
    Exponential {
        lambda: f32,
        k: f32,
    },
    /// min + (lr0 − min)·(1 + cos(π·t/total))/2, then `min` after `total`.
    Cosine {
        total: u32,
        min_lr: f32,
    },
}

impl Schedule {
    pub fn lr_at(self, lr0: f32, t: u32) -> f32 {
        match self {
            Schedule::Constant => lr0,
            Schedule::StepDecay { every, factor } => lr0 * factor.powi((t / every.max(1)) as i32),
            Schedule::Exponential { lambda, k } => lr0 * lambda.powf(t as f32 / k.max(f32::MIN_POSITIVE)),
            Schedule::Cosine { total, min_lr } => {
                let progress = (t.min(total) as f32 / total.max(1) as f32) * std::f32::consts::PI;
                min_lr + (lr0 - min_lr) * (1.0 + progress.cos()) / 2.0
            }
        }
    }
}
