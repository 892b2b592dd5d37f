//! Chapter 7, autograd (textbook §8): the first example's graph, trained step by step so the values and
//! gradients on it change as you watch.

use super::preset::{Check, PlotKind, Preset};
use crate::data::Normalization;
use crate::nn::{Activation, Init};
use crate::optim::{OptimizerKind, Schedule};
use crate::train::{DatasetSpec, Features, LossKind, ModelSpec, SessionConfig, ToyFunction};

pub(super) fn presets() -> Vec<Preset> {
    let config = SessionConfig {
        dataset: DatasetSpec::Toy {
            function: ToyFunction::AffineSquare { x: 2.0, y: 5.0 },
            start: vec![0.5, 0.0],
        },
        test_fraction: 0.0,
        normalization: Normalization::None,
        model: ModelSpec::mlp(vec![], Activation::Identity, Init::Zeros),
        loss: LossKind::Value,
        optimizer: OptimizerKind::Sgd { momentum: 0.0 },
        lr: 0.02,
        schedule: Schedule::Constant,
        batch_size: 1,
        epochs: 40,
        seed: 42,
        weight_decay: 0.0,
        features: Features::Pixels,
    };
    vec![Preset {
        id: "ch7-first-graph",
        chapter: 7,
        title: "y = a·x + b and its loss, as a graph",
        summary: "One data point, x = 2 with target y = 5, and the model a·x + b. The loss L = (a·x + b − y)² \
                  is recorded as a graph: a and b are leaves, each operation a node. backward() walks it from \
                  L to the leaves and leaves ∂L/∂a = 2(ax + b − y)·x and ∂L/∂b = 2(ax + b − y) on them. Press \
                  Step to take one gradient step and watch the numbers on the graph change.",
        config,
        variants: vec![],
        plots: vec![PlotKind::Graph, PlotKind::ToyPath, PlotKind::Loss],
        check: Check::TestLossBelow(1e-3),
        textbook: "L = (ax + b − y)²: ∂L/∂a = 2(ax + b − y)·x, ∂L/∂b = 2(ax + b − y); gradients accumulate \
                   until zero_grad, no_grad turns recording off.",
    }]
}
