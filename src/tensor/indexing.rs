//! Indexing ops: slice, concat, stack, index_select, gather, one_hot. The tensor is seen as
//! (outer, n, inner) around the axis, so each op is a set of contiguous block copies.

use super::{Device, Shape, Storage, Tensor};
use crate::autograd::Op;
use crate::backend::webgpu::ops as gpu;
use crate::error::{LabError, Result};

/// (outer, n, inner) around `axis`.
fn around(dims: &[usize], axis: usize) -> (usize, usize, usize) {
    (dims[..axis].iter().product(), dims[axis], dims[axis + 1..].iter().product())
}

fn with_dim(dims: &[usize], axis: usize, n: usize) -> Shape {
    let mut d = dims.to_vec();
    d[axis] = n;
    Shape::new(&d)
}

impl Tensor {
    /// Elements `start..end` along `axis`. x: (..., n, ...) -> (..., end − start, ...)
    pub fn slice(&self, axis: isize, start: usize, end: usize) -> Result<Tensor> {
        let a = self.shape().axis(axis, "slice")?;
        let (outer, n, inner) = around(self.dims(), a);
        if start > end || end > n {
            return Err(LabError::InvalidArgument(format!(
                "slice: range {start}..{end} is outside axis {axis} of shape {}",
                self.shape()
            )));
        }
        let len = end - start;
        let out: Storage = match self.gpu() {
            // (outer, len, inner) read from (outer, n, inner) at offset start·inner.
            Some(x) => {
                gpu::copy_strided(&x, start * inner, &[n * inner, inner, 1], &[outer, len, inner]).into()
            }
            None => {
                let data = self.data();
                let mut out = Vec::with_capacity(outer * len * inner);
                for o in 0..outer {
                    out.extend_from_slice(&data[(o * n + start) * inner..(o * n + end) * inner]);
                }
                out.into()
            }
        };
        let shape = with_dim(self.dims(), a, len);
        Ok(Tensor::from_op(out, shape, &[self], || Op::Slice { x: self.clone(), axis: a, start }))
    }

    /// Joins tensors along an existing axis; all other dimensions must agree.
    pub fn concat(tensors: &[&Tensor], axis: isize) -> Result<Tensor> {
        let first = tensors.first().ok_or_else(|| LabError::InvalidArgument("concat: no tensors".into()))?;
        let a = first.shape().axis(axis, "concat")?;
        for t in tensors {
            let same = t.rank() == first.rank()
                && t.dims().iter().zip(first.dims()).enumerate().all(|(i, (x, y))| i == a || x == y);
            if !same {
                return Err(LabError::Shape {
                    op: "concat",
                    left: first.dims().to_vec(),
                    right: t.dims().to_vec(),
                });
            }
        }
        let sizes: Vec<usize> = tensors.iter().map(|t| t.dims()[a]).collect();
        let total: usize = sizes.iter().sum();
        let (outer, _, inner) = around(first.dims(), a);
        let out: Storage = if tensors.iter().any(|t| t.device() == Device::WebGpu) {
            let rt = crate::backend::webgpu::current()?;
            let out = rt.alloc(outer * total * inner);
            let mut at = 0;
            for (t, &n) in tensors.iter().zip(&sizes) {
                let src = t.to_device(Device::WebGpu)?.gpu().expect("on the GPU");
                let dims = [outer, n, inner];
                gpu::copy_strided_into(
                    (&src, 0, &[n * inner, inner, 1]),
                    (&out, at * inner, &[total * inner, inner, 1]),
                    &dims,
                );
                at += n;
            }
            out.into()
        } else {
            let mut out = Vec::with_capacity(outer * total * inner);
            for o in 0..outer {
                for (t, &n) in tensors.iter().zip(&sizes) {
                    out.extend_from_slice(&t.data()[o * n * inner..(o + 1) * n * inner]);
                }
            }
            out.into()
        };
        let owned: Vec<Tensor> = tensors.iter().map(|&t| t.clone()).collect();
        let shape = with_dim(first.dims(), a, total);
        let inputs: Vec<&Tensor> = tensors.to_vec();
        Ok(Tensor::from_op(out, shape, &inputs, || Op::Concat { xs: owned, axis: a, sizes }))
    }

    /// Joins equal-shaped tensors along a new axis.
    pub fn stack(tensors: &[&Tensor], axis: usize) -> Result<Tensor> {
        let first = tensors.first().ok_or_else(|| LabError::InvalidArgument("stack: no tensors".into()))?;
        if axis > first.rank() {
            return Err(LabError::InvalidArgument(format!(
                "stack: axis {axis} is past rank {}",
                first.rank()
            )));
        }
        let mut dims = first.dims().to_vec();
        dims.insert(axis, 1);
        let unsqueezed = tensors
            .iter()
            .map(|t| {
                if t.shape() != first.shape() {
                    return Err(LabError::Shape {
                        op: "stack",
                        left: first.dims().to_vec(),
                        right: t.dims().to_vec(),
                    });
                }
                t.reshape_to(&Shape::new(&dims))
            })
            .collect::<Result<Vec<_>>>()?;
        Tensor::concat(&unsqueezed.iter().collect::<Vec<_>>(), axis as isize)
    }

