//! Toy functions for chapter 5 (textbook §6.2): a loss with no data, just a point p that an optimizer
//! moves downhill. Each is built from tensor ops, so the lab's autograd supplies its gradient and every
//! optimizer of the lab can race on it; `eval` is the f64 scalar reference the plots and tests use.

use serde::{Deserialize, Serialize};

use crate::error::{LabError, Result};
use crate::nn::Module;
use crate::tensor::Tensor;

/// The surfaces of the textbook's optimization experiments.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum ToyFunction {
    /// a·x²: gradient descent multiplies x by (1 − 2a·lr) each step.
    Quadratic { a: f32 },
    /// x² + b·y²: a ravine when b is large.
    Ellipse { b: f32 },
    /// g(f(x)) with f(x) = x² + 3x and g(u) = u³ + u + 2.
    Composite,
    /// log(x⁴ + 10⁻⁵): steep far away, nearly flat near 0.
    LogQuartic,
    /// x² − y²: a saddle point at the origin.
    Saddle,
    /// −0.2x⁵ + 0.1x⁴ + x³ − 0.5x: a local minimum that momentum can roll out of.
    Quintic,
    /// L = (a·x + b − y)² for one data point (x, y): chapter 7's first graph, with p = (a, b) as two
    /// separate leaves.
    AffineSquare { x: f32, y: f32 },
}

impl ToyFunction {
    /// Number of coordinates of p.
    pub fn dims(self) -> usize {
        match self {
            ToyFunction::Ellipse { .. } | ToyFunction::Saddle | ToyFunction::AffineSquare { .. } => 2,
            _ => 1,
        }
    }

    /// The formula, for labels.
    pub fn formula(self) -> String {
        match self {
            ToyFunction::Quadratic { a: 1.0 } => "x²".into(),
            ToyFunction::Quadratic { a } => format!("{a}x²"),
            ToyFunction::Ellipse { b } => format!("x² + {b}y²"),
            ToyFunction::Composite => "g(f(x)), f = x² + 3x, g = u³ + u + 2".into(),
            ToyFunction::LogQuartic => "log(x⁴ + 1e-5)".into(),
            ToyFunction::Saddle => "x² − y²".into(),
            ToyFunction::Quintic => "−0.2x⁵ + 0.1x⁴ + x³ − 0.5x".into(),
            ToyFunction::AffineSquare { x, y } => format!("(a·{x} + b − {y})²"),
        }
    }

    /// f as a recorded tensor expression of the model's parameter tensors (see `ToyModel`) -> scalar.
    pub fn value_of(self, params: &[Tensor]) -> Result<Tensor> {
        match (self, params) {
            (ToyFunction::AffineSquare { x, y }, [a, b]) => {
                // L = (a·x + b − y)²: mul, add, sub, square, as the textbook draws it.
                let residual = a.mul_scalar(x).add(b)?.add_scalar(-y);
                residual.pow(2.0).sum(&[], false)
            }
            (_, [p]) => self.value(p),
            _ => Err(LabError::InvalidArgument(format!("{}: wrong parameter layout", self.formula()))),
        }
    }

    /// f(p) as a recorded tensor expression. p: (dims,) -> scalar.
    pub fn value(self, p: &Tensor) -> Result<Tensor> {
        let weighted =
            |w: [f32; 2]| -> Result<Tensor> { p.mul(p)?.mul(&Tensor::from_slice(&w, [2])?)?.sum(&[], false) };
        let total = match self {
            ToyFunction::AffineSquare { .. } => {
                return self.value_of(&[p.index_select(0, &[0])?, p.index_select(0, &[1])?]);
            }
            ToyFunction::Quadratic { a } => p.mul(p)?.mul_scalar(a),
            ToyFunction::Ellipse { b } => return weighted([1.0, b]),
            ToyFunction::Saddle => return weighted([1.0, -1.0]),
            ToyFunction::Composite => {
                let f = p.mul(p)?.add(&p.mul_scalar(3.0))?;
                f.pow(3.0).add(&f)?.add_scalar(2.0)
            }
            ToyFunction::LogQuartic => p.pow(4.0).add_scalar(1e-5).log(),
            ToyFunction::Quintic => p
                .pow(5.0)
                .mul_scalar(-0.2)
                .add(&p.pow(4.0).mul_scalar(0.1))?
                .add(&p.pow(3.0))?
                .add(&p.mul_scalar(-0.5))?,
        };
        total.sum(&[], false)
    }

    /// The scalar reference: f(p) in f64.
    pub fn eval(self, p: &[f32]) -> f64 {
        let x = f64::from(p[0]);
        let y = p.get(1).copied().map_or(0.0, f64::from);
        match self {
            ToyFunction::Quadratic { a } => f64::from(a) * x * x,
            ToyFunction::Ellipse { b } => x * x + f64::from(b) * y * y,
            ToyFunction::Saddle => x * x - y * y,
            ToyFunction::Composite => {
                let f = x * x + 3.0 * x;
                f.powi(3) + f + 2.0
            }
            ToyFunction::LogQuartic => (x.powi(4) + 1e-5).ln(),
            ToyFunction::Quintic => -0.2 * x.powi(5) + 0.1 * x.powi(4) + x.powi(3) - 0.5 * x,
            ToyFunction::AffineSquare { x: dx, y: dy } => (x * f64::from(dx) + y - f64::from(dy)).powi(2),
        }
    }
}

/// The "model" of a toy run: the point itself (one tensor p, or a and b for the affine example), whose
/// output is f.
pub struct ToyModel {
    pub function: ToyFunction,
    pub params: Vec<Tensor>,
}

impl ToyModel {
    pub fn new(function: ToyFunction, start: &[f32]) -> Result<ToyModel> {
        if start.len() != function.dims() || start.iter().any(|v| !v.is_finite()) {
            return Err(LabError::InvalidArgument(format!(
                "{} starts from {} finite coordinates, not {start:?}",
                function.formula(),
                function.dims()
            )));
        }
        let params = match function {
            ToyFunction::AffineSquare { .. } => start
                .iter()
                .map(|&v| Ok(Tensor::from_slice(&[v], [1])?.requires_grad_(true)))
                .collect::<Result<Vec<_>>>()?,
            _ => vec![Tensor::from_slice(start, [start.len()])?.requires_grad_(true)],
        };
        Ok(ToyModel { function, params })
    }

    /// The loss recomputed on fresh leaves with the same values, after `backward`: a graph to look at that
    /// leaves the training run's own gradients alone. Also returns each leaf's node id and name.
    pub fn fresh_graph(&self) -> Result<(crate::autograd::Graph, Vec<(usize, String)>)> {
        let leaves: Vec<Tensor> = self.params.iter().map(|p| p.detach().requires_grad_(true)).collect();
        let loss = self.function.value_of(&leaves)?;
        let graph = crate::autograd::backward_traced(&loss)?;
        let names = self.named_parameters().into_iter().map(|(n, _)| n);
        Ok((graph, leaves.iter().map(Tensor::id).zip(names).collect()))
    }
}

impl Module for ToyModel {
    /// Ignores its input: the loss depends on the parameters alone.
    fn forward(&self, _x: &Tensor) -> Result<Tensor> {
        self.function.value_of(&self.params)
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        match self.function {
            ToyFunction::AffineSquare { .. } => {
                vec![("a".into(), self.params[0].clone()), ("b".into(), self.params[1].clone())]
            }
            _ => vec![("p".into(), self.params[0].clone())],
        }
    }
    fn describe(&self) -> String {
        format!("f = {}", self.function.formula())
    }
}
