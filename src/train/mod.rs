//! A training session: a config in, a model trained step by step out, with a metrics history, per-layer
//! statistics, checkpoints and a divergence guard. The web page's worker, the CLI and the chapter tests all
//! drive this same type.

mod classifier;
mod config;
mod resident;
mod source;
mod stats;
mod summary;
mod toy;
mod trees;

use std::collections::HashMap;
use std::rc::Rc;

use serde::Serialize;
use web_time::Instant;

pub use classifier::{
    Classifier, MAX_MODEL_BYTES, MODEL_FORMAT, ModelFileInfo, TensorInfo, drawing_side, inspect,
};
pub use config::{ConvBlock, DatasetSpec, Features, LossKind, ModelSpec, Pool, SessionConfig, SkipJoin};
#[cfg(not(target_arch = "wasm32"))]
pub use source::DirSource;
pub use source::{CIFAR_FILES, CIFAR_HINT, DataSource, MemorySource, files_needed};
pub use stats::{Histogram, LayerStats, layer_histograms, layer_stats};
pub use summary::{LayerShape, MEMORY_BUDGET, describe_model, evaluation_rows, memory_estimate};
pub use toy::{ToyFunction, ToyModel};
pub use trees::{BoostedTrees, Forests, MAX_TREE_VALUES, Trees};

use crate::data::{Batch, Batcher, Dataset, NormStats, Normalization, Targets, make_batch};
use crate::error::{LabError, Result};
use crate::nn::{
    self, AvgPool2d, BatchNorm1d, BatchNorm2d, Conv2d, Dropout, Flatten, GaussianNoise, Init, Join, Linear,
    MaxPool2d, Module, Padding, Residual, Sequential,
};
use crate::optim::Optimizer;
use crate::tensor::{Device, Tensor, manual_seed};
use crate::{autograd, loss};

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
    /// Training examples per second of wall time during this epoch (evaluation not counted).
    pub examples_per_s: f32,
    /// Wall time since the session started training, evaluation included.
    pub seconds: f32,
}

/// The outcome of one optimisation step.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepInfo {
    /// Steps taken so far, this one included.
    pub step: u64,
    /// This step's loss; on the GPU, where losses are read back in groups, `None` until its group is read
    /// (`Session::settle` reads every pending one).
    pub loss: Option<f32>,
    /// The epoch's metrics when this step finished an epoch.
    pub epoch_end: Option<EpochMetrics>,
}

/// The current epoch: its item order and how far through it the session is.
struct Cursor {
    order: Vec<usize>,
    next: usize,
    loss_sum: f64,
    batches: usize,
    train_seconds: f64,
}

/// A run in progress.
pub struct Session {
    pub config: SessionConfig,
    pub model: Sequential,
    pub train: Dataset,
    pub test: Dataset,
    pub norm: NormStats,
    pub history: Vec<EpochMetrics>,
    /// Every step's training loss (recording stops after `MAX_STEP_LOSSES`).
    pub step_losses: Vec<f32>,
    /// With `trace_parameters`, all parameters (flattened, in `named_parameters` order) after each step.
    pub trace: Option<Vec<Vec<f32>>>,
    /// With `record_initial_layers`, the per-layer statistics before the first step.
    pub initial_layers: Option<Vec<LayerStats>>,
    /// With edge features, the first test images as they were before (the filters figure shows them).
    pub originals: Option<Dataset>,
    /// A boosted-trees run's forests (grown one class per step instead of gradient steps).
    trees: Option<Rc<Forests>>,
    optimizer: Optimizer,
    batcher: Batcher,
    cursor: Option<Cursor>,
    steps: u64,
    started: Option<Instant>,
    elapsed_before: f64,
    /// The loss of the first step, the divergence guard's yardstick.
    first_loss: Option<f32>,
    /// Where the model and each batch live.
    device: Device,
    /// GPU losses not read back yet, with their step numbers (read every `LOSS_READ_EVERY` steps).
    pending: Vec<(u64, Tensor)>,
    /// On the GPU: the data sets' features kept there, by the host features they copy (`resident.rs`).
    resident: Vec<(Rc<Vec<f32>>, Tensor)>,
    /// On the GPU: a host checkpoint from the last epoch boundary, to go on from on the CPU if the GPU fails.
    recovery: Option<Vec<u8>>,
    /// Why this session left the GPU for the CPU mid-run, in words (shown to the visitor).
    pub fallback: Option<String>,
}

/// How many test images an edge-feature run keeps as pictures.
const ORIGINALS: usize = 4;

/// On the GPU, losses come back in groups this large: one readback instead of one per step.
pub const LOSS_READ_EVERY: usize = 16;

/// Enough for 100 epochs of per-sample SGD on Advertising many times over, and bounded.
const MAX_STEP_LOSSES: usize = 1 << 20;

