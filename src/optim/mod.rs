//! Optimizers and learning-rate schedules (textbook §6). Updates run on the host values of each parameter
//! (the WebGPU backend will move them onto the GPU); every optimizer's state is a named list of vectors
//! the UI can show and a checkpoint can save.

mod schedule;

use serde::{Deserialize, Serialize};

pub use schedule::Schedule;

use crate::error::{LabError, Result};
use crate::tensor::{Shape, Tensor};

/// The update rule and its hyper-parameters (PyTorch's names).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum OptimizerKind {
    /// Plain SGD when `momentum` is 0; otherwise the curriculum's v = β·v + lr·g, w = w − v.
    Sgd { momentum: f32 },
    /// G += g²; w −= lr·g / (√G + eps).
    Adagrad { eps: f32 },
    /// E = ρ·E + (1 − ρ)·g²; w −= lr·g / (√E + eps).
    RmsProp { rho: f32, eps: f32 },
    /// Adam with bias correction (Kingma & Ba, 2015).
    Adam { betas: (f32, f32), eps: f32 },
    /// Adam with decoupled weight decay (Loshchilov & Hutter, 2019).
    AdamW { betas: (f32, f32), eps: f32 },
}

/// Gradient clipping before each update.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Clip {
    /// Scale all gradients together so their global L2 norm is at most this.
    Norm(f32),
    /// Clamp every gradient element into [−v, v].
    Value(f32),
}

/// An optimizer over a fixed list of parameters.
pub struct Optimizer {
    pub kind: OptimizerKind,
    pub lr: f32,
    /// L2 weight decay (added to the gradient; decoupled for AdamW).
    pub weight_decay: f32,
    pub clip: Option<Clip>,
    params: Vec<Tensor>,
    /// Per parameter, the rule's state vectors (velocity; G; E; m and v).
    state: Vec<Vec<Vec<f32>>>,
    steps: u64,
}

impl Optimizer {
    pub fn new(kind: OptimizerKind, params: Vec<Tensor>, lr: f32) -> Result<Optimizer> {
        if !(lr.is_finite() && lr > 0.0) {
            return Err(LabError::InvalidArgument(format!("learning rate {lr} must be a positive number")));
        }
        let slots = match kind {
            OptimizerKind::Sgd { momentum: 0.0 } => 0,
            OptimizerKind::Sgd { .. } | OptimizerKind::Adagrad { .. } | OptimizerKind::RmsProp { .. } => 1,
            OptimizerKind::Adam { .. } | OptimizerKind::AdamW { .. } => 2,
        };
        let state = params.iter().map(|p| vec![vec![0.0; p.numel()]; slots]).collect();
        Ok(Optimizer { kind, lr, weight_decay: 0.0, clip: None, params, state, steps: 0 })
    }

    pub fn with_weight_decay(mut self, weight_decay: f32) -> Optimizer {
        self.weight_decay = weight_decay;
        self
    }

    pub fn with_clip(mut self, clip: Clip) -> Optimizer {
        self.clip = Some(clip);
        self
    }

