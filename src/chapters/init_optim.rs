//! Chapter 5, training deep MLPs: initialization and optimizers (textbook §6). The optimizer experiments
//! run on toy functions (one step per epoch, the point's path traced); the initialization and optimizer
//! races run on Fashion-MNIST.

use super::preset::{ADAM, Check, PlotKind, Preset, ToyExpect, Variant, base, vary};
use crate::data::Normalization;
use crate::nn::{Activation, Init};
use crate::optim::{OptimizerKind, Schedule};
use crate::train::{DatasetSpec, LossKind, ModelSpec, SessionConfig, ToyFunction};

const SGD: OptimizerKind = OptimizerKind::Sgd { momentum: 0.0 };
const MOMENTUM: OptimizerKind = OptimizerKind::Sgd { momentum: 0.9 };

/// Plain gradient descent on `function` from `start`, `steps` steps at `lr`.
fn toy(function: ToyFunction, start: &[f32], lr: f32, steps: u32) -> SessionConfig {
    SessionConfig {
        test_fraction: 0.0,
        normalization: Normalization::None,
        model: ModelSpec::mlp(vec![], Activation::Identity, Init::Zeros),
        optimizer: SGD,
        lr,
        batch_size: 1,
        epochs: steps,
        ..base(DatasetSpec::Toy { function, start: start.to_vec() }, LossKind::Value)
    }
}

fn toy_preset(id: &'static str, title: &'static str, summary: &'static str, runs: Vec<Variant>) -> Preset {
    Preset {
        id,
        chapter: 5,
        title,
        summary,
        config: runs[0].config.clone(),
        variants: runs,
        plots: vec![PlotKind::ToyPath, PlotKind::Loss],
        check: Check::Toy(&[]),
        textbook: "",
    }
}

fn lr_runs(base: &SessionConfig, lrs: &[f32]) -> Vec<Variant> {
    lrs.iter().map(|&lr| vary(base, &format!("lr {lr}"), |c| c.lr = lr)).collect()
}

pub(super) fn presets() -> Vec<Preset> {
    let mut all = toy_presets();
    all.extend(fashion_presets());
    all
}

