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

use std::cell::{Cell, OnceCell, Ref, RefCell};
use std::fmt;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;

use crate::autograd::{self, Op};
use crate::backend::webgpu::{self, GpuBuf};
use crate::error::{LabError, Result};
pub(crate) use indexing::index_select_positions;
pub use rng::{Rng, hash_uniform, manual_seed, with_rng};
pub use shape::Shape;

/// Where a tensor's numbers live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Device {
    Cpu,
    /// This thread's GPU (`backend::webgpu::install`): WebGPU in the browser, Vulkan natively.
    WebGpu,
}

/// A tensor's numbers: a host vector, or a GPU buffer with an optional host copy (filled by a readback and
/// kept until the buffer is written again).
pub(crate) enum Storage {
    /// Shared by reshapes and detached copies (copy on write: `assign` copies a shared vector first), so
    /// that a Flatten or a detach does not copy a whole batch.
    Host(Rc<Vec<f32>>),
    /// Rows of a dataset, not yet copied out (`Tensor::from_rows`: a training batch).
    Rows(RowView),
    Gpu {
        buf: Rc<GpuBuf>,
        host: Option<Vec<f32>>,
    },
}

/// Rows `index` of `base` (each `row_len` values), in that order: a batch drawn from a dataset without
/// copying it. The narrow products (`cpu::matmul_a_bt`, `cpu::matmul_at_b`) read the rows in place; anything
/// else gathers them once into a vector, which clones (reshapes, detached copies) share.
#[derive(Clone)]
pub(crate) struct RowView {
    base: Rc<Vec<f32>>,
    index: Rc<[usize]>,
    row_len: usize,
    gathered: Rc<OnceCell<Vec<f32>>>,
}

impl RowView {
    fn values(&self) -> &Vec<f32> {
        self.gathered.get_or_init(|| self.gather())
    }

    fn gather(&self) -> Vec<f32> {
        crate::backend::cpu::Rows::indexed(&self.base, &self.index, self.row_len).to_vec()
    }

    /// The gathered values, moved out when no clone shares them (the view is being consumed).
    fn take_values(&mut self) -> Vec<f32> {
        if let Some(values) = Rc::get_mut(&mut self.gathered).and_then(OnceCell::take) {
            return values;
        }
        self.gathered.get().cloned().unwrap_or_else(|| self.gather())
    }

    pub(crate) fn row_len(&self) -> usize {
        self.row_len
    }

    /// The rows as `cpu::Rows`, read in place (or the gathered copy, when one was made).
    pub(crate) fn rows(&self) -> crate::backend::cpu::Rows<'_> {
        match self.gathered.get() {
            Some(values) => crate::backend::cpu::Rows::dense(values, self.row_len),
            None => crate::backend::cpu::Rows::indexed(&self.base, &self.index, self.row_len),
        }
    }
}

impl From<Vec<f32>> for Storage {
    fn from(v: Vec<f32>) -> Storage {
        Storage::Host(Rc::new(v))
    }
}

impl From<GpuBuf> for Storage {
    fn from(buf: GpuBuf) -> Storage {
        Storage::Gpu { buf: Rc::new(buf), host: None }
    }
}

impl From<Rc<GpuBuf>> for Storage {
    fn from(buf: Rc<GpuBuf>) -> Storage {
        Storage::Gpu { buf, host: None }
    }
}

/// A tensor handle: cheap to clone (reference counted), shared by the autograd graph.
#[derive(Clone)]
pub struct Tensor(Rc<Inner>);

struct Inner {
    id: usize,
    data: RefCell<Storage>,
    shape: Shape,
    requires_grad: Cell<bool>,
    retains_grad: Cell<bool>,
    grad: RefCell<Option<Tensor>>,
    /// How this tensor was computed (its `grad_fn`); `None` for leaves and for results made under no_grad.
    op: Option<Op>,
}

static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

impl Tensor {
    /// Builds a tensor from parts; every constructor and op ends here.
    pub(crate) fn make(data: impl Into<Storage>, shape: Shape, op: Option<Op>) -> Tensor {
        let data = data.into();
        match &data {
            Storage::Host(v) => debug_assert_eq!(v.len(), shape.numel(), "tensor data and shape disagree"),
            Storage::Rows(r) => {
                debug_assert_eq!(r.index.len() * r.row_len, shape.numel(), "tensor rows and shape disagree")
            }
            Storage::Gpu { .. } => {}
        }
        let requires_grad = op.is_some();
        Tensor(Rc::new(Inner {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            data: RefCell::new(data),
            shape,
            requires_grad: Cell::new(requires_grad),
            retains_grad: Cell::new(false),
            grad: RefCell::new(None),
            op,
        }))
    }

