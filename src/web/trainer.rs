//! `Trainer`: a preset's runs driven from the page's Web Worker in time slices, so the worker can answer
//! pause and step messages between slices. The page's edits of the preset's config arrive as JSON.

use serde::Serialize;
use wasm_bindgen::prelude::*;
use web_time::Instant;

use crate::backend::BackendKind;
use crate::backend::webgpu::{self, GpuContext};
use crate::chapters::{self, Preset, RunOutcome, Variant};
use crate::error::LabError;
use crate::tensor::Device;
use crate::train::{DatasetSpec, EpochMetrics, MemorySource, Session, SessionConfig, files_needed};

/// Where a training run stands, sent to the page after every slice.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Status {
    run: usize,
    runs: usize,
    label: String,
    step: u64,
    steps_per_epoch: usize,
    epoch: u32,
    epochs: u32,
    last_loss: Option<f32>,
    seconds: f64,
    /// Epochs finished during this slice, across runs.
    new_epochs: Vec<(usize, EpochMetrics)>,
    done: bool,
    /// The divergence guard's message (or another error) that stopped the current run.
    error: Option<String>,
    /// The guard's one-click fix: a learning rate that should not diverge.
    suggested_lr: Option<f32>,
    check: Option<String>,
    check_passed: Option<bool>,
    /// Where the runs train, in words ("WebGPU: nvidia ...", "CPU: WebAssembly SIMD").
    backend: String,
}

/// A preset's runs, stepped from JavaScript.
#[wasm_bindgen]
pub struct Trainer {
    preset: Preset,
    runs: Vec<Variant>,
    files: MemorySource,
    current: usize,
    session: Option<Session>,
    outcomes: Vec<RunOutcome>,
    last_loss: Option<f32>,
    /// The last figures, keyed by (run, epochs finished, steps for cheap plots).
    cache: Option<((usize, usize, u64), JsValue)>,
    device: Device,
    backend: String,
}

/// The fields of `edited` that differ from `base`, applied to `target` (so a study's variants keep what
/// makes them different and take the visitor's other changes).
fn apply_edits(
    base: &SessionConfig,
    edited: &SessionConfig,
    target: &SessionConfig,
) -> Result<SessionConfig, JsError> {
    let (b, e, mut t) =
        (serde_json::to_value(base)?, serde_json::to_value(edited)?, serde_json::to_value(target)?);
    if let (Some(b), Some(e), Some(t)) = (b.as_object(), e.as_object(), t.as_object_mut()) {
        for (key, value) in e {
            if b.get(key) != Some(value) {
                t.insert(key.clone(), value.clone());
            }
        }
    }
    Ok(serde_json::from_value(t)?)
}

#[wasm_bindgen]
impl Trainer {
    /// The preset `id` with its config replaced by `config` (the page's controls; for a study, the changed
    /// fields apply to every run). Files must be added with `addFile` before the first `runFor`.
    #[wasm_bindgen(constructor)]
    pub fn new(id: &str, config: JsValue) -> Result<Trainer, JsError> {
        let preset = chapters::preset(id).ok_or_else(|| JsError::new(&format!("no preset '{id}'")))?;
        let edited: SessionConfig = serde_wasm_bindgen::from_value(config)
            .map_err(|e| JsError::new(&format!("the settings are not a valid config: {e}")))?;
        // A CIFAR-10 preset asked for on Fashion-MNIST (the visitor has no CIFAR-10 files): its twin is the
        // base, so every run of a study moves to Fashion-MNIST, not only the fields the visitor changed.
        let preset = match preset.on_fashion() {
            Some(twin) if matches!(edited.dataset, DatasetSpec::FashionMnist { .. }) => twin,
            _ => preset,
        };
        let runs = preset
            .runs()
            .into_iter()
            .map(|v| Ok(Variant { config: apply_edits(&preset.config, &edited, &v.config)?, label: v.label }))
            .collect::<Result<Vec<_>, JsError>>()?;
        Ok(Trainer {
            preset,
            runs,
            files: MemorySource::default(),
            current: 0,
            session: None,
            outcomes: Vec::new(),
            last_loss: None,
            cache: None,
            device: Device::Cpu,
            backend: BackendKind::Cpu.label(None),
        })
    }