fn toy_presets() -> Vec<Preset> {
    let quad = |a: f32| toy(ToyFunction::Quadratic { a }, &[1.0], 0.1, 40);
    let ravine = toy(ToyFunction::Ellipse { b: 20.0 }, &[2.0, 1.0], 0.01, 300);
    let composite = toy(ToyFunction::Composite, &[3.0], 0.01, 100);
    let quartic = toy(ToyFunction::LogQuartic, &[2.0], 0.1, 200);
    let quintic = toy(ToyFunction::Quintic, &[1.5], 0.02, 200);
    let saddle = toy(ToyFunction::Saddle, &[1.0, 0.001], 0.05, 60);
    let race = toy(ToyFunction::Ellipse { b: 20.0 }, &[-4.0, 1.0], 0.02, 200);
    vec![
        Preset {
            check: Check::Toy(&[ToyExpect::Smooth, ToyExpect::Oscillates, ToyExpect::Diverges]),
            textbook: "At lr 0.01 the book reports x² smooth, 9x² oscillating, 20x² diverging. Gradient \
                       descent multiplies x by (1 − 2a·lr) each step, so those three behaviours happen at lr \
                       0.1 (factors 0.8, −0.8, −3); at lr 0.01 all three descend smoothly.",
            ..toy_preset(
                "ch5-quadratics",
                "One learning rate, three curvatures: x², 9x², 20x²",
                "The same step size on steeper and steeper bowls: the shallow one is descended smoothly, the \
                 middle one is overshot back and forth, the steepest one throws the point farther out each step.",
                vec![
                    vary(&quad(1.0), "x²", |_| {}),
                    vary(&quad(9.0), "9x²", |_| {}),
                    vary(&quad(20.0), "20x²", |_| {}),
                ],
            )
        },
        Preset {
            check: Check::Toy(&[ToyExpect::Smooth, ToyExpect::Converges, ToyExpect::Diverges]),
            textbook: "With one learning rate for both directions: large, and 20y² diverges; small, and x² \
                       converges very slowly.",
            ..toy_preset(
                "ch5-ravine",
                "A ravine: x² + 20y²",
                "One learning rate has to serve a gentle direction and a steep one. Small enough for y and x \
                 crawls; large enough for x and y bounces out of the ravine.",
                lr_runs(&ravine, &[0.01, 0.045, 0.06]),
            )
        },
        Preset {
            check: Check::Toy(&[
                ToyExpect::Diverges,
                ToyExpect::Zigzag,
                ToyExpect::Converges,
                ToyExpect::Monotone,
            ]),
            textbook: "g(f(x)) with f = x² + 3x, g = x³ + x + 2: lr 0.01 diverges, 0.001 zig-zags, 0.0005 \
                       reaches the minimum fast, 0.0001 converges smoothly but slowly.",
            ..toy_preset(
                "ch5-composite",
                "A composite function at four learning rates",
                "g(f(x)) has a steep wall far from its minimum. From x = 3 the largest rate jumps off to \
                 infinity, the next one zig-zags, 0.0005 lands next to the minimum, 0.0001 creeps towards it.",
                lr_runs(&composite, &[0.01, 0.001, 0.0005, 0.0001]),
            )
        },
        Preset {
            check: Check::Toy(&[ToyExpect::Converges, ToyExpect::Monotone, ToyExpect::Converges]),
            textbook: "log(x⁴ + 1e-5): large gradients far out, a nearly flat floor; a fixed rate is either \
                       slow or jumpy, so the rate should shrink as training goes on.",
            ..toy_preset(
                "ch5-log-quartic",
                "A steep wall and a flat floor: log(x⁴ + 10⁻⁵), and learning-rate decay",
                "Far from 0 the slope is large, near 0 almost nothing. A tiny rate never gets there; a large \
                 one gets there in jumps; starting large and decaying by 5 % per step gets there and settles.",
                vec![
                    vary(&quartic, "lr 0.1", |_| {}),
                    vary(&quartic, "lr 0.001", |c| c.lr = 0.001),
                    vary(&quartic, "lr 0.1, ×0.95 per step", |c| {
                        c.schedule = Schedule::Exponential { lambda: 0.95, k: 1.0 }
                    }),
                ],
            )
        },
        Preset {
            check: Check::LowerLoss { better: 1, worse: 0, margin: 0.3 },
            textbook: "f(x) = −0.2x⁵ + 0.1x⁴ + x³ − 0.5x: plain SGD stops in the first valley it meets; \
                       momentum carries the point over the hump into a deeper one.",
            ..toy_preset(
                "ch5-momentum-escape",
                "Momentum rolls out of a shallow valley",
                "From x = 1.5 plain gradient descent settles in the shallow valley at x ≈ 0.41. With \
                 momentum 0.9 the point keeps its speed, climbs over the hump at x ≈ −0.44 and settles in the \
                 deeper valley at x ≈ −1.48.",
                vec![
                    vary(&quintic, "SGD", |_| {}),
                    vary(&quintic, "momentum 0.9", |c| c.optimizer = MOMENTUM),
                ],
            )
        },
        Preset {
            check: Check::LowerLoss { better: 1, worse: 0, margin: 1.0 },
            textbook: "At a saddle the gradient vanishes though it is no minimum; a tiny push along y grows \
                       and the point slides away.",
            ..toy_preset(
                "ch5-saddle",
                "A saddle: x² − y²",
                "Starting almost exactly on the ridge, gradient descent first slides to the saddle point and \
                 hesitates there; the tiny offset in y grows until the point escapes. Momentum escapes sooner.",
                vec![vary(&saddle, "SGD", |_| {}), vary(&saddle, "momentum 0.9", |c| c.optimizer = MOMENTUM)],
            )
        },
        Preset {
            check: Check::Toy(&[
                ToyExpect::Converges,
                ToyExpect::Converges,
                ToyExpect::Converges,
                ToyExpect::Zigzag,
                ToyExpect::Converges,
            ]),
            textbook: "Adagrad, RMSProp (ρ ≈ 0.9), momentum (β 0.9) and Adam adapt the step per direction \
                       or remember past steps; on a ravine they take different paths to the same minimum.",
            ..toy_preset(
                "ch5-optimizer-race",
                "Five optimizers race down the ravine",
                "The same start, five update rules, each at a rate that suits it. Watch SGD crawl along the \
                 gentle direction, momentum overshoot and swing back, and the adaptive methods head more \
                 directly for the minimum. RMSProp's steps stay about as long as its rate, so at a constant \
                 rate it keeps jittering around the minimum; Adam's averaged gradient cancels out and it settles.",
                race_runs(&race),
            )
        },
    ]
}

fn race_runs(race: &SessionConfig) -> Vec<Variant> {
    let with = |label: &str, o: OptimizerKind, lr: f32| vary(race, label, |c| (c.optimizer, c.lr) = (o, lr));
    vec![
        with("SGD", SGD, 0.02),
        with("momentum 0.9", MOMENTUM, 0.02),
        with("Adagrad", OptimizerKind::Adagrad { eps: 1e-10 }, 0.5),
        with("RMSProp", OptimizerKind::RmsProp { rho: 0.9, eps: 1e-8 }, 0.05),
        with("Adam", ADAM, 0.1),
    ]
}