impl Session {
    /// Loads and splits the data, fits the normalization on the training split, builds the model.
    pub fn new(config: SessionConfig, source: &dyn DataSource) -> Result<Session> {
        source::validate(&config)?;
        manual_seed(config.seed);
        let (mut train, mut test) = source::load_splits(&config, source)?;
        let mut originals = None;
        if config.features == Features::Edges {
            originals = Some(test.subset(&(0..test.len().min(ORIGINALS)).collect::<Vec<_>>()));
            train = crate::data::image::edge_features(&train)?;
            test = crate::data::image::edge_features(&test)?;
        }
        if config.model.trees.is_some() && train.features.len() > MAX_TREE_VALUES {
            return Err(LabError::InvalidArgument(format!(
                "boosted trees grow on at most {MAX_TREE_VALUES} training values here; {} items of {} \
                 features are {}: take fewer items (train_limit)",
                train.len(),
                train.feature_len(),
                train.features.len()
            )));
        }
        let norm = NormStats::fit(config.normalization, &train)?;
        norm.apply_to(&mut train);
        norm.apply_to(&mut test);
        let outputs = match (&train.targets, config.loss) {
            (Targets::Values { width, .. }, LossKind::Mse | LossKind::Value) => *width,
            (Targets::Classes { .. }, LossKind::BinaryCrossEntropy) => 1,
            (Targets::Classes { classes, .. }, LossKind::CrossEntropy | LossKind::Mse | LossKind::Hinge) => {
                *classes
            }
            (Targets::Values { .. }, _) => {
                return Err(LabError::InvalidArgument("a regression dataset needs the MSE loss".into()));
            }
            (Targets::Classes { .. }, LossKind::Value) => {
                return Err(LabError::InvalidArgument("the 'value' loss is for toy functions".into()));
            }
        };
        let mut trees = None;
        let model = match &config.dataset {
            DatasetSpec::Toy { function, start } => {
                Sequential::default().append(ToyModel::new(*function, start)?)
            }
            _ if config.model.trees.is_some() => {
                let forests = Rc::new(Forests::default());
                let spec = config.model.trees.expect("checked above");
                trees = Some(Rc::clone(&forests));
                Sequential::default().append(BoostedTrees { forests, classes: outputs, spec })
            }
            _ => build_model(&train.feature_shape, &config.model, outputs)?,
        };
        freeze(&model, config.model.frozen)?;
        let optimizer = Optimizer::new(config.optimizer, model.parameters(), config.lr)?
            .with_weight_decay(config.weight_decay);
        let batcher =
            Batcher { batch_size: config.batch_size, shuffle: true, drop_last: false, seed: config.seed };
        Ok(Session {
            config,
            model,
            train,
            test,
            norm,
            history: Vec::new(),
            step_losses: Vec::new(),
            trace: None,
            initial_layers: None,
            originals,
            trees,
            optimizer,
            batcher,
            cursor: None,
            steps: 0,
            started: None,
            elapsed_before: 0.0,
            first_loss: None,
            device: Device::Cpu,
            pending: Vec::new(),
            resident: Vec::new(),
            recovery: None,
            fallback: None,
        })
    }

    /// Moves the model and its buffers to `device` (the optimizer's state follows at its next step); later
    /// batches go there too.
    pub fn to_device(&mut self, device: Device) -> Result<()> {
        now(self.to_device_async(device))
    }

    /// Whether this run stays on the CPU whatever the choice: chapter 5's toy functions and runs that trace
    /// their parameters read every parameter after every step, and are a few parameters large anyway.
    pub fn stays_on_cpu(&self) -> bool {
        self.trace.is_some() || self.trees.is_some() || matches!(self.config.dataset, DatasetSpec::Toy { .. })
    }

    /// Refuses what a boosted-trees run cannot do: its forests are not tensors, so model files and
    /// checkpoints cannot hold them.
    pub fn not_trees(&self, what: &str) -> Result<()> {
        if self.trees.is_some() {
            return Err(LabError::InvalidArgument(format!(
                "a boosted-trees run cannot be {what}: its forests are not tensors a model file holds"
            )));
        }
        Ok(())
    }

    /// `to_device`, awaiting the GPU's readbacks when leaving it (the browser's way, and the fallback's).
    pub async fn to_device_async(&mut self, device: Device) -> Result<()> {
        if device == Device::WebGpu && self.stays_on_cpu() {
            return Ok(());
        }
        self.settle_async().await?;
        if device == Device::Cpu {
            // Fill every host copy first, so the move itself reads nothing synchronously.
            self.read_model_async().await?;
            // The optimizer's state (momentum, Adam's moments) comes along: CPU steps go on from it.
            self.optimizer.sync_state_async().await?;
            self.optimizer.abandon_gpu();
            self.resident.clear();
        }
        if device == Device::WebGpu && (self.recovery.is_none() || self.cursor.is_none()) {
            self.recovery = Some(self.checkpoint_async().await?);
        }
        self.model.to_device(device)?;
        self.device = device;
        self.make_resident()
    }

