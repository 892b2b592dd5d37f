//! The chapters of the lab, in the textbook's order (`shared/CURRICULUM.md`). Each chapter module
//! configures experiments (presets, a success check, plots); it never implements math.

mod linear;
mod logistic;
mod mlp;
mod preset;
mod runner;
mod softmax;

use serde::Serialize;

pub use preset::{Check, PlotKind, Preset, RunOutcome, Variant};
pub use runner::{Progress, run_preset};

/// One chapter as the chapter picker lists it.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ChapterInfo {
    /// 1-based position in the journey.
    pub number: u8,
    /// Stable id for URLs and the CLI.
    pub id: &'static str,
    pub title: &'static str,
}

/// The eight chapters, from fitting a line to training better CNNs.
pub const CHAPTERS: [ChapterInfo; 8] = [
    ChapterInfo { number: 1, id: "linear", title: "Linear regression: a line through advertising data" },
    ChapterInfo { number: 2, id: "logistic", title: "Logistic regression: telling two iris species apart" },
    ChapterInfo { number: 3, id: "softmax", title: "Softmax regression: three species, one model" },
    ChapterInfo { number: 4, id: "mlp", title: "Multilayer perceptrons: XOR, rings and Fashion-MNIST" },
    ChapterInfo { number: 5, id: "init-optim", title: "Training deep MLPs: initialization and optimizers" },
    ChapterInfo { number: 6, id: "cnn", title: "Convolutional networks: filters that are learned" },
    ChapterInfo { number: 7, id: "autograd", title: "Autograd: how every gradient is computed" },
    ChapterInfo { number: 8, id: "better-cnn", title: "Better CNNs: normalization, dropout and skips" },
];

/// Every preset of the chapters built so far, in curriculum order.
pub fn presets() -> Vec<Preset> {
    let mut all = linear::presets();
    all.extend(logistic::presets());
    all.extend(softmax::presets());
    all.extend(mlp::presets());
    all
}

/// The preset with this id.
pub fn preset(id: &str) -> Option<Preset> {
    presets().into_iter().find(|p| p.id == id)
}

/// The chapter with this number or id ("4" or "mlp").
pub fn chapter(key: &str) -> Option<ChapterInfo> {
    CHAPTERS.iter().copied().find(|c| c.id == key || c.number.to_string() == key)
}

#[cfg(test)]
mod tests {
    use super::CHAPTERS;

    #[test]
    fn chapters_are_numbered_in_order_with_unique_ids() {
        for (i, c) in CHAPTERS.iter().enumerate() {
            assert_eq!(usize::from(c.number), i + 1);
            assert!(CHAPTERS.iter().filter(|d| d.id == c.id).count() == 1, "duplicate id {}", c.id);
        }
    }
}
