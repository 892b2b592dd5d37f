//! Chapter 7, autograd (textbook §8): the first example's graph, trained step by step so the values and
//! gradients on it change as you watch.

use super::preset::{Check, IRIS, PlotKind, Preset, strings, vary};
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
    let mlp = SessionConfig {
        dataset: DatasetSpec::Iris { classes: 3, features: strings(&IRIS) },
        test_fraction: 0.2,
        normalization: Normalization::ZScorePerChannel,
        model: ModelSpec::mlp(vec![8], Activation::Tanh, Init::XavierUniform { fan_avg: false }),
        loss: LossKind::CrossEntropy,
        lr: 0.1,
        batch_size: 16,
        epochs: 60,
        ..config.clone()
    };
    vec![
        Preset {
            id: "ch7-first-graph",
            chapter: 7,
            title: "y = a·x + b and its loss, as a graph",
            summary: "One data point, x = 2 with target y = 5, and the model a·x + b. The loss L = (a·x + b − y)² \
                  is recorded as a graph: a and b are leaves, each operation a node. backward() walks it from \
                  L to the leaves and leaves ∂L/∂a = 2(ax + b − y)·x and ∂L/∂b = 2(ax + b − y) on them. Press \
                  Step to take one gradient step and watch the numbers on the graph change.",
            config: config.clone(),
            variants: vec![],
            plots: vec![PlotKind::Graph, PlotKind::ToyPath, PlotKind::Loss],
            check: Check::TestLossBelow(1e-3),
            textbook: "L = (ax + b − y)²: ∂L/∂a = 2(ax + b − y)·x, ∂L/∂b = 2(ax + b − y); gradients accumulate \
                   until zero_grad, no_grad turns recording off.",
        },
        Preset {
            id: "ch7-autograd-rules",
            chapter: 7,
            title: "The rules of autograd, one graph each",
            summary: "Six small experiments on the same L = (a·x + b − y)², run by the lab's own autograd at the \
                      current a and b: backward() fills a.grad and b.grad; a second backward() adds to them \
                      (gradients accumulate, which is why every step starts with zero_grad()); zero_grad() \
                      clears them; under no_grad nothing is recorded, so there is nothing to go backward \
                      through; a frozen leaf (requires_grad off) is a constant and gets no gradient; and an \
                      output with several values needs a vector v for backward, which then gives the \
                      vector-Jacobian product vᵀJ.",
            config: config.clone(),
            variants: vec![],
            plots: vec![PlotKind::AutogradRules, PlotKind::Loss],
            check: Check::TestLossBelow(1e-3),
            textbook: "Leaves with requires_grad, grad_fn on results, accumulation until zero_grad, no_grad for \
                       inference, freezing layers, and backward with an explicit gradient for non-scalars.",
        },
        Preset {
            id: "ch7-model-graph",
            chapter: 7,
            title: "The graph of a network",
            summary: "The same bookkeeping for a real model: a 4-8-3 network on the three Iris species. The \
                      graph is recorded each time the loss is computed on two training items; the weights \
                      (0.weight, 0.bias, …) are leaves, every matmul, add, tanh and the loss are nodes. Move \
                      the slider under the graph to walk backward() from the loss to the weights one node at \
                      a time, each node's ∂L appearing as it is reached.",
            config: mlp.clone(),
            variants: vec![],
            plots: vec![PlotKind::Graph, PlotKind::Loss, PlotKind::Accuracy],
            check: Check::TestAccuracyAtLeast(0.9),
            textbook: "The lab draws the graph of the model being trained and steps through backward node by \
                       node.",
        },
        Preset {
            id: "ch7-freezing",
            chapter: 7,
            title: "Freezing a layer",
            summary: "The same 4-8-3 network twice: once with every layer trained, once with the first layer \
                      frozen (requires_grad off for its weights). The frozen layer keeps its random starting \
                      weights, backward never reaches it (its weights are missing from the graph of the \
                      second run), and only the last layer learns, on top of eight fixed random features. \
                      Freezing is how a pretrained network's early layers are kept while a new head is \
                      trained.",
            config: mlp.clone(),
            variants: vec![
                vary(&mlp, "every layer trained", |_| {}),
                vary(&mlp, "first layer frozen", |c| c.model.frozen = 1),
            ],
            plots: vec![PlotKind::Graph, PlotKind::Loss, PlotKind::Accuracy],
            check: Check::TestAccuracyAtLeast(0.8),
            textbook: "Freezing layers: parameters with requires_grad = False get no gradient and are not \
                       updated.",
        },
    ]
}
