//! A trained image classifier as a file and as the drawing pad uses it: the model rebuilt from its config,
//! its weights, and the normalization its training used. `Session::export_model` writes the file (a
//! safetensors file whose header metadata holds the config, the normalization and the class names);
//! `Classifier::from_bytes` reads it back, validating everything before a single weight is used.

use std::collections::HashMap;

use serde::Serialize;

use super::{Session, SessionConfig, build_model, now, summary};
use crate::autograd::NoGradGuard;
use crate::data::NormStats;
use crate::data::image::Plane;
use crate::error::{LabError, Result};
use crate::nn::{self, Module, Sequential};
use crate::tensor::Tensor;

/// The `format` metadata value of a model file this version writes and reads.
pub const MODEL_FORMAT: &str = "cvjourney-model/1";
/// The largest model file accepted (a hostile or mistaken file must not exhaust the page's memory).
pub const MAX_MODEL_BYTES: usize = 64 << 20;

fn bad(message: impl Into<String>) -> LabError {
    LabError::Format { kind: "model", message: message.into() }
}

/// One tensor of a model file, as `cvjourney model inspect` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct TensorInfo {
    pub name: String,
    pub dtype: String,
    pub shape: Vec<usize>,
}

/// What a model file holds, read without building the model: its tensors and its metadata.
#[derive(Debug, Clone, Serialize)]
pub struct ModelFileInfo {
    pub tensors: Vec<TensorInfo>,
    pub metadata: HashMap<String, String>,
}

/// Reads a model file's table of contents: the safetensors header only, size-checked.
pub fn inspect(bytes: &[u8]) -> Result<ModelFileInfo> {
    if bytes.len() > MAX_MODEL_BYTES {
        return Err(bad(format!(
            "is {} bytes; the lab reads model files up to {} MiB",
            bytes.len(),
            MAX_MODEL_BYTES >> 20
        )));
    }
    let file =
        safetensors::SafeTensors::deserialize(bytes).map_err(|e| bad(format!("cannot be read: {e}")))?;
    let (_, meta) = safetensors::SafeTensors::read_metadata(bytes).map_err(|e| bad(e.to_string()))?;
    let mut tensors: Vec<TensorInfo> = file
        .tensors()
        .into_iter()
        .map(|(name, view)| TensorInfo {
            name,
            dtype: format!("{:?}", view.dtype()),
            shape: view.shape().to_vec(),
        })
        .collect();
    tensors.sort_by(|a, b| a.name.cmp(&b.name));
    let metadata = meta.metadata().clone().map(|m| m.into_iter().collect()).unwrap_or_default();
    Ok(ModelFileInfo { tensors, metadata })
}

/// A model read from a file, ready to classify single images.
pub struct Classifier {
    pub config: SessionConfig,
    pub classes: Vec<String>,
    model: Sequential,
    norm: NormStats,
    /// One example's input shape, e.g. [1, 28, 28].
    input: Vec<usize>,
}

impl Classifier {
    /// Reads a file written by `Session::export_model`: the format tag, the config (which must validate and
    /// build a model), the normalization statistics (sized for the input, finite), the class names (one per
    /// output), and every tensor by name, dtype and shape.
    pub fn from_bytes(bytes: &[u8]) -> Result<Classifier> {
        let info = inspect(bytes)?;
        let meta = &info.metadata;
        let get =
            |key: &str| meta.get(key).ok_or_else(|| bad(format!("has no '{key}' entry in its metadata")));
        let format = get("format")?;
        if format != MODEL_FORMAT {
            return Err(bad(format!("is format '{format}'; this lab reads '{MODEL_FORMAT}'")));
        }
        let config: SessionConfig =
            serde_json::from_str(get("config")?).map_err(|e| bad(format!("config: {e}")))?;
        super::source::validate(&config).map_err(|e| bad(format!("config: {e}")))?;
        let norm: NormStats =
            serde_json::from_str(get("normalization")?).map_err(|e| bad(format!("normalization: {e}")))?;
        let classes: Vec<String> =
            serde_json::from_str(get("classes")?).map_err(|e| bad(format!("classes: {e}")))?;
        let (input, outputs) = summary::io(&config)?;
        if classes.len() != outputs || outputs < 2 {
            return Err(bad(format!("names {} classes for a model with {outputs} outputs", classes.len())));
        }
        let len: usize = input.iter().product();
        let channels = input.first().copied().unwrap_or(1);
        let sized = |v: &[f32]| v.len() <= 1 || v.len() == len || v.len() == channels;
        let finite = norm.shift.iter().chain(&norm.scale).all(|v| v.is_finite()) && norm.offset.is_finite();
        if !sized(&norm.shift) || !sized(&norm.scale) || !finite {
            return Err(bad("its normalization statistics do not fit the model's input or are not finite"));
        }
        let model = build_model(&input, &config.model, outputs)?;
        nn::load_model_state(&model, bytes).map_err(|e| bad(e.to_string()))?;
        model.eval();
        Ok(Classifier { config, classes, model, norm, input })
    }

