//! Chapter 6, convolutional networks on Fashion-MNIST (textbook §7): a 7x7 kernel with a dense head, then
//! pooling, then "same" padding, then two VGG-style blocks, and an all-convolutional network.

use super::preset::{ADAM, Check, PlotKind, Preset, base, vary};
use crate::data::Normalization;
use crate::nn::{Activation, Init, Padding};
use crate::optim::Schedule;
use crate::train::{ConvBlock, DatasetSpec, Features, LossKind, ModelSpec, Pool, SessionConfig, Trees};

fn block(channels: usize, kernel: usize, padding: Padding, pool: Pool) -> ConvBlock {
    ConvBlock { channels, kernel, stride: 1, padding, pool }
}

fn cnn(conv: Vec<ConvBlock>, hidden: Vec<usize>, conv_head: bool) -> SessionConfig {
    SessionConfig {
        normalization: Normalization::ZScore,
        model: ModelSpec {
            conv,
            conv_head,
            ..ModelSpec::mlp(hidden, Activation::ReLU, Init::KaimingUniform)
        },
        optimizer: ADAM,
        lr: 0.001,
        batch_size: 64,
        epochs: 2,
        ..base(DatasetSpec::FashionMnist { train_limit: None, test_limit: None }, LossKind::CrossEntropy)
    }
}

fn preset(id: &'static str, title: &'static str, summary: &'static str, config: SessionConfig) -> Preset {
    Preset {
        id,
        chapter: 6,
        title,
        summary,
        config,
        variants: vec![],
        plots: vec![
            PlotKind::Loss,
            PlotKind::Accuracy,
            PlotKind::Filters,
            PlotKind::Confusion,
            PlotKind::Mistakes,
        ],
        check: Check::TestAccuracyAtLeast(0.85),
        textbook: "",
    }
}

