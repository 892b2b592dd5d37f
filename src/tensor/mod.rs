//! `Tensor`: an n-dimensional f32 array on a device, with PyTorch-shaped autograd. Frontend ops live in
//! the sibling files (elementwise, reduce, linalg, layout); each checks shapes, calls a backend kernel, and
//! records its `Op` when gradients are wanted.

mod conv;
mod elementwise;
mod indexing;
mod layout;
mod linalg;
mod reduce;
mod rng;
mod shape;

use std::cell::{Cell, Ref, RefCell};
use std::fmt;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;

use crate::autograd::{self, Op};
use crate::error::{LabError, Result};
pub(crate) use indexing::index_select_positions;
pub use rng::{Rng, manual_seed, with_rng};
pub use shape::Shape;

/// Where a tensor's numbers live. The WebGPU device joins this enum with the WebGPU backend issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Device {
    Cpu,
}

/// A tensor handle: cheap to clone (reference counted), shared by the autograd graph.
#[derive(Clone)]
pub struct Tensor(Rc<Inner>);

struct Inner {
    id: usize,
    data: RefCell<Vec<f32>>,
    shape: Shape,
    device: Device,
    requires_grad: Cell<bool>,
    retains_grad: Cell<bool>,
    grad: RefCell<Option<Tensor>>,
    /// How this tensor was computed (its `grad_fn`); `None` for leaves and for results made under no_grad.
    op: Option<Op>,
}

static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

impl Tensor {
    /// Builds a tensor from parts; every constructor and op ends here.
    pub(crate) fn make(data: Vec<f32>, shape: Shape, op: Option<Op>) -> Tensor {
        debug_assert_eq!(data.len(), shape.numel(), "tensor data and shape disagree");
        let requires_grad = op.is_some();
        Tensor(Rc::new(Inner {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            data: RefCell::new(data),
            shape,
            device: Device::Cpu,
            requires_grad: Cell::new(requires_grad),
            retains_grad: Cell::new(false),
            grad: RefCell::new(None),
            op,
        }))
    }

    /// A result of an op on `inputs`: it records `op` only when gradients are enabled and an input needs one.
    pub(crate) fn from_op(
        data: Vec<f32>,
        shape: Shape,
        inputs: &[&Tensor],
        op: impl FnOnce() -> Op,
    ) -> Tensor {
        let record = autograd::is_grad_enabled() && inputs.iter().any(|t| t.requires_grad());
        Tensor::make(data, shape, record.then(op))
    }

    /// A tensor holding `data` with `shape`; the length must match the shape's element count.
    pub fn from_vec(data: Vec<f32>, shape: impl Into<Shape>) -> Result<Tensor> {
        let shape = shape.into();
        if data.len() != shape.numel() {
            return Err(LabError::InvalidArgument(format!(
                "from_vec: {} values cannot fill shape {shape} ({} elements)",
                data.len(),
                shape.numel()
            )));
        }
        Ok(Tensor::make(data, shape, None))
    }

    pub fn from_slice(data: &[f32], shape: impl Into<Shape>) -> Result<Tensor> {
        Tensor::from_vec(data.to_vec(), shape)
    }

    pub fn scalar(value: f32) -> Tensor {
        Tensor::make(vec![value], Shape::scalar(), None)
    }

    pub fn full(shape: impl Into<Shape>, value: f32) -> Tensor {
        let shape = shape.into();
        Tensor::make(vec![value; shape.numel()], shape, None)
    }

    pub fn zeros(shape: impl Into<Shape>) -> Tensor {
        Tensor::full(shape, 0.0)
    }

    pub fn ones(shape: impl Into<Shape>) -> Tensor {
        Tensor::full(shape, 1.0)
    }

    /// start, start + step, ... below `end` (above it for a negative step), as a 1-D tensor.
    pub fn arange(start: f32, end: f32, step: f32) -> Result<Tensor> {
        let count = ((end - start) / step).ceil();
        if !count.is_finite() || step == 0.0 || count > 1e9 {
            return Err(LabError::InvalidArgument(format!(
                "arange: cannot step from {start} to {end} by {step}"
            )));
        }
        let n = count.max(0.0) as usize;
        Ok(Tensor::make((0..n).map(|i| start + step * i as f32).collect(), Shape::new(&[n]), None))
    }

    /// Uniform in [lo, hi) from the crate's seeded generator (see `manual_seed`).
    pub fn uniform(shape: impl Into<Shape>, lo: f32, hi: f32) -> Tensor {
        let shape = shape.into();
        let data = with_rng(|r| (0..shape.numel()).map(|_| r.uniform_range(lo, hi)).collect());
        Tensor::make(data, shape, None)
    }

    /// Normal N(mean, std²) from the crate's seeded generator.
    pub fn normal(shape: impl Into<Shape>, mean: f32, std: f32) -> Tensor {
        let shape = shape.into();
        let data = with_rng(|r| (0..shape.numel()).map(|_| mean + std * r.normal()).collect());
        Tensor::make(data, shape, None)
    }

