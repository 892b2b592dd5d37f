//! Chapter 4, multilayer perceptrons: XOR, the rings, and Fashion-MNIST (textbook §5).

use super::preset::{ADAM, Check, PlotKind, Preset, Variant, base, vary};
use crate::data::Normalization;
use crate::nn::{Activation, Init};
use crate::optim::{OptimizerKind, Schedule};
use crate::train::{DatasetSpec, LossKind, ModelSpec, SessionConfig};

/// What a Fashion-MNIST classifier shows: curves, where it errs, and what its layers do.
const CLASSIFIER_PLOTS: [PlotKind; 6] = [
    PlotKind::Loss,
    PlotKind::Accuracy,
    PlotKind::Confusion,
    PlotKind::Mistakes,
    PlotKind::LayerStats,
    PlotKind::Histograms,
];

fn relu(hidden: Vec<usize>) -> ModelSpec {
    ModelSpec::mlp(hidden, Activation::ReLU, Init::KaimingUniform)
}

/// Fashion-MNIST with the official split, z-scored, softmax regression by default.
fn fashion() -> SessionConfig {
    SessionConfig {
        normalization: Normalization::ZScore,
        batch_size: 64,
        epochs: 5,
        lr: 0.01,
        ..base(DatasetSpec::FashionMnist { train_limit: None, test_limit: None }, LossKind::CrossEntropy)
    }
}

pub(super) fn presets() -> Vec<Preset> {
    let mut all = vec![Preset {
        id: "ch4-xor",
        chapter: 4,
        title: "XOR needs a hidden layer",
        summary: "No straight line separates XOR's four points; eight tanh units in a hidden layer bend \
                      the space until one does.",
        config: SessionConfig {
            test_fraction: 0.0,
            normalization: Normalization::None,
            model: ModelSpec { hidden: vec![8], ..base(DatasetSpec::Xor, LossKind::Mse).model },
            optimizer: ADAM,
            lr: 0.05,
            batch_size: 4,
            epochs: 300,
            ..base(DatasetSpec::Xor, LossKind::CrossEntropy)
        },
        variants: vec![],
        plots: vec![PlotKind::DecisionRegions, PlotKind::Loss],
        // No test split: four points are the whole problem, so the metrics are on them.
        check: Check::TestAccuracyAtLeast(1.0),
        textbook: "A single hidden layer solves XOR; no linear model can.",
    }];
    all.extend(rings());
    all.extend(fashion_presets());
    all
}

fn rings() -> Vec<Preset> {
    let rings = SessionConfig {
        optimizer: ADAM,
        lr: 0.01,
        batch_size: 32,
        epochs: 60,
        ..base(DatasetSpec::Rings { rings: 3, per_ring: 200, noise: 0.1 }, LossKind::CrossEntropy)
    };
    vec![
        Preset {
            id: "ch4-rings-linear",
            chapter: 4,
            title: "Three rings defeat a linear model",
            summary: "Softmax regression draws straight boundaries, and concentric rings have none to offer: \
                      accuracy stays near chance.",
            config: rings.clone(),
            variants: vec![],
            plots: vec![PlotKind::DecisionRegions, PlotKind::Loss],
            check: Check::TestAccuracyAtMost(0.6),
            textbook: "Iris regions are fine for a linear model; a donut of rings is not.",
        },
        Preset {
            id: "ch4-rings-stacked-linear",
            chapter: 4,
            title: "Stacked linear layers are still linear",
            summary: "Two hidden layers but no activation between them: the product of linear maps is one \
                      linear map, and the rings stay unsolved.",
            config: SessionConfig {
                model: ModelSpec { activation: Activation::Identity, ..relu(vec![32, 32]) },
                ..rings.clone()
            },
            variants: vec![],
            plots: vec![PlotKind::DecisionRegions, PlotKind::Loss],
            check: Check::TestAccuracyAtMost(0.6),
            textbook: "Without a non-linearity, depth adds nothing.",
        },
        Preset {
            id: "ch4-rings-mlp",
            chapter: 4,
            title: "…and an MLP separates them",
            summary: "Two hidden ReLU layers of 32 units learn curved boundaries, and the rings come apart.",
            config: SessionConfig { model: relu(vec![32, 32]), ..rings },
            variants: vec![],
            plots: vec![PlotKind::DecisionRegions, PlotKind::Loss],
            check: Check::TestAccuracyAtLeast(0.95),
            textbook: "A non-linear activation lets the network draw the circles.",
        },
    ]
}