    /// Brings the model to the CPU to be read (figures, a confusion cell's images), not trained: the
    /// optimizer's state stays on the GPU, so the run must go back with `to_device_async(WebGpu)` before its
    /// next step (a CPU step before that is refused, see `Optimizer::step`). Cheaper than a full move by
    /// the state's readback (twice the weights for Adam).
    pub async fn to_cpu_for_reading_async(&mut self) -> Result<()> {
        self.settle_async().await?;
        self.read_model_async().await?;
        self.model.to_device(Device::Cpu)?;
        self.device = Device::Cpu;
        Ok(())
    }

    /// Fills the host copy of every parameter and buffer (running statistics), awaiting the GPU's readbacks.
    async fn read_model_async(&self) -> Result<()> {
        for (_, t) in self.model.named_parameters().into_iter().chain(self.model.named_buffers()) {
            t.to_vec_async().await?;
        }
        Ok(())
    }

    /// `checkpoint`, reading a GPU run's weights and optimizer state back first (awaited).
    pub async fn checkpoint_async(&mut self) -> Result<Vec<u8>> {
        self.settle_async().await?;
        self.read_model_async().await?;
        self.optimizer.sync_state_async().await?;
        self.checkpoint()
    }

    /// After a GPU failure (a lost device, an out-of-memory, a kernel error): leaves the GPU without reading
    /// from it, restores the last epoch boundary's checkpoint on the CPU, and records why. The steps since
    /// that boundary are trained again, on the CPU.
    pub fn recover_on_cpu(&mut self, cause: &LabError) -> Result<()> {
        let Some(bytes) = self.recovery.take() else {
            return Err(LabError::Device(format!("{cause}; no checkpoint to go on from")));
        };
        if let Ok(rt) = crate::backend::webgpu::current() {
            let _ = rt.take_error();
        }
        for (_, t) in self.model.named_parameters().into_iter().chain(self.model.named_buffers()) {
            t.abandon_gpu_();
        }
        self.optimizer.abandon_gpu();
        self.pending.clear();
        self.resident.clear();
        self.device = Device::Cpu;
        self.restore(&bytes)?;
        self.step_losses.truncate(self.steps as usize);
        self.fallback = Some(format!(
            "the GPU failed ({cause}); training went on on the CPU from the end of epoch {} (step {})",
            self.history.len(),
            self.steps
        ));
        Ok(())
    }

    pub fn device(&self) -> Device {
        self.device
    }

    /// Records every parameter after each step (for small models: the (w, b) path on a loss contour).
    pub fn trace_parameters(&mut self) -> Result<()> {
        let count: usize = self.model.parameters().iter().map(|p| p.numel()).sum();
        if count > 64 {
            return Err(LabError::InvalidArgument(format!(
                "tracing records every parameter after each step; this model has {count} (at most 64)"
            )));
        }
        self.trace = Some(vec![self.flat_parameters()]);
        Ok(())
    }

    /// Records the per-layer statistics of the untrained model (chapter 5: what initialisation does).
    /// One forward and backward pass on the first `probe` training items fills the weights' gradients
    /// (nothing is updated), so the statistics show gradient spread as well as activation spread.
    pub fn record_initial_layers(&mut self, probe: usize) -> Result<()> {
        let n = probe.clamp(1, self.train.len().max(1)).min(self.train.len());
        let batch = make_batch(&self.train, &(0..n).collect::<Vec<_>>())?;
        self.optimizer.zero_grad();
        self.batch_loss(&batch)?.backward()?;
        self.initial_layers = Some(self.layer_stats(probe)?);
        self.optimizer.zero_grad();
        Ok(())
    }