    /// Forgets every parameter's gradient.
    pub fn zero_grad(&self) {
        self.params.iter().for_each(Tensor::zero_grad);
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// The state as named vectors, e.g. ("param 0: velocity", [...]), for the UI and checkpoints.
    pub fn state(&self) -> Vec<(String, Vec<f32>)> {
        let names: &[&str] = match self.kind {
            OptimizerKind::Sgd { .. } => &["velocity"],
            OptimizerKind::Adagrad { .. } => &["sum of squared gradients"],
            OptimizerKind::RmsProp { .. } => &["mean squared gradient"],
            OptimizerKind::Adam { .. } | OptimizerKind::AdamW { .. } => &["first moment", "second moment"],
        };
        let mut out = Vec::new();
        for (i, slots) in self.state.iter().enumerate() {
            out.extend(slots.iter().zip(names).map(|(v, n)| (format!("param {i}: {n}"), v.clone())));
        }
        out
    }

    /// The state as tensors named "optimizer.{param}.{slot}" plus "optimizer.steps", for checkpoints.
    pub fn state_tensors(&self) -> Vec<(String, Tensor)> {
        let mut out = vec![("optimizer.steps".to_string(), Tensor::scalar(self.steps as f32))];
        for (i, slots) in self.state.iter().enumerate() {
            for (s, v) in slots.iter().enumerate() {
                out.push((
                    format!("optimizer.{i}.{s}"),
                    Tensor::make(v.clone(), Shape::new(&[v.len()]), None),
                ));
            }
        }
        out
    }

    /// Restores state saved by `state_tensors` (same optimizer kind and parameter sizes).
    pub fn load_state_tensors(&mut self, get: &dyn Fn(&str) -> Option<Vec<f32>>) -> Result<()> {
        let steps = get("optimizer.steps").and_then(|v| v.first().copied()).unwrap_or(0.0);
        for (i, slots) in self.state.iter_mut().enumerate() {
            for (s, v) in slots.iter_mut().enumerate() {
                let name = format!("optimizer.{i}.{s}");
                match get(&name) {
                    Some(saved) if saved.len() == v.len() => *v = saved,
                    _ => {
                        return Err(LabError::Format {
                            kind: "checkpoint",
                            message: format!("optimizer state '{name}' is missing or has the wrong size"),
                        });
                    }
                }
            }
        }
        self.steps = steps as u64;
        Ok(())
    }

    /// One update of every parameter that has a gradient.
    pub fn step(&mut self) -> Result<()> {
        let mut grads: Vec<Option<Vec<f32>>> =
            self.params.iter().map(|p| p.grad().map(|g| g.to_vec())).collect();
        self.clip_grads(&mut grads);
        self.steps += 1;
        let t = self.steps as i32;
        for ((p, g), slots) in self.params.iter().zip(grads).zip(&mut self.state) {
            let Some(mut g) = g else { continue };
            let mut w = p.to_vec();
            let decoupled = matches!(self.kind, OptimizerKind::AdamW { .. });
            if self.weight_decay != 0.0 && !decoupled {
                g.iter_mut().zip(&w).for_each(|(g, w)| *g += self.weight_decay * w);
            }
            update(self.kind, self.lr, self.weight_decay, t, &mut w, &g, slots);
            if w.iter().any(|v| !v.is_finite()) {
                return Err(LabError::InvalidArgument(format!(
                    "step {}: a weight became NaN or infinite; the learning rate {} is probably too high",
                    self.steps, self.lr
                )));
            }
            p.assign(&w)?;
        }
        Ok(())
    }

    fn clip_grads(&self, grads: &mut [Option<Vec<f32>>]) {
        match self.clip {
            Some(Clip::Value(v)) => grads.iter_mut().flatten().flatten().for_each(|g| *g = g.clamp(-v, v)),
            Some(Clip::Norm(max)) => {
                let norm = grads.iter().flatten().flatten().map(|g| f64::from(*g).powi(2)).sum::<f64>().sqrt()
                    as f32;
                if norm > max {
                    let s = max / norm;
                    grads.iter_mut().flatten().flatten().for_each(|g| *g *= s);
                }
            }
            None => {}
        }
    }
}

/// Applies one update rule to one parameter's values `w` with gradient `g` (t: the 1-based step).
fn update(kind: OptimizerKind, lr: f32, wd: f32, t: i32, w: &mut [f32], g: &[f32], slots: &mut [Vec<f32>]) {
    match (kind, slots) {
        (OptimizerKind::Sgd { .. }, []) => w.iter_mut().zip(g).for_each(|(w, g)| *w -= lr * g),
        (OptimizerKind::Sgd { momentum }, [v]) => {
            for ((w, g), v) in w.iter_mut().zip(g).zip(v.iter_mut()) {
                *v = momentum * *v + lr * g;
                *w -= *v;
            }
        }
        (OptimizerKind::Adagrad { eps }, [sum]) => {
            for ((w, g), s) in w.iter_mut().zip(g).zip(sum.iter_mut()) {
                *s += g * g;
                *w -= lr * g / (s.sqrt() + eps);
            }
        }
        (OptimizerKind::RmsProp { rho, eps }, [mean]) => {
            for ((w, g), e) in w.iter_mut().zip(g).zip(mean.iter_mut()) {
                *e = rho * *e + (1.0 - rho) * g * g;
                *w -= lr * g / (e.sqrt() + eps);
            }
        }
        (OptimizerKind::Adam { betas, eps } | OptimizerKind::AdamW { betas, eps }, [m, v]) => {
            let decay = if matches!(kind, OptimizerKind::AdamW { .. }) { lr * wd } else { 0.0 };
            let (c1, c2) = (1.0 - betas.0.powi(t), 1.0 - betas.1.powi(t));
            for (((w, g), m), v) in w.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                *m = betas.0 * *m + (1.0 - betas.0) * g;
                *v = betas.1 * *v + (1.0 - betas.1) * g * g;
                *w -= decay * *w + lr * (*m / c1) / ((*v / c2).sqrt() + eps);
            }
        }
        _ => unreachable!("state slots are sized for the rule in Optimizer::new"),
    }
}
