//! Matrix products and the (numerically stable) softmax family.

use super::{Device, Shape, Storage, Tensor};
use crate::autograd::Op;
use crate::backend::cpu;
use crate::backend::webgpu::GpuBuf;
use crate::backend::webgpu::ops as gpu;
use crate::error::{LabError, Result};

impl Tensor {
    /// Matrix product over the last two dimensions; leading (batch) dimensions broadcast.
    /// a: (..., m, k), b: (..., k, n) -> (..., m, n)
    pub fn matmul(&self, other: &Tensor) -> Result<Tensor> {
        self.matmul_t(other, false, false)
    }

    /// op(self) @ op(other), where op swaps the last two dimensions when its flag is set: `x.matmul_t(w,
    /// false, true)` is x @ wᵀ. The same values as transposing first; on the GPU the transpose is read in
    /// place by the GEMM (no copy), which is how `Linear` and every matmul gradient avoid transpose passes.
    pub fn matmul_t(&self, other: &Tensor, trans_a: bool, trans_b: bool) -> Result<Tensor> {
        let shape_error =
            || LabError::Shape { op: "matmul", left: self.dims().to_vec(), right: other.dims().to_vec() };
        if self.rank() < 2 || other.rank() < 2 {
            return Err(shape_error());
        }
        let (ad, bd) = (self.dims(), other.dims());
        let last2 = |d: &[usize], t: bool| {
            let (r, c) = (d[d.len() - 2], d[d.len() - 1]);
            if t { (c, r) } else { (r, c) }
        };
        let ((m, k), (kb, n)) = (last2(ad, trans_a), last2(bd, trans_b));
        if kb != k {
            return Err(shape_error());
        }
        let a_batch = Shape::new(&ad[..ad.len() - 2]);
        let b_batch = Shape::new(&bd[..bd.len() - 2]);
        let batch = a_batch.broadcast(&b_batch, "matmul").map_err(|_| shape_error())?;
        let dims: Vec<usize> = batch.dims().iter().copied().chain([m, n]).collect();
        let out = if self.device() == Device::WebGpu || other.device() == Device::WebGpu {
            let (a, b) = Tensor::same_device(self, other)?;
            matmul_gpu(&a, &b, &batch, [m, k, n], [trans_a, trans_b])?
        } else if let Some(out) = matmul_narrow(self, other, [m, k, n], [trans_a, trans_b]) {
            out
        } else {
            self.matmul_cpu(other, &batch, [m, k, n], [trans_a, trans_b])
        };
        Ok(Tensor::from_op(out, Shape::new(&dims), &[self, other], || {
            Op::MatMul(self.clone(), other.clone(), [trans_a, trans_b])
        }))
    }

    /// The CPU product: one GEMM per batch entry, a transposed operand read as stored (`cpu::matmul_t`).
    fn matmul_cpu(&self, other: &Tensor, batch: &Shape, [m, k, n]: [usize; 3], trans: [bool; 2]) -> Storage {
        // The operands are read in place (a copy of a 5000x784 batch per product was a third of W5's time);
        // broadcast batches are materialized only when the batch shapes differ (rare: (B, m, k) @ (k, n)).
        let expanded = |t: &Tensor| -> Option<Vec<f32>> {
            let d = t.dims();
            let (own, mat) = d.split_at(d.len() - 2);
            (own != batch.dims()).then(|| {
                let dims: Vec<usize> = batch.dims().iter().chain(mat).copied().collect();
                t.expand_data(&Shape::new(&dims))
            })
        };
        let (a_full, b_full) = (expanded(self), expanded(other));
        let (a_own, b_own) = (self.data(), other.data());
        let a: &[f32] = a_full.as_deref().unwrap_or(&a_own);
        let b: &[f32] = b_full.as_deref().unwrap_or(&b_own);
        let mut out = vec![0.0; batch.numel() * m * n];
        for i in 0..batch.numel() {
            let (a_i, b_i) = (&a[i * m * k..(i + 1) * m * k], &b[i * k * n..(i + 1) * k * n]);
            cpu::matmul_t(a_i, b_i, m, k, n, trans, &mut out[i * m * n..(i + 1) * m * n]);
        }
        out.into()
    }

