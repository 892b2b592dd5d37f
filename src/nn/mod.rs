//! PyTorch-shaped building blocks: the `Module` trait, `Sequential`, layers and activations. A learner who
//! knows `torch.nn` recognises every name here.

pub mod init;
mod layers;
mod norm;
mod residual;
mod state;

use std::cell::Cell;

pub use init::Init;
pub use layers::{
    Activation, AvgPool2d, Conv2d, Dropout, Flatten, GaussianNoise, Linear, MaxPool2d, Padding,
};
pub use norm::{BatchNorm, BatchNorm1d, BatchNorm2d, LayerNorm};
pub use residual::{Join, Residual};
pub use state::{load_checkpoint, load_model_state, load_state, save_checkpoint, save_state};

use crate::error::Result;
use crate::tensor::Tensor;

/// A layer or a network of layers.
pub trait Module {
    /// y = f(x).
    fn forward(&self, x: &Tensor) -> Result<Tensor>;
    /// Learnable tensors with dotted names ("0.weight", "3.bias", ...), as in PyTorch's `state_dict`.
    fn named_parameters(&self) -> Vec<(String, Tensor)>;
    /// Non-learned state saved with the model (BatchNorm's running statistics).
    fn named_buffers(&self) -> Vec<(String, Tensor)> {
        Vec::new()
    }
    /// Training mode (dropout, noise and batch statistics on) or evaluation mode.
    fn set_training(&self, _on: bool) {}
    /// A one-line description, e.g. "Linear(784 -> 128)".
    fn describe(&self) -> String;
    /// This layer as a `Linear`, if it is one: the trainer fuses a classifier's last `Linear` with its
    /// cross-entropy (`loss::linear_cross_entropy`).
    fn as_linear(&self) -> Option<&Linear> {
        None
    }
    /// This layer as a `Conv2d`, if it is one: `Sequential` runs it and a ReLU after it as one op.
    fn as_conv2d(&self) -> Option<&Conv2d> {
        None
    }
    /// This layer as an `Activation`, if it is one: `Sequential` runs a `Linear` and the ReLU after it as
    /// one op (`Tensor::linear_relu`: one launch on the GPU).
    fn as_activation(&self) -> Option<Activation> {
        None
    }

    fn parameters(&self) -> Vec<Tensor> {
        self.named_parameters().into_iter().map(|(_, t)| t).collect()
    }
    fn train(&self) {
        self.set_training(true);
    }
    fn eval(&self) {
        self.set_training(false);
    }
    /// Moves every parameter and buffer to `device` in place (`model.to(device)` in PyTorch).
    fn to_device(&self, device: crate::tensor::Device) -> Result<()> {
        for (_, t) in self.named_parameters().into_iter().chain(self.named_buffers()) {
            t.move_to_(device)?;
        }
        Ok(())
    }
}

/// Layers applied in order; parameters are named by position ("0.weight").
#[derive(Default)]
pub struct Sequential {
    pub layers: Vec<Box<dyn Module>>,
}

impl Sequential {
    pub fn new(layers: Vec<Box<dyn Module>>) -> Sequential {
        Sequential { layers }
    }

    /// The layers before a final `Linear`, and that layer (what the trainer fuses with the loss).
    pub fn split_linear_head(&self) -> Option<(&[Box<dyn Module>], &Linear)> {
        let (last, body) = self.layers.split_last()?;
        Some((body, last.as_linear()?))
    }

    /// The mean cross-entropy of this model's logits for `x` against class indices: forward, then
    /// `loss::cross_entropy`, except that a final `Linear` whose input is a batch of vectors is fused with
    /// the loss (`loss::linear_cross_entropy`: one pass over that input on the CPU, five launches on the
    /// GPU). What the trainer's classifier steps and the GPU step profile compute.
    pub fn cross_entropy(&self, x: &Tensor, targets: &[usize]) -> Result<Tensor> {
        let Some((body, head)) = self.split_linear_head() else {
            return crate::loss::cross_entropy(&self.forward(x)?, targets);
        };
        let h = forward_layers(body, x)?;
        if h.rank() == 2 {
            return crate::loss::linear_cross_entropy(&h, &head.weight, head.bias.as_ref(), targets);
        }
        crate::loss::cross_entropy(&head.forward(&h)?, targets)
    }

    /// Appends a layer (builder style; `nn.Sequential.append` in PyTorch).
    pub fn append(mut self, layer: impl Module + 'static) -> Sequential {
        self.layers.push(Box::new(layer));
        self
    }
}

/// Prefixes child names: "weight" of child 2 becomes "2.weight".
fn prefixed(i: usize, named: Vec<(String, Tensor)>) -> impl Iterator<Item = (String, Tensor)> {
    named.into_iter().map(move |(n, t)| (format!("{i}.{n}"), t))
}

/// `layers` applied in order to x, a `Linear` or `Conv2d` followed by ReLU as one op (`Tensor::linear_relu`,
/// `Tensor::conv2d_fused`: one launch on the GPU; on the CPU the same ops as run apart).
fn forward_layers(layers: &[Box<dyn Module>], x: &Tensor) -> Result<Tensor> {
    let mut h = x.clone();
    let mut i = 0;
    while i < layers.len() {
        if layers.get(i + 1).and_then(|l| l.as_activation()) == Some(Activation::ReLU) {
            if let Some(linear) = layers[i].as_linear() {
                h = h.linear_relu(&linear.weight, linear.bias.as_ref())?;
                i += 2;
                continue;
            }
            if let Some(conv) = layers[i].as_conv2d() {
                h = conv.forward_then_relu(&h, true)?;
                i += 2;
                continue;
            }
        }
        h = layers[i].forward(&h)?;
        i += 1;
    }
    Ok(h)
}

impl Module for Sequential {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        forward_layers(&self.layers, x)
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        self.layers.iter().enumerate().flat_map(|(i, l)| prefixed(i, l.named_parameters())).collect()
    }
    fn named_buffers(&self) -> Vec<(String, Tensor)> {
        self.layers.iter().enumerate().flat_map(|(i, l)| prefixed(i, l.named_buffers())).collect()
    }
    fn set_training(&self, on: bool) {
        self.layers.iter().for_each(|l| l.set_training(on));
    }
    fn describe(&self) -> String {
        let inner: Vec<String> = self.layers.iter().map(|l| l.describe()).collect();
        format!("Sequential({})", inner.join(", "))
    }
}

/// The training flag every mode-dependent layer carries (on by default, as in PyTorch).
#[derive(Debug)]
pub(crate) struct Mode(Cell<bool>);

impl Default for Mode {
    fn default() -> Self {
        Mode(Cell::new(true))
    }
}

impl Mode {
    pub(crate) fn training(&self) -> bool {
        self.0.get()
    }
    pub(crate) fn set(&self, on: bool) {
        self.0.set(on);
    }
}