    /// Trains the runs on the browser's GPU from now on. Returns the adapter's label; on failure (no
    /// WebGPU, no adapter, a device request refused) the error says why, and the runs stay on the CPU.
    #[wasm_bindgen(js_name = useGpu)]
    pub async fn use_gpu(&mut self) -> Result<String, JsError> {
        let ctx = GpuContext::new().await.map_err(|e| JsError::new(&e.to_string()))?;
        self.backend = BackendKind::WebGpu.label(Some(&ctx.adapter.name));
        webgpu::install(ctx);
        self.device = Device::WebGpu;
        if let Some(s) = self.session.as_mut() {
            s.to_device_async(Device::WebGpu).await.map_err(|e| JsError::new(&e.to_string()))?;
        }
        Ok(self.backend.clone())
    }

    /// Moves the current run to the CPU (its weights read back from the GPU first) and trains there from
    /// now on: the fallback when the GPU fails mid-run. `why` is shown to the visitor.
    #[wasm_bindgen(js_name = fallBackToCpu)]
    pub async fn fall_back_to_cpu(&mut self, why: String) -> Result<String, JsError> {
        self.device = Device::Cpu;
        self.backend = format!("{} (GPU unavailable: {why})", BackendKind::Cpu.label(None));
        let Some(s) = self.session.as_mut() else { return Ok(self.backend.clone()) };
        if s.to_device_async(Device::Cpu).await.is_ok() {
            // Everything was read back (or already on the host): the run goes on from where it was.
            self.backend = format!(
                "{} (the GPU failed ({why}); training went on on the CPU from step {}, where it was)",
                BackendKind::Cpu.label(None),
                s.steps()
            );
        } else if let Err(e) = s.recover_on_cpu(&LabError::Device(why.clone())) {
            // The GPU cannot give the weights back (a lost device): go on from the checkpoint taken at the
            // last epoch boundary, or, without one (the first epoch), restart this run on the CPU.
            web_sys::console::warn_1(&format!("restarting the run on the CPU: {e}").into());
            self.session = None;
        } else if let Some(said) = &s.fallback {
            self.backend = format!("{} ({said})", BackendKind::Cpu.label(None));
        }
        Ok(self.backend.clone())
    }

    /// The current run as a file: weights, optimizer state, config, normalization statistics and history
    /// (a safetensors file with JSON metadata). It resumes training (`restore`) and loads in the drawing
    /// pad. A GPU run's values are read back first (awaited).
    #[wasm_bindgen(js_name = exportModel)]
    pub async fn export_model(&mut self) -> Result<Vec<u8>, JsError> {
        let s =
            self.session.as_mut().ok_or_else(|| JsError::new("no run has started yet: press Train first"))?;
        s.checkpoint_async().await.map_err(|e| JsError::new(&e.to_string()))
    }

    /// Resumes the current run from a file `exportModel` wrote for the same settings: the next step is the
    /// first of the epoch after the file's last complete one. A file for other settings is refused.
    pub fn restore(&mut self, bytes: &[u8]) -> Result<u32, JsError> {
        let err = |e: LabError| JsError::new(&e.to_string());
        let info = crate::train::inspect(bytes).map_err(err)?;
        let saved: SessionConfig = info
            .metadata
            .get("config")
            .and_then(|c| serde_json::from_str(c).ok())
            .ok_or_else(|| JsError::new("this file has no run settings to resume from"))?;
        let config = self
            .runs
            .get(self.current)
            .map(|r| r.config.clone())
            .ok_or_else(|| JsError::new("no run to resume"))?;
        if saved != config {
            return Err(JsError::new(
                "this file was saved from other settings: open its preset with the same settings to resume it",
            ));
        }
        if self.session.is_none() {
            let mut s = Session::new(config, &self.files).map_err(err)?;
            self.preset.prepare(&mut s).map_err(err)?;
            self.session = Some(s);
        }
        let s = self.session.as_mut().expect("created above");
        s.to_device(Device::Cpu).map_err(err)?;
        s.restore(bytes).map_err(err)?;
        Ok(s.history.len() as u32)
    }

    /// The class names when the current run's model can classify the drawing pad's 28x28 input (MNIST and
    /// Fashion-MNIST runs), else an empty list.
    #[wasm_bindgen(js_name = padClasses)]
    pub fn pad_classes(&self) -> Vec<String> {
        self.session.as_ref().and_then(Session::drawing_classes).map(<[String]>::to_vec).unwrap_or_default()
    }