    /// A result of an op on `inputs`: it records `op` only when gradients are enabled and an input needs one.
    pub(crate) fn from_op(
        data: impl Into<Storage>,
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

    /// Rows `index` of `base` (row-major items of shape `item`), stacked: shape (index.len(), item...).
    /// Nothing is copied until an op needs the values as one vector (a batch drawn from a dataset: the
    /// narrow products of a classifier's first layer read its rows in place).
    pub fn from_rows(base: &Rc<Vec<f32>>, index: &[usize], item: &[usize]) -> Result<Tensor> {
        let row_len: usize = item.iter().product();
        let rows = base.len().checked_div(row_len).unwrap_or(usize::MAX);
        if let Some(&bad) = index.iter().find(|&&i| i >= rows) {
            return Err(LabError::InvalidArgument(format!("from_rows: row {bad} of {rows}")));
        }
        let shape = Shape::new(&[&[index.len()], item].concat());
        let view = RowView { base: base.clone(), index: index.into(), row_len, gathered: Rc::default() };
        Ok(Tensor::make(Storage::Rows(view), shape, None))
    }

    /// Whether this tensor's values still lie in the dataset it was drawn from (`from_rows`), not copied
    /// into a vector of its own: what the narrow products keep on the CPU path in the browser.
    pub fn rows_in_place(&self) -> bool {
        matches!(&*self.0.data.borrow(), Storage::Rows(r) if r.gathered.get().is_none())
    }

    /// The rows this tensor was drawn as (`from_rows`), when its values have not been copied out.
    pub(crate) fn row_view(&self) -> Option<RowView> {
        match &*self.0.data.borrow() {
            Storage::Rows(r) => Some(r.clone()),
            _ => None,
        }
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
        Ok(Tensor::make(
            (0..n).map(|i| start + step * i as f32).collect::<Vec<f32>>(),
            Shape::new(&[n]),
            None,
        ))
    }

    /// Uniform in [lo, hi) from the crate's seeded generator (see `manual_seed`).
    pub fn uniform(shape: impl Into<Shape>, lo: f32, hi: f32) -> Tensor {
        let shape = shape.into();
        let data: Vec<f32> = with_rng(|r| (0..shape.numel()).map(|_| r.uniform_range(lo, hi)).collect());
        Tensor::make(data, shape, None)
    }

    /// Normal N(mean, std²) from the crate's seeded generator.
    pub fn normal(shape: impl Into<Shape>, mean: f32, std: f32) -> Tensor {
        let shape = shape.into();
        let data: Vec<f32> = with_rng(|r| (0..shape.numel()).map(|_| mean + std * r.normal()).collect());
        Tensor::make(data, shape, None)
    }

    /// 1 with probability `p`, else 0, from the crate's seeded generator.
    pub fn bernoulli(shape: impl Into<Shape>, p: f32) -> Tensor {
        let shape = shape.into();
        let data: Vec<f32> = with_rng(|r| (0..shape.numel()).map(|_| r.bernoulli(p)).collect());
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
        match &*self.0.data.borrow() {
            Storage::Host(_) | Storage::Rows(_) => Device::Cpu,
            Storage::Gpu { .. } => Device::WebGpu,
        }
    }

    /// A unique id, stable for the tensor's life (the autograd graph's node id).
    pub fn id(&self) -> usize {
        self.0.id
    }

    /// The values, row-major. On the GPU this waits for the device natively; in the browser, where waiting is
    /// impossible, use `to_vec_async` (a synchronous read there is recorded as an error and gives NaNs).
    pub fn to_vec(&self) -> Vec<f32> {
        self.data().clone()
    }

    /// The values, row-major, without blocking: awaits the GPU's readback (immediate on the CPU).
    pub async fn to_vec_async(&self) -> Result<Vec<f32>> {
        let pending = match &*self.0.data.borrow() {
            Storage::Host(v) => return Ok(v.to_vec()),
            Storage::Rows(r) => return Ok(r.values().clone()),
            Storage::Gpu { host: Some(v), .. } => return Ok(v.clone()),
            Storage::Gpu { buf, host: None } => buf.clone(),
        };
        let values = pending.runtime().read(&pending).await?;
        if let Storage::Gpu { buf, host } = &mut *self.0.data.borrow_mut()
            && Rc::ptr_eq(buf, &pending)
        {
            *host = Some(values.clone());
        }
        Ok(values)
    }

    /// The single value of a one-element tensor.
    pub fn item(&self) -> Result<f32> {
        match self.data().as_slice() {
            [v] => Ok(*v),
            _ => Err(LabError::InvalidArgument(format!(
                "item: tensor of shape {} has not one element",
                self.shape()
            ))),
        }
    }

    /// The value of a one-element tensor when the host knows it without asking the GPU (a host tensor, or a
    /// GPU tensor with its host copy, as `backward`'s uploaded seed has): how the fused head's backward
    /// recognizes the unit seed on either device.
    pub(crate) fn host_scalar(&self) -> Option<f32> {
        match &*self.0.data.borrow() {
            Storage::Host(v) if v.len() == 1 => Some(v[0]),
            Storage::Gpu { host: Some(v), .. } if v.len() == 1 => Some(v[0]),
            _ => None,
        }
    }

    /// The values on the host (read back from the GPU, and kept, when the tensor lives there).
    pub(crate) fn data(&self) -> Ref<'_, Vec<f32>> {
        self.fill_host_copy();
        Ref::map(self.0.data.borrow(), |s| match s {
            Storage::Host(v) => v.as_ref(),
            Storage::Rows(r) => r.values(),
            Storage::Gpu { host: Some(v), .. } => v,
            Storage::Gpu { host: None, .. } => unreachable!("filled above"),
        })
    }

