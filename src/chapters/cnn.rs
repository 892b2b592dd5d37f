//! Chapter 6, convolutional networks (textbook §7): why an MLP fails on CIFAR-10's colour photos, the
//! classical baselines, then on Fashion-MNIST a 7x7 kernel with a dense head, pooling, "same" padding, two
//! VGG-style blocks and an all-convolutional network; last, a VGG16-like network on CIFAR-10.

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
            PlotKind::FeatureMaps,
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
    let cifar_mlp = SessionConfig {
        model: ModelSpec::mlp(vec![256], Activation::ReLU, Init::KaimingUniform),
        dataset: cifar(10_000),
        batch_size: 128,
        epochs: 15,
        ..cnn(vec![], vec![], false)
    };
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
            id: "ch6-cifar-mlp",
            chapter: 6,
            title: "CIFAR-10 with an MLP: memorised, not learned",
            summary: "Colour photos of ten kinds of objects (32x32, three channels) flattened into 3,072 \
                      numbers and fed to MLPs of one, two and three hidden layers of 256. On 10,000 training \
                      images the training loss falls towards zero while the test loss turns up after a few \
                      epochs: the network learns the training photos by heart, backgrounds and all, and \
                      flattening has thrown away which pixels were neighbours. Deeper MLPs only memorise \
                      faster.",
            config: cifar_mlp.clone(),
            variants: vec![
                vary(&cifar_mlp, "256", |_| {}),
                vary(&cifar_mlp, "256-256", |c| c.model.hidden = vec![256, 256]),
                vary(&cifar_mlp, "256-256-256", |c| c.model.hidden = vec![256, 256, 256]),
            ],
            plots: vec![PlotKind::Samples, PlotKind::Loss, PlotKind::Accuracy, PlotKind::Mistakes],
            check: Check::Overfits { gap: 0.5 },
            textbook: "An MLP on CIFAR-10 reaches nearly 100 % on its training images and about 53 % on the \
                       test set; two or three hidden layers converge faster and overfit just the same.",
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
        Preset {
            plots: vec![
                PlotKind::Samples,
                PlotKind::Loss,
                PlotKind::Accuracy,
                PlotKind::Filters,
                PlotKind::FeatureMaps,
                PlotKind::Confusion,
            ],
            check: Check::TestAccuracyAtLeast(0.55),
            textbook: "A VGG16-like network trained on CIFAR-10 reaches about 70 % and then stops improving. \
                       Five poolings fit 32x32 inputs (32 → 1) but not 28x28 ones (28 → 14 → 7 → 3 → 1 → 0).",
            ..preset(
                "ch6-cifar-vgg16",
                "A VGG16-like network on CIFAR-10",
                "VGG's recipe scaled to 32x32 colour images: five blocks of 3x3 convolutions with 'same' \
                 padding (one, one, two, two and two convolutions of 32, 64, 128, 256 and 256 channels), \
                 each block closed by 2x2 max pooling, so 32 → 16 → 8 → 4 → 2 → 1, then a dense layer of 256. \
                 Training it costs about 230 million multiply-adds per image: a few seconds an epoch on a \
                 desktop GPU, minutes on the CPU path, so this run takes the first 10,000 training images; \
                 raise the limit when WebGPU is on.",
                vgg16_like(Normalization::ZScore),
            )
        },
    ]
}

/// CIFAR-10 cut to its first `train` training images and 2,000 test images.
pub(super) fn cifar(train: usize) -> DatasetSpec {
    DatasetSpec::Cifar10 { train_limit: Some(train), test_limit: Some(2_000) }
}

/// The VGG16-like network the textbook builds for CIFAR-10, at half VGG's widths: five blocks of 3x3
/// 'same' convolutions (one, one, two, two and two of them; 32 → 64 → 128 → 256 → 256 channels), each block
/// ending in 2x2 max pooling (32 → 16 → 8 → 4 → 2 → 1), then a dense layer of 256. About 77 MFLOP per image
/// forward, ~230 MFLOP to train on one.
pub(super) fn vgg16_like(normalization: Normalization) -> SessionConfig {
    let conv = |channels, pool| block(channels, 3, Padding::Same, pool);
    let blocks = vec![
        conv(32, Pool::Max),
        conv(64, Pool::Max),
        conv(128, Pool::None),
        conv(128, Pool::Max),
        conv(256, Pool::None),
        conv(256, Pool::Max),
        conv(256, Pool::None),
        conv(256, Pool::Max),
    ];
    SessionConfig { dataset: cifar(10_000), normalization, epochs: 8, ..cnn(blocks, vec![256], false) }
}

/// Three epochs of Adam at 0.002, halved after each.
fn decayed(c: SessionConfig) -> SessionConfig {
    SessionConfig { epochs: 3, lr: 0.002, schedule: Schedule::StepDecay { every: 1, factor: 0.5 }, ..c }
}
