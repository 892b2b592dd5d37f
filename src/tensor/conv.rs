//! Convolution and pooling. conv2d is composite: im2col (a primitive with its own backward, col2im), one
//! GEMM with the flattened kernels, and a permute back to (N, C_out, H', W'); autograd differentiates it
//! through those pieces.

use super::{Device, Shape, Storage, Tensor};
use crate::autograd::{Argmax, Op};
use crate::backend::cpu;
use crate::backend::ops::Window;
use crate::backend::webgpu::GpuBuf;
use crate::backend::webgpu::ops as gpu;
use crate::error::{LabError, Result};

impl Tensor {
    /// (N, C, H, W) and the output size for `win`, or a learner-readable error.
    fn window_dims(&self, win: Window, op: &str) -> Result<([usize; 4], (usize, usize))> {
        window_dims(self.shape(), win, op)
    }

    /// Unfolds every window into a column. x: (N, C, H, W) -> (C·KH·KW, N·OH·OW)
    pub fn im2col(&self, win: Window) -> Result<Tensor> {
        let (dims, (oh, ow)) = self.window_dims(win, "im2col")?;
        let [n, c, ..] = dims;
        let rows = c * win.kernel.0 * win.kernel.1;
        let cols: Storage = match self.gpu() {
            Some(x) => gpu::im2col(&x, dims, win, (oh, ow)).into(),
            None => {
                let mut cols = vec![0.0; rows * n * oh * ow];
                cpu::im2col(&self.data(), dims, win, &mut cols);
                cols.into()
            }
        };
        let shape = Shape::new(&[rows, n * oh * ow]);
        Ok(Tensor::from_op(cols, shape, &[self], || Op::Im2Col { x: self.clone(), win }))
    }

    /// The adjoint of `im2col` (overlaps summed), used by its backward. cols -> (N, C, H, W)
    pub(crate) fn col2im(&self, x_shape: &Shape, win: Window) -> Result<Tensor> {
        self.adjoint_into(x_shape, win, "col2im", gpu::col2im, |g, dims, out| cpu::col2im(g, dims, win, out))
    }

    /// Runs a window op's adjoint kernel from this gradient into a new (N, C, H, W) tensor of `x_shape`.
    fn adjoint_into(
        &self,
        x_shape: &Shape,
        win: Window,
        op: &str,
        gpu_kernel: fn(&GpuBuf, [usize; 4], Window, (usize, usize)) -> GpuBuf,
        kernel: impl FnOnce(&[f32], [usize; 4], &mut [f32]),
    ) -> Result<Tensor> {
        let (dims, out_size) = window_dims(x_shape, win, op)?;
        if let Some(g) = self.gpu() {
            return Ok(Tensor::make(gpu_kernel(&g, dims, win, out_size), x_shape.clone(), None));
        }
        let mut out = vec![0.0; x_shape.numel()];
        kernel(&self.data(), dims, &mut out);
        Ok(Tensor::make(out, x_shape.clone(), None))
    }

    /// 2-D convolution (cross-correlation, as in PyTorch) without bias.
    /// x: (N, C_in, H, W), w: (C_out, C_in, KH, KW) -> (N, C_out, H', W'),
    /// H' = ⌊(H + 2·pad − KH) / stride⌋ + 1 and likewise for W'.
    pub fn conv2d(&self, weight: &Tensor, stride: (usize, usize), padding: (usize, usize)) -> Result<Tensor> {
        self.conv2d_fused(weight, None, false, stride, padding)
    }

