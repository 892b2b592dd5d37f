//! Elementwise frontend ops: unary maps, activations, broadcasting binary ops, comparisons and `where`.

use super::{Device, Shape, Storage, Tensor};
use crate::autograd::Op;
use crate::backend::cpu;
use crate::backend::ops::{BinaryOp, UnaryOp};
use crate::backend::webgpu::ops as gpu;
use crate::error::{LabError, Result};

impl Tensor {
    /// Applies an elementwise function. x: any shape -> same shape.
    pub fn unary(&self, op: UnaryOp) -> Tensor {
        let out: Storage = match self.gpu() {
            Some(x) => gpu::unary(op, &x, self.numel()).into(),
            None => {
                let mut out = vec![0.0; self.numel()];
                cpu::unary(op, &self.data(), &mut out);
                out.into()
            }
        };
        // Sign, Step and the *Deriv helpers are piecewise constant: nothing to differentiate.
        let differentiable = !matches!(
            op,
            UnaryOp::Sign
                | UnaryOp::Step
                | UnaryOp::LeakyReluDeriv(_)
                | UnaryOp::EluDeriv(_)
                | UnaryOp::GeluDeriv
                | UnaryOp::SiluDeriv
        );
        let inputs: &[&Tensor] = if differentiable { &[self] } else { &[] };
        Tensor::from_op(out, self.shape().clone(), inputs, || Op::Unary(op, self.clone()))
    }

    /// self · op(x), elementwise, for the backward passes of activations (g · f'(x)): one launch on the GPU
    /// where the composite takes two. Anywhere else (the CPU, other shapes, a gradient to record) it is the
    /// composite `self.mul(&x.unary(op))`, which gives the same values.
    pub(crate) fn mul_unary(&self, op: UnaryOp, x: &Tensor) -> Result<Tensor> {
        let recorded = crate::autograd::is_grad_enabled() && (self.requires_grad() || x.requires_grad());
        if let (Some(g), Some(xb), false) = (self.gpu(), x.gpu(), recorded)
            && self.shape() == x.shape()
        {
            let out = gpu::unary_times(op, &xb, &g, x.numel());
            return Ok(Tensor::make(out, x.shape().clone(), None));
        }
        self.mul(&x.unary(op))
    }

    pub fn neg(&self) -> Tensor {
        self.unary(UnaryOp::Neg)
    }
    pub fn exp(&self) -> Tensor {
        self.unary(UnaryOp::Exp)
    }
    /// Natural logarithm (NaN below 0, -inf at 0, as in IEEE).
    pub fn log(&self) -> Tensor {
        self.unary(UnaryOp::Log)
    }
    pub fn sqrt(&self) -> Tensor {
        self.unary(UnaryOp::Sqrt)
    }
    pub fn abs(&self) -> Tensor {
        self.unary(UnaryOp::Abs)
    }
    /// x^p for a constant exponent.
    pub fn pow(&self, p: f32) -> Tensor {
        self.unary(UnaryOp::PowScalar(p))
    }
    pub fn add_scalar(&self, c: f32) -> Tensor {
        self.unary(UnaryOp::AddScalar(c))
    }
    pub fn mul_scalar(&self, c: f32) -> Tensor {
        self.unary(UnaryOp::MulScalar(c))
    }
    pub fn sigmoid(&self) -> Tensor {
        self.unary(UnaryOp::Sigmoid)
    }
    pub fn tanh(&self) -> Tensor {
        self.unary(UnaryOp::Tanh)
    }
    pub fn relu(&self) -> Tensor {
        self.unary(UnaryOp::Relu)
    }
    pub fn leaky_relu(&self, negative_slope: f32) -> Tensor {
        self.unary(UnaryOp::LeakyRelu(negative_slope))
    }
    pub fn elu(&self, alpha: f32) -> Tensor {
        self.unary(UnaryOp::Elu(alpha))
    }
    /// Exact GELU, x·Φ(x).
    pub fn gelu(&self) -> Tensor {
        self.unary(UnaryOp::Gelu)
    }
    /// SiLU, also called Swish: x·σ(x).
    pub fn silu(&self) -> Tensor {
        self.unary(UnaryOp::Silu)
    }
    pub fn softplus(&self) -> Tensor {
        self.unary(UnaryOp::Softplus)
    }

