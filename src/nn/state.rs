//! Saving and loading a module's parameters and buffers by name, in the safetensors format (Hugging Face):
//! a JSON header of names, dtypes and shapes, then the raw little-endian f32 data.

use std::collections::HashMap;

use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use super::Module;
use crate::error::{LabError, Result};
use crate::optim::Optimizer;
use crate::tensor::Tensor;

fn err(message: String) -> LabError {
    LabError::Format { kind: "safetensors", message }
}

/// Every parameter and buffer of `module` as a safetensors file, with `metadata` (e.g. the config and the
/// normalization statistics as JSON strings) in its header.
pub fn save_state(module: &dyn Module, metadata: HashMap<String, String>) -> Result<Vec<u8>> {
    serialize(module.named_parameters().into_iter().chain(module.named_buffers()).collect(), metadata)
}

/// A checkpoint: the module's tensors plus the optimizer's state (so training resumes exactly).
pub fn save_checkpoint(
    module: &dyn Module,
    optimizer: &Optimizer,
    metadata: HashMap<String, String>,
) -> Result<Vec<u8>> {
    let mut tensors: Vec<(String, Tensor)> =
        module.named_parameters().into_iter().chain(module.named_buffers()).collect();
    tensors.extend(optimizer.state_tensors());
    serialize(tensors, metadata)
}

/// Loads a checkpoint written by `save_checkpoint` into `module` and `optimizer`.
pub fn load_checkpoint(
    module: &dyn Module,
    optimizer: &mut Optimizer,
    bytes: &[u8],
) -> Result<HashMap<String, String>> {
    let meta = load_tensors(module, bytes, true)?;
    let file = SafeTensors::deserialize(bytes).map_err(|e| err(format!("cannot be read: {e}")))?;
    let get = |name: &str| {
        file.tensor(name)
            .ok()
            .filter(|v| v.dtype() == Dtype::F32)
            .map(|v| bytemuck::pod_collect_to_vec::<u8, f32>(v.data()))
    };
    optimizer.load_state_tensors(&get)?;
    Ok(meta)
}

fn serialize(tensors: Vec<(String, Tensor)>, metadata: HashMap<String, String>) -> Result<Vec<u8>> {
    let named: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .into_iter()
        .map(|(n, t)| (n, t.dims().to_vec(), bytemuck::cast_slice::<f32, u8>(&t.to_vec()).to_vec()))
        .collect();
    let views = named
        .iter()
        .map(|(n, shape, bytes)| {
            Ok((
                n.as_str(),
                TensorView::new(Dtype::F32, shape.clone(), bytes).map_err(|e| err(e.to_string()))?,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    let bytes = safetensors::tensor::serialize(views, Some(metadata.into_iter().collect()))
        .map_err(|e| err(e.to_string()))?;
    canonical_header(&bytes)
}

/// safetensors writes the header from hash maps, whose order changes from run to run; the same model must
/// give the same bytes (the starter models' checksums), so the header is rewritten with its keys sorted
/// (serde_json's map is ordered), padded with spaces to 8 bytes as the format allows. Tensor data is kept.
fn canonical_header(bytes: &[u8]) -> Result<Vec<u8>> {
    let bad = || err("the serializer wrote an unreadable header".into());
    let n = bytes.get(..8).and_then(|b| b.try_into().ok()).map(u64::from_le_bytes).ok_or_else(bad)? as usize;
    let header = bytes.get(8..8 + n).ok_or_else(bad)?;
    let value: serde_json::Value = serde_json::from_slice(header).map_err(|_| bad())?;
    let mut text = serde_json::to_string(&value).map_err(|_| bad())?;
    while text.len() % 8 != 0 {
        text.push(' ');
    }
    let mut out = Vec::with_capacity(8 + text.len() + bytes.len() - 8 - n);
    out.extend_from_slice(&(text.len() as u64).to_le_bytes());
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(&bytes[8 + n..]);
    Ok(out)
}

/// Loads parameters and buffers by name into `module`. Every tensor the module has must be present with
/// the same shape and dtype F32; extra tensors in the file are an error too (a different architecture).
pub fn load_state(module: &dyn Module, bytes: &[u8]) -> Result<HashMap<String, String>> {
    load_tensors(module, bytes, false)
}

/// `load_state` for a file that may also hold an optimizer's state (a checkpoint): its "optimizer.*"
/// tensors are ignored; every other tensor must match the module exactly.
pub fn load_model_state(module: &dyn Module, bytes: &[u8]) -> Result<HashMap<String, String>> {
    load_tensors(module, bytes, true)
}

/// Loads the module's tensors; `extra_allowed` lets a checkpoint carry optimizer tensors besides them.
fn load_tensors(module: &dyn Module, bytes: &[u8], extra_allowed: bool) -> Result<HashMap<String, String>> {
    let file = SafeTensors::deserialize(bytes).map_err(|e| err(format!("cannot be read: {e}")))?;
    let targets: Vec<_> = module.named_parameters().into_iter().chain(module.named_buffers()).collect();
    let own = file.names().iter().filter(|n| !n.starts_with("optimizer.")).count();
    if own != targets.len() || (!extra_allowed && file.len() != targets.len()) {
        return Err(err(format!("holds {own} model tensors, this model has {}", targets.len())));
    }
    for (name, t) in &targets {
        let view = file.tensor(name).map_err(|_| err(format!("has no tensor named '{name}'")))?;
        if view.dtype() != Dtype::F32 || view.shape() != t.dims() {
            return Err(err(format!(
                "tensor '{name}' is {:?} {:?}; the model needs F32 {:?}",
                view.dtype(),
                view.shape(),
                t.dims()
            )));
        }
        t.assign(&bytemuck::pod_collect_to_vec::<u8, f32>(view.data()))?;
    }
    let (_, meta) = SafeTensors::read_metadata(bytes).map_err(|e| err(e.to_string()))?;
    Ok(meta.metadata().clone().map(|m| m.into_iter().collect()).unwrap_or_default())
}
