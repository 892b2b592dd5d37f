//! A training session: a config in, a model trained epoch by epoch out, with a metrics history and a
//! divergence guard. The web page, the CLI and the chapter tests all drive this same type.

mod config;

use serde::Serialize;

pub use config::{DatasetSpec, LossKind, ModelSpec, SessionConfig};

use crate::data::{self, Batch, Batcher, Dataset, NormStats, Normalization, Targets, synthetic};
use crate::error::{LabError, Result};
use crate::nn::{Linear, Module, Sequential};
use crate::optim::Optimizer;
use crate::tensor::{Tensor, manual_seed};
use crate::{autograd, loss};

/// Where a session reads data files: `data/` natively, fetched bytes in the browser.
pub trait DataSource {
    /// The bytes of a file named as in `data/` (e.g. "iris.csv").
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

/// What one epoch achieved.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EpochMetrics {
    pub epoch: u32,
    /// Mean training loss over the epoch's batches.
    pub train_loss: f32,
    /// On the test split, or on the training split when the run has none.
    pub test_loss: f32,
    /// For classification runs.
    pub test_accuracy: Option<f32>,
    pub lr: f32,
}

/// A run in progress.
pub struct Session {
    pub config: SessionConfig,
    pub model: Sequential,
    pub train: Dataset,
    pub test: Dataset,
    pub norm: NormStats,
    pub history: Vec<EpochMetrics>,
    optimizer: Optimizer,
    batcher: Batcher,
    steps: u64,
}

impl Session {
    /// Loads and splits the data, fits the normalization on the training split, builds the model.
    pub fn new(config: SessionConfig, source: &dyn DataSource) -> Result<Session> {
        validate(&config)?;
        manual_seed(config.seed);
        let all = load_dataset(&config.dataset, config.seed, source)?;
        let (mut train, mut test) = all.split(config.test_fraction, config.seed)?;
        let norm = NormStats::fit(config.normalization, &train)?;
        norm.apply_to(&mut train);
        norm.apply_to(&mut test);
        let outputs = match (&train.targets, config.loss) {
            (Targets::Values { width, .. }, LossKind::Mse) => *width,
            (Targets::Classes { .. }, LossKind::BinaryCrossEntropy) => 1,
            (Targets::Classes { classes, .. }, LossKind::CrossEntropy | LossKind::Mse) => *classes,
            (Targets::Values { .. }, _) => {
                return Err(LabError::InvalidArgument("a regression dataset needs the MSE loss".into()));
            }
        };
        let model = build_mlp(train.feature_len(), &config.model, outputs);
        let optimizer = Optimizer::new(config.optimizer, model.parameters(), config.lr)?;
        let batcher =
            Batcher { batch_size: config.batch_size, shuffle: true, drop_last: false, seed: config.seed };
        Ok(Session { config, model, train, test, norm, history: Vec::new(), optimizer, batcher, steps: 0 })
    }

    /// One pass over the training split; stops with a clear error at the first non-finite loss.
    pub fn run_epoch(&mut self) -> Result<EpochMetrics> {
        let epoch = self.history.len() as u32;
        let lr = self.config.schedule.lr_at(self.config.lr, epoch);
        self.optimizer.lr = lr;
        self.model.train();
        let (mut total, mut batches) = (0.0f64, 0usize);
        let batches_iter: Vec<Result<Batch>> = self.batcher.epoch(&self.train, u64::from(epoch))?.collect();
        for batch in batches_iter {
            let batch = batch?;
            self.steps += 1;
            self.optimizer.zero_grad();
            let loss = self.loss(&self.model.forward(&batch.x)?, &batch)?;
            let value = loss.item()?;
            if !value.is_finite() {
                return Err(self.diverged(value));
            }
            loss.backward()?;
            self.optimizer.step().map_err(|_| self.diverged(f32::INFINITY))?;
            total += f64::from(value);
            batches += 1;
        }
        // With no test split (XOR's four points) the metrics are measured on the training data.
        let held_out = if self.test.is_empty() { &self.train } else { &self.test };
        let (test_loss, test_accuracy) = self.evaluate(held_out)?;
        let m = EpochMetrics {
            epoch: epoch + 1,
            train_loss: (total / batches.max(1) as f64) as f32,
            test_loss,
            test_accuracy,
            lr,
        };
        self.history.push(m.clone());
        Ok(m)
    }