    /// Applies `op` after broadcasting both operands (NumPy rules). self, other -> broadcast shape.
    pub fn binary(&self, op: BinaryOp, other: &Tensor) -> Result<Tensor> {
        let shape = self.shape().broadcast(other.shape(), op.name())?;
        let (sa, sb) = (self.shape().broadcast_strides(&shape), other.shape().broadcast_strides(&shape));
        let (a, b) = Tensor::same_device(self, other)?;
        let out: Storage = match (a.gpu(), b.gpu()) {
            (Some(x), Some(y)) => {
                gpu_rank(&shape, op.name())?;
                gpu::binary(op, &x, &sa, &y, &sb, shape.dims()).into()
            }
            _ => {
                let mut out = vec![0.0; shape.numel()];
                cpu::binary(op, &a.data(), &sa, &b.data(), &sb, shape.dims(), &mut out);
                out.into()
            }
        };
        let comparison = matches!(
            op,
            BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge
        );
        let inputs: &[&Tensor] = if comparison { &[] } else { &[self, other] };
        Ok(Tensor::from_op(out, shape, inputs, || Op::Binary(op, self.clone(), other.clone())))
    }

    pub fn add(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Add, other)
    }
    pub fn sub(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Sub, other)
    }
    pub fn mul(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Mul, other)
    }
    pub fn div(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Div, other)
    }
    pub fn maximum(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Maximum, other)
    }
    pub fn minimum(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Minimum, other)
    }
    /// 1.0 where equal, else 0.0 (no gradient flows through comparisons).
    pub fn eq(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Eq, other)
    }
    pub fn ne(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Ne, other)
    }
    pub fn lt(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Lt, other)
    }
    pub fn le(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Le, other)
    }
    pub fn gt(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Gt, other)
    }
    pub fn ge(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Ge, other)
    }

    /// `a` where `cond` is non-zero, else `b`; all three broadcast together. The unselected side never
    /// leaks into the result (an infinity there stays out, unlike `cond·a + (1 − cond)·b`).
    pub fn where_(cond: &Tensor, a: &Tensor, b: &Tensor) -> Result<Tensor> {
        let shape = cond.shape().broadcast(a.shape(), "where")?.broadcast(b.shape(), "where")?;
        let gpu_side = [cond, a, b].iter().any(|t| t.device() == Device::WebGpu);
        let out: Storage = if gpu_side {
            gpu_rank(&shape, "where")?;
            let on = |t: &Tensor| t.to_device(Device::WebGpu);
            let (c, x, y) = (on(cond)?, on(a)?, on(b)?);
            let strides = |t: &Tensor| t.shape().broadcast_strides(&shape);
            let buf = |t: &Tensor| t.gpu().expect("moved to the GPU above");
            let (cs, xs, ys) = (strides(&c), strides(&x), strides(&y));
            let (cb, xb, yb) = (buf(&c), buf(&x), buf(&y));
            gpu::where_((&cb, &cs), (&xb, &xs), (&yb, &ys), shape.dims()).into()
        } else {
            let (c, x, y) = (cond.expand_data(&shape), a.expand_data(&shape), b.expand_data(&shape));
            let out: Vec<f32> =
                c.iter().zip(x.iter().zip(&y)).map(|(&c, (&x, &y))| if c != 0.0 { x } else { y }).collect();
            out.into()
        };
        let cond = cond.detach();
        Ok(Tensor::from_op(out, shape, &[a, b], || Op::Where { cond, a: a.clone(), b: b.clone() }))
    }
}

/// The GPU's strided kernels take at most 8 dimensions.
pub(crate) fn gpu_rank(shape: &Shape, op: &str) -> Result<()> {
    if shape.rank() > gpu::MAX_RANK {
        return Err(LabError::InvalidArgument(format!(
            "{op}: shape {shape} has more than {} dimensions, the most the GPU kernels take",
            gpu::MAX_RANK
        )));
    }
    Ok(())
}