    fn flat_parameters(&self) -> Vec<f32> {
        self.model.parameters().iter().flat_map(|p| p.to_vec()).collect()
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Batches per epoch.
    pub fn steps_per_epoch(&self) -> usize {
        if self.trees.is_some() {
            // One step per class's forest.
            return match &self.train.targets {
                Targets::Classes { classes, .. } => *classes,
                Targets::Values { .. } => 1,
            };
        }
        self.train.len().div_ceil(self.config.batch_size)
    }

    /// Whether the configured number of epochs has been run.
    pub fn finished(&self) -> bool {
        self.history.len() as u32 >= self.config.epochs
    }

    /// One optimisation step on the next batch; evaluates when it ends an epoch. The first non-finite
    /// loss or gradient stops the run with the divergence guard's message. Waits for the GPU natively; in
    /// the browser a GPU session must use `step_async`.
    pub fn step(&mut self) -> Result<StepInfo> {
        now(self.step_async())
    }

    /// `step` without blocking: the GPU's readbacks (every `LOSS_READ_EVERY` steps, and the evaluation at
    /// the end of an epoch) are awaited.
    pub async fn step_async(&mut self) -> Result<StepInfo> {
        match self.step_once().await {
            Err(e) if self.device == Device::WebGpu && e.is_gpu_failure() => {
                self.recover_on_cpu(&e)?;
                Box::pin(self.step_once()).await
            }
            other => other,
        }
    }

    async fn step_once(&mut self) -> Result<StepInfo> {
        if let Some(forests) = self.trees.clone() {
            return self.grow_forest(&forests).await;
        }
        let epoch = self.history.len() as u32;
        let started = Instant::now();
        self.started.get_or_insert(started);
        if self.cursor.is_none() {
            self.optimizer.lr = self.config.schedule.lr_at(self.config.lr, epoch);
            let order = self.batcher.order(self.train.len(), u64::from(epoch));
            self.cursor = Some(Cursor { order, next: 0, loss_sum: 0.0, batches: 0, train_seconds: 0.0 });
        }
        let cursor = self.cursor.as_mut().expect("cursor set above");
        let end = (cursor.next + self.config.batch_size).min(cursor.order.len());
        let idx = cursor.order[cursor.next..end].to_vec();
        cursor.next = end;
        let batch = self.batch(&self.train, &idx)?;
        self.model.train();
        self.optimizer.zero_grad();
        self.steps += 1;
        let loss = self.batch_loss(&batch)?;
        let mut value = None;
        if self.device == Device::Cpu {
            let v = loss.item()?;
            self.absorb_loss(self.steps, v)?;
            value = Some(v);
        }
        loss.backward()?;
        // A weight that became NaN is the divergence guard's to report; any other error is itself.
        self.optimizer.step().map_err(|e| match e {
            LabError::InvalidArgument(_) => self.diverged(self.steps, f32::INFINITY),
            other => other,
        })?;
        if self.device != Device::Cpu {
            // The whole step was recorded; submit it as one command buffer (and surface any GPU error).
            crate::backend::webgpu::current()?.flush()?;
            // Only the value is kept: holding `loss` would keep the step's whole graph (every activation).
            self.pending.push((self.steps, loss.detach()));
        }
        let params = self.trace.is_some().then(|| self.flat_parameters());
        if let (Some(trace), Some(now)) = (&mut self.trace, params) {
            trace.push(now);
        }
        let epoch_done = self.cursor.as_ref().is_some_and(|c| c.next >= c.order.len());
        if epoch_done || self.pending.len() >= LOSS_READ_EVERY {
            // The readback waits for the GPU to finish the recorded steps: training time, so counted.
            value = self.settle_async().await?.or(value);
        }
        let cursor = self.cursor.as_mut().expect("cursor set above");
        cursor.batches += 1;
        cursor.train_seconds += started.elapsed().as_secs_f64();
        let epoch_end = if epoch_done { Some(self.end_epoch().await?) } else { None };
        if epoch_done && self.device == Device::WebGpu {
            self.recovery = Some(self.checkpoint_async().await?);
        }
        Ok(StepInfo { step: self.steps, loss: value, epoch_end })
    }

    /// A trees run's step: the next class's forest; the epoch (the whole run) ends with the last class.
    async fn grow_forest(&mut self, forests: &Forests) -> Result<StepInfo> {
        let started = Instant::now();
        self.started.get_or_insert(started);
        let spec = self.config.model.trees.expect("a trees run");
        let classes = match &self.train.targets {
            Targets::Classes { classes, .. } => *classes,
            Targets::Values { .. } => 0,
        };
        if forests.grown() >= classes {
            return Err(LabError::InvalidArgument("the trees are grown: the run has finished".into()));
        }
        let cursor = self.cursor.get_or_insert_with(|| Cursor {
            order: (0..classes).collect(),
            next: 0,
            loss_sum: 0.0,
            batches: 0,
            train_seconds: 0.0,
        });
        cursor.next += 1;
        self.steps += 1;
        let loss = forests.grow_next(&spec, &self.train)?;
        self.absorb_loss(self.steps, loss)?;
        let cursor = self.cursor.as_mut().expect("cursor set above");
        cursor.batches += 1;
        cursor.train_seconds += started.elapsed().as_secs_f64();
        let epoch_end = if forests.grown() == classes { Some(self.end_epoch().await?) } else { None };
        Ok(StepInfo { step: self.steps, loss: Some(loss), epoch_end })
    }

    /// The batch on the session's device.
    pub(crate) fn on_device(&self, batch: Batch) -> Result<Batch> {
        if self.device == Device::Cpu {
            return Ok(batch);
        }
        let Batch { x, y, labels } = batch;
        Ok(Batch { x: x.into_device(self.device)?, y: y.into_device(self.device)?, labels })
    }

    /// Takes one step's loss into the records, or stops with the divergence guard: non-finite, or finite
    /// but a thousand times the first step's loss (raw pixels at lr 1000 reach 1e23 while staying finite).
    fn absorb_loss(&mut self, step: u64, value: f32) -> Result<()> {
        let first = *self.first_loss.get_or_insert(value);
        if !value.is_finite() || value > 1e3 * first.abs().max(1.0) {
            return Err(self.diverged(step, value));
        }
        if self.step_losses.len() < MAX_STEP_LOSSES {
            self.step_losses.push(value);
        }
        if let Some(cursor) = self.cursor.as_mut() {
            cursor.loss_sum += f64::from(value);
        }
        Ok(())
    }

    /// Reads back the GPU losses still pending (one readback for all of them), checks each with the
    /// divergence guard, and returns the newest. Nothing to do on the CPU.
    pub fn settle(&mut self) -> Result<Option<f32>> {
        now(self.settle_async())
    }

    /// `settle` for the browser, which awaits the readback instead of blocking.
    pub async fn settle_async(&mut self) -> Result<Option<f32>> {
        let Some(all) = self.pending_losses()? else { return Ok(None) };
        let values = all.to_vec_async().await?;
        self.absorb_pending(&values)
    }

    fn pending_losses(&self) -> Result<Option<Tensor>> {
        if self.pending.is_empty() {
            return Ok(None);
        }
        let flat = self.pending.iter().map(|(_, l)| l.detach().reshape(&[1])).collect::<Result<Vec<_>>>()?;
        Ok(Some(Tensor::concat(&flat.iter().collect::<Vec<_>>(), 0)?))
    }

    fn absorb_pending(&mut self, values: &[f32]) -> Result<Option<f32>> {
        let steps: Vec<u64> = std::mem::take(&mut self.pending).into_iter().map(|(s, _)| s).collect();
        for (&step, &v) in steps.iter().zip(values) {
            self.absorb_loss(step, v)?;
        }
        Ok(values.last().copied())
    }

    async fn end_epoch(&mut self) -> Result<EpochMetrics> {
        let cursor = self.cursor.take().expect("an epoch in progress");
        // With no test split (XOR's four points) the metrics are measured on the training data.
        let held_out = if self.test.is_empty() { &self.train } else { &self.test };
        let (test_loss, test_accuracy) = self.evaluate_async(held_out).await?;
        if !test_loss.is_finite() {
            return Err(self.diverged(self.steps, test_loss));
        }
        let m = EpochMetrics {
            epoch: self.history.len() as u32 + 1,
            train_loss: (cursor.loss_sum / cursor.batches.max(1) as f64) as f32,
            test_loss,
            test_accuracy,
            lr: self.optimizer.lr,
            // A trees run's steps are forests, each grown on the whole training split.
            examples_per_s: (if self.trees.is_some() { self.train.len() } else { cursor.order.len() } as f64
                / cursor.train_seconds.max(1e-9)) as f32,
            seconds: self.elapsed_seconds() as f32,
        };
        self.history.push(m.clone());
        Ok(m)
    }

    /// Wall time spent in this session so far (paused time between `step` calls counts).
    pub fn elapsed_seconds(&self) -> f64 {
        self.elapsed_before + self.started.map_or(0.0, |s| s.elapsed().as_secs_f64())
    }

    /// Steps until the current epoch ends.
    pub fn run_epoch(&mut self) -> Result<EpochMetrics> {
        loop {
            if let Some(m) = self.step()?.epoch_end {
                return Ok(m);
            }
        }
    }

    /// Runs the remaining configured epochs.
    pub fn run(&mut self) -> Result<&[EpochMetrics]> {
        while !self.finished() {
            self.run_epoch()?;
        }
        Ok(&self.history)
    }

    /// Loss and (for classification) accuracy on `data`, in evaluation mode and without recording a graph.
    pub fn evaluate(&self, data: &Dataset) -> Result<(f32, Option<f32>)> {
        now(self.evaluate_async(data))
    }

    /// `evaluate`, awaiting the GPU's readbacks.
    pub async fn evaluate_async(&self, data: &Dataset) -> Result<(f32, Option<f32>)> {
        self.model.eval();
        let out = self.evaluate_batches(data).await;
        self.model.train();
        out
    }

    async fn evaluate_batches(&self, data: &Dataset) -> Result<(f32, Option<f32>)> {
        let _no_grad = autograd::NoGradGuard::new();
        let rows = summary::evaluation_rows(&self.config);
        let (mut loss_sum, mut correct, mut count) = (0.0f64, 0usize, 0usize);
        let order: Vec<usize> = (0..data.len()).collect();
        for idx in order.chunks(rows.max(1)) {
            let batch = self.batch(data, idx)?;
            let out = self.model.forward(&batch.x)?;
            let n = batch.x.dims()[0];
            let loss = self.loss(&out, &batch)?.to_vec_async().await?;
            loss_sum += f64::from(loss.first().copied().unwrap_or(f32::NAN)) * n as f64;
            count += n;
            if !batch.labels.is_empty() {
                let pred = self.predicted_classes_async(&out).await?;
                correct += pred.iter().zip(&batch.labels).filter(|(p, l)| p == l).count();
            }
        }
        let accuracy =
            matches!(data.targets, Targets::Classes { .. }).then(|| correct as f32 / count.max(1) as f32);
        Ok(((loss_sum / count.max(1) as f64) as f32, accuracy))
    }

    /// Class indices from model outputs: the logit's sign for one output, argmax otherwise.
    pub fn predicted_classes(&self, out: &Tensor) -> Result<Vec<usize>> {
        now(self.predicted_classes_async(out))
    }

    /// `predicted_classes`, awaiting the GPU's readback.
    pub async fn predicted_classes_async(&self, out: &Tensor) -> Result<Vec<usize>> {
        if self.config.loss == LossKind::BinaryCrossEntropy {
            return Ok(out.to_vec_async().await?.iter().map(|&z| usize::from(z > 0.0)).collect());
        }
        Ok(out.argmax(-1, false)?.to_vec_async().await?.iter().map(|&p| p as usize).collect())
    }

    /// Per-layer statistics on the first `probe` test items (training items when there is no test split).
    /// Per-layer histograms of activations (on the first `probe` test items) and of the weights' last
    /// gradients (`stats::layer_histograms`).
    pub fn layer_histograms(&self, probe: usize, bins: usize) -> Result<(Vec<Histogram>, Vec<Histogram>)> {
        let data = if self.test.is_empty() { &self.train } else { &self.test };
        let n = probe.clamp(1, data.len().max(1)).min(data.len());
        let batch = make_batch(data, &(0..n).collect::<Vec<_>>())?;
        stats::layer_histograms(&self.model, &batch.x, bins)
    }

    pub fn layer_stats(&self, probe: usize) -> Result<Vec<LayerStats>> {
        let data = if self.test.is_empty() { &self.train } else { &self.test };
        let n = probe.clamp(1, data.len().max(1)).min(data.len());
        let batch = make_batch(data, &(0..n).collect::<Vec<_>>())?;
        layer_stats(&self.model, &batch.x)
    }

    /// Weights, optimizer state, normalization statistics, config and history in one safetensors file (with
    /// the model file's entries, so `Classifier::from_bytes` reads it too).
    pub fn checkpoint(&self) -> Result<Vec<u8>> {
        self.not_trees("saved or resumed")?;
        if !self.pending.is_empty() {
            return Err(LabError::InvalidArgument(
                "checkpoint: GPU losses are still pending; call settle() first".into(),
            ));
        }
        let json = |v: serde_json::Result<String>| v.map_err(|e| LabError::InvalidArgument(e.to_string()));
        let mut meta = HashMap::new();
        meta.insert("config".to_string(), json(serde_json::to_string(&self.config))?);
        meta.insert("normalization".to_string(), json(serde_json::to_string(&self.norm))?);
        meta.insert("history".to_string(), json(serde_json::to_string(&self.history))?);
        meta.insert("steps".to_string(), self.steps.to_string());
        // The model file's entries too: a checkpoint of an image classifier loads in the drawing pad.
        meta.insert("format".to_string(), classifier::MODEL_FORMAT.to_string());
        meta.insert("classes".to_string(), json(serde_json::to_string(&self.train.class_names))?);
        nn::save_checkpoint(&self.model, &self.optimizer, meta)
    }

    /// Resumes from `checkpoint()` bytes written by a session with the same config: the next step is the
    /// first of the epoch after the checkpoint's last complete one.
    pub fn restore(&mut self, bytes: &[u8]) -> Result<()> {
        self.not_trees("saved or resumed")?;
        let meta = nn::load_checkpoint(&self.model, &mut self.optimizer, bytes)?;
        let bad = |what: &str| LabError::Format { kind: "checkpoint", message: format!("{what} is missing") };
        let history: Vec<EpochRecord> =
            serde_json::from_str(meta.get("history").ok_or_else(|| bad("history"))?)
                .map_err(|e| LabError::Format { kind: "checkpoint", message: e.to_string() })?;
        self.history = history.into_iter().map(EpochRecord::into_metrics).collect();
        self.steps = meta.get("steps").and_then(|s| s.parse().ok()).ok_or_else(|| bad("steps"))?;
        self.elapsed_before = self.history.last().map_or(0.0, |m| f64::from(m.seconds));
        self.started = None;
        self.cursor = None;
        self.pending.clear();
        Ok(())
    }

    /// The training loss of `batch`, ready for backward. A classifier trained with cross-entropy takes
    /// `Sequential::cross_entropy`, which fuses a last `Linear` with the loss (on the CPU one pass over
    /// that layer's input instead of two; on the GPU five launches instead of about sixteen); any other
    /// model runs forward, then `loss`.
    fn batch_loss(&self, batch: &Batch) -> Result<Tensor> {
        if self.config.loss == LossKind::CrossEntropy {
            return self.model.cross_entropy(&batch.x, &batch.labels);
        }
        self.loss(&self.model.forward(&batch.x)?, batch)
    }

    /// Whether `loss` reads the batch's y (regression values, BCE's 0/1 targets) rather than its labels.
    fn loss_reads_y(&self, labels: &[usize]) -> bool {
        match self.config.loss {
            LossKind::Mse => labels.is_empty(),
            LossKind::BinaryCrossEntropy => true,
            LossKind::CrossEntropy | LossKind::Hinge | LossKind::Value => false,
        }
    }

    pub(crate) fn loss(&self, out: &Tensor, batch: &Batch) -> Result<Tensor> {
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
            LossKind::Hinge => loss::hinge(out, &batch.labels),
            LossKind::Value => Ok(out.clone()),
        }
    }