    /// The longer side the pad scales a drawing's ink to for the current run's data (20 digits, 28 clothes).
    #[wasm_bindgen(js_name = padSide)]
    pub fn pad_side(&self) -> usize {
        self.runs
            .get(self.current)
            .or(self.runs.first())
            .map_or(20, |r| crate::train::drawing_side(&r.config))
    }

    /// Class probabilities of the model being trained (its newest weights) for a prepared 28x28 input (ink
    /// in [0, 1], as `prepareDrawing` gives it).
    #[wasm_bindgen(js_name = classifyAsync)]
    pub async fn classify_async(&self, input: Vec<f32>) -> Result<Vec<f32>, JsError> {
        let s = self.session.as_ref().ok_or_else(|| JsError::new("no run has started yet"))?;
        s.classify_async(&super::pad::ink_to_pixels(&input)).await.map_err(|e| JsError::new(&e.to_string()))
    }

    /// A prepared input after the current run's input normalization.
    pub fn normalized(&self, input: Vec<f32>) -> Result<Vec<f32>, JsError> {
        let s = self.session.as_ref().ok_or_else(|| JsError::new("no run has started yet"))?;
        s.normalized_input(&super::pad::ink_to_pixels(&input)).map_err(|e| JsError::new(&e.to_string()))
    }

    /// The first convolution's feature maps of the model being trained for a prepared input.
    #[wasm_bindgen(js_name = featureMapsAsync)]
    pub async fn feature_maps_async(&self, input: Vec<f32>) -> Result<JsValue, JsError> {
        let s = self.session.as_ref().ok_or_else(|| JsError::new("no run has started yet"))?;
        let maps = s
            .feature_maps_async(&super::pad::ink_to_pixels(&input))
            .await
            .map_err(|e| JsError::new(&e.to_string()))?;
        Ok(serde::Serialize::serialize(&maps, &serde_wasm_bindgen::Serializer::json_compatible())?)
    }

    /// Where the model being trained looks: |∂(top class)/∂(pixel)| scaled to [0, 1].
    #[wasm_bindgen(js_name = saliencyAsync)]
    pub async fn saliency_async(&self, input: Vec<f32>) -> Result<Vec<f32>, JsError> {
        let s = self.session.as_ref().ok_or_else(|| JsError::new("no run has started yet"))?;
        s.saliency_async(&super::pad::ink_to_pixels(&input)).await.map_err(|e| JsError::new(&e.to_string()))
    }

    /// The data files (paths under `data/`) the runs need.
    #[wasm_bindgen(js_name = filesNeeded)]
    pub fn files_needed(&self) -> Vec<String> {
        let mut names: Vec<String> =
            self.runs.iter().flat_map(|v| files_needed(&v.config.dataset)).map(String::from).collect();
        names.sort();
        names.dedup();
        names
    }

    /// Hands over a fetched data file.
    #[wasm_bindgen(js_name = addFile)]
    pub fn add_file(&mut self, name: &str, bytes: Vec<u8>) {
        self.files.0.insert(name.to_string(), bytes);
    }

    /// Trains for about `budget_ms` milliseconds or `max_steps` steps, whichever comes first (at least one
    /// step), moving on to the study's next run when one ends. Returns a `Status`.
    #[wasm_bindgen(js_name = runFor)]
    pub fn run_for(&mut self, budget_ms: f64, max_steps: u32) -> Result<JsValue, JsError> {
        crate::train::now(async { Ok(self.run_slice(budget_ms, max_steps).await) })
            .map_err(|e| JsError::new(&e.to_string()))?
    }

    /// `runFor` for any backend: GPU readbacks are awaited, so the worker stays free between them.
    #[wasm_bindgen(js_name = runForAsync)]
    pub async fn run_for_async(&mut self, budget_ms: f64, max_steps: u32) -> Result<JsValue, JsError> {
        self.run_slice(budget_ms, max_steps).await
    }

