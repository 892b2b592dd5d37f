//! Where a session's data comes from (files natively, fetched bytes in the browser) and how a
//! `DatasetSpec` becomes train and test splits.

use super::{DatasetSpec, SessionConfig};
use crate::data::{self, Dataset, Targets, synthetic};
use crate::error::{LabError, Result};

/// Where a session reads data files: `data/` natively, fetched bytes in the browser.
pub trait DataSource {
    /// The bytes of a file named as in `data/` (e.g. "iris.csv", "fashion-mnist/t10k-labels-idx1-ubyte.gz").
    fn read(&self, name: &str) -> Result<Vec<u8>>;
}

/// Reads from a folder (the CLI and tests: the repository's `data/`).
#[cfg(not(target_arch = "wasm32"))]
pub struct DirSource(pub std::path::PathBuf);

#[cfg(not(target_arch = "wasm32"))]
impl DataSource for DirSource {
    fn read(&self, name: &str) -> Result<Vec<u8>> {
        let path = self.0.join(name);
        std::fs::read(&path).map_err(|e| {
            LabError::InvalidArgument(format!(
                "cannot read {}: {e} (run ./lab setup to install the datasets)",
                path.display()
            ))
        })
    }
}

/// Files already in memory, by name (the browser fetches them, then hands them over).
#[derive(Default)]
pub struct MemorySource(pub std::collections::HashMap<String, Vec<u8>>);

impl DataSource for MemorySource {
    fn read(&self, name: &str) -> Result<Vec<u8>> {
        self.0
            .get(name)
            .cloned()
            .ok_or_else(|| LabError::InvalidArgument(format!("the data file '{name}' has not been loaded")))
    }
}

/// The files a dataset needs from a `DataSource` (none for synthetic sets).
pub fn files_needed(spec: &DatasetSpec) -> Vec<&'static str> {
    match spec {
        DatasetSpec::Advertising { .. } => vec!["advertising.csv"],
        DatasetSpec::Iris { .. } => vec!["iris.csv"],
        DatasetSpec::FashionMnist { .. } => FASHION_FILES.to_vec(),
        DatasetSpec::Cifar10 { .. } => CIFAR_FILES.to_vec(),
        DatasetSpec::MnistSample { .. } => vec![MNIST_SAMPLE],
        DatasetSpec::Xor | DatasetSpec::Rings { .. } | DatasetSpec::Toy { .. } => vec![],
    }
}

const FASHION_FILES: [&str; 4] = [
    "fashion-mnist/train-images-idx3-ubyte.gz",
    "fashion-mnist/train-labels-idx1-ubyte.gz",
    "fashion-mnist/t10k-images-idx3-ubyte.gz",
    "fashion-mnist/t10k-labels-idx1-ubyte.gz",
];
const MNIST_SAMPLE: &str = "mnist/mnist_5k.csv.gz";
/// The official binary batches (cifar-10-binary.tar.gz's `cifar-10-batches-bin/`): five training, one test.
pub const CIFAR_FILES: [&str; 6] = [
    "cifar-10/data_batch_1.bin",
    "cifar-10/data_batch_2.bin",
    "cifar-10/data_batch_3.bin",
    "cifar-10/data_batch_4.bin",
    "cifar-10/data_batch_5.bin",
    "cifar-10/test_batch.bin",
];
/// Where CIFAR-10 comes from, for a learner whose copy is missing.
pub const CIFAR_HINT: &str = "CIFAR-10 is not in any package registry: download the binary version \
     (cifar-10-binary.tar.gz) from https://www.cs.toronto.edu/~kriz/cifar.html and put the six .bin files of \
     its cifar-10-batches-bin folder in data/cifar-10/";