    /// softmax(x)ᵢ = exp(xᵢ − m) / Σⱼ exp(xⱼ − m) along `axis`, with m the (detached) maximum: subtracting
    /// it changes nothing mathematically and keeps every exponent ≤ 0, so large logits cannot overflow.
    pub fn softmax(&self, axis: isize) -> Result<Tensor> {
        let shifted = self.sub(&self.max(axis, true)?.detach())?;
        let e = shifted.exp();
        e.div(&e.sum(&[axis], true)?)
    }

    /// log_softmax(x) = (x − m) − log Σ exp(x − m): finite for any finite input, even −1e30. On the GPU
    /// it is one fused kernel (and one for its gradient) instead of six launches.
    pub fn log_softmax(&self, axis: isize) -> Result<Tensor> {
        if let Some(x) = self.gpu() {
            let a = self.shape().axis(axis, "log_softmax")?;
            let (outer, n, inner) = around(self.dims(), a);
            let y = std::rc::Rc::new(gpu::log_softmax(&x, outer, n, inner));
            let op = || Op::LogSoftmax { x: self.clone(), axis: a, y: y.clone() };
            return Ok(Tensor::from_op(y.clone(), self.shape().clone(), &[self], op));
        }
        let shifted = self.sub(&self.max(axis, true)?.detach())?;
        shifted.sub(&shifted.exp().sum(&[axis], true)?.log())
    }
}

impl Tensor {
    /// self Wᵀ + b, a `Linear` layer: self (n, in), w (out, in), b (out). On the GPU one launch, the GEMM
    /// adding the bias as it stores (`gpu::matmul_bias`, recorded as `Op::Linear`); anywhere else (the CPU,
    /// other ranks, devices mixed, an empty side) the composite `matmul_t(w, false, true)` then `add(b)`,
    /// whose graph the lab's figures show.
    pub fn linear(&self, w: &Tensor, b: Option<&Tensor>) -> Result<Tensor> {
        self.linear_then(w, b, false)
    }

    /// relu(self Wᵀ + b): a `Linear` layer and the ReLU after it (`Sequential` pairs them). On the GPU one
    /// launch, the ReLU applied as the product is stored (`gpu::matmul_bias`), and in backward the mask
    /// is read from the output; anywhere else `linear` then `relu`.
    pub fn linear_relu(&self, w: &Tensor, b: Option<&Tensor>) -> Result<Tensor> {
        self.linear_then(w, b, true)
    }

    fn linear_then(&self, w: &Tensor, b: Option<&Tensor>, relu: bool) -> Result<Tensor> {
        let composite = || {
            let y = match b {
                Some(b) => self.matmul_t(w, false, true)?.add(b)?,
                None => self.matmul_t(w, false, true)?,
            };
            Ok(if relu { y.relu() } else { y })
        };
        let Some(b) = b else { return composite() };
        let on_gpu = [self, w, b].iter().all(|t| t.device() == Device::WebGpu);
        let (n, k, c) = match (self.dims(), w.dims(), b.dims()) {
            (&[n, k], &[c, kw], &[cb]) if on_gpu && k == kw && cb == c && n * k * c > 0 => (n, k, c),
            _ => return composite(),
        };
        let buf = |t: &Tensor| t.gpu().expect("on the GPU");
        let (xb, wb, bb) = (buf(self), buf(w), buf(b));
        let out = std::rc::Rc::new(gpu::matmul_bias(
            (&xb, 0),
            (&wb, 0),
            Some(&bb),
            relu,
            1,
            [n, k, c],
            [false, true],
        ));
        let mask = relu.then(|| out.clone());
        Ok(Tensor::from_op(out, Shape::new(&[n, c]), &[self, w, b], || Op::Linear {
            x: self.clone(),
            w: w.clone(),
            b: b.clone(),
            relu: mask,
        }))
    }

    /// The output gradient of a `linear_relu` before its ReLU: self · step(y), y the output's buffer.
    pub(crate) fn relu_mask_gpu(&self, y: &std::rc::Rc<GpuBuf>) -> Result<Tensor> {
        self.mul_unary(
            crate::backend::ops::UnaryOp::Step,
            &Tensor::make(y.clone(), self.shape().clone(), None),
        )
    }

