//! Optimizers and learning-rate schedules (textbook §6). A parameter on the CPU is updated on its host
//! values; a parameter on the GPU by `optim.wgsl`, in place, with its state kept on the GPU too (uploaded
//! from the host state the first time, read back only for the UI and checkpoints). Every optimizer's state
//! is a named list of vectors the UI can show and a checkpoint can save.

mod schedule;

use serde::{Deserialize, Serialize};

pub use schedule::Schedule;

use crate::backend::webgpu::GpuBuf;
use crate::backend::webgpu::ops::{self as gpu, UpdateRule};
use crate::error::{LabError, Result};
use crate::tensor::{Device, Shape, Tensor};

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
    /// The same state on the GPU for parameters that live there (two slots, unused ones one value long).
    gpu_state: Vec<Option<[GpuBuf; 2]>>,
    /// `state` holds the GPU state's values as of now (`sync_state_async` ran after the last GPU step).
    host_fresh: bool,
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
        let gpu_state = params.iter().map(|_| None).collect();
        Ok(Optimizer {
            kind,
            lr,
            weight_decay: 0.0,
            clip: None,
            params,
            state,
            gpu_state,
            host_fresh: true,
            steps: 0,
        })
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
        for (i, slots) in self.host_state().into_iter().enumerate() {
            out.extend(slots.into_iter().zip(names).map(|(v, n)| (format!("param {i}: {n}"), v)));
        }
        out
    }

    /// Reads the GPU state back into the host state (awaited, so the browser can checkpoint a GPU run).
    pub async fn sync_state_async(&mut self) -> Result<()> {
        for ((host, on_gpu), p) in self.state.iter_mut().zip(&self.gpu_state).zip(&self.params) {
            let Some(bufs) = on_gpu else { continue };
            for (slot, b) in host.iter_mut().zip(bufs) {
                let t = Tensor::make(std::rc::Rc::new(b.clone_contents()), p.shape().clone(), None);
                *slot = t.to_vec_async().await?;
            }
        }
        self.host_fresh = true;
        Ok(())
    }

    /// Forgets the GPU state without reading it (the GPU may be lost); the host state is what remains.
    pub fn abandon_gpu(&mut self) {
        self.gpu_state.iter_mut().for_each(|s| *s = None);
        self.host_fresh = true;
    }

    /// The state on the host, read back from the GPU for parameters that live there.
    fn host_state(&self) -> Vec<Vec<Vec<f32>>> {
        if self.host_fresh {
            return self.state.clone();
        }
        self.state
            .iter()
            .zip(&self.gpu_state)
            .zip(&self.params)
            .map(|((host, on_gpu), p)| match on_gpu {
                Some(bufs) => host
                    .iter()
                    .zip(bufs)
                    .map(|(_, b)| {
                        Tensor::make(std::rc::Rc::new(b.clone_contents()), p.shape().clone(), None).to_vec()
                    })
                    .collect(),
                None => host.clone(),
            })
            .collect()
    }

    /// The state as tensors named "optimizer.{param}.{slot}" plus "optimizer.steps", for checkpoints.
    pub fn state_tensors(&self) -> Vec<(String, Tensor)> {
        let mut out = vec![("optimizer.steps".to_string(), Tensor::scalar(self.steps as f32))];
        for (i, slots) in self.host_state().into_iter().enumerate() {
            for (s, v) in slots.into_iter().enumerate() {
                let len = v.len();
                out.push((format!("optimizer.{i}.{s}"), Tensor::make(v, Shape::new(&[len]), None)));
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
        // GPU state is uploaded again from the restored host state at the next step.
        self.gpu_state.iter_mut().for_each(|s| *s = None);
        self.host_fresh = true;
        Ok(())
    }

    /// One update of every parameter that has a gradient.
    pub fn step(&mut self) -> Result<()> {
        if self.params.iter().any(|p| p.device() == Device::WebGpu) {
            return self.step_gpu();
        }
        if self.gpu_state.iter().any(Option::is_some) {
            // The parameters came back from the GPU: the host state is the truth from now on, provided it
            // was read back after the last GPU step; stepping from a stale copy would be silently wrong.
            if !self.host_fresh {
                return Err(LabError::Device(
                    "the optimizer's state is still on the GPU: move the run to the CPU with \
                     Session::to_device first"
                        .into(),
                ));
            }
            self.gpu_state.iter_mut().for_each(|s| *s = None);
        }
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

    /// The update for parameters on the GPU: clipping as tensor ops, then one `optim.wgsl` launch per
    /// four parameters (`gpu::optimizer_steps`). Nothing is read back; a weight that became NaN shows in the next loss.
    fn step_gpu(&mut self) -> Result<()> {
        let grads: Vec<Option<Tensor>> = self
            .params
            .iter()
            .map(|p| p.grad().map(|g| g.to_device(Device::WebGpu)).transpose())
            .collect::<Result<_>>()?;
        let grads = self.clip_grad_tensors(grads)?;
        self.steps += 1;
        let t = self.steps as i32;
        let decoupled = matches!(self.kind, OptimizerKind::AdamW { .. });
        let coupled_wd = if decoupled { 0.0 } else { self.weight_decay };
        let rule = match self.kind {
            OptimizerKind::Sgd { momentum: 0.0 } => UpdateRule::Sgd,
            OptimizerKind::Sgd { momentum } => UpdateRule::Momentum(momentum),
            OptimizerKind::Adagrad { eps } => UpdateRule::Adagrad { eps },
            OptimizerKind::RmsProp { rho, eps } => UpdateRule::RmsProp { rho, eps },
            OptimizerKind::Adam { betas, eps } | OptimizerKind::AdamW { betas, eps } => UpdateRule::Adam {
                betas,
                eps,
                c1: 1.0 - betas.0.powi(t),
                c2: 1.0 - betas.1.powi(t),
                decoupled: if decoupled { self.lr * self.weight_decay } else { 0.0 },
            },
        };
        let mut updates = Vec::new();
        for (i, (p, g)) in self.params.iter().zip(grads).enumerate() {
            let Some(g) = g else { continue };
            p.move_to_(Device::WebGpu)?;
            let w = p.gpu().expect("moved to the GPU above");
            let g = g.gpu().expect("moved to the GPU above");
            if self.gpu_state[i].is_none() {
                let rt = w.runtime();
                let slot = |s: usize| match self.state[i].get(s) {
                    Some(v) => rt.upload(v),
                    None => rt.upload(&[0.0]),
                };
                self.gpu_state[i] = Some([slot(0), slot(1)]);
            }
            updates.push((i, w, g));
        }
        let slots: Vec<gpu::ParamSlots<'_>> = updates
            .iter()
            .map(|(i, w, g)| {
                let [s1, s2] = self.gpu_state[*i].as_ref().expect("set above");
                (&**w, &**g, s1, s2)
            })
            .collect();
        gpu::optimizer_steps(rule, self.lr, coupled_wd, &slots);
        for (i, ..) in &updates {
            self.params[*i].invalidate_host_copy();
        }
        self.host_fresh &= updates.is_empty();
        Ok(())
    }

    /// Clipping with tensor ops, so it runs where the gradients are.
    fn clip_grad_tensors(&self, grads: Vec<Option<Tensor>>) -> Result<Vec<Option<Tensor>>> {
        match self.clip {
            None => Ok(grads),
            Some(Clip::Value(v)) => grads
                .into_iter()
                .map(|g| g.map(|g| g.maximum(&Tensor::scalar(-v))?.minimum(&Tensor::scalar(v))).transpose())
                .collect(),
            Some(Clip::Norm(max)) => {
                let mut total = Tensor::scalar(0.0);
                for g in grads.iter().flatten() {
                    total = total.add(&g.pow(2.0).sum(&[], false)?)?;
                }
                // min(1, max / ‖g‖): 1 when the norm is within bounds (or zero, where max / 0 = inf).
                let scale = Tensor::scalar(max).div(&total.sqrt())?.minimum(&Tensor::scalar(1.0))?;
                grads.into_iter().map(|g| g.map(|g| g.mul(&scale)).transpose()).collect()
            }
        }
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