    /// Test images of class `truth` that the model being trained calls `predicted` (a confusion-matrix
    /// cell), at most 24, as a gallery figure; the weights are read back first when the run is on the GPU.
    #[wasm_bindgen(js_name = cellExamplesAsync)]
    pub async fn cell_examples_async(&mut self, truth: usize, predicted: usize) -> Result<JsValue, JsError> {
        let session = self.session.as_mut().ok_or_else(|| JsError::new("no run has started yet"))?;
        let on_gpu = session.device() == Device::WebGpu;
        if on_gpu {
            session.to_cpu_for_reading_async().await.map_err(|e| JsError::new(&e.to_string()))?;
        }
        let figure = crate::plot::cell_examples(session, truth, predicted, 24);
        if on_gpu {
            session.to_device_async(Device::WebGpu).await.map_err(|e| JsError::new(&e.to_string()))?;
        }
        let figure = figure.map_err(|e| JsError::new(&e.to_string()))?;
        let serializer = serde_wasm_bindgen::Serializer::json_compatible();
        Ok(figure.serialize(&serializer)?)
    }

    /// `figures` for any backend: a GPU run's weights are read back (awaited) before the figures are built
    /// on the CPU, and go back to the GPU after.
    #[wasm_bindgen(js_name = figuresAsync)]
    pub async fn figures_async(&mut self) -> Result<JsValue, JsError> {
        let on_gpu = self.session.as_ref().is_some_and(|s| s.device() == Device::WebGpu);
        let fresh = self.cache.as_ref().is_some_and(|(k, _)| Some(*k) == self.figures_key());
        if !on_gpu || fresh {
            return self.figures();
        }
        let session = self.session.as_mut().expect("checked above");
        session.to_cpu_for_reading_async().await.map_err(|e| JsError::new(&e.to_string()))?;
        let figures = self.figures();
        if let Some(s) = self.session.as_mut() {
            s.to_device_async(Device::WebGpu).await.map_err(|e| JsError::new(&e.to_string()))?;
        }
        figures
    }
}

impl Trainer {
    async fn run_slice(&mut self, budget_ms: f64, max_steps: u32) -> Result<JsValue, JsError> {
        let started = Instant::now();
        let mut new_epochs = Vec::new();
        let (mut error, mut suggested_lr) = (None, None);
        let mut steps = 0;
        while self.current < self.runs.len() && steps < max_steps.max(1) {
            if self.session.is_none() {
                let mut s = Session::new(self.runs[self.current].config.clone(), &self.files)
                    .map_err(|e| JsError::new(&e.to_string()))?;
                self.preset.prepare(&mut s).map_err(|e| JsError::new(&e.to_string()))?;
                self.session = Some(s);
            }
            let device = self.device;
            let session = self.session.as_mut().expect("created above");
            if session.device() != device {
                session.to_device_async(device).await.map_err(|e| JsError::new(&e.to_string()))?;
            }
            let stepped = session.step_async().await;
            if let Some(why) = session.fallback.take() {
                // The session left a failed GPU for the CPU; the study's later runs stay there too.
                self.device = Device::Cpu;
                self.backend = format!("{} ({why})", BackendKind::Cpu.label(None));
            }
            let session = self.session.as_mut().expect("still there");
            match stepped {
                Ok(info) => {
                    if info.loss.is_some() {
                        self.last_loss = info.loss;
                    }
                    if let Some(m) = info.epoch_end {
                        new_epochs.push((self.current, m));
                    }
                    if session.finished() {
                        self.finish_run(None);
                    }
                }
                Err(e) => {
                    if let LabError::Diverged { suggested_lr: lr, .. } = &e {
                        suggested_lr = Some(*lr);
                    }
                    // In a study, say which run stopped; the others go on.
                    let message = if self.runs.len() > 1 {
                        format!("{}: {e}", self.runs[self.current].label)
                    } else {
                        e.to_string()
                    };
                    error = Some(message.clone());
                    self.finish_run(Some(message));
                }
            }
            steps += 1;
            if started.elapsed().as_secs_f64() * 1e3 >= budget_ms {
                break;
            }
        }
        Ok(serde_wasm_bindgen::to_value(&self.status(new_epochs, error, suggested_lr))?)
    }
}

