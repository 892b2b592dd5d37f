//! `Dataset`: features as f32 rows plus class labels or regression targets; seeded (stratified) splits and
//! a batcher that fills one buffer per batch.

use std::rc::Rc;

use super::synthetic::Points;
use super::{LabeledImages, Table};
use crate::error::{LabError, Result};
use crate::tensor::{Rng, Tensor};

/// What a dataset predicts.
#[derive(Debug, Clone, PartialEq)]
pub enum Targets {
    /// A class index per item, below `classes`.
    Classes { labels: Vec<usize>, classes: usize },
    /// `width` real values per item (regression).
    Values { values: Vec<f32>, width: usize },
}

/// Items with features of one shape each, and their targets.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// (len, feature_shape...) row-major. Shared with the batches drawn from it (`make_batch` indexes its
    /// rows instead of copying them) and with clones; normalizing copies it first when it is shared.
    pub features: Rc<Vec<f32>>,
    pub feature_shape: Vec<usize>,
    pub targets: Targets,
    /// Class names in label order (empty for regression).
    pub class_names: Vec<String>,
}

impl Dataset {
    pub fn len(&self) -> usize {
        match &self.targets {
            Targets::Classes { labels, .. } => labels.len(),
            Targets::Values { values, width } => values.len() / (*width).max(1),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Values per item.
    pub fn feature_len(&self) -> usize {
        self.feature_shape.iter().product()
    }

    /// Images as (C, H, W) features with raw pixel values 0..255 (normalization comes later).
    pub fn from_images(d: &LabeledImages, class_names: &[&str]) -> Dataset {
        Dataset {
            features: Rc::new(d.images.pixels.iter().map(|&p| f32::from(p)).collect()),
            feature_shape: vec![d.images.channels, d.images.rows, d.images.cols],
            targets: Targets::Classes {
                labels: d.labels.iter().map(|&l| usize::from(l)).collect(),
                classes: d.classes,
            },
            class_names: class_names.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// Chosen columns of a table as features and one column as a real-valued target.
    pub fn regression(t: &Table, features: &[&str], target: &str) -> Result<Dataset> {
        Ok(Dataset {
            features: t.select(features)?.into(),
            feature_shape: vec![features.len()],
            targets: Targets::Values { values: t.column(target)?, width: 1 },
            class_names: Vec::new(),
        })
    }

    /// Chosen columns as features and one column of whole numbers 0..names.len() as the class.
    pub fn classification(
        t: &Table,
        features: &[&str],
        label: &str,
        class_names: &[&str],
    ) -> Result<Dataset> {
        let raw = t.column(label)?;
        let labels = raw
            .iter()
            .enumerate()
            .map(|(row, &v)| {
                let ok = v >= 0.0 && v.fract() == 0.0 && (v as usize) < class_names.len();
                ok.then_some(v as usize).ok_or_else(|| LabError::Format {
                    kind: "CSV",
                    message: format!(
                        "row {}, column '{label}': {v} is not a class 0-{}",
                        row + 2,
                        class_names.len() - 1
                    ),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Dataset {
            features: t.select(features)?.into(),
            feature_shape: vec![features.len()],
            targets: Targets::Classes { labels, classes: class_names.len() },
            class_names: class_names.iter().map(|s| s.to_string()).collect(),
        })
    }

    pub fn from_points(p: &Points) -> Dataset {
        Dataset {
            features: p.x.clone().into(),
            feature_shape: vec![2],
            targets: Targets::Classes { labels: p.labels.clone(), classes: p.classes },
            class_names: (0..p.classes).map(|c| format!("class {c}")).collect(),
        }
    }

    /// The items at `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> Dataset {
        let f = self.feature_len();
        let features = Rc::new(
            indices.iter().flat_map(|&i| self.features[i * f..(i + 1) * f].iter().copied()).collect(),
        );
        let targets = match &self.targets {
            Targets::Classes { labels, classes } => {
                Targets::Classes { labels: indices.iter().map(|&i| labels[i]).collect(), classes: *classes }
            }
            Targets::Values { values, width } => Targets::Values {
                values: indices
                    .iter()
                    .flat_map(|&i| values[i * width..(i + 1) * width].iter().copied())
                    .collect(),
                width: *width,
            },
        };
        Dataset {
            features,
            feature_shape: self.feature_shape.clone(),
            targets,
            class_names: self.class_names.clone(),
        }
    }

    /// A seeded train/test split; with classes it is stratified (each class split in the same proportion).
    pub fn split(&self, test_fraction: f32, seed: u64) -> Result<(Dataset, Dataset)> {
        if !(0.0..1.0).contains(&test_fraction) {
            return Err(LabError::InvalidArgument(format!(
                "split: test fraction {test_fraction} must be in [0, 1)"
            )));
        }
        let mut rng = Rng::new(seed);
        let groups: Vec<Vec<usize>> = match &self.targets {
            Targets::Classes { labels, classes } => {
                let mut g = vec![Vec::new(); *classes];
                labels.iter().enumerate().for_each(|(i, &l)| g[l].push(i));
                g
            }
            Targets::Values { .. } => vec![(0..self.len()).collect()],
        };
        let (mut train, mut test) = (Vec::new(), Vec::new());
        for mut group in groups {
            shuffle(&mut group, &mut rng);
            let n_test = (group.len() as f32 * test_fraction).round() as usize;
            test.extend_from_slice(&group[..n_test]);
            train.extend_from_slice(&group[n_test..]);
        }
        shuffle(&mut train, &mut rng);
        shuffle(&mut test, &mut rng);
        Ok((self.subset(&train), self.subset(&test)))
    }
}

/// Fisher-Yates with the lab's generator.
pub(crate) fn shuffle(v: &mut [usize], rng: &mut Rng) {
    for i in (1..v.len()).rev() {
        v.swap(i, rng.below(i + 1));
    }
}

/// Mini-batches of a dataset: a seeded shuffle per epoch, a batch size, and whether to drop a short last batch.
#[derive(Debug, Clone)]
pub struct Batcher {
    pub batch_size: usize,
    pub shuffle: bool,
    pub drop_last: bool,
    pub seed: u64,
}

/// One batch: x is (B, feature_shape...), y is (B,) class indices as f32 or (B, width) targets.
pub struct Batch {
    pub x: Tensor,
    pub y: Tensor,
    /// Class indices, for losses that index by class.
    pub labels: Vec<usize>,
}

impl Batcher {
    /// The order of items in `epoch` (the same seed and epoch give the same order on every target).
    pub fn order(&self, len: usize, epoch: u64) -> Vec<usize> {
        let mut order: Vec<usize> = (0..len).collect();
        if self.shuffle {
            shuffle(&mut order, &mut Rng::new(self.seed ^ epoch.wrapping_mul(0x9e37_79b9_7f4a_7c15)));
        }
        order
    }

    /// The batches of one epoch, built lazily: each gathers its rows into one buffer.
    pub fn epoch<'a>(
        &'a self,
        data: &'a Dataset,
        epoch: u64,
    ) -> Result<impl Iterator<Item = Result<Batch>> + 'a> {
        if self.batch_size == 0 {
            return Err(LabError::InvalidArgument("batch size must be at least 1".into()));
        }
        let order = self.order(data.len(), epoch);
        let full = data.len() / self.batch_size * self.batch_size;
        let end = if self.drop_last { full } else { data.len() };
        let starts: Vec<usize> = (0..end).step_by(self.batch_size).collect();
        Ok(starts.into_iter().map(move |s| make_batch(data, &order[s..(s + self.batch_size).min(end)])))
    }
}

/// The items at `idx` gathered into one batch.
pub fn make_batch(data: &Dataset, idx: &[usize]) -> Result<Batch> {
    // The rows stay in the dataset until an op needs them copied out (`Tensor::from_rows`).
    let x = Tensor::from_rows(&data.features, idx, &data.feature_shape)?;
    let (y, labels) = batch_targets(data, idx)?;
    Ok(Batch { x, y, labels })
}

/// The targets of the items at `idx`: (y, class labels), y being the labels as floats for classes (and the
/// labels empty for regression values).
pub fn batch_targets(data: &Dataset, idx: &[usize]) -> Result<(Tensor, Vec<usize>)> {
    Ok(match &data.targets {
        Targets::Classes { labels, .. } => {
            let l: Vec<usize> = idx.iter().map(|&i| labels[i]).collect();
            (Tensor::from_vec(l.iter().map(|&v| v as f32).collect(), [idx.len()])?, l)
        }
        Targets::Values { values, width } => {
            let v = idx.iter().flat_map(|&i| values[i * width..(i + 1) * width].iter().copied()).collect();
            (Tensor::from_vec(v, [idx.len(), *width])?, Vec::new())
        }
    })
}