    /// One example's input shape.
    pub fn input_shape(&self) -> &[usize] {
        &self.input
    }

    /// The longer side a drawing's ink is scaled to before centering (`data::image::prepare_drawing`).
    pub fn drawing_side(&self) -> usize {
        drawing_side(&self.config)
    }

    /// Accuracy on a labelled image set of raw pixels (0..255, as the dataset parsers give them), in
    /// batches of 1,000 on the CPU.
    pub fn accuracy(&self, data: &crate::data::Dataset) -> Result<f32> {
        let crate::data::Targets::Classes { labels, .. } = &data.targets else {
            return Err(LabError::InvalidArgument("accuracy: the dataset has no class labels".into()));
        };
        let len: usize = self.input.iter().product();
        if data.feature_shape != self.input {
            return Err(LabError::InvalidArgument(format!(
                "accuracy: images are {:?}, the model reads {:?}",
                data.feature_shape, self.input
            )));
        }
        let _no_grad = NoGradGuard::new();
        let mut correct = 0;
        for start in (0..data.len()).step_by(1000) {
            let n = (data.len() - start).min(1000);
            let mut x = data.features[start * len..(start + n) * len].to_vec();
            self.norm.apply(&mut x, len);
            let dims: Vec<usize> = std::iter::once(n).chain(self.input.iter().copied()).collect();
            let out = self.model.forward(&Tensor::from_vec(x, crate::tensor::Shape::new(&dims))?)?;
            let pred = out.argmax(-1, false)?.to_vec();
            correct +=
                pred.iter().zip(&labels[start..start + n]).filter(|(p, l)| **p as usize == **l).count();
        }
        Ok(correct as f32 / data.len().max(1) as f32)
    }

    fn view(&self) -> View<'_> {
        View { model: &self.model, norm: &self.norm, input: &self.input, shared: false }
    }

    /// Class probabilities for one image in the datasets' raw scale (pixels 0..255, row-major).
    pub fn predict(&self, pixels: &[f32]) -> Result<Vec<f32>> {
        now(self.view().predict(pixels))
    }

    /// |∂(top class's output)/∂(pixel)|, scaled to [0, 1].
    pub fn saliency(&self, pixels: &[f32]) -> Result<Vec<f32>> {
        now(self.view().saliency(pixels))
    }

    /// One image's values after the model's own input normalization (what its first layer receives).
    pub fn normalized(&self, pixels: &[f32]) -> Result<Vec<f32>> {
        self.view().normalized(pixels)
    }

    /// The first convolution's feature maps for one image (see `View::feature_maps`).
    pub fn feature_maps(&self, pixels: &[f32]) -> Result<Vec<Plane>> {
        now(self.view().feature_maps(pixels))
    }
}

/// Digits are 20 pixels tall inside MNIST's 28x28 frame; Fashion-MNIST's items fill the frame.
pub fn drawing_side(config: &SessionConfig) -> usize {
    match config.dataset {
        super::DatasetSpec::FashionMnist { .. } => 28,
        _ => 20,
    }
}

/// A model, its input normalization and shape: what classifying one image needs, whether the model was
/// read from a file or is the one a session is training (`shared`: put back in training mode after).
struct View<'a> {
    model: &'a Sequential,
    norm: &'a NormStats,
    input: &'a [usize],
    shared: bool,
}