    /// The divergence guard's message: the step, and the likely cause in words.
    fn diverged(&self, step: u64, value: f32) -> LabError {
        let lr = self.optimizer.lr;
        let cause = if matches!(self.config.dataset, DatasetSpec::Toy { .. }) {
            format!("learning rate {lr} is too large for this function: try {}", lr / 10.0)
        } else if self.config.normalization == Normalization::None {
            format!(
                "learning rate {lr} is too high for unnormalized inputs: normalize them or lower the rate"
            )
        } else {
            format!("learning rate {lr} is too high: try {}", lr / 10.0)
        };
        LabError::Diverged {
            step,
            message: format!("training diverged at step {step} (loss {value}): {cause}"),
            suggested_lr: lr / 10.0,
        }
    }
}

/// `EpochMetrics` as a checkpoint stores it (camelCase JSON).
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct EpochRecord {
    epoch: u32,
    train_loss: f32,
    test_loss: f32,
    test_accuracy: Option<f32>,
    lr: f32,
    examples_per_s: f32,
    seconds: f32,
}

impl EpochRecord {
    fn into_metrics(self) -> EpochMetrics {
        let EpochRecord { epoch, train_loss, test_loss, test_accuracy, lr, examples_per_s, seconds } = self;
        EpochMetrics { epoch, train_loss, test_loss, test_accuracy, lr, examples_per_s, seconds }
    }
}