    /// `conv2d`, then + bias (shape (1, C_out, 1, 1)), then ReLU when `relu`: a Conv2d layer and the ReLU
    /// after it. On the GPU one launch (the direct kernel adds the bias and applies the ReLU as it stores;
    /// backward reads the ReLU's mask from the output); on the CPU the same ops one after another.
    pub fn conv2d_fused(
        &self,
        weight: &Tensor,
        bias: Option<&Tensor>,
        relu: bool,
        stride: (usize, usize),
        padding: (usize, usize),
    ) -> Result<Tensor> {
        let [c_out, c_in, kh, kw] = match *weight.dims() {
            [o, i, kh, kw] => [o, i, kh, kw],
            _ => {
                return Err(LabError::InvalidArgument(format!(
                    "conv2d: weight must be (C_out, C_in, KH, KW), got shape {}",
                    weight.shape()
                )));
            }
        };
        let win = Window { kernel: (kh, kw), stride, padding };
        let ([n, c, ..], (oh, ow)) = self.window_dims(win, "conv2d")?;
        if c != c_in {
            return Err(LabError::Shape {
                op: "conv2d",
                left: self.dims().to_vec(),
                right: weight.dims().to_vec(),
            });
        }
        let channel_bias = bias.is_none_or(|b| b.device() == Device::WebGpu && b.dims() == [1, c_out, 1, 1]);
        if (self.device() == Device::WebGpu || weight.device() == Device::WebGpu) && channel_bias {
            // One direct kernel: on an H200 it ran the chapters' forward convolutions 1.1-6x faster than
            // im2col + GEMM + permute (`cvjourney bench --gpu`), and keeps no im2col matrix alive until
            // the backward pass, which rebuilds it (Op::Conv2d).
            let (x, w) = Tensor::same_device(self, weight)?;
            let (xb, wb) = (x.gpu().expect("on the GPU"), w.gpu().expect("on the GPU"));
            let bb = bias.map(|b| b.gpu().expect("on the GPU"));
            let dims = [n, c, self.dims()[2], self.dims()[3]];
            let y = std::rc::Rc::new(gpu::conv2d_direct_fused(
                &xb,
                &wb,
                bb.as_deref(),
                relu,
                dims,
                c_out,
                win,
                (oh, ow),
            ));
            let shape = Shape::new(&[n, c_out, oh, ow]);
            let mask = relu.then(|| y.clone());
            let inputs: Vec<&Tensor> = [self, weight].into_iter().chain(bias).collect();
            return Ok(Tensor::from_op(y, shape, &inputs, || Op::Conv2d {
                x: self.clone(),
                w: weight.clone(),
                win,
                b: bias.cloned(),
                relu: mask,
            }));
        }
        let y = if self.device() == Device::WebGpu || weight.device() == Device::WebGpu {
            self.conv2d_fused(weight, None, false, stride, padding)?
        } else {
            let cols = self.im2col(win)?; // (C·KH·KW, N·OH·OW)
            let y = weight.reshape(&[c_out as isize, -1])?.matmul(&cols)?; // (C_out, N·OH·OW)
            y.reshape(&[c_out as isize, n as isize, oh as isize, ow as isize])?.permute(&[1, 0, 2, 3])?
        };
        let y = match bias {
            Some(b) => y.add(b)?,
            None => y,
        };
        Ok(if relu { y.relu() } else { y })
    }

    /// Max pooling. x: (N, C, H, W) -> (N, C, H', W'); the gradient goes to the first maximum of each window.
    pub fn max_pool2d(&self, kernel: usize, stride: usize, padding: usize) -> Result<Tensor> {
        let win = pool_window(kernel, stride, padding, "max_pool2d")?;
        let (dims, (oh, ow)) = self.window_dims(win, "max_pool2d")?;
        let count = dims[0] * dims[1] * oh * ow;
        let (out, argmax): (Storage, Argmax) = match self.gpu() {
            Some(x) => {
                let (values, idx) = gpu::max_pool2d(&x, dims, win, (oh, ow));
                (values.into(), Argmax::Gpu { idx: std::rc::Rc::new(idx), win })
            }
            None => {
                let (mut out, mut argmax) = (vec![0.0; count], vec![0; count]);
                cpu::max_pool2d(&self.data(), dims, win, &mut out, &mut argmax);
                (out.into(), Argmax::Host(argmax))
            }
        };
        let shape = Shape::new(&[dims[0], dims[1], oh, ow]);
        Ok(Tensor::from_op(out, shape, &[self], || Op::MaxPool2d { x: self.clone(), argmax }))
    }

    /// Average pooling, padding counted as zeros. x: (N, C, H, W) -> (N, C, H', W')
    pub fn avg_pool2d(&self, kernel: usize, stride: usize, padding: usize) -> Result<Tensor> {
        let win = pool_window(kernel, stride, padding, "avg_pool2d")?;
        let (dims, (oh, ow)) = self.window_dims(win, "avg_pool2d")?;
        let out: Storage = match self.gpu() {
            Some(x) => gpu::avg_pool2d(&x, dims, win, (oh, ow)).into(),
            None => {
                let mut out = vec![0.0; dims[0] * dims[1] * oh * ow];
                cpu::avg_pool2d_ref(&self.data(), dims, win, &mut out);
                out.into()
            }
        };
        let shape = Shape::new(&[dims[0], dims[1], oh, ow]);
        Ok(Tensor::from_op(out, shape, &[self], || Op::AvgPool2d { x: self.clone(), win }))
    }