fn fashion_presets() -> Vec<Preset> {
    let fashion = DatasetSpec::FashionMnist { train_limit: Some(20_000), test_limit: Some(5_000) };
    let deep = SessionConfig {
        normalization: Normalization::ZScore,
        model: ModelSpec::mlp(vec![64; 10], Activation::ReLU, Init::KaimingUniform),
        batch_size: 128,
        epochs: 3,
        lr: 0.05,
        ..base(fashion.clone(), LossKind::CrossEntropy)
    };
    let init = |label: &str, i: Init| vary(&deep, label, |c| c.model.init = i);
    let sigmoid = SessionConfig {
        model: ModelSpec {
            activation: Activation::Sigmoid,
            init: Init::XavierUniform { fan_avg: false },
            ..deep.model.clone()
        },
        lr: 0.5,
        ..deep.clone()
    };
    let sig = |label: &str, i: Init| vary(&sigmoid, label, |c| c.model.init = i);
    let mlp =
        SessionConfig { model: ModelSpec { hidden: vec![128, 64], ..deep.model.clone() }, ..deep.clone() };
    let opt = |label: &str, o: OptimizerKind, lr: f32| vary(&mlp, label, |c| (c.optimizer, c.lr) = (o, lr));
    vec![
        Preset {
            id: "ch5-init",
            chapter: 5,
            title: "Ten ReLU layers, six ways to start",
            summary: "The same ten-layer network initialised six ways. He initialisation keeps the spread of \
                      the activations steady from layer to layer; N(0, 1) makes it explode, N(0, 0.01) makes \
                      it vanish, and zeros give every unit the same gradient, so they never differ.",
            config: deep.clone(),
            variants: vec![
                init("He uniform", Init::KaimingUniform),
                init("He normal", Init::KaimingNormal),
                init("Xavier uniform", Init::XavierUniform { fan_avg: false }),
                init("N(0, 1): too large", Init::Normal { mean: 0.0, std: 1.0 }),
                init("N(0, 0.01): too small", Init::Normal { mean: 0.0, std: 0.01 }),
                init("zeros", Init::Zeros),
            ],
            plots: vec![PlotKind::Loss, PlotKind::Accuracy, PlotKind::LayerStats],
            check: Check::BetterThan { better: 0, worse: 4 },
            textbook: "Xavier: U(±√(3/n)) or N(0, 1/n) for tanh (×4 for sigmoid); He: U(±√(6/n)) or N(0, 2/n) \
                       for ReLU; zeros and badly scaled draws stall or blow up deep networks.",
        },
        Preset {
            id: "ch5-init-sigmoid",
            chapter: 5,
            title: "Ten sigmoid layers: vanishing gradients",
            summary: "A sigmoid's slope is at most 1/4, so every layer can shrink the gradient on its way back. \
                      With plain Xavier (variance 1/n, made for tanh) the first layers' gradients come out about \
                      a million times smaller than the last ones' and the network does not learn in 3 epochs; \
                      the ×4 variant for sigmoids, U(±4√(3/n)), keeps them alive. N(0, 1) does too, with \
                      saturated units.",
            config: sigmoid.clone(),
            variants: vec![
                sig("Xavier uniform", Init::XavierUniform { fan_avg: false }),
                sig("Xavier normal", Init::XavierNormal { fan_avg: false }),
                sig("Xavier ×4 (sigmoid)", Init::XavierUniformSigmoid { fan_avg: false }),
                sig("N(0, 1)", Init::Normal { mean: 0.0, std: 1.0 }),
            ],
            plots: vec![PlotKind::Loss, PlotKind::Accuracy, PlotKind::LayerStats],
            check: Check::BetterThan { better: 2, worse: 0 },
            textbook: "For sigmoid units Xavier's bounds are multiplied by 4: U(±4√(3/n)) or N(0, 16/n).",
        },
        Preset {
            id: "ch5-optimizers-fashion",
            chapter: 5,
            title: "The optimizers on Fashion-MNIST",
            summary: "One 784-128-64-10 network, five update rules, each at a learning rate that suits it.",
            config: mlp.clone(),
            variants: vec![
                opt("SGD", SGD, 0.05),
                opt("momentum 0.9", MOMENTUM, 0.01),
                opt("Adagrad", OptimizerKind::Adagrad { eps: 1e-10 }, 0.01),
                opt("RMSProp", OptimizerKind::RmsProp { rho: 0.9, eps: 1e-8 }, 0.001),
                opt("Adam", ADAM, 0.001),
            ],
            plots: vec![PlotKind::Loss, PlotKind::Accuracy],
            check: Check::BetterThan { better: 4, worse: 0 },
            textbook: "Adaptive methods and momentum reach a given accuracy in fewer epochs than plain SGD; the \
                       chapter's best model is the MLP trained with Adam.",
        },
        Preset {
            id: "ch5-schedules",
            chapter: 5,
            title: "Learning-rate schedules: constant, step, exponential",
            summary: "SGD at 0.1 on the same network, kept constant, halved every epoch, or multiplied by 0.7 \
                      each epoch: the decayed runs settle where the constant one keeps jittering.",
            config: mlp.clone(),
            variants: vec![
                vary(&mlp, "constant 0.1", |c| c.lr = 0.1),
                vary(&mlp, "halve every epoch", |c| {
                    (c.lr, c.schedule) = (0.1, Schedule::StepDecay { every: 1, factor: 0.5 })
                }),
                vary(&mlp, "×0.7 per epoch", |c| {
                    (c.lr, c.schedule) = (0.1, Schedule::Exponential { lambda: 0.7, k: 1.0 })
                }),
            ],
            plots: vec![PlotKind::Loss, PlotKind::Accuracy],
            check: Check::TestAccuracyAtLeast(0.8),
            textbook: "Step decay multiplies the rate by k every p epochs; exponential decay uses lr0·λ^(step/k).",
        },
    ]
}