    /// op(self) @ op(other) (2-D, flags as in `matmul_t`) and the row sums of op(self), shaped `sums`: a
    /// layer's weight gradient and its bias gradient (a Linear's gᵀ x with g's column sums, a convolution's
    /// g₂ colsᵀ with g₂'s row sums). On the GPU one launch where k is not split (`gpu::matmul_row_sums`),
    /// elsewhere the product and a sum.
    pub(crate) fn matmul_t_row_sums(
        &self,
        other: &Tensor,
        trans: [bool; 2],
        sums: &Shape,
    ) -> Result<(Tensor, Tensor)> {
        if let (Some(a), Some(b), 2, 2) = (self.gpu(), other.gpu(), self.rank(), other.rank()) {
            let [r, c] = [self.dims()[0], self.dims()[1]];
            let (m, k) = if trans[0] { (c, r) } else { (r, c) };
            let n = if trans[1] { other.dims()[0] } else { other.dims()[1] };
            let (out, row_sums) = gpu::matmul_row_sums(&a, &b, [m, k, n], trans);
            return Ok((
                Tensor::make(out, Shape::new(&[m, n]), None),
                Tensor::make(row_sums, sums.clone(), None),
            ));
        }
        let axis = if trans[0] { 0 } else { 1 };
        Ok((self.matmul_t(other, trans[0], trans[1])?, self.sum(&[axis], false)?.reshape_to(sums)?))
    }

    /// The mean cross-entropy of softmax(self Wᵀ + b) on the CPU in one pass over self (`cpu::
    /// linear_cross_entropy`): self (n, k) as rows (a drawn batch read where it lies), w (c, k), b (c),
    /// targets checked by the caller. The gradients are computed with the loss and scaled by the backward
    /// pass (`Op::LinearCrossEntropy`); the caller takes this path only where they will be recorded.
    pub(crate) fn linear_cross_entropy_cpu(
        &self,
        w: &Tensor,
        b: Option<&Tensor>,
        targets: &[usize],
    ) -> Tensor {
        let (c, k) = (w.dims()[0], w.dims()[1]);
        let bias = b.map(|b| b.data());
        let head = as_rows(self, k, |x| {
            cpu::linear_cross_entropy(x, &w.data(), bias.as_deref().map(|b| &b[..]), targets, c)
        });
        self.fused_head(w, b, vec![head.loss], [head.dz.into(), head.dw.into(), head.db.into()])
    }

    /// The fused head's loss (self the layer's input (n, k), w (c, k)), recording `Op::LinearCrossEntropy`
    /// with its gradients dz (n, c), dW (c, k) and db (c) on whichever device made them.
    fn fused_head(
        &self,
        w: &Tensor,
        b: Option<&Tensor>,
        loss: impl Into<Storage>,
        grads: [Storage; 3],
    ) -> Tensor {
        let (n, [c, k]) = (self.dims()[0], [w.dims()[0], w.dims()[1]]);
        let [dz, dw, db] = grads;
        let grad = |v: Storage, dims: &[usize]| Tensor::make(v, Shape::new(dims), None);
        let inputs: Vec<&Tensor> = [self, w].into_iter().chain(b).collect();
        Tensor::from_op(loss, Shape::new(&[]), &inputs, || Op::LinearCrossEntropy {
            x: self.clone(),
            w: w.clone(),
            b: b.cloned(),
            dz: grad(dz, &[n, c]),
            dw: grad(dw, &[c, k]),
            db: grad(db, &[c]),
        })
    }

    /// `linear_cross_entropy_cpu`'s twin on the GPU, its products and reductions recorded at once: the
    /// logits x Wᵀ (one GEMM), the loss rows and dz with the bias added (`cross_entropy_rows`, one launch),
    /// their sum (the loss), and dW = dzᵀ x with db = dz's column sums (one GEMM reading dz transposed in
    /// place, `matmul_row_sums`): four launches where the composite takes about fifteen (bias, log-softmax,
    /// gather, mean and their adjoints). All inputs on the GPU; targets checked by the caller.
    pub(crate) fn linear_cross_entropy_gpu(
        &self,
        w: &Tensor,
        b: Option<&Tensor>,
        targets: &[usize],
    ) -> Tensor {
        use crate::backend::ops::ReduceOp;
        let (c, k) = (w.dims()[0], w.dims()[1]);
        let n = targets.len();
        let on_gpu = |t: &Tensor| t.gpu().expect("linear_cross_entropy_gpu: an input is not on the GPU");
        let (x, wb) = (on_gpu(self), on_gpu(w));
        let bias = b.map(on_gpu);
        let logits = gpu::matmul((&x, 0), (&wb, 0), 1, [n, k, c], [false, true]);
        let (dz, rows) = gpu::cross_entropy_rows(&logits, bias.as_deref(), targets, c);
        let loss = gpu::reduce(ReduceOp::Sum, &rows, 1, n, 1);
        let (dw, db) = gpu::matmul_row_sums(&dz, &x, [c, n, k], [true, false]);
        self.fused_head(w, b, loss, [dz.into(), dw.into(), db.into()])
    }