#[wasm_bindgen]
impl Trainer {
    /// The preset's figures for the runs so far (see `plot::Figure`), for `drawFigure` on the page. They
    /// are rebuilt only when something they show has changed: after every step for presets whose plots
    /// are cheap (paths, curves), after every epoch for those that evaluate the whole test set (confusion
    /// matrix, mistakes, regions, layer statistics).
    pub fn figures(&mut self) -> Result<JsValue, JsError> {
        let Some(session) = self.session.as_ref() else { return Ok(JsValue::from(js_sys::Array::new())) };
        let outcomes = self.outcomes_so_far();
        let key = self.figures_key();
        if self.cache.as_ref().is_none_or(|(k, _)| Some(*k) != key) {
            let key = key.unwrap_or_default();
            let figs = crate::plot::figures(&self.preset, &outcomes, session)
                .map_err(|e| JsError::new(&e.to_string()))?;
            self.cache = Some((key, serde_wasm_bindgen::to_value(&figs)?));
        }
        Ok(self.cache.as_ref().map(|(_, v)| v.clone()).unwrap_or(JsValue::NULL))
    }
}

impl Trainer {
    /// What the figures depend on: (run, epochs finished, steps for presets whose plots are cheap).
    fn figures_key(&self) -> Option<(usize, usize, u64)> {
        let session = self.session.as_ref()?;
        let epochs = self.outcomes.iter().map(|o| o.history.len()).sum::<usize>() + session.history.len();
        let costly = self.preset.plots.iter().any(|k| {
            use chapters::PlotKind::*;
            matches!(
                k,
                Confusion
                    | Mistakes
                    | DecisionRegions
                    | LayerStats
                    | Filters
                    | EdgeFilters
                    | Samples
                    | FeatureMaps
                    | Histograms
                    | Vectorize
            )
        });
        Some((self.current, epochs, if costly { 0 } else { session.steps() }))
    }

    /// Records the current run; keeps its session (the plots show the last model) until the next starts.
    fn finish_run(&mut self, error: Option<String>) {
        let history = self.session.as_ref().map(|s| s.history.clone()).unwrap_or_default();
        let trace = self.session.as_ref().and_then(|s| s.trace.clone());
        let initial_layers = self.session.as_ref().and_then(|s| s.initial_layers.clone());
        self.outcomes.push(RunOutcome {
            label: self.runs[self.current].label.clone(),
            history,
            error,
            trace,
            initial_layers,
        });
        self.current += 1;
        if self.current < self.runs.len() {
            // The next run builds a fresh session; until then the finished one stays for the plots.
            let next = Session::new(self.runs[self.current].config.clone(), &self.files);
            if let Ok(mut s) = next {
                let _ = self.preset.prepare(&mut s);
                self.session = Some(s);
            }
        }
    }

    fn outcomes_so_far(&self) -> Vec<RunOutcome> {
        let mut all = self.outcomes.clone();
        if self.current < self.runs.len() {
            if let Some(s) = &self.session {
                all.push(RunOutcome {
                    label: self.runs[self.current].label.clone(),
                    history: s.history.clone(),
                    error: None,
                    trace: s.trace.clone(),
                    initial_layers: s.initial_layers.clone(),
                });
            }
        }
        all
    }

    fn status(
        &self,
        new_epochs: Vec<(usize, EpochMetrics)>,
        error: Option<String>,
        suggested_lr: Option<f32>,
    ) -> Status {
        let done = self.current >= self.runs.len();
        let i = self.current.min(self.runs.len() - 1);
        let session = self.session.as_ref();
        let (check, check_passed) = if done {
            match self.preset.check.verify(&self.outcomes) {
                Ok(m) => (Some(m), Some(true)),
                Err(m) => (Some(m), Some(false)),
            }
        } else {
            (None, None)
        };
        Status {
            run: i,
            runs: self.runs.len(),
            label: self.runs[i].label.clone(),
            step: session.map_or(0, Session::steps),
            steps_per_epoch: session.map_or(0, Session::steps_per_epoch),
            epoch: session.map_or(0, |s| s.history.len() as u32),
            epochs: self.runs[i].config.epochs,
            last_loss: self.last_loss,
            seconds: session.map_or(0.0, Session::elapsed_seconds),
            new_epochs,
            done,
            error,
            suggested_lr,
            check,
            check_passed,
            backend: match session {
                Some(s) if self.device == Device::WebGpu && s.device() == Device::Cpu => format!(
                    "{} (this run reads its few parameters after every step, which the CPU does best)",
                    BackendKind::Cpu.label(None)
                ),
                _ => self.backend.clone(),
            },
        }
    }
}