impl View<'_> {
    /// The model's input for raw pixels (0..255): normalized as in training, on the model's device.
    fn prepare(&self, pixels: &[f32]) -> Result<Tensor> {
        let x = self.normalized(pixels)?;
        let dims: Vec<usize> = std::iter::once(1).chain(self.input.iter().copied()).collect();
        let device = self.model.parameters().first().map_or(crate::tensor::Device::Cpu, Tensor::device);
        Tensor::from_vec(x, crate::tensor::Shape::new(&dims))?.to_device(device)
    }

    /// One image's values after the model's input normalization (what its first layer receives; the pad
    /// shows them too). The image must have the model's size and finite values.
    fn normalized(&self, pixels: &[f32]) -> Result<Vec<f32>> {
        let len: usize = self.input.iter().product();
        if pixels.len() != len {
            return Err(LabError::InvalidArgument(format!(
                "classify: expected {len} pixel values ({:?}), got {}",
                self.input,
                pixels.len()
            )));
        }
        if pixels.iter().any(|v| !v.is_finite()) {
            return Err(LabError::InvalidArgument(
                "classify: the image has values that are not numbers".into(),
            ));
        }
        let mut x = pixels.to_vec();
        self.norm.apply(&mut x, len);
        Ok(x)
    }

    /// The model's outputs in evaluation mode (dropout off, BatchNorm's running statistics).
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.model.eval();
        let out = self.model.forward(x);
        if self.shared {
            self.model.train();
        }
        out
    }

    async fn predict(&self, pixels: &[f32]) -> Result<Vec<f32>> {
        let _no_grad = NoGradGuard::new();
        let out = self.forward(&self.prepare(pixels)?)?;
        out.softmax(-1)?.to_vec_async().await
    }

    /// The first convolution's activated outputs for one image, one plane per channel, each scaled to
    /// [0, 1] by its own largest value (empty for a model without convolutions).
    async fn feature_maps(&self, pixels: &[f32]) -> Result<Vec<Plane>> {
        let _no_grad = NoGradGuard::new();
        let Some(first) = self.model.layers.iter().position(|l| l.describe().starts_with("Conv2d")) else {
            return Ok(Vec::new());
        };
        self.model.eval();
        let mut h = self.prepare(pixels)?;
        // The convolution and the layer after it (its activation, or BatchNorm when there is one).
        let upto = (first + 2).min(self.model.layers.len());
        let out = self.model.layers[..upto].iter().try_fold(h.clone(), |x, layer| layer.forward(&x));
        if self.shared {
            self.model.train();
        }
        h = out?;
        let dims = h.dims().to_vec();
        let (c, rows, cols) = (dims[1], dims[2], dims[3]);
        let values = h.to_vec_async().await?;
        Ok(values
            .chunks(rows * cols)
            .take(c)
            .map(|plane| {
                let peak = plane.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-12);
                Plane { rows, cols, values: plane.iter().map(|v| v.max(0.0) / peak).collect() }
            })
            .collect())
    }

    async fn saliency(&self, pixels: &[f32]) -> Result<Vec<f32>> {
        let x = self.prepare(pixels)?.requires_grad_(true);
        let out = self.forward(&x)?;
        let logits = out.to_vec_async().await?;
        let top = (0..logits.len()).max_by(|&a, &b| logits[a].total_cmp(&logits[b])).unwrap_or(0);
        out.reshape(&[-1])?.index_select(0, &[top])?.sum(&[], false)?.backward()?;
        let grad = match x.grad() {
            Some(g) => g.to_vec_async().await?,
            None => vec![0.0; pixels.len()],
        };
        // The parameters' gradients from this backward pass must not leak into the next training step.
        self.model.parameters().iter().for_each(Tensor::zero_grad);
        let g: Vec<f32> = grad.iter().map(|v| v.abs()).collect();
        let peak = g.iter().fold(0.0f32, |m, v| m.max(*v));
        Ok(if peak > 0.0 { g.iter().map(|v| v / peak).collect() } else { g })
    }
}

impl Session {
    /// The trained model as a file the lab (and `cvjourney model inspect`) reads back: weights and buffers,
    /// plus the config, the normalization statistics and the class names in the header. (`checkpoint`
    /// writes the same entries plus the optimizer's state and the history, to resume training.)
    pub fn export_model(&self) -> Result<Vec<u8>> {
        self.not_trees("exported")?;
        let json = |v: serde_json::Result<String>| v.map_err(|e| LabError::InvalidArgument(e.to_string()));
        let mut meta = HashMap::new();
        meta.insert("format".to_string(), MODEL_FORMAT.to_string());
        meta.insert("config".to_string(), json(serde_json::to_string(&self.config))?);
        meta.insert("normalization".to_string(), json(serde_json::to_string(&self.norm))?);
        meta.insert("classes".to_string(), json(serde_json::to_string(&self.train.class_names))?);
        if let Some(acc) = self.history.last().and_then(|m| m.test_accuracy) {
            meta.insert("test_accuracy".to_string(), acc.to_string());
        }
        nn::save_state(&self.model, meta)
    }

    fn view(&self) -> Result<View<'_>> {
        self.not_trees("used by the drawing pad")?;
        let outputs = summary::io(&self.config)?.1;
        if self.train.class_names.len() != outputs || outputs < 2 || self.train.feature_shape.len() != 3 {
            return Err(LabError::InvalidArgument("this run does not classify images".into()));
        }
        if self.train.feature_shape[0] != 1 {
            return Err(LabError::InvalidArgument(
                "this run classifies colour images, not grey drawings".into(),
            ));
        }
        Ok(View { model: &self.model, norm: &self.norm, input: &self.train.feature_shape, shared: true })
    }

    /// The class names when this run classifies 28x28 images (the drawing pad can use its model), else
    /// nothing.
    pub fn drawing_classes(&self) -> Option<&[String]> {
        self.view().ok().map(|_| self.train.class_names.as_slice())
    }

    /// Class probabilities of the model being trained, for one image of raw pixels (0..255).
    pub async fn classify_async(&self, pixels: &[f32]) -> Result<Vec<f32>> {
        self.view()?.predict(pixels).await
    }

    /// One image's values after this run's input normalization.
    pub fn normalized_input(&self, pixels: &[f32]) -> Result<Vec<f32>> {
        self.view()?.normalized(pixels)
    }

    /// The first convolution's feature maps of the model being trained, for one image of raw pixels.
    pub async fn feature_maps_async(&self, pixels: &[f32]) -> Result<Vec<Plane>> {
        self.view()?.feature_maps(pixels).await
    }

    /// |∂(top class)/∂(pixel)| of the model being trained, scaled to [0, 1].
    pub async fn saliency_async(&self, pixels: &[f32]) -> Result<Vec<f32>> {
        self.view()?.saliency(pixels).await
    }
}
