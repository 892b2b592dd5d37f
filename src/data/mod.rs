//! Data: bytes in, datasets out. Loaders take `&[u8]`, never paths (the browser has no file system), and
//! treat every byte as hostile: each declared size is checked against the bytes present, and every failure
//! is a `LabError::Format` that names the file kind, the field and the value.

mod cifar;
mod csv;
mod dataset;
mod gzip;
mod idx;
pub mod image;
mod inspect;
mod mnist_csv;
mod normalize;
pub mod synthetic;

pub use cifar::{RECORD as CIFAR_RECORD, parse_cifar10, synthetic_batch as synthetic_cifar_batch};
pub use csv::{Table, parse_csv};
pub(crate) use dataset::shuffle;
pub use dataset::{Batch, Batcher, Dataset, Targets, batch_targets, make_batch};
pub use gzip::{MAX_DECOMPRESSED, is_gzip, maybe_gunzip};
pub use idx::{IMAGES_MAGIC, Idx, LABELS_MAGIC, parse_idx, parse_idx_pair};
pub use inspect::{Summary, inspect};
pub use mnist_csv::parse_mnist_csv;
pub use normalize::{NormStats, Normalization};

use crate::error::{LabError, Result};

/// Fashion-MNIST's ten classes, in label order.
pub const FASHION_MNIST_CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];
/// CIFAR-10's ten classes, in label order.
pub const CIFAR10_CLASSES: [&str; 10] =
    ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];
/// Iris species, in the order of the `Species` column (0, 1, 2).
pub const IRIS_CLASSES: [&str; 3] = ["setosa", "versicolor", "virginica"];
/// Digits 0-9.
pub const DIGIT_CLASSES: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

/// 8-bit images, each stored channel-major (C, H, W), images one after another.
#[derive(Debug, Clone, PartialEq)]
pub struct Images {
    pub count: usize,
    pub channels: usize,
    pub rows: usize,
    pub cols: usize,
    pub pixels: Vec<u8>,
}

impl Images {
    /// Values per image (C·H·W).
    pub fn image_len(&self) -> usize {
        self.channels * self.rows * self.cols
    }

    /// The pixels of image `i`.
    pub fn image(&self, i: usize) -> Option<&[u8]> {
        self.pixels.get(i * self.image_len()..(i + 1) * self.image_len())
    }
}

/// Images with one class label each, checked: as many labels as images, every label below `classes`.
#[derive(Debug, Clone, PartialEq)]
pub struct LabeledImages {
    pub images: Images,
    pub labels: Vec<u8>,
    pub classes: usize,
}

impl LabeledImages {
    pub fn new(images: Images, labels: Vec<u8>, classes: usize, kind: &'static str) -> Result<LabeledImages> {
        if labels.len() != images.count {
            return Err(LabError::Format {
                kind,
                message: format!("{} images but {} labels", images.count, labels.len()),
            });
        }
        if let Some((i, &l)) = labels.iter().enumerate().find(|(_, l)| usize::from(**l) >= classes) {
            return Err(LabError::Format {
                kind,
                message: format!(
                    "label {l} of item {i} is not one of the {classes} classes (0-{})",
                    classes - 1
                ),
            });
        }
        Ok(LabeledImages { images, labels, classes })
    }

    /// How many items carry each label.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.classes];
        for &l in &self.labels {
            counts[usize::from(l)] += 1;
        }
        counts
    }
}