/// Rejects absurd settings before anything is allocated.
pub(super) fn validate(c: &SessionConfig) -> Result<()> {
    let bad = |m: String| Err(LabError::InvalidArgument(m));
    if !(c.lr.is_finite() && c.lr > 0.0 && c.lr <= 1000.0) {
        return bad(format!("learning rate {} must be in (0, 1000]", c.lr));
    }
    if c.batch_size == 0 || c.batch_size > 100_000 {
        return bad(format!("batch size {} must be between 1 and 100000", c.batch_size));
    }
    if c.epochs == 0 || c.epochs > 100_000 {
        return bad(format!("epochs {} must be between 1 and 100000", c.epochs));
    }
    if let Some(w) = c.model.hidden.iter().find(|&&w| w == 0 || w > 16_384) {
        return bad(format!("a hidden layer of {w} units is outside 1-16384"));
    }
    if c.model.hidden.len() > 16 {
        return bad(format!("{} hidden layers is more than the lab's 16", c.model.hidden.len()));
    }
    let toy = matches!(c.dataset, DatasetSpec::Toy { .. });
    if toy != (c.loss == super::LossKind::Value) {
        return bad("a toy function is minimised with the 'value' loss, and only a toy function is".into());
    }
    let m = &c.model;
    if !(0.0..=0.95).contains(&m.dropout) || !(0.0..=10.0).contains(&m.input_noise) {
        return bad(format!(
            "dropout {} must be in [0, 0.95] and input noise {} in [0, 10]",
            m.dropout, m.input_noise
        ));
    }
    if c.features == super::Features::Edges
        && !(matches!(c.dataset, DatasetSpec::FashionMnist { .. } | DatasetSpec::MnistSample { .. })
            && m.conv.is_empty()
            && !m.conv_head)
    {
        return bad("edge features are computed from Fashion-MNIST or MNIST images and feed dense layers, \
                    not convolutions"
            .into());
    }
    if m.frozen > 0 && (toy || m.trees.is_some() || m.frozen > 64) {
        return bad(format!(
            "{} frozen layers: only a network's layers (at most 64) can be frozen",
            m.frozen
        ));
    }
    if let Some(t) = &m.trees {
        t.validate()?;
        let classes = !matches!(c.dataset, DatasetSpec::Advertising { .. } | DatasetSpec::Toy { .. });
        if !classes || c.loss != super::LossKind::CrossEntropy || c.epochs != 1 {
            return bad("boosted trees classify with the cross-entropy loss, grown once (epochs = 1)".into());
        }
        if !m.conv.is_empty() || m.conv_head || !m.hidden.is_empty() {
            return bad("boosted trees replace the network: no layers go with them".into());
        }
    }
    if !(0.0..=1.0).contains(&c.weight_decay) {
        return bad(format!("weight decay {} must be in [0, 1]", c.weight_decay));
    }
    if c.model.conv.len() > 8 {
        return bad(format!("{} convolutional blocks is more than the lab's 8", c.model.conv.len()));
    }
    for (i, b) in c.model.conv.iter().enumerate() {
        if !(1..=512).contains(&b.channels) || !(1..=11).contains(&b.kernel) || !(1..=4).contains(&b.stride) {
            return bad(format!(
                "conv block {}: {} channels, kernel {}, stride {} (allowed: 1-512, 1-11, 1-4)",
                i + 1,
                b.channels,
                b.kernel,
                b.stride
            ));
        }
    }
    if !(0.0..1.0).contains(&c.test_fraction) {
        return bad(format!("test fraction {} must be in [0, 1)", c.test_fraction));
    }
    match &c.dataset {
        DatasetSpec::Rings { rings, per_ring, noise }
            if !(2..=10).contains(rings)
                || !(1..=10_000).contains(per_ring)
                || !(0.0..=10.0).contains(noise) =>
        {
            return bad(format!(
                "rings: {rings} rings of {per_ring} points with noise {noise} (allowed: 2-10, 1-10000, 0-10)"
            ));
        }
        DatasetSpec::Iris { classes, features } if !(2..=3).contains(classes) || features.len() > 4 => {
            return bad(format!(
                "Iris has 2 or 3 classes and 4 features, not {classes} and {}",
                features.len()
            ));
        }
        DatasetSpec::Advertising { features } if features.len() > 3 => {
            return bad(format!("Advertising has 3 budget columns, not {}", features.len()));
        }
        DatasetSpec::Toy { start, .. } if start.iter().any(|v| !v.is_finite() || v.abs() > 1e6) => {
            return bad("a toy function's start must be finite and within ±1e6".into());
        }
        _ => {}
    }
    let budget = super::summary::MEMORY_BUDGET;
    if let Some(need) = super::summary::memory_estimate(c).filter(|&b| b > budget) {
        return bad(format!(
            "this model with batches of {} would need about {} MiB to train, more than the lab's {} MiB: \
             use fewer or narrower layers, or a smaller batch",
            c.batch_size,
            need >> 20,
            budget >> 20
        ));
    }
    Ok(())
}