    /// The adjoint of `avg_pool2d`, used by its backward. g: (N, C, H', W') -> (N, C, H, W)
    pub(crate) fn avg_pool2d_backward(&self, x_shape: &Shape, win: Window) -> Result<Tensor> {
        self.adjoint_into(x_shape, win, "avg_pool2d", gpu::avg_pool2d_backward, |g, dims, out| {
            cpu::avg_pool2d_backward_ref(g, dims, win, out)
        })
    }

    /// The adjoint of `max_pool2d` on the GPU: each input element sums the gradients of the windows whose
    /// maximum it was. g: (N, C, H', W') -> (N, C, H, W)
    pub(crate) fn max_pool2d_backward_gpu(
        &self,
        argmax: &GpuBuf,
        x_shape: &Shape,
        win: Window,
    ) -> Result<Tensor> {
        let gpu_kernel = |g: &GpuBuf, dims, win, out| gpu::max_pool2d_backward(g, argmax, dims, win, out);
        let (dims, out_size) = window_dims(x_shape, win, "max_pool2d")?;
        let g = self
            .gpu()
            .ok_or_else(|| LabError::Device("max_pool2d: the gradient is not on the GPU".into()))?;
        Ok(Tensor::make(gpu_kernel(&g, dims, win, out_size), x_shape.clone(), None))
    }

    /// Inverted dropout: in training, zeroes each element with probability `p` and scales the survivors by
    /// 1/(1 − p), so evaluation needs no rescaling; in evaluation it is the identity.
    pub fn dropout(&self, p: f32, training: bool) -> Result<Tensor> {
        if !(0.0..1.0).contains(&p) {
            return Err(LabError::InvalidArgument(format!("dropout: p = {p} must be in [0, 1)")));
        }
        if !training || p == 0.0 {
            return Ok(self.clone());
        }
        // One draw from the seeded stream picks this call's seed; the mask itself is counter-based, so the
        // GPU makes the same mask where the tensor lives.
        let seed = super::with_rng(|r| r.next_u32());
        let (n, keep, scale) = (self.numel(), 1.0 - p, 1.0 / (1.0 - p));
        let mask: Storage = match self.gpu() {
            Some(x) => gpu::dropout_mask(x.runtime(), n, seed, keep, scale).into(),
            None => super::rng::dropout_mask(n, seed, keep, scale).into(),
        };
        self.mul(&Tensor::make(mask, self.shape().clone(), None))
    }
}

/// Square pooling windows; padding at most half the kernel (PyTorch's rule), so no window is all padding.
fn pool_window(kernel: usize, stride: usize, padding: usize, op: &str) -> Result<Window> {
    if kernel == 0 || stride == 0 || padding > kernel / 2 {
        return Err(LabError::InvalidArgument(format!(
            "{op}: kernel {kernel}, stride {stride}, padding {padding}: kernel and stride must be positive and \
             padding at most half the kernel"
        )));
    }
    Ok(Window { kernel: (kernel, kernel), stride: (stride, stride), padding: (padding, padding) })
}

/// (N, C, H, W) of `shape` and the output size for `win`, or a learner-readable error.
fn window_dims(shape: &Shape, win: Window, op: &str) -> Result<([usize; 4], (usize, usize))> {
    let [n, c, h, w] = match *shape.dims() {
        [n, c, h, w] => [n, c, h, w],
        _ => {
            return Err(LabError::InvalidArgument(format!(
                "{op}: input must be (N, C, H, W), got shape {shape}"
            )));
        }
    };
    let out = win.output_size(h, w).ok_or_else(|| {
        LabError::InvalidArgument(format!(
            "{op}: a {:?} kernel with stride {:?} and padding {:?} does not fit a {h}x{w} input",
            win.kernel, win.stride, win.padding
        ))
    })?;
    Ok(([n, c, h, w], out))
}
