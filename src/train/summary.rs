//! The shape walk-through of a model before any data is loaded: each layer's output shape and parameter
//! count for one example (textbook §5.2's Z, A shapes; §7's output-size formula in action). The page shows
//! it next to the settings, so an architecture that cannot work (28x28 pooled five times) is refused there.

use serde::Serialize;

use super::{
    DatasetSpec, Features, LossKind, Pool, SessionConfig, SkipJoin, ToyModel, build_model, conv_output_size,
};
use crate::autograd;
use crate::data::image::edge_feature_len;
use crate::error::{LabError, Result};
use crate::nn::Sequential;
use crate::tensor::Tensor;

/// One row of the walk-through.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayerShape {
    pub layer: String,
    /// Output shape for a batch of N, written with N first: [N, 8, 22, 22].
    pub shape: String,
    pub parameters: usize,
}

/// The input shape of one example and the number of outputs, from the dataset's description alone.
pub(super) fn io(config: &SessionConfig) -> Result<(Vec<usize>, usize)> {
    let classes = match config.loss {
        LossKind::BinaryCrossEntropy => 1,
        _ => 0,
    };
    let pick = |c: usize| if classes == 1 { 1 } else { c };
    let (input, outputs) = match &config.dataset {
        DatasetSpec::Advertising { features } => (vec![features.len()], 1),
        DatasetSpec::Iris { classes: c, features } => (vec![features.len()], pick(*c)),
        DatasetSpec::FashionMnist { .. } | DatasetSpec::MnistSample { .. } => (vec![1, 28, 28], pick(10)),
        DatasetSpec::Cifar10 { .. } => (vec![3, 32, 32], pick(10)),
        DatasetSpec::Xor => (vec![2], pick(2)),
        DatasetSpec::Rings { rings, .. } => (vec![2], pick(*rings)),
        DatasetSpec::Toy { function, .. } => (vec![function.dims()], 1),
    };
    if config.features == Features::Edges {
        let len = edge_feature_len(&input).ok_or_else(|| {
            LabError::InvalidArgument("edge features are computed from images; this dataset has none".into())
        })?;
        return Ok((vec![len], outputs));
    }
    Ok((input, outputs))
}

/// Every layer's output shape for `config`'s model, or the reason the model cannot be built.
pub fn describe_model(config: &SessionConfig) -> Result<Vec<LayerShape>> {
    super::source::validate(config)?;
    let (input, outputs) = io(config)?;
    if input.contains(&0) {
        return Err(LabError::InvalidArgument("the dataset has no features selected".into()));
    }
    let model = match &config.dataset {
        DatasetSpec::Toy { function, start } => {
            Sequential::default().append(ToyModel::new(*function, start)?)
        }
        _ if config.model.trees.is_some() => Sequential::default().append(super::BoostedTrees {
            forests: Default::default(),
            classes: outputs,
            spec: config.model.trees.expect("checked above"),
        }),
        _ => build_model(&input, &config.model, outputs)?,
    };
    super::freeze(&model, config.model.frozen)?;
    let mut dims = vec![1];
    dims.extend(&input);
    let mut h = Tensor::zeros(dims.as_slice());
    let mut rows = vec![LayerShape { layer: "input".into(), shape: shape(&h), parameters: 0 }];
    autograd::no_grad(|| -> Result<()> {
        for layer in &model.layers {
            h = layer.forward(&h)?;
            let parameters = layer.parameters().iter().map(|p| p.numel()).sum();
            let params = layer.parameters();
            let frozen = !params.is_empty() && params.iter().all(|p| !p.requires_grad());
            let name = if frozen { format!("{} (frozen)", layer.describe()) } else { layer.describe() };
            rows.push(LayerShape { layer: name, shape: shape(&h), parameters });
        }
        Ok(())
    })?;
    Ok(rows)
}

fn shape(t: &Tensor) -> String {
    let rest: Vec<String> = t.dims().iter().skip(1).map(|d| d.to_string()).collect();
    if t.rank() == 0 { "scalar".into() } else { format!("[N, {}]", rest.join(", ")) }
}

/// The most memory a run may plan to use: weights, their gradients and optimizer state, and a batch's
/// activations with their gradients. A wasm32 module can address 4 GiB at most and browsers often give
/// less; past this a config is refused before anything is allocated (a failed allocation would abort the
/// page's module, not raise an error).
pub const MEMORY_BUDGET: u64 = 2 << 30;

