//! The shape walk-through of a model before any data is loaded: each layer's output shape and parameter
//! count for one example (textbook §5.2's Z, A shapes; §7's output-size formula in action). The page shows
//! it next to the settings, so an architecture that cannot work (28x28 pooled five times) is refused there.

use serde::Serialize;

use super::{DatasetSpec, LossKind, SessionConfig, ToyModel, build_model};
use crate::autograd;
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
    Ok(match &config.dataset {
        DatasetSpec::Advertising { features } => (vec![features.len()], 1),
        DatasetSpec::Iris { classes: c, features } => (vec![features.len()], pick(*c)),
        DatasetSpec::FashionMnist { .. } | DatasetSpec::MnistSample { .. } => (vec![1, 28, 28], pick(10)),
        DatasetSpec::Xor => (vec![2], pick(2)),
        DatasetSpec::Rings { rings, .. } => (vec![2], pick(*rings)),
        DatasetSpec::Toy { function, .. } => (vec![function.dims()], 1),
    })
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
        _ => build_model(&input, &config.model, outputs)?,
    };
    let mut dims = vec![1];
    dims.extend(&input);
    let mut h = Tensor::zeros(dims.as_slice());
    let mut rows = vec![LayerShape { layer: "input".into(), shape: shape(&h), parameters: 0 }];
    autograd::no_grad(|| -> Result<()> {
        for layer in &model.layers {
            h = layer.forward(&h)?;
            let parameters = layer.parameters().iter().map(|p| p.numel()).sum();
            rows.push(LayerShape { layer: layer.describe(), shape: shape(&h), parameters });
        }
        Ok(())
    })?;
    Ok(rows)
}

fn shape(t: &Tensor) -> String {
    let rest: Vec<String> = t.dims().iter().skip(1).map(|d| d.to_string()).collect();
    if t.rank() == 0 { "scalar".into() } else { format!("[N, {}]", rest.join(", ")) }
}
