//! Chapter 8, better networks (textbook §9): each technique a toggle on one base model, compared side by
//! side: on a CNN, on an MLP that overfits, and on a deep plain MLP; global against per-channel z-scores on
//! CIFAR-10's colour images.

use super::preset::{ADAM, Check, PlotKind, Preset, base, vary};
use crate::data::Normalization;
use crate::nn::{Activation, Init, Padding};
use crate::optim::OptimizerKind;
use crate::train::{ConvBlock, DatasetSpec, LossKind, ModelSpec, Pool, SessionConfig, SkipJoin};

fn fashion(limit: usize) -> DatasetSpec {
    DatasetSpec::FashionMnist { train_limit: Some(limit), test_limit: Some(5_000) }
}

pub(super) fn presets() -> Vec<Preset> {
    let mlp = SessionConfig {
        normalization: Normalization::ZScore,
        model: ModelSpec::mlp(vec![256, 128], Activation::ReLU, Init::KaimingUniform),
        optimizer: ADAM,
        lr: 0.001,
        batch_size: 64,
        epochs: 5,
        ..base(fashion(10_000), LossKind::CrossEntropy)
    };
    let deep = SessionConfig {
        // Xavier's variance 1/n halves a ReLU signal's power at every layer: after 16 layers little is left,
        // which is the trouble skip connections and BatchNorm are for.
        model: ModelSpec::mlp(vec![64; 16], Activation::ReLU, Init::XavierUniform { fan_avg: false }),
        optimizer: OptimizerKind::Sgd { momentum: 0.9 },
        lr: 0.01,
        epochs: 3,
        ..mlp.clone()
    };
    let zscore = SessionConfig { epochs: 5, ..super::cnn::vgg16_like(Normalization::ZScorePerChannel) };
    let block = |channels, pool| ConvBlock { channels, kernel: 3, stride: 1, padding: Padding::Same, pool };
    let cnn = SessionConfig {
        model: ModelSpec {
            conv: vec![block(16, Pool::Max), block(32, Pool::Max)],
            ..ModelSpec::mlp(vec![64], Activation::ReLU, Init::KaimingUniform)
        },
        epochs: 3,
        ..mlp.clone()
    };
    vec![
        Preset {
            id: "ch8-regularizers",
            chapter: 8,
            title: "Fighting overfitting: dropout, noise, weight decay, BatchNorm",
            summary: "A 784-256-128-10 network on 10,000 training images overfits: training loss keeps falling \
                      while the test loss turns up. Each toggle changes one thing: dropout silences random units, \
                      input noise blurs the pixels, weight decay pulls weights towards zero, batch normalization \
                      standardises every layer's inputs.",
            config: mlp.clone(),
            variants: vec![
                vary(&mlp, "plain", |_| {}),
                vary(&mlp, "dropout 0.3", |c| c.model.dropout = 0.3),
                vary(&mlp, "input noise σ 0.5", |c| c.model.input_noise = 0.5),
                vary(&mlp, "weight decay 1e-4", |c| c.weight_decay = 1e-4),
                vary(&mlp, "BatchNorm", |c| c.model.batch_norm = true),
                vary(&mlp, "Swish instead of ReLU", |c| c.model.activation = Activation::Swish),
            ],
            plots: vec![PlotKind::Loss, PlotKind::Accuracy],
            check: Check::TestAccuracyAtLeast(0.8),
            textbook: "Noise injection, dropout (inverted scaling), L2 weight decay λ‖w‖²/2, batch \
                       normalization (γ = 1, β = 0 at start; running statistics at inference) and Swish, each \
                       compared with the same model without it.",
        },
        Preset {
            id: "ch8-cnn-toggles",
            chapter: 8,
            title: "One CNN, one change at a time",
            summary: "The base model: chapter 6's two VGG-style blocks (3x3 convolutions of 16 and 32 \
                      channels, 'same' padding, each followed by 2x2 max pooling) and a dense layer of 64, \
                      trained with Adam on \
                      10,000 Fashion-MNIST images. Each run changes one thing: Gaussian noise on the inputs, \
                      BatchNorm after every convolution, dropout after the dense layer, weight decay, Swish in \
                      place of ReLU, or a skip connection around every convolution, by addition (ResNet; a \
                      1x1 convolution matches the channels where they differ) or by concatenation (DenseNet: \
                      the next layer sees the block's input next to its output).",
            config: cnn.clone(),
            variants: vec![
                vary(&cnn, "plain", |_| {}),
                vary(&cnn, "input noise σ 0.3", |c| c.model.input_noise = 0.3),
                vary(&cnn, "BatchNorm", |c| c.model.batch_norm = true),
                vary(&cnn, "dropout 0.3", |c| c.model.dropout = 0.3),
                vary(&cnn, "weight decay 5e-4", |c| c.weight_decay = 5e-4),
                vary(&cnn, "Swish instead of ReLU", |c| c.model.activation = Activation::Swish),
                vary(&cnn, "skips by addition", |c| c.model.residual = true),
                vary(&cnn, "skips by concatenation", |c| {
                    c.model.residual = true;
                    c.model.join = SkipJoin::Concat;
                }),
            ],
            plots: vec![PlotKind::Loss, PlotKind::Accuracy, PlotKind::Filters],
            // Every toggle trains; on a net this shallow, skips do not help (measured 84.6-84.7 % against
            // plain 86.6 %): the deep plain-vs-skip study below is where they earn their keep.
            check: Check::TestAccuracyAtLeast(0.83),
            textbook: "Each technique of chapter 8 as a toggle on one CNN, compared with the run without it. \
                       (Global against per-channel z-scores needs colour images: CIFAR-10.)",
        },
        Preset {
            id: "ch8-deep-plain-vs-skip",
            chapter: 8,
            title: "Sixteen layers: plain, with skip connections, with BatchNorm, with concatenation",
            summary: "Sixteen hidden layers of 64 ReLU units (the lab's maximum), started with Xavier's \
                      variance 1/n, which halves a ReLU signal's power at every layer. Plain, the signal and its \
                      gradient fade through the stack; with a skip connection around each layer (y = x + f(x)) \
                      they pass around it, and batch normalization restores every layer's scale. Concatenation \
                      (DenseNet's join) hands every layer all the earlier layers' outputs, the input included.",
            config: deep.clone(),
            variants: vec![
                vary(&deep, "plain", |_| {}),
                vary(&deep, "skip connections", |c| c.model.residual = true),
                vary(&deep, "BatchNorm", |c| c.model.batch_norm = true),
                vary(&deep, "concatenated skips", |c| {
                    c.model.residual = true;
                    c.model.join = SkipJoin::Concat;
                }),
            ],
            plots: vec![PlotKind::Loss, PlotKind::Accuracy, PlotKind::LayerStats],
            check: Check::BetterThan { better: 1, worse: 0 },
            textbook: "A 20-layer plain network trains worse than its residual twin; skip connections by \
                       addition (ResNet) or concatenation (DenseNet) fix it.",
        },
        Preset {
            id: "ch8-cifar-zscore",
            chapter: 8,
            title: "Colour images: one z-score or one per channel",
            summary: "Chapter 6's VGG16-like network on CIFAR-10, three ways of scaling the inputs. [0, 1] \
                      divides by the largest value; a global z-score subtracts the mean of all pixels and \
                      divides by their standard deviation; a per-channel z-score does that for red, green and \
                      blue separately, so a channel that is brighter or spreads wider on average (natural \
                      photos are not grey) starts on the same footing as the others. On one-channel \
                      Fashion-MNIST the last two are the same thing.",
            config: zscore.clone(),
            variants: vec![
                vary(&zscore, "[0, 1]", |c| c.normalization = Normalization::UnitRange),
                vary(&zscore, "global z-score", |c| c.normalization = Normalization::ZScore),
                vary(&zscore, "z-score per channel", |_| {}),
            ],
            plots: vec![PlotKind::Loss, PlotKind::Accuracy],
            check: Check::BetterThan { better: 2, worse: 0 },
            textbook: "With a z-score per colour channel the VGG16-like network reaches about 80 % on \
                       CIFAR-10, clearly above plain rescaling.",
        },
    ]
}