/// An upper estimate of the bytes `config`'s model and batch need while training (f32 everywhere):
/// parameters ×4 (values, gradients, two optimizer moments), activations ×2 per example (values kept for
/// backward and their gradients, BatchNorm and dropout outputs counted too) plus the largest im2col matrix,
/// times the batch. `None` when the shapes do not work out; building the model then says why.
pub fn memory_estimate(config: &SessionConfig) -> Option<u64> {
    let (params, acts, scratch) = walk(config)?;
    Some(bytes(params, acts, scratch, config.batch_size))
}

/// Rows per evaluation batch: as many as fit in 64 MiB of activations (values, gradients' room, im2col),
/// from 32 to 4096. A whole 4096-image batch through the W3 CNN took ~1.6 GiB, and wasm memory never
/// shrinks: a phone's tab would not survive it.
pub fn evaluation_rows(config: &SessionConfig) -> usize {
    const BUDGET: u64 = 64 << 20;
    let per_example = walk(config).map_or(0, |(_, acts, scratch)| bytes(0, acts, scratch, 1));
    (BUDGET / per_example.max(1)).clamp(32, 4096) as usize
}

/// (parameters, activations per example, largest im2col matrix per example), in floats.
fn walk(config: &SessionConfig) -> Option<(u64, u64, u64)> {
    let (input, outputs) = io(config).ok()?;
    let spec = &config.model;
    // Saturating throughout: hostile sizes (a link may say 2^64 classes) must give a huge estimate, not wrap.
    let n = |v: usize| v as u64;
    let mul = |a: u64, b: u64| a.saturating_mul(b);
    let extra = u64::from(spec.batch_norm) + u64::from(spec.dropout > 0.0);
    let mut acts = input.iter().fold(1u64, |a, &d| mul(a, n(d)));
    let (mut params, mut scratch, mut width) = (0u64, 0u64, acts);
    if !spec.conv.is_empty() || spec.conv_head {
        let [mut c, mut h, mut w] = input[..] else { return None };
        for b in &spec.conv {
            let pad = b.pad();
            let (nh, nw) = (
                conv_output_size(h, b.kernel, b.stride, pad)?,
                conv_output_size(w, b.kernel, b.stride, pad)?,
            );
            let taps = mul(mul(n(c), n(b.kernel)), n(b.kernel));
            params = params.saturating_add(mul(taps, n(b.channels))).saturating_add(n(b.channels));
            let map = mul(n(nh), n(nw));
            scratch = scratch.max(mul(taps, map));
            acts = acts.saturating_add(mul(mul(n(b.channels), map), 2 + extra));
            // A concatenating skip passes the input's channels on too (an upper bound where it does not fit).
            let passed = if spec.residual && spec.join == SkipJoin::Concat { c } else { 0 };
            acts = acts.saturating_add(mul(mul(n(passed), map), 2));
            (c, h, w) = (b.channels.saturating_add(passed), nh, nw);
            if b.pool != Pool::None {
                (h, w) = (conv_output_size(h, 2, 2, 0)?, conv_output_size(w, 2, 2, 0)?);
                acts = acts.saturating_add(mul(n(c), mul(n(h), n(w))));
            }
        }
        if spec.conv_head {
            params = params.saturating_add(mul(n(c), n(outputs))).saturating_add(n(outputs));
            acts = acts.saturating_add(mul(n(outputs), mul(n(h), n(w)))).saturating_add(n(outputs));
            return Some((params, acts, scratch));
        }
        width = mul(n(c), mul(n(h), n(w)));
    }
    let concat = spec.residual && spec.join == SkipJoin::Concat;
    for (i, units) in spec.hidden.iter().map(|&u| n(u)).chain([n(outputs)]).enumerate() {
        params = params.saturating_add(mul(width, units)).saturating_add(units);
        acts = acts.saturating_add(mul(units, 2 + extra));
        let hidden = i < spec.hidden.len();
        width = if concat && hidden { units.saturating_add(width) } else { units };
        acts = acts.saturating_add(if concat && hidden { mul(width, 2) } else { 0 });
    }
    Some((params, acts, scratch))
}

fn bytes(params: u64, acts: u64, scratch: u64, batch: usize) -> u64 {
    let per_example = acts.saturating_mul(2).saturating_add(scratch);
    4u64.saturating_mul(params.saturating_mul(4).saturating_add((batch as u64).saturating_mul(per_example)))
}