/// Output side of a convolution or pooling window: ⌊(S − K + 2P) / stride⌋ + 1 (textbook §7), or `None`
/// when the window does not fit.
pub fn conv_output_size(size: usize, kernel: usize, stride: usize, padding: usize) -> Option<usize> {
    (stride > 0 && kernel > 0 && size + 2 * padding >= kernel)
        .then(|| (size + 2 * padding - kernel) / stride + 1)
}

/// [conv blocks ->] [Flatten ->] hidden... -> outputs (activation between layers, none after the last),
/// or conv blocks -> 1x1 conv -> global average pool for an all-convolutional network.
fn build_model(feature_shape: &[usize], spec: &ModelSpec, outputs: usize) -> Result<Sequential> {
    let mut model = Sequential::default();
    if spec.input_noise > 0.0 {
        model = model.append(GaussianNoise::new(spec.input_noise));
    }
    let mut shape = feature_shape.to_vec();
    if !spec.conv.is_empty() || spec.conv_head {
        let [c, h, w] = shape[..] else {
            return Err(LabError::InvalidArgument("convolutions need image inputs (C, H, W)".into()));
        };
        let (mut c, mut h, mut w) = (c, h, w);
        for (i, b) in spec.conv.iter().enumerate() {
            let pad = b.pad();
            let too_small = |what: String, h: usize, w: usize| {
                LabError::InvalidArgument(format!(
                    "block {}: {what} does not fit the {h}x{w} image left at that point \
                     (each 2x2 pooling halves it: 28x28 is gone after five)",
                    i + 1
                ))
            };
            let (Some(nh), Some(nw)) =
                (conv_output_size(h, b.kernel, b.stride, pad), conv_output_size(w, b.kernel, b.stride, pad))
            else {
                return Err(too_small(format!("a {k}x{k} convolution", k = b.kernel), h, w));
            };
            let mut body = Sequential::default()
                .append(Conv2d::new(c, b.channels, b.kernel, b.stride, b.padding, spec.init));
            if spec.batch_norm {
                body = body.append(BatchNorm2d::new(b.channels));
            }
            body = body.append(spec.activation);
            // A skip connection needs the input's map to line up with the output's: 'same' padding keeps the
            // size, and a stride is matched by a strided 1x1 convolution on the shortcut.
            let lines_up = 2 * pad + 1 == b.kernel;
            let mut out_channels = b.channels;
            if spec.residual && lines_up {
                let (shortcut, join) = match spec.join {
                    SkipJoin::Add if c == b.channels && b.stride == 1 => (None, Join::Add),
                    SkipJoin::Add => {
                        (Some(Conv2d::new(c, b.channels, 1, b.stride, Padding::Valid, spec.init)), Join::Add)
                    }
                    SkipJoin::Concat => {
                        out_channels += c;
                        let conv = (b.stride != 1)
                            .then(|| Conv2d::new(c, c, 1, b.stride, Padding::Valid, spec.init));
                        (conv, Join::Concat)
                    }
                };
                model = model.append(Residual { body, shortcut, join });
            } else {
                model.layers.extend(body.layers);
            }
            (c, h, w) = (out_channels, nh, nw);
            if b.pool != Pool::None {
                let (Some(ph), Some(pw)) = (conv_output_size(h, 2, 2, 0), conv_output_size(w, 2, 2, 0))
                else {
                    return Err(too_small("the 2x2 pooling window".into(), h, w));
                };
                model = match b.pool {
                    Pool::Max => model.append(MaxPool2d { kernel: 2, stride: 2, padding: 0 }),
                    _ => model.append(AvgPool2d { kernel: 2, stride: 2, padding: 0 }),
                };
                (h, w) = (ph, pw);
            }
        }
        if spec.conv_head {
            if h != w {
                return Err(LabError::InvalidArgument(format!(
                    "the global pool needs a square map, not {h}x{w}"
                )));
            }
            // (N, C, H, W) -> 1x1 conv -> (N, classes, H, W) -> average over H×W -> (N, classes, 1, 1) -> (N, classes)
            let head = Conv2d::new(c, outputs, 1, 1, Padding::Valid, spec.init);
            return Ok(model
                .append(head)
                .append(AvgPool2d { kernel: h, stride: h, padding: 0 })
                .append(Flatten));
        }
        shape = vec![c, h, w];
    }
    if shape.len() > 1 {
        model = model.append(Flatten);
    }
    let mut width: usize = shape.iter().product();
    // Each skip connection adds its branch's variance to the signal's; with L branches at full He scale it
    // would grow ~2^L. Scaling each branch's initial weights by 1/√L keeps the sum bounded (the idea behind
    // Fixup and SkipInit initialisations).
    let widths: Vec<usize> = std::iter::once(width).chain(spec.hidden.iter().copied()).collect();
    let adds = spec.residual && spec.join == SkipJoin::Add;
    let branches = widths.windows(2).filter(|w| adds && w[0] == w[1]).count().max(1);
    for &h in &spec.hidden {
        // Linear -> [BatchNorm] -> activation -> [Dropout], wrapped in a skip connection when asked for and
        // (for addition) the widths match. Concatenation always fits: the next layer reads h + width values.
        let concat = spec.residual && spec.join == SkipJoin::Concat;
        let skip = (adds && width == h) || concat;
        let init = if skip && !concat {
            let bound = spec.init.variance(width, h).sqrt() * 3f32.sqrt() / (branches as f32).sqrt();
            Init::Uniform { low: -bound, high: bound }
        } else {
            spec.init
        };
        let mut body = Sequential::default().append(Linear::new(width, h, init, true));
        if spec.batch_norm {
            body = body.append(BatchNorm1d::new(h));
        }
        body = body.append(spec.activation);
        if spec.dropout > 0.0 {
            body = body.append(Dropout::new(spec.dropout));
        }
        if skip {
            let join = if concat { Join::Concat } else { Join::Add };
            model = model.append(Residual { body, shortcut: None, join });
        } else {
            model.layers.extend(body.layers);
        }
        width = if concat { h + width } else { h };
    }
    Ok(model.append(Linear::new(width, outputs, spec.init, true)))
}