    /// Runs the configured number of epochs.
    pub fn run(&mut self) -> Result<&[EpochMetrics]> {
        for _ in 0..self.config.epochs {
            self.run_epoch()?;
        }
        Ok(&self.history)
    }

    /// Loss and (for classification) accuracy on `data`, in evaluation mode and without recording a graph.
    pub fn evaluate(&self, data: &Dataset) -> Result<(f32, Option<f32>)> {
        self.model.eval();
        autograd::no_grad(|| {
            let batcher = Batcher { batch_size: 4096, shuffle: false, drop_last: false, seed: 0 };
            let (mut loss_sum, mut correct, mut count) = (0.0f64, 0usize, 0usize);
            for batch in batcher.epoch(data, 0)? {
                let batch = batch?;
                let out = self.model.forward(&batch.x)?;
                let n = batch.x.dims()[0];
                loss_sum += f64::from(self.loss(&out, &batch)?.item()?) * n as f64;
                count += n;
                correct += match self.config.loss {
                    LossKind::BinaryCrossEntropy => {
                        let p = out.to_vec();
                        p.iter().zip(&batch.labels).filter(|(z, l)| usize::from(**z > 0.0) == **l).count()
                    }
                    _ if !batch.labels.is_empty() => {
                        let pred = out.argmax(-1, false)?.to_vec();
                        pred.iter().zip(&batch.labels).filter(|(p, l)| **p as usize == **l).count()
                    }
                    _ => 0,
                };
            }
            let accuracy =
                matches!(data.targets, Targets::Classes { .. }).then(|| correct as f32 / count.max(1) as f32);
            Ok(((loss_sum / count.max(1) as f64) as f32, accuracy))
        })
    }

    fn loss(&self, out: &Tensor, batch: &Batch) -> Result<Tensor> {
        match self.config.loss {
            LossKind::Mse if batch.labels.is_empty() => loss::mse(out, &batch.y),
            LossKind::Mse => {
                let classes = out.dims()[1];
                loss::mse(out, &Tensor::one_hot(&batch.labels, classes)?)
            }
            LossKind::BinaryCrossEntropy => {
                loss::binary_cross_entropy_with_logits(&out.reshape(&[-1])?, &batch.y)
            }
            LossKind::CrossEntropy => loss::cross_entropy(out, &batch.labels),
        }
    }

    /// The divergence guard's message: the step, and the likely cause in words.
    fn diverged(&self, value: f32) -> LabError {
        let lr = self.optimizer.lr;
        let cause = if self.config.normalization == Normalization::None {
            format!(
                "learning rate {lr} is too high for unnormalized inputs: normalize them or lower the rate"
            )
        } else {
            format!("learning rate {lr} is too high: try {}", lr / 10.0)
        };
        LabError::InvalidArgument(format!("training diverged at step {} (loss {value}): {cause}", self.steps))
    }
}

/// Rejects absurd settings before anything is allocated.
fn validate(c: &SessionConfig) -> Result<()> {
    let bad = |m: String| Err(LabError::InvalidArgument(m));
    if !(c.lr.is_finite() && c.lr > 0.0 && c.lr <= 100.0) {
        return bad(format!("learning rate {} must be in (0, 100]", c.lr));
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
    Ok(())
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
        DatasetSpec::Iris { classes, features } => {
            if !(2..=3).contains(classes) {
                return Err(LabError::InvalidArgument(format!("Iris has 2 or 3 classes, not {classes}")));
            }
            let t = data::parse_csv(&source.read("iris.csv")?)?;
            let all = Dataset::classification(&t, &names(features), "Species", &data::IRIS_CLASSES)?;
            let Targets::Classes { labels, .. } = &all.targets else {
                unreachable!("classification targets")
            };
            let keep: Vec<usize> = (0..all.len()).filter(|&i| labels[i] < *classes).collect();
            let mut d = all.subset(&keep);
            d.targets = match d.targets {
                Targets::Classes { labels, .. } => Targets::Classes { labels, classes: *classes },
                other => other,
            };
            d.class_names.truncate(*classes);
            d
        }
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

/// inputs -> hidden... -> outputs, with the activation between layers (none after the last).
fn build_mlp(inputs: usize, spec: &ModelSpec, outputs: usize) -> Sequential {
    let mut model = Sequential::default();
    let mut width = inputs;
    for &h in &spec.hidden {
        model = model.append(Linear::new(width, h, spec.init, true)).append(spec.activation);
        width = h;
    }
    model.append(Linear::new(width, outputs, spec.init, true))
}