    fn fill_host_copy(&self) {
        let buf = match &*self.0.data.borrow() {
            Storage::Gpu { buf, host: None } => buf.clone(),
            _ => return,
        };
        let rt = buf.runtime();
        let failed = |e: LabError| {
            rt.fail(e);
            vec![f32::NAN; self.numel()]
        };
        #[cfg(not(target_arch = "wasm32"))]
        let values = rt.read_blocking(&buf).unwrap_or_else(failed);
        #[cfg(target_arch = "wasm32")]
        let values = failed(LabError::Device(
            "a GPU tensor was read without waiting (the browser cannot block); this is a bug in the lab"
                .into(),
        ));
        if let Storage::Gpu { host, .. } = &mut *self.0.data.borrow_mut() {
            *host = Some(values);
        }
    }

    /// The GPU buffer, when the tensor lives on the GPU.
    /// The GPU buffer holding this tensor's values, when it lives on the GPU (for kernels outside the op set:
    /// benchmarks and their tests).
    pub fn gpu(&self) -> Option<Rc<GpuBuf>> {
        match &*self.0.data.borrow() {
            Storage::Gpu { buf, .. } => Some(buf.clone()),
            Storage::Host(_) | Storage::Rows(_) => None,
        }
    }

    /// This tensor's values on `device`, as a new leaf (`x.to(device)` in PyTorch).
    pub fn to_device(&self, device: Device) -> Result<Tensor> {
        if device == self.device() {
            return Ok(self.clone());
        }
        Ok(Tensor::make(self.storage_on(device)?, self.shape().clone(), None))
    }

    /// `to_device` for a tensor nobody else holds (a fresh batch): its values move to the GPU's host copy
    /// instead of being cloned. Falls back to `to_device` when the tensor is shared or not a host leaf.
    pub fn into_device(self, device: Device) -> Result<Tensor> {
        if device == Device::WebGpu && Rc::strong_count(&self.0) == 1 && self.0.op.is_none() {
            let values = match &mut *self.0.data.borrow_mut() {
                Storage::Host(v) => Some(Rc::unwrap_or_clone(std::mem::take(v))),
                Storage::Rows(r) => Some(r.take_values()),
                Storage::Gpu { .. } => None,
            };
            if let Some(values) = values {
                let buf = Rc::new(webgpu::current()?.upload(&values));
                return Ok(Tensor::make(
                    Storage::Gpu { buf, host: Some(values) },
                    self.shape().clone(),
                    None,
                ));
            }
        }
        self.to_device(device)
    }

    fn storage_on(&self, device: Device) -> Result<Storage> {
        Ok(match device {
            Device::Cpu => self.to_vec().into(),
            Device::WebGpu => {
                let rt = webgpu::current()?;
                let values = self.data();
                Storage::Gpu { buf: Rc::new(rt.upload(&values)), host: Some(values.clone()) }
            }
        })
    }

