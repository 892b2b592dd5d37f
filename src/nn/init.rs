//! Weight initializers (textbook §6). n is the fan-in (inputs per unit) unless `fan_avg` is set, in which
//! case n = (fan_in + fan_out) / 2 as in Glorot & Bengio (2010).

use serde::{Deserialize, Serialize};

use crate::tensor::{Shape, Tensor};

/// How a layer's weights start.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Init {
    Zeros,
    Constant {
        value: f32,
    },
    Uniform {
        low: f32,
        high: f32,
    },
    Normal {
        mean: f32,
        std: f32,
    },
    /// U(±√(3/n)): variance 1/n, for tanh.
    XavierUniform {
        fan_avg: bool,
    },
    /// N(0, 1/n).
    XavierNormal {
        fan_avg: bool,
    },
    /// The sigmoid variant, four times wider: U(±4√(3/n)).
    XavierUniformSigmoid {
        fan_avg: bool,
    },
    /// N(0, 16/n).
    XavierNormalSigmoid {
        fan_avg: bool,
    },
    /// U(±√(6/n)): variance 2/n, for ReLU (He et al., 2015).
    KaimingUniform,
    /// N(0, 2/n).
    KaimingNormal,
}

impl Init {
    /// A tensor of `shape` drawn from the crate's seeded generator, for a layer with these fans.
    pub fn sample(self, shape: impl Into<Shape>, fan_in: usize, fan_out: usize) -> Tensor {
        let shape = shape.into();
        let n = |avg: bool| if avg { (fan_in + fan_out) as f32 / 2.0 } else { fan_in as f32 }.max(1.0);
        match self {
            Init::Zeros => Tensor::zeros(shape),
            Init::Constant { value } => Tensor::full(shape, value),
            Init::Uniform { low, high } => Tensor::uniform(shape, low, high),
            Init::Normal { mean, std } => Tensor::normal(shape, mean, std),
            Init::XavierUniform { fan_avg } => bounded(shape, (3.0 / n(fan_avg)).sqrt()),
            Init::XavierNormal { fan_avg } => Tensor::normal(shape, 0.0, (1.0 / n(fan_avg)).sqrt()),
            Init::XavierUniformSigmoid { fan_avg } => bounded(shape, 4.0 * (3.0 / n(fan_avg)).sqrt()),
            Init::XavierNormalSigmoid { fan_avg } => Tensor::normal(shape, 0.0, (16.0 / n(fan_avg)).sqrt()),
            Init::KaimingUniform => bounded(shape, (6.0 / n(false)).sqrt()),
            Init::KaimingNormal => Tensor::normal(shape, 0.0, (2.0 / n(false)).sqrt()),
        }
    }

    /// The variance the formula promises for fan-in `n` (and fan-out `m`), for tests and the UI.
    pub fn variance(self, fan_in: usize, fan_out: usize) -> f32 {
        let n = |avg: bool| if avg { (fan_in + fan_out) as f32 / 2.0 } else { fan_in as f32 };
        match self {
            Init::Zeros | Init::Constant { .. } => 0.0,
            Init::Uniform { low, high } => (high - low).powi(2) / 12.0,
            Init::Normal { std, .. } => std * std,
            Init::XavierUniform { fan_avg } | Init::XavierNormal { fan_avg } => 1.0 / n(fan_avg),
            Init::XavierUniformSigmoid { fan_avg } | Init::XavierNormalSigmoid { fan_avg } => {
                16.0 / n(fan_avg)
            }
            Init::KaimingUniform | Init::KaimingNormal => 2.0 / n(false),
        }
    }
}

fn bounded(shape: Shape, a: f32) -> Tensor {
    Tensor::uniform(shape, -a, a)
}
