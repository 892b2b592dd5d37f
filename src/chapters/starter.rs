//! The drawing pad's starter models: two small CNNs with fixed seeds, so the pad classifies before the
//! visitor trains anything. `cvjourney model starters` trains them on the CPU (deterministic: the same
//! command writes the same bytes) and writes them where the page loads them on demand (`www/models/`).

use super::preset::{ADAM, base};
use crate::data::Normalization;
use crate::nn::{Activation, Init, Padding};
use crate::train::{ConvBlock, DatasetSpec, LossKind, ModelSpec, Pool, SessionConfig};

/// One starter model: its file, what it reads, and the held-out accuracy it must reach.
#[derive(Debug, Clone)]
pub struct Starter {
    /// Stable id; the file is `{id}.safetensors`.
    pub id: &'static str,
    pub title: &'static str,
    pub config: SessionConfig,
    /// Accuracy on the run's own test split (the held-out digits it never trained on, or Fashion-MNIST's
    /// official test set) that the tests demand of the committed file.
    pub min_accuracy: f32,
}

fn cnn(
    dataset: DatasetSpec,
    channels: [usize; 2],
    hidden: usize,
    batch_size: usize,
    epochs: u32,
) -> SessionConfig {
    let block =
        |channels| ConvBlock { channels, kernel: 3, stride: 1, padding: Padding::Same, pool: Pool::Max };
    SessionConfig {
        test_fraction: 0.2,
        normalization: Normalization::ZScore,
        model: ModelSpec {
            conv: channels.into_iter().map(block).collect(),
            ..ModelSpec::mlp(vec![hidden], Activation::ReLU, Init::KaimingUniform)
        },
        optimizer: ADAM,
        lr: 0.001,
        batch_size,
        epochs,
        seed: 2026,
        ..base(dataset, LossKind::CrossEntropy)
    }
}

/// The digits model (trained on 4,000 of the 5,000-digit MNIST sample, checked on the other 1,000) and the
/// clothes model (the 60,000 Fashion-MNIST training images, checked on the 10,000 test images).
pub fn starters() -> Vec<Starter> {
    vec![
        Starter {
            id: "mnist-cnn",
            title: "Digits (MNIST sample)",
            config: cnn(DatasetSpec::MnistSample { limit: None }, [16, 32], 64, 32, 12),
            min_accuracy: 0.97,
        },
        Starter {
            id: "fashion-cnn",
            title: "Clothes (Fashion-MNIST)",
            config: cnn(
                DatasetSpec::FashionMnist { train_limit: None, test_limit: None },
                [32, 64],
                128,
                64,
                6,
            ),
            min_accuracy: 0.90,
        },
    ]
}
