//! Chapter 3, softmax regression on all three Iris species (textbook §4).

use super::preset::{Check, IRIS, PlotKind, Preset, base, strings};
use crate::train::{DatasetSpec, LossKind, SessionConfig};

pub(super) fn presets() -> Vec<Preset> {
    let iris3 = |f: &[&str]| DatasetSpec::Iris { classes: 3, features: strings(f) };
    vec![
        Preset {
            id: "ch3-iris-softmax",
            chapter: 3,
            title: "Three species with softmax regression",
            summary: "One score per species, softmax to turn scores into probabilities, cross-entropy against \
                      the true species; the gradient of the scores is simply prediction minus one-hot truth.",
            config: SessionConfig { epochs: 200, ..base(iris3(&IRIS), LossKind::CrossEntropy) },
            variants: vec![],
            plots: vec![PlotKind::Loss, PlotKind::Accuracy, PlotKind::Confusion],
            check: Check::TestAccuracyAtLeast(0.93),
            textbook: "Loss near 0.2 in the last epochs; accuracy oscillates near its best from about epoch 50.",
        },
        Preset {
            id: "ch3-iris-regions",
            chapter: 3,
            title: "Three regions in the petal plane",
            summary: "With petal length and width only, softmax regression cuts the plane into three regions \
                      whose borders are straight lines.",
            config: SessionConfig {
                epochs: 200,
                ..base(iris3(&["PetalLengthCm", "PetalWidthCm"]), LossKind::CrossEntropy)
            },
            variants: vec![],
            plots: vec![PlotKind::DecisionRegions, PlotKind::Loss],
            check: Check::TestAccuracyAtLeast(0.9),
            textbook: "Straight borders separate the three species well in two dimensions.",
        },
    ]
}