    /// Picks whole slices along `axis` by index (repeats allowed). x: (..., n, ...) -> (..., k, ...)
    pub fn index_select(&self, axis: isize, indices: &[usize]) -> Result<Tensor> {
        let a = self.shape().axis(axis, "index_select")?;
        let (outer, n, inner) = around(self.dims(), a);
        if let Some(&bad) = indices.iter().find(|&&i| i >= n) {
            return Err(LabError::InvalidArgument(format!(
                "index_select: index {bad} is out of range for axis {axis} of size {n}"
            )));
        }
        let out: Storage = match self.gpu() {
            Some(x) => gpu::select_rows(&x, [outer, n, inner], indices).into(),
            None => {
                let data = self.data();
                let mut out = Vec::with_capacity(outer * indices.len() * inner);
                for o in 0..outer {
                    for &i in indices {
                        out.extend_from_slice(&data[(o * n + i) * inner..(o * n + i + 1) * inner]);
                    }
                }
                out.into()
            }
        };
        let shape = with_dim(self.dims(), a, indices.len());
        let indices = indices.to_vec();
        Ok(Tensor::from_op(out, shape, &[self], || Op::IndexSelect { x: self.clone(), axis: a, indices }))
    }

    /// out[..., j, ...] = x[..., index[..., j, ...], ...] along `axis` (PyTorch's gather); `index` has the
    /// shape of the output and the same dimensions as x except along `axis`.
    pub fn gather(&self, axis: isize, index: &Tensor) -> Result<Tensor> {
        let a = self.shape().axis(axis, "gather")?;
        let fits = index.rank() == self.rank()
            && index.dims().iter().zip(self.dims()).enumerate().all(|(i, (x, y))| i == a || x == y);
        if !fits {
            return Err(LabError::Shape {
                op: "gather",
                left: self.dims().to_vec(),
                right: index.dims().to_vec(),
            });
        }
        let positions = gather_positions(self.dims(), a, index)?;
        let out: Storage = match self.gpu() {
            Some(x) => gpu::gather(&x, &positions).into(),
            None => {
                let data = self.data();
                positions.iter().map(|&p| data[p]).collect::<Vec<f32>>().into()
            }
        };
        Ok(Tensor::from_op(out, index.shape().clone(), &[self], || Op::Gather { x: self.clone(), positions }))
    }

    /// One-hot rows: labels (n,) in 0..classes -> (n, classes) of 0.0 and 1.0.
    pub fn one_hot(labels: &[usize], classes: usize) -> Result<Tensor> {
        let mut out = vec![0.0; labels.len() * classes];
        for (row, &l) in labels.iter().enumerate() {
            if l >= classes {
                return Err(LabError::InvalidArgument(format!(
                    "one_hot: label {l} is not below {classes} classes"
                )));
            }
            out[row * classes + l] = 1.0;
        }
        Tensor::from_vec(out, [labels.len(), classes])
    }

    /// Adds `src` into a zero tensor of `shape` at flat `positions` (the backward of gather and index_select).
    pub(crate) fn scatter_add(src: &Tensor, positions: &[usize], shape: &Shape) -> Result<Tensor> {
        if let Some(g) = src.gpu() {
            return Ok(Tensor::make(gpu::scatter_add(&g, positions, shape.numel()), shape.clone(), None));
        }
        let mut out = vec![0.0; shape.numel()];
        for (&p, &v) in positions.iter().zip(src.data().iter()) {
            out[p] += v;
        }
        Ok(Tensor::make(out, shape.clone(), None))
    }
}

/// Flat positions in x read by `gather`, one per element of `index`, checked against the axis size.
fn gather_positions(dims: &[usize], axis: usize, index: &Tensor) -> Result<Vec<usize>> {
    let (_, n, inner) = around(dims, axis);
    let k = index.dims()[axis];
    let idx = index.data();
    idx.iter()
        .enumerate()
        .map(|(flat, &v)| {
            if !(v >= 0.0 && (v as usize) < n && v.fract() == 0.0) {
                return Err(LabError::InvalidArgument(format!("gather: index {v} is not in 0..{n}")));
            }
            let (o, rest) = (flat / (k * inner), flat % inner);
            Ok((o * n + v as usize) * inner + rest)
        })
        .collect()
}

/// Flat positions in x of each output element of `index_select` (for its backward).
pub(crate) fn index_select_positions(dims: &[usize], axis: usize, indices: &[usize]) -> Vec<usize> {
    let (outer, n, inner) = around(dims, axis);
    let mut out = Vec::with_capacity(outer * indices.len() * inner);
    for o in 0..outer {
        for &i in indices {
            out.extend((0..inner).map(|r| (o * n + i) * inner + r));
        }
    }
    out
}