    /// 1 with probability `p`, else 0, from the crate's seeded generator.
    pub fn bernoulli(shape: impl Into<Shape>, p: f32) -> Tensor {
        let shape = shape.into();
        let data = with_rng(|r| (0..shape.numel()).map(|_| r.bernoulli(p)).collect());
        Tensor::make(data, shape, None)
    }

    pub fn shape(&self) -> &Shape {
        &self.0.shape
    }

    pub fn dims(&self) -> &[usize] {
        self.0.shape.dims()
    }

    pub fn rank(&self) -> usize {
        self.0.shape.rank()
    }

    pub fn numel(&self) -> usize {
        self.0.shape.numel()
    }

    pub fn device(&self) -> Device {
        self.0.device
    }

    /// A unique id, stable for the tensor's life (the autograd graph's node id).
    pub fn id(&self) -> usize {
        self.0.id
    }

    /// The values, row-major.
    pub fn to_vec(&self) -> Vec<f32> {
        self.0.data.borrow().clone()
    }

    /// The single value of a one-element tensor.
    pub fn item(&self) -> Result<f32> {
        match self.0.data.borrow().as_slice() {
            [v] => Ok(*v),
            _ => Err(LabError::InvalidArgument(format!(
                "item: tensor of shape {} has not one element",
                self.shape()
            ))),
        }
    }

    pub(crate) fn data(&self) -> Ref<'_, Vec<f32>> {
        self.0.data.borrow()
    }

    /// Overwrites the values in place, without recording anything (optimizers update weights this way).
    pub fn assign(&self, values: &[f32]) -> Result<()> {
        if values.len() != self.numel() {
            return Err(LabError::InvalidArgument(format!(
                "assign: {} values for a tensor of shape {}",
                values.len(),
                self.shape()
            )));
        }
        self.0.data.borrow_mut().copy_from_slice(values);
        Ok(())
    }

    // ----------------------------------------------------------------------------------- autograd state
    /// Marks a leaf as a parameter whose gradient `backward` fills (`x.requires_grad_(True)` in PyTorch).
    pub fn requires_grad_(self, on: bool) -> Tensor {
        self.0.requires_grad.set(on);
        self
    }

    pub fn requires_grad(&self) -> bool {
        self.0.requires_grad.get()
    }

    /// A leaf is a tensor not computed by a recorded op.
    pub fn is_leaf(&self) -> bool {
        self.0.op.is_none()
    }

    /// The name of the op that produced this tensor (`grad_fn`), if it was recorded.
    pub fn grad_fn(&self) -> Option<&'static str> {
        self.0.op.as_ref().map(Op::name)
    }

    pub(crate) fn op(&self) -> Option<&Op> {
        self.0.op.as_ref()
    }

    /// Asks `backward` to keep this non-leaf's gradient too (`retain_grad()` in PyTorch).
    pub fn retain_grad(&self) {
        self.0.retains_grad.set(true);
    }

    pub(crate) fn retains_grad(&self) -> bool {
        self.0.retains_grad.get()
    }

    /// The accumulated gradient, if `backward` has reached this tensor.
    pub fn grad(&self) -> Option<Tensor> {
        self.0.grad.borrow().clone()
    }

    pub(crate) fn set_grad(&self, grad: Option<Tensor>) {
        *self.0.grad.borrow_mut() = grad;
    }

    /// Forgets the accumulated gradient.
    pub fn zero_grad(&self) {
        self.set_grad(None);
    }

    /// The same values as a new leaf, cut from the graph.
    pub fn detach(&self) -> Tensor {
        Tensor::make(self.to_vec(), self.shape().clone(), None)
    }

    /// Back-propagates from this scalar: fills `.grad()` of every leaf that requires it.
    pub fn backward(&self) -> Result<()> {
        if self.numel() != 1 {
            return Err(LabError::InvalidArgument(format!(
                "backward: the output has shape {}; pass an output gradient with backward_with for non-scalars",
                self.shape()
            )));
        }
        autograd::backward(self, Tensor::ones(self.shape().clone()))
    }

    /// Back-propagates a given output gradient (a vector-Jacobian product).
    pub fn backward_with(&self, grad: &Tensor) -> Result<()> {
        if grad.shape() != self.shape() {
            return Err(LabError::Shape {
                op: "backward_with",
                left: self.dims().to_vec(),
                right: grad.dims().to_vec(),
            });
        }
        autograd::backward(self, grad.detach())
    }
}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let data = self.data();
        let shown: Vec<f32> = data.iter().take(8).copied().collect();
        let more = if data.len() > 8 { ", ..." } else { "" };
        write!(f, "Tensor(shape={}, data={shown:?}{more}", self.shape())?;
        match self.grad_fn() {
            Some(name) => write!(f, ", grad_fn={name})"),
            None if self.requires_grad() => write!(f, ", requires_grad)"),
            None => write!(f, ")"),
        }
    }
}
