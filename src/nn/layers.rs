//! The everyday layers: Linear, Conv2d, pooling, Flatten, Dropout, GaussianNoise and activations.

use serde::{Deserialize, Serialize};

use super::{Init, Mode, Module};
use crate::error::{LabError, Result};
use crate::tensor::Tensor;

/// y = x·Wᵀ + b. x: (N, in) -> (N, out); W: (out, in) as in PyTorch, b: (out,).
pub struct Linear {
    pub weight: Tensor,
    pub bias: Option<Tensor>,
}

impl Linear {
    /// Weights from `init` (fan-in = `inputs`), bias zero.
    pub fn new(inputs: usize, outputs: usize, init: Init, bias: bool) -> Linear {
        Linear {
            weight: init.sample([outputs, inputs], inputs, outputs).requires_grad_(true),
            bias: bias.then(|| Tensor::zeros([outputs]).requires_grad_(true)),
        }
    }
}

impl Module for Linear {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        // x @ Wᵀ + b: on the GPU one launch, the transpose read in place and the bias added as it stores.
        x.linear(&self.weight, self.bias.as_ref())
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        let mut v = vec![("weight".to_string(), self.weight.clone())];
        v.extend(self.bias.iter().map(|b| ("bias".to_string(), b.clone())));
        v
    }
    fn describe(&self) -> String {
        let d = self.weight.dims();
        format!("Linear({} -> {})", d[1], d[0])
    }
    fn as_linear(&self) -> Option<&Linear> {
        Some(self)
    }
}

/// Zero padding of a convolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Padding {
    /// None: the output shrinks by kernel − 1.
    Valid,
    /// (kernel − 1) / 2 on each side: with stride 1 and an odd kernel the output keeps the input's size.
    Same,
    Explicit(usize),
}

/// 2-D convolution with bias. x: (N, C_in, H, W) -> (N, C_out, H', W'); W: (C_out, C_in, K, K).
pub struct Conv2d {
    pub weight: Tensor,
    pub bias: Option<Tensor>,
    pub stride: usize,
    pub padding: Padding,
}

impl Conv2d {
    pub fn new(
        c_in: usize,
        c_out: usize,
        kernel: usize,
        stride: usize,
        padding: Padding,
        init: Init,
    ) -> Conv2d {
        let fan_in = c_in * kernel * kernel;
        Conv2d {
            weight: init
                .sample([c_out, c_in, kernel, kernel], fan_in, c_out * kernel * kernel)
                .requires_grad_(true),
            bias: Some(Tensor::zeros([1, c_out, 1, 1]).requires_grad_(true)),
            stride,
            padding,
        }
    }

    fn pad(&self) -> usize {
        match self.padding {
            Padding::Valid => 0,
            Padding::Same => (self.weight.dims()[2] - 1) / 2,
            Padding::Explicit(p) => p,
        }
    }
}

impl Conv2d {
    /// This layer's output for x, then a ReLU when `relu`: on the GPU one launch (`Tensor::conv2d_fused`).
    pub fn forward_then_relu(&self, x: &Tensor, relu: bool) -> Result<Tensor> {
        let p = self.pad();
        x.conv2d_fused(&self.weight, self.bias.as_ref(), relu, (self.stride, self.stride), (p, p))
    }
}

impl Module for Conv2d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_then_relu(x, false)
    }
    fn as_conv2d(&self) -> Option<&Conv2d> {
        Some(self)
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        let mut v = vec![("weight".to_string(), self.weight.clone())];
        v.extend(self.bias.iter().map(|b| ("bias".to_string(), b.clone())));
        v
    }
    fn describe(&self) -> String {
        let d = self.weight.dims();
        format!(
            "Conv2d({} -> {}, {}x{}, stride {}, padding {})",
            d[1],
            d[0],
            d[2],
            d[3],
            self.stride,
            self.pad()
        )
    }
}

/// Max pooling with a square window. (N, C, H, W) -> (N, C, H', W')
pub struct MaxPool2d {
    pub kernel: usize,
    pub stride: usize,
    pub padding: usize,
}

impl Module for MaxPool2d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.max_pool2d(self.kernel, self.stride, self.padding)
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        Vec::new()
    }
    fn describe(&self) -> String {
        format!("MaxPool2d({}, stride {})", self.kernel, self.stride)
    }
}

/// Average pooling with a square window. (N, C, H, W) -> (N, C, H', W')
pub struct AvgPool2d {
    pub kernel: usize,
    pub stride: usize,
    pub padding: usize,
}

impl Module for AvgPool2d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.avg_pool2d(self.kernel, self.stride, self.padding)
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        Vec::new()
    }
    fn describe(&self) -> String {
        format!("AvgPool2d({}, stride {})", self.kernel, self.stride)
    }
}

/// (N, ...) -> (N, product of the rest).
pub struct Flatten;

impl Module for Flatten {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let n = *x
            .dims()
            .first()
            .ok_or_else(|| LabError::InvalidArgument("Flatten: a scalar has no batch".into()))?;
        x.reshape(&[n as isize, -1])
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        Vec::new()
    }
    fn describe(&self) -> String {
        "Flatten".into()
    }
}

/// Inverted dropout with probability `p`: active in training, the identity in evaluation.
#[derive(Default)]
pub struct Dropout {
    pub p: f32,
    pub(crate) mode: Mode,
}

impl Dropout {
    pub fn new(p: f32) -> Dropout {
        Dropout { p, mode: Mode::default() }
    }
}

impl Module for Dropout {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.dropout(self.p, self.mode.training())
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        Vec::new()
    }
    fn set_training(&self, on: bool) {
        self.mode.set(on);
    }
    fn describe(&self) -> String {
        format!("Dropout(p = {})", self.p)
    }
}

/// Adds N(0, std²) noise in training (textbook §9's noise injection); the identity in evaluation.
#[derive(Default)]
pub struct GaussianNoise {
    pub std: f32,
    pub(crate) mode: Mode,
}

impl GaussianNoise {
    pub fn new(std: f32) -> GaussianNoise {
        GaussianNoise { std, mode: Mode::default() }
    }
}

impl Module for GaussianNoise {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if !self.mode.training() || self.std == 0.0 {
            return Ok(x.clone());
        }
        x.add(&Tensor::normal(x.shape().clone(), 0.0, self.std))
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        Vec::new()
    }
    fn set_training(&self, on: bool) {
        self.mode.set(on);
    }
    fn describe(&self) -> String {
        format!("GaussianNoise(std = {})", self.std)
    }
}

/// Activation functions as modules.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Activation {
    Identity,
    Sigmoid,
    Tanh,
    #[serde(rename = "relu")]
    ReLU,
    #[serde(rename = "leaky-relu")]
    LeakyReLU(f32),
    #[serde(rename = "elu")]
    ELU(f32),
    #[serde(rename = "gelu")]
    GELU,
    /// x·σ(x), also called SiLU.
    Swish,
}

impl Activation {
    pub fn apply(self, x: &Tensor) -> Tensor {
        match self {
            Activation::Identity => x.clone(),
            Activation::Sigmoid => x.sigmoid(),
            Activation::Tanh => x.tanh(),
            Activation::ReLU => x.relu(),
            Activation::LeakyReLU(a) => x.leaky_relu(a),
            Activation::ELU(a) => x.elu(a),
            Activation::GELU => x.gelu(),
            Activation::Swish => x.silu(),
        }
    }
}

impl Module for Activation {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.apply(x))
    }
    fn as_activation(&self) -> Option<Activation> {
        Some(*self)
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        Vec::new()
    }
    fn describe(&self) -> String {
        format!("{self:?}")
    }
}