pub(super) fn presets() -> Vec<Preset> {
    let seven = cnn(vec![block(8, 7, Padding::Valid, Pool::None)], vec![64], false);
    let pooled = cnn(vec![block(8, 7, Padding::Valid, Pool::Max)], vec![64], false);
    let vgg = vec![block(16, 3, Padding::Same, Pool::Max), block(32, 3, Padding::Same, Pool::Max)];
    let svm = SessionConfig {
        features: Features::Edges,
        normalization: Normalization::ZScorePerChannel,
        model: ModelSpec::mlp(vec![], Activation::Identity, Init::XavierUniform { fan_avg: false }),
        loss: LossKind::Hinge,
        weight_decay: 1e-4,
        ..seven.clone()
    };
    vec![
        Preset {
            id: "ch6-classical",
            chapter: 6,
            title: "Before CNNs: edge filters and a linear SVM",
            summary: "The classical recipe: fixed filters (Sobel, Scharr, Prewitt, Roberts, Laplacian and its \
                      Gaussian-smoothed form) turn each image into edge maps, the strength of each map is \
                      averaged over 4x4 cells (490 numbers per image), and a linear SVM (hinge loss with weight \
                      decay) separates the classes; gradient-boosted trees (one forest per class, grown on \
                      4,000 images) are the other classical choice. Then the 7x7 CNN, whose filters are learned instead of \
                      chosen, on the same images.",
            config: svm.clone(),
            variants: vec![
                vary(&svm, "edge features + linear SVM", |_| {}),
                vary(&svm, "edge features + boosted trees", |c| {
                    // Trees grow on a copy of their data each: 4,000 items keep a class's forest to seconds.
                    c.dataset = DatasetSpec::FashionMnist { train_limit: Some(4000), test_limit: None };
                    c.model.trees = Some(Trees { rounds: 20, depth: 3, shrinkage: 0.3 });
                    c.loss = LossKind::CrossEntropy;
                    c.weight_decay = 0.0;
                    c.epochs = 1;
                }),
                vary(&seven, "7x7 CNN (learned filters)", |_| {}),
            ],
            plots: vec![PlotKind::EdgeFilters, PlotKind::Loss, PlotKind::Accuracy, PlotKind::Confusion],
            check: Check::Baseline { model: 2, min: 0.6 },
            textbook: "Hand-designed filters feeding a linear SVM (or gradient-boosted trees) were the method \
                       before CNNs; a CNN learns its filters from the data and does better.",
        },
        Preset {
            textbook: "A 7x7 convolution in front of a dense head already beats the MLPs of chapter 4.",
            ..preset(
                "ch6-cnn-7x7",
                "Eight learned 7x7 filters and a dense head",
                "Eight 7x7 filters slide over the image and share their weights across positions: 8×49 weights \
                 instead of a dense layer's 784 per unit. Their 22x22 responses feed a small dense head.",
                seven,
            )
        },
        Preset {
            variants: vec![
                vary(&pooled, "max pooling", |_| {}),
                vary(&pooled, "average pooling", |c| c.model.conv[0].pool = Pool::Avg),
            ],
            check: Check::TestAccuracyAtLeast(0.86),
            textbook: "Pooling (max or average over 2x2 windows) halves the feature maps: fewer numbers for the \
                       head, a little tolerance to shifts.",
            ..preset(
                "ch6-cnn-pooling",
                "Max or average pooling",
                "The same 7x7 layer followed by 2x2 pooling, which keeps the strongest (max) or the mean \
                 (average) response of each window and halves the maps to 11x11.",
                pooled.clone(),
            )
        },
        Preset {
            variants: vec![
                vary(&pooled, "valid (22x22 → 11x11)", |_| {}),
                vary(&pooled, "same (28x28 → 14x14)", |c| c.model.conv[0].padding = Padding::Same),
            ],
            check: Check::TestAccuracyAtLeast(0.86),
            textbook: "Padding P adds a border so that out = ⌊(S − K + 2P)/stride⌋ + 1 keeps the size: with \
                       K = 7, P = 3 gives 'same'.",
            ..preset(
                "ch6-cnn-padding",
                "Padding: keep the border",
                "Without padding a 7x7 kernel loses three pixels on every side; with 'same' padding (three \
                 zeros around the image) the map keeps its 28x28 and the border's pixels count as much.",
                pooled,
            )
        },
        Preset {
            check: Check::TestAccuracyAtLeast(0.90),
            textbook: "Small 3x3 convolutions stacked with pooling (VGG blocks): two blocks see a 10x10 \
                       neighbourhood with few weights.",
            ..preset(
                "ch6-vgg-blocks",
                "Two VGG-style blocks",
                "3x3 convolutions with 'same' padding, each followed by 2x2 max pooling: 16 then 32 channels, \
                 28x28 → 14x14 → 7x7, then a dense layer of 64. Adam with the rate halved every epoch passes \
                 90 % in three epochs.",
                decayed(cnn(vgg.clone(), vec![64], false)),
            )
        },
        Preset {
            check: Check::TestAccuracyAtLeast(0.88),
            textbook: "An all-convolutional network: a 1x1 convolution produces one map per class and pooling \
                       turns (N, C, 1, 1) into the logits (N, C).",
            ..preset(
                "ch6-all-conv",
                "All convolutional: a 1x1 head",
                "No dense layer at all: after the two blocks a 7x7 convolution covers the whole 7x7 map and \
                 leaves 64 values of size 1x1; a 1x1 convolution turns them into ten (N, 10, 1, 1), and \
                 flattening gives the logits (N, 10). A convolution whose kernel covers its whole input is a \
                 dense layer: from the same seed this net computes what 'Two VGG-style blocks' computes, \
                 number for number.",
                decayed(cnn([vgg, vec![block(64, 7, Padding::Valid, Pool::None)]].concat(), vec![], true)),
            )
        },
    ]
}

/// Three epochs of Adam at 0.002, halved after each.
fn decayed(c: SessionConfig) -> SessionConfig {
    SessionConfig { epochs: 3, lr: 0.002, schedule: Schedule::StepDecay { every: 1, factor: 0.5 }, ..c }
}