    /// Moves this tensor's values to `device` in place, keeping its identity (a model's parameters move
    /// this way, so the layers holding them need not change). Its gradient is dropped.
    pub fn move_to_(&self, device: Device) -> Result<()> {
        if device != self.device() {
            let moved = self.storage_on(device)?;
            *self.0.data.borrow_mut() = moved;
            self.set_grad(None);
        }
        Ok(())
    }

    /// Replaces a GPU tensor's values by its host copy if it has one, else by zeros, without touching the
    /// GPU (which may be lost): the first step of recovering on the CPU from a checkpoint.
    pub fn abandon_gpu_(&self) {
        let mut storage = self.0.data.borrow_mut();
        if let Storage::Gpu { host, .. } = &mut *storage {
            let values = host.take().unwrap_or_else(|| vec![0.0; self.numel()]);
            *storage = values.into();
        }
        drop(storage);
        self.set_grad(None);
    }

    /// Both tensors on one device: a CPU operand meeting a GPU one is uploaded (small constants and
    /// masks made on the host join GPU tensors this way).
    pub(crate) fn same_device(a: &Tensor, b: &Tensor) -> Result<(Tensor, Tensor)> {
        match (a.device(), b.device()) {
            (Device::WebGpu, Device::Cpu) => Ok((a.clone(), b.to_device(Device::WebGpu)?)),
            (Device::Cpu, Device::WebGpu) => Ok((a.to_device(Device::WebGpu)?, b.clone())),
            _ => Ok((a.clone(), b.clone())),
        }
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
        let mut storage = self.0.data.borrow_mut();
        if let Storage::Rows(_) = &*storage {
            *storage = values.to_vec().into();
            return Ok(());
        }
        match &mut *storage {
            Storage::Host(v) => Rc::make_mut(v).copy_from_slice(values),
            Storage::Rows(_) => unreachable!("replaced above"),
            Storage::Gpu { buf, host } => {
                buf.runtime().write(buf, bytemuck::cast_slice(values));
                *host = Some(values.to_vec());
            }
        }
        Ok(())
    }

    /// Overwrites the values with another tensor's of the same size, on this tensor's device, without
    /// recording anything (running statistics are updated this way, on the GPU without a readback).
    pub fn assign_tensor(&self, src: &Tensor) -> Result<()> {
        if src.numel() != self.numel() {
            return Err(LabError::InvalidArgument(format!(
                "assign: a tensor of shape {} into one of shape {}",
                src.shape(),
                self.shape()
            )));
        }
        match (self.gpu(), src.to_device(self.device())?.gpu()) {
            (Some(dst), Some(from)) => {
                dst.runtime().copy(&from, &dst);
                if let Storage::Gpu { host, .. } = &mut *self.0.data.borrow_mut() {
                    *host = None;
                }
                Ok(())
            }
            _ => self.assign(&src.to_vec()),
        }
    }

    /// Marks the GPU copy as changed by a kernel that wrote it in place (the optimizer's update).
    pub(crate) fn invalidate_host_copy(&self) {
        if let Storage::Gpu { host, .. } = &mut *self.0.data.borrow_mut() {
            *host = None;
        }
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
        Tensor::make(self.copied_storage(), self.shape().clone(), None)
    }

    /// The values as new storage on the same device: on the host the vector is shared (copied only if
    /// one of the holders assigns to it), on the GPU a copy.
    pub(crate) fn copied_storage(&self) -> Storage {
        match &*self.0.data.borrow() {
            Storage::Host(v) => Storage::Host(v.clone()),
            Storage::Rows(r) => Storage::Rows(r.clone()),
            Storage::Gpu { buf, .. } => {
                let rt = buf.runtime();
                let out = rt.alloc(buf.len());
                rt.copy(buf, &out);
                out.into()
            }
        }
    }

    /// Back-propagates from this scalar: fills `.grad()` of every leaf that requires it.
    pub fn backward(&self) -> Result<()> {
        if self.numel() != 1 {
            return Err(LabError::InvalidArgument(format!(
                "backward: the output has shape {}; pass an output gradient with backward_with for non-scalars",
                self.shape()
            )));
        }
        autograd::backward(self, Tensor::ones(self.shape().clone()).to_device(self.device())?)
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
        autograd::backward(self, grad.to_device(self.device())?.detach())
    }
}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never wait for the GPU to print: show the host copy if there is one.
        if let Storage::Gpu { host: None, .. } = &*self.0.data.borrow() {
            return write!(f, "Tensor(shape={}, on the GPU)", self.shape());
        }
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