/// The train and test splits of `spec`: the official test set where the dataset has one, otherwise a
/// seeded (stratified) split of `test_fraction`.
pub(super) fn load_splits(c: &SessionConfig, source: &dyn DataSource) -> Result<(Dataset, Dataset)> {
    let limit = |d: Dataset, n: Option<usize>| match n {
        Some(n) if n < d.len() => d.subset(&(0..n).collect::<Vec<_>>()),
        _ => d,
    };
    match &c.dataset {
        DatasetSpec::FashionMnist { train_limit, test_limit } => {
            let read = |i: usize| source.read(FASHION_FILES[i]);
            let pair = |a: usize, b: usize| -> Result<Dataset> {
                let images = data::parse_idx_pair(&read(a)?, &read(b)?, 10)?;
                Ok(Dataset::from_images(&images, &data::FASHION_MNIST_CLASSES))
            };
            Ok((limit(pair(0, 1)?, *train_limit), limit(pair(2, 3)?, *test_limit)))
        }
        DatasetSpec::Cifar10 { train_limit, test_limit } => {
            let read = |name: &str| {
                source.read(name).map_err(|e| LabError::InvalidArgument(format!("{e}. {CIFAR_HINT}")))
            };
            let files = CIFAR_FILES.iter().map(|f| read(f)).collect::<Result<Vec<_>>>()?;
            // Only the records within the limits are converted to floats: 50,000 images are 614 MB as f32.
            let pair = |batches: &[&[u8]]| -> Result<Dataset> {
                Ok(Dataset::from_images(&data::parse_cifar10(batches)?, &data::CIFAR10_CLASSES))
            };
            Ok((
                pair(&cifar_records(&files[..5], *train_limit))?,
                pair(&cifar_records(&files[5..], *test_limit))?,
            ))
        }
        DatasetSpec::Toy { .. } => {
            let one = load_dataset(&c.dataset, c.seed, source)?;
            let none = one.subset(&[]);
            Ok((one, none))
        }
        spec => {
            let all = load_dataset(spec, c.seed, source)?;
            all.split(c.test_fraction, c.seed)
        }
    }
}

/// The first `limit` records of CIFAR batches (all of them without a limit), without copying.
fn cifar_records(batches: &[Vec<u8>], limit: Option<usize>) -> Vec<&[u8]> {
    let mut left = limit.map_or(usize::MAX, |n| n.max(1).saturating_mul(data::CIFAR_RECORD));
    let mut kept = Vec::new();
    for b in batches {
        if left == 0 {
            break;
        }
        // A batch that is not whole records is kept whole, for the parser to refuse.
        let take = if b.len() % data::CIFAR_RECORD == 0 { b.len().min(left) } else { b.len() };
        kept.push(&b[..take]);
        left = left.saturating_sub(take);
    }
    kept
}

fn load_dataset(spec: &DatasetSpec, seed: u64, source: &dyn DataSource) -> Result<Dataset> {
    fn names(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }
    Ok(match spec {
        DatasetSpec::Advertising { features } => {
            let t = data::parse_csv(&source.read("advertising.csv")?)?;
            Dataset::regression(&t, &names(features), "Sales")?
        }
        DatasetSpec::Iris { classes, features } => iris(&source.read("iris.csv")?, *classes, features)?,
        DatasetSpec::MnistSample { limit } => {
            let images = data::parse_mnist_csv(&source.read(MNIST_SAMPLE)?)?;
            let d = Dataset::from_images(&images, &data::DIGIT_CLASSES);
            match limit {
                Some(n) if *n < d.len() => d.subset(&(0..*n).collect::<Vec<_>>()),
                _ => d,
            }
        }
        DatasetSpec::FashionMnist { .. } | DatasetSpec::Cifar10 { .. } => {
            unreachable!("handled by load_splits")
        }
        // One placeholder item: a toy run takes one step per epoch and reads no data.
        DatasetSpec::Toy { .. } => Dataset {
            features: vec![0.0].into(),
            feature_shape: vec![1],
            targets: Targets::Values { values: vec![0.0], width: 1 },
            class_names: Vec::new(),
        },
        DatasetSpec::Xor => Dataset::from_points(&synthetic::xor()),
        DatasetSpec::Rings { rings, per_ring, noise } => {
            if *per_ring == 0 || *per_ring > 100_000 || !(1..=10).contains(rings) {
                return Err(LabError::InvalidArgument(format!(
                    "rings: {rings} rings of {per_ring} points is out of range"
                )));
            }
            Dataset::from_points(&synthetic::rings(*per_ring, *rings, *noise, seed))
        }
    })
}

/// Iris with its first `classes` species and the chosen columns.
fn iris(bytes: &[u8], classes: usize, features: &[String]) -> Result<Dataset> {
    if !(2..=3).contains(&classes) {
        return Err(LabError::InvalidArgument(format!("Iris has 2 or 3 classes, not {classes}")));
    }
    let t = data::parse_csv(bytes)?;
    let names: Vec<&str> = features.iter().map(String::as_str).collect();
    let all = Dataset::classification(&t, &names, "Species", &data::IRIS_CLASSES)?;
    let Targets::Classes { labels, .. } = &all.targets else { unreachable!("classification targets") };
    let keep: Vec<usize> = (0..all.len()).filter(|&i| labels[i] < classes).collect();
    let mut d = all.subset(&keep);
    if let Targets::Classes { classes: c, .. } = &mut d.targets {
        *c = classes;
    }
    d.class_names.truncate(classes);
    Ok(d)
}
