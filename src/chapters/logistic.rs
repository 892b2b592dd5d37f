//! Chapter 2, logistic regression on two Iris species (textbook §3).

use super::preset::{Check, IRIS, PlotKind, Preset, base, strings};
use crate::train::{DatasetSpec, LossKind, SessionConfig};

pub(super) fn presets() -> Vec<Preset> {
    let iris2 = |f: &[&str]| DatasetSpec::Iris { classes: 2, features: strings(f) };
    vec![
        Preset {
            id: "ch2-linear-classifier",
            chapter: 2,
            title: "A regression line used as a classifier",
            summary: "Regress the class (0 or 1) with squared error and call anything above one half \
                      class 1. It works on these two species, but outputs are not probabilities and far \
                      points drag the line: the reason logistic regression exists.",
            config: SessionConfig { lr: 0.01, ..base(iris2(&IRIS), LossKind::Mse) },
            variants: vec![],
            plots: vec![PlotKind::Loss, PlotKind::Accuracy],
            check: Check::TestAccuracyAtLeast(0.95),
            textbook: "A thresholded linear model separates setosa from versicolor, but its outputs leave [0, 1].",
        },
        Preset {
            id: "ch2-iris-binary",
            chapter: 2,
            title: "Setosa or versicolor: logistic regression",
            summary: "A sigmoid turns a weighted sum of four measurements into a probability; binary \
                      cross-entropy, unlike squared error on a sigmoid, gives a convex loss to descend.",
            config: SessionConfig { epochs: 350, ..base(iris2(&IRIS), LossKind::BinaryCrossEntropy) },
            variants: vec![],
            plots: vec![PlotKind::Loss, PlotKind::Accuracy, PlotKind::Activations, PlotKind::Curvature],
            check: Check::TestAccuracyAtLeast(1.0),
            textbook: "Loss about 0.2 after some 350 epochs; accuracy 1.0 from around epoch 50.",
        },
        Preset {
            id: "ch2-iris-two-features",
            chapter: 2,
            title: "A decision line from two features",
            summary: "Keep only sepal width and petal length, two weakly correlated measurements, so the \
                      learned boundary is a line you can see in the plane.",
            config: base(iris2(&["SepalWidthCm", "PetalLengthCm"]), LossKind::BinaryCrossEntropy),
            variants: vec![],
            plots: vec![PlotKind::DecisionRegions, PlotKind::Loss],
            check: Check::TestAccuracyAtLeast(1.0),
            textbook: "Two weakly correlated features are enough: a straight line separates the species.",
        },
    ]
}