fn fashion_presets() -> Vec<Preset> {
    let softmax = SessionConfig { batch_size: 5000, epochs: 100, ..fashion() };
    let norm =
        |label: &str, n: Normalization, lr: f32| vary(&softmax, label, |c| (c.normalization, c.lr) = (n, lr));
    let deep =
        SessionConfig { normalization: Normalization::UnitRange, batch_size: 128, lr: 0.1, ..fashion() };
    let depth: Vec<Variant> =
        (1..=7).map(|d| vary(&deep, &format!("{d} hidden"), |c| c.model = relu(vec![128; d]))).collect();
    let widths: Vec<Variant> =
        [64, 256, 1024].map(|w| vary(&deep, &format!("{w} units"), |c| c.model = relu(vec![w]))).to_vec();
    vec![
        Preset {
            id: "ch4-fashion-normalization",
            chapter: 4,
            title: "Scaling the pixels: the normalization study",
            summary: "Softmax regression on Fashion-MNIST's raw 0-255 pixels, then with the pixels scaled to \
                      [0, 1], to [-1, 1], and standardised. Large inputs make large gradients: a usual \
                      learning rate throws the weights around, a tiny one crawls; scaling fixes the cause.",
            config: softmax.clone(),
            variants: vec![
                norm("raw, lr 0.01", Normalization::None, 0.01),
                norm("raw, lr 0.0001", Normalization::None, 0.0001),
                norm("[0, 1]", Normalization::UnitRange, 0.01),
                norm("[-1, 1]", Normalization::SymmetricRange, 0.01),
                norm("z-score", Normalization::ZScore, 0.01),
            ],
            plots: vec![PlotKind::Loss, PlotKind::Accuracy],
            check: Check::AccuracyRises { from: 1, slack: 0.0, min: 0.82 },
            textbook: "Test accuracy after 100 epochs of batch 5000: raw lr 0.01 oscillates badly; raw lr \
                       0.0001 74.6 %; [0, 1] 77.2 %; [-1, 1] 81.0 %; z-score 82.2 %.",
        },
        Preset {
            id: "ch4-fashion-depth",
            chapter: 4,
            title: "How deep? One to seven hidden layers",
            summary: "The same 128-unit ReLU layers stacked one to seven deep. Accuracy climbs for the first \
                      few layers, then stops paying for the extra depth.",
            config: deep.clone(),
            variants: depth,
            plots: vec![PlotKind::Loss, PlotKind::Accuracy],
            check: Check::BetterThan { better: 2, worse: 0 },
            textbook: "1-3 hidden layers: accuracy rises; from 4 it saturates; at 7 (raw inputs, lr 0.01) \
                       training zig-zags and fails.",
        },
        Preset {
            id: "ch4-fashion-width",
            chapter: 4,
            title: "How wide? 64, 256 or 1024 units",
            summary: "One hidden layer of growing width. 256 units are already enough; at 1024 many units \
                      stay at zero. The layer statistics count the ReLUs that never fire.",
            config: deep.clone(),
            variants: widths,
            plots: CLASSIFIER_PLOTS.to_vec(),
            check: Check::BetterThan { better: 1, worse: 0 },
            textbook: "256 units suffice; 1024 add no accuracy and many zero activations.",
        },
        Preset {
            id: "ch4-fashion-mlp64",
            chapter: 4,
            title: "One hidden layer of 64",
            summary: "The textbook's first Fashion-MNIST MLP: 784 pixels, 64 ReLU units, 10 classes.",
            config: SessionConfig { model: relu(vec![64]), ..deep.clone() },
            variants: vec![],
            plots: CLASSIFIER_PLOTS.to_vec(),
            check: Check::TestAccuracyAtLeast(0.84),
            textbook: "A 64-unit hidden layer already beats every softmax regression of the study.",
        },
        Preset {
            id: "ch4-fashion-512-256-128",
            chapter: 4,
            title: "Three hidden layers: 512, 256, 128",
            summary: "A funnel of three ReLU layers, each summarising the one before.",
            config: SessionConfig { model: relu(vec![512, 256, 128]), ..deep.clone() },
            variants: vec![],
            plots: CLASSIFIER_PLOTS.to_vec(),
            check: Check::TestAccuracyAtLeast(0.85),
            textbook: "The deeper funnel trains to a higher accuracy than one layer of 64.",
        },
        Preset {
            id: "ch4-fashion-adam",
            chapter: 4,
            title: "784-128-64-10 with Adam",
            summary: "Two hidden layers of 128 and 64 units trained with Adam on standardised pixels, the \
                      learning rate halved after every epoch: three epochs are enough to pass 87 %.",
            config: SessionConfig {
                model: relu(vec![128, 64]),
                optimizer: OptimizerKind::Adam { betas: (0.9, 0.999), eps: 1e-8 },
                lr: 0.002,
                schedule: Schedule::StepDecay { every: 1, factor: 0.5 },
                epochs: 3,
                ..fashion()
            },
            variants: vec![],
            plots: CLASSIFIER_PLOTS.to_vec(),
            check: Check::TestAccuracyAtLeast(0.87),
            textbook: "Hidden layers of 128 and 64 units turn pixels into shapes, then shapes into classes.",
        },
    ]
}