    /// The adjoint of the GPU's fused log_softmax: self is the output gradient, `y` the forward's output.
    pub(crate) fn log_softmax_backward_gpu(&self, y: &GpuBuf, shape: &Shape, axis: usize) -> Result<Tensor> {
        let g = self.to_device(Device::WebGpu)?.gpu().expect("on the GPU");
        let (outer, n, inner) = around(shape.dims(), axis);
        Ok(Tensor::make(gpu::log_softmax_backward(&g, y, outer, n, inner), shape.clone(), None))
    }
}

/// A 2-D product with a narrow side on the CPU, its transposed operand read as stored by the unpacked
/// kernels (`cpu::matmul_a_bt`, `cpu::matmul_at_b`): a classifier layer's x Wᵀ and its weight gradient gᵀ x.
/// Packing the wide operand (a 5000 x 784 batch) cost more than the product. `None`: the general path.
fn matmul_narrow(a: &Tensor, b: &Tensor, [m, k, n]: [usize; 3], [ta, tb]: [bool; 2]) -> Option<Storage> {
    if !cpu::NARROW_KERNELS || a.rank() != 2 || b.rank() != 2 {
        return None;
    }
    let mut out = vec![0.0; m * n];
    match (ta, tb) {
        (false, true) if n <= cpu::NARROW => {
            as_rows(a, k, |a| cpu::matmul_a_bt(a, &b.data(), m, k, n, &mut out));
        }
        (true, false) if m <= cpu::NARROW => {
            as_rows(b, n, |b| cpu::matmul_at_b(&a.data(), b, m, k, n, &mut out));
        }
        _ => return None,
    }
    Some(out.into())
}

/// `t`'s values as rows of `len`, read where they lie when `t` is a batch drawn from a dataset
/// (`Tensor::from_rows`) whose items are those rows; otherwise its values as one vector.
fn as_rows<R>(t: &Tensor, len: usize, f: impl FnOnce(cpu::Rows<'_>) -> R) -> R {
    match t.row_view() {
        Some(view) if view.row_len() == len => f(view.rows()),
        _ => f(cpu::Rows::dense(&t.data(), len)),
    }
}

/// (outer, n, inner) around `axis`.
fn around(dims: &[usize], axis: usize) -> (usize, usize, usize) {
    (dims[..axis].iter().product(), dims[axis], dims[axis + 1..].iter().product())
}

/// The GPU product: one batched launch. An operand whose batch is a single matrix is shared with stride 0;
/// any other broadcast batch is materialized first.
fn matmul_gpu(a: &Tensor, b: &Tensor, batch: &Shape, mkn: [usize; 3], trans: [bool; 2]) -> Result<Storage> {
    let operand = |t: &Tensor| -> Result<(std::rc::Rc<crate::backend::webgpu::GpuBuf>, usize)> {
        let own: usize = t.dims()[..t.rank() - 2].iter().product();
        let mat = [t.dims()[t.rank() - 2], t.dims()[t.rank() - 1]]; // as stored
        let size = mat[0] * mat[1];
        if own == batch.numel() && t.rank() - 2 == batch.rank() {
            return Ok((t.gpu().expect("on the GPU"), size));
        }
        if own == 1 {
            return Ok((t.gpu().expect("on the GPU"), 0));
        }
        let dims: Vec<usize> = batch.dims().iter().copied().chain(mat).collect();
        let full = t.expand(&Shape::new(&dims))?;
        Ok((full.gpu().expect("on the GPU"), size))
    };
    let (a, sa) = operand(a)?;
    let (b, sb) = operand(b)?;
    if batch.numel() > 65_535 {
        return Err(LabError::InvalidArgument(format!(
            "matmul: {} batched products are more than one GPU launch takes (65,535)",
            batch.numel()
        )));
    }
    Ok(gpu::matmul((&a, sa), (&b, sb), batch.numel(), mkn, trans).into())
}
