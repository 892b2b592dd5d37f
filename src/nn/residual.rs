//! Skip connections (textbook §9): a body whose output joins its input by addition (ResNet) or by
//! channel concatenation (DenseNet). When shapes differ, a 1x1 convolution (with the body's stride) maps
//! the input onto the body's output.

use super::{Conv2d, Module, Sequential};
use crate::error::Result;
use crate::tensor::Tensor;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Join {
    /// y = body(x) + shortcut(x)
    Add,
    /// y = concat(body(x), shortcut(x)) along channels
    Concat,
}

pub struct Residual {
    pub body: Sequential,
    /// Maps x to the body's output shape; `None` means the identity.
    pub shortcut: Option<Conv2d>,
    pub join: Join,
}

impl Module for Residual {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = self.body.forward(x)?;
        let s = match &self.shortcut {
            Some(conv) => conv.forward(x)?,
            None => x.clone(),
        };
        match self.join {
            Join::Add => y.add(&s),
            Join::Concat => Tensor::concat(&[&y, &s], 1),
        }
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        let mut v: Vec<(String, Tensor)> =
            self.body.named_parameters().into_iter().map(|(n, t)| (format!("body.{n}"), t)).collect();
        if let Some(c) = &self.shortcut {
            v.extend(c.named_parameters().into_iter().map(|(n, t)| (format!("shortcut.{n}"), t)));
        }
        v
    }
    fn named_buffers(&self) -> Vec<(String, Tensor)> {
        self.body.named_buffers().into_iter().map(|(n, t)| (format!("body.{n}"), t)).collect()
    }
    fn set_training(&self, on: bool) {
        self.body.set_training(on);
    }
    fn describe(&self) -> String {
        format!("Residual({:?}, {})", self.join, self.body.describe())
    }
}
