//! Presets: the experiments a visitor runs with one click, each a `SessionConfig` plus words and a success
//! check. Chapters configure; they never implement math.

use serde::Serialize;

use crate::data::Normalization;
use crate::nn::{Activation, Init};
use crate::optim::{OptimizerKind, Schedule};
use crate::train::{DatasetSpec, EpochMetrics, LossKind, ModelSpec, SessionConfig};

/// One runnable experiment.
#[derive(Debug, Clone, Serialize)]
pub struct Preset {
    pub id: &'static str,
    pub chapter: u8,
    pub title: &'static str,
    /// A paragraph written for the lab.
    pub summary: &'static str,
    #[serde(skip)]
    pub config: SessionConfig,
    /// What the last epoch must show for the preset to count as working.
    #[serde(skip)]
    pub check: Check,
}

/// A success check on the final metrics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Check {
    TestAccuracyAtLeast(f32),
    /// For presets whose point is a failure (a linear model on rings).
    TestAccuracyAtMost(f32),
    TestLossBelow(f32),
}

impl Check {
    /// `Ok` with a sentence, or `Err` with what was expected and what came out.
    pub fn verify(self, last: &EpochMetrics) -> Result<String, String> {
        match self {
            Check::TestAccuracyAtLeast(min) => match last.test_accuracy {
                Some(a) if a >= min => Ok(format!("test accuracy {a:.3} >= {min}")),
                other => Err(format!("test accuracy {other:?} is below {min}")),
            },
            Check::TestAccuracyAtMost(max) => match last.test_accuracy {
                Some(a) if a <= max => Ok(format!("test accuracy {a:.3} <= {max}")),
                other => Err(format!("test accuracy {other:?} is above {max}")),
            },
            Check::TestLossBelow(max) if last.test_loss < max => {
                Ok(format!("test loss {:.4} < {max}", last.test_loss))
            }
            Check::TestLossBelow(max) => Err(format!("test loss {} is not below {max}", last.test_loss)),
        }
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

const IRIS: [&str; 4] = ["SepalLengthCm", "SepalWidthCm", "PetalLengthCm", "PetalWidthCm"];

/// A starting config that presets adjust.
fn base(dataset: DatasetSpec, loss: LossKind) -> SessionConfig {
    SessionConfig {
        dataset,
        test_fraction: 0.2,
        normalization: Normalization::ZScorePerChannel,
        model: ModelSpec {
            hidden: vec![],
            activation: Activation::Tanh,
            init: Init::XavierUniform { fan_avg: false },
        },
        loss,
        optimizer: OptimizerKind::Sgd { momentum: 0.0 },
        lr: 0.1,
        schedule: Schedule::Constant,
        batch_size: 16,
        epochs: 100,
        seed: 42,
    }
}

/// Every preset of the chapters built so far, in curriculum order.
pub fn presets() -> Vec<Preset> {
    let adam = OptimizerKind::Adam { betas: (0.9, 0.999), eps: 1e-8 };
    let ads = |f: &[&str]| DatasetSpec::Advertising { features: strings(f) };
    let rings = DatasetSpec::Rings { rings: 3, per_ring: 200, noise: 0.1 };
    vec![
        Preset {
            id: "ch1-tv-sgd",
            chapter: 1,
            title: "TV budget to sales, one sample at a time",
            summary: "Fit sales = w·TV + b by stochastic gradient descent: after every single campaign the \
                      line moves a little, so the loss curve zig-zags on its way down.",
            config: SessionConfig {
                batch_size: 1,
                epochs: 30,
                lr: 0.01,
                ..base(ads(&["TV"]), LossKind::Mse)
            },
            check: Check::TestLossBelow(15.0),
        },
        Preset {
            id: "ch1-three-features",
            chapter: 1,
            title: "All three budgets, vectorised",
            summary: "TV, radio and newspaper budgets together with a bias column, one matrix product per \
                      batch: the same gradient descent, written the way fast code is written.",
            config: SessionConfig {
                batch_size: 50,
                epochs: 200,
                ..base(ads(&["TV", "Radio", "Newspaper"]), LossKind::Mse)
            },
            check: Check::TestLossBelow(5.0),
        },
        Preset {
            id: "ch2-iris-binary",
            chapter: 2,
            title: "Setosa or versicolor: logistic regression",
            summary: "A sigmoid turns a weighted sum of four measurements into a probability; binary \
                      cross-entropy, unlike squared error on a sigmoid, gives a convex loss to descend.",
            config: base(
                DatasetSpec::Iris { classes: 2, features: strings(&IRIS) },
                LossKind::BinaryCrossEntropy,
            ),
            check: Check::TestAccuracyAtLeast(1.0),
        },
        Preset {
            id: "ch2-iris-two-features",
            chapter: 2,
            title: "A decision line from two features",
            summary: "Keep only sepal width and petal length, two weakly correlated measurements, so the \
                      learned boundary is a line you can see in the plane.",
            config: base(
                DatasetSpec::Iris { classes: 2, features: strings(&["SepalWidthCm", "PetalLengthCm"]) },
                LossKind::BinaryCrossEntropy,
            ),
            check: Check::TestAccuracyAtLeast(1.0),
        },
        Preset {
            id: "ch3-iris-softmax",
            chapter: 3,
            title: "Three species with softmax regression",
            summary: "One score per species, softmax to turn scores into probabilities, cross-entropy against \
                      the true species; the gradient of the scores is simply prediction minus one-hot truth.",
            config: SessionConfig {
                epochs: 200,
                ..base(DatasetSpec::Iris { classes: 3, features: strings(&IRIS) }, LossKind::CrossEntropy)
            },
            check: Check::TestAccuracyAtLeast(0.93),
        },
        Preset {
            id: "ch4-xor",
            chapter: 4,
            title: "XOR needs a hidden layer",
            summary: "No straight line separates XOR's four points; eight tanh units in a hidden layer bend \
                      the space until one does.",
            config: SessionConfig {
                test_fraction: 0.0,
                normalization: Normalization::None,
                model: ModelSpec {
                    hidden: vec![8],
                    activation: Activation::Tanh,
                    init: Init::XavierUniform { fan_avg: false },
                },
                optimizer: adam,
                lr: 0.05,
                batch_size: 4,
                epochs: 300,
                ..base(DatasetSpec::Xor, LossKind::CrossEntropy)
            },
            // No test split: four points are the whole problem, so the metrics are on them.
            check: Check::TestAccuracyAtLeast(1.0),
        },
        Preset {
            id: "ch4-rings-linear",
            chapter: 4,
            title: "Three rings defeat a linear model",
            summary: "Softmax regression draws straight boundaries, and concentric rings have none to offer: \
                      accuracy stays near chance.",
            config: SessionConfig {
                optimizer: adam,
                lr: 0.01,
                batch_size: 32,
                epochs: 60,
                ..base(rings.clone(), LossKind::CrossEntropy)
            },
            check: Check::TestAccuracyAtMost(0.6),
        },
        Preset {
            id: "ch4-rings-mlp",
            chapter: 4,
            title: "…and an MLP separates them",
            summary: "Two hidden ReLU layers of 32 units learn curved boundaries, and the rings come apart.",
            config: SessionConfig {
                model: ModelSpec {
                    hidden: vec![32, 32],
                    activation: Activation::ReLU,
                    init: Init::KaimingUniform,
                },
                optimizer: adam,
                lr: 0.01,
                batch_size: 32,
                epochs: 60,
                ..base(rings, LossKind::CrossEntropy)
            },
            check: Check::TestAccuracyAtLeast(0.95),
        },
    ]
}

/// The preset with this id.
pub fn preset(id: &str) -> Option<Preset> {
    presets().into_iter().find(|p| p.id == id)
}