/// Freezes the first `n` layers that have weights: their parameters stop requiring gradients, so backward
/// leaves them out and the optimizer (which updates what has a gradient) never changes them.
pub(crate) fn freeze(model: &Sequential, n: usize) -> Result<()> {
    let weighted: Vec<&Box<dyn Module>> =
        model.layers.iter().filter(|l| !l.parameters().is_empty()).collect();
    if n > 0 && n >= weighted.len() {
        return Err(LabError::InvalidArgument(format!(
            "freezing {n} layers leaves nothing to train: the model has {} layers with weights",
            weighted.len()
        )));
    }
    for layer in weighted.into_iter().take(n) {
        for p in layer.parameters() {
            let _ = p.requires_grad_(false);
        }
    }
    Ok(())
}

/// Runs a future that never waits for anything but a GPU readback to completion, without an executor:
/// natively readbacks finish inside `device.poll`, so one poll suffices; on the CPU nothing waits at all.
/// In the browser a GPU readback cannot finish synchronously, and that case is an error naming the fix.
pub(crate) fn now<T>(fut: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    use std::task::{Context, Poll, Waker};
    let mut fut = std::pin::pin!(fut);
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(r) => r,
        Poll::Pending => Err(LabError::Device(
            "a GPU session was stepped synchronously in the browser; it must be awaited (step_async)".into(),
        )),
    }
}
