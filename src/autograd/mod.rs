//! Define-by-run reverse-mode autodiff. Each recorded result keeps its `Op` (inputs and whatever backward
//! needs); `backward` walks the graph in reverse topological order and applies one `match`, whose arms
//! are written with tensor ops (under `no_grad`, so the backward pass records nothing).

mod gradcheck;
mod graph;

use std::cell::Cell;
use std::collections::HashMap;

use crate::backend::ops::{BinaryOp, UnaryOp, Window};
use crate::error::Result;
use crate::tensor::{Shape, Tensor};
pub use gradcheck::{GradcheckOptions, gradcheck};
pub use graph::{Graph, GraphEdge, GraphNode, Summary, backward_traced, graph};

/// How a tensor was computed. Inputs are kept alive by the graph until the result is dropped.
/// Where max pooling's argmax lives: host indices (CPU) or a GPU buffer of u32 indices.
pub(crate) enum Argmax {
    Host(Vec<usize>),
    Gpu { idx: std::rc::Rc<crate::backend::webgpu::GpuBuf>, win: crate::backend::ops::Window },
}

pub(crate) enum Op {
    /// `argmax`: the flat index in x of each window's maximum.
    MaxPool2d {
        x: Tensor,
        argmax: Argmax,
    },
    /// Windows unfolded into columns (conv2d's first step); backward folds them back (col2im).
    Im2Col {
        x: Tensor,
        win: Window,
    },
    AvgPool2d {
        x: Tensor,
        win: Window,
    },
    Slice {
        x: Tensor,
        axis: usize,
        start: usize,
    },
    Concat {
        xs: Vec<Tensor>,
        axis: usize,
        sizes: Vec<usize>,
    },
    IndexSelect {
        x: Tensor,
        axis: usize,
        indices: Vec<usize>,
    },
    /// `positions`: the flat index in x read by each output element.
    Gather {
        x: Tensor,
        positions: Vec<usize>,
    },
    /// log_softmax fused on the GPU (the CPU composes it from primitives); `y` is the output's buffer,
    /// kept as a buffer rather than a tensor so the output does not own itself.
    LogSoftmax {
        x: Tensor,
        axis: usize,
        y: std::rc::Rc<crate::backend::webgpu::GpuBuf>,
    },
    /// Convolution computed directly on the GPU (x (N, C, H, W), w (C_out, C, KH, KW)); its backward
    /// rebuilds the im2col matrix instead of keeping it from the forward pass.
    Conv2d {
        x: Tensor,
        w: Tensor,
        win: crate::backend::ops::Window,
        /// The bias (1, C_out, 1, 1) the kernel added, if any.
        b: Option<Tensor>,
        /// The output's buffer when a ReLU followed in the same launch (its mask in backward).
        relu: Option<std::rc::Rc<crate::backend::webgpu::GpuBuf>>,
    },
    /// The mean cross-entropy of softmax(x Wᵀ + b), fused (`cpu::linear_cross_entropy` on the CPU, five
    /// launches on the GPU): its gradients (of the loss, dz = ∂loss/∂logits) were computed with it;
    /// backward scales them.
    LinearCrossEntropy {
        x: Tensor,
        w: Tensor,
        b: Option<Tensor>,
        dz: Tensor,
        dw: Tensor,
        db: Tensor,
    },
    /// x Wᵀ + b in one GPU launch (`Tensor::linear`; the CPU records the product and the addition), then
    /// ReLU when `relu` holds the output's buffer (`Tensor::linear_relu`; its mask is read from it).
    Linear {
        x: Tensor,
        w: Tensor,
        b: Tensor,
        relu: Option<std::rc::Rc<crate::backend::webgpu::GpuBuf>>,
    },
    Unary(UnaryOp, Tensor),
    Binary(BinaryOp, Tensor, Tensor),
    /// Sum over one axis, or a run of adjacent axes on the GPU, keeping them with size 1.
    Sum(Tensor),
    /// Max over one axis, keeping it with size 1; `argmax` (no grad) routes the gradient.
    Max {
        x: Tensor,
        axis: usize,
        argmax: Tensor,
    },
    /// op(a) @ op(b), each op a transpose of the last two dimensions when its flag is set.
    MatMul(Tensor, Tensor, [bool; 2]),
    Reshape(Tensor),
    Permute {
        x: Tensor,
        perm: Vec<usize>,
    },
    /// Broadcast to a larger shape (materialized).
    Expand(Tensor),
    /// Select `a` where `cond` (no grad) is non-zero, else `b`.
    Where {
        cond: Tensor,
        a: Tensor,
        b: Tensor,
    },
}

impl Op {
    /// The PyTorch-style `grad_fn` name.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Unary(u, _) => u.name(),
            Op::LogSoftmax { .. } => "log_softmax",
            Op::LinearCrossEntropy { .. } => "linear_cross_entropy",
            Op::Linear { relu: None, .. } => "linear",
            Op::Linear { relu: Some(_), .. } => "linear_relu",
            Op::Binary(b, ..) => b.name(),
            Op::Sum(_) => "sum",
            Op::Max { .. } => "max",
            Op::MatMul(..) => "matmul",
            Op::Conv2d { .. } => "conv2d",
            Op::Reshape(_) => "reshape",
            Op::Permute { .. } => "permute",
            Op::Expand(_) => "expand",
            Op::Where { .. } => "where",
            Op::Slice { .. } => "slice",
            Op::Concat { .. } => "concat",
            Op::IndexSelect { .. } => "index_select",
            Op::Gather { .. } => "gather",
            Op::Im2Col { .. } => "im2col",
            Op::MaxPool2d { .. } => "max_pool2d",
            Op::AvgPool2d { .. } => "avg_pool2d",
        }
    }

    pub fn inputs(&self) -> Vec<&Tensor> {
        match self {
            Op::Unary(_, x) | Op::Reshape(x) | Op::Expand(x) | Op::Sum(x) => vec![x],
            Op::Max { x, .. } | Op::Permute { x, .. } | Op::Slice { x, .. } => vec![x],
            Op::IndexSelect { x, .. } | Op::Gather { x, .. } | Op::LogSoftmax { x, .. } => vec![x],
            Op::Im2Col { x, .. } | Op::AvgPool2d { x, .. } | Op::MaxPool2d { x, .. } => vec![x],
            Op::Concat { xs, .. } => xs.iter().collect(),
            Op::Binary(_, a, b) | Op::MatMul(a, b, _) | Op::Where { a, b, .. } => vec![a, b],
            Op::Conv2d { x, w, b, .. } => [x, w].into_iter().chain(b).collect(),
            Op::Linear { x, w, b, .. } => vec![x, w, b],
            Op::LinearCrossEntropy { x, w, b, .. } => [x, w].into_iter().chain(b).collect(),
        }
    }

    /// The gradient of each input that requires one, given the output gradient `g` (same order as
    /// `inputs`; `None` for an input without `requires_grad`). Products and convolutions skip the unwanted
    /// side: the first layer's gradient with respect to a data batch is as large as the batch, and nothing
    /// would read it (W5 spent a sixth of its time making it).
    fn backward(&self, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let wanted = |t: &Tensor| t.requires_grad();
        match self {
            Op::MatMul(a, b, [ta, tb]) => {
                // C = A'B' with A' = op(A), B' = op(B): dA' = g B'ᵀ and dB' = A'ᵀ g; a transposed operand
                // takes the transpose of its gradient (dA = B' gᵀ, dB = gᵀ A'). No transpose is copied.
                let ga = wanted(a)
                    .then(|| if *ta { b.matmul_t(g, *tb, true) } else { g.matmul_t(b, false, !tb) })
                    .map(|ga| ga?.sum_to(a.shape()))
                    .transpose()?;
                let gb = wanted(b)
                    .then(|| if *tb { g.matmul_t(a, true, *ta) } else { a.matmul_t(g, !ta, false) })
                    .map(|gb| gb?.sum_to(b.shape()))
                    .transpose()?;
                Ok(vec![ga, gb])
            }
            Op::Conv2d { x, w, win, b, relu } => {
                let g = &through_relu(g, relu.as_ref())?;
                // y = W₂ · cols, permuted to (N, C_out, OH, OW): with g₂ the gradient in (C_out, N·OH·OW)
                // order, dW₂ = g₂ colsᵀ and dcols = W₂ᵀ g₂, folded back onto x by col2im.
                let c_out = w.dims()[0] as isize;
                let g2 = g.permute(&[1, 0, 2, 3])?.reshape(&[c_out, -1])?;
                let w2 = w.reshape(&[c_out, -1])?;
                let dx =
                    wanted(x).then(|| w2.matmul_t(&g2, true, false)?.col2im(x.shape(), *win)).transpose()?;
                // db = g₂'s row sums: made by dW₂'s GEMM when both are wanted (one launch without split-K).
                let (dw, db) = match (wanted(w), b.as_ref().filter(|b| wanted(b))) {
                    (true, Some(b)) => {
                        let (dw, db) = g2.matmul_t_row_sums(&x.im2col(*win)?, [false, true], b.shape())?;
                        (Some(dw.reshape_to(w.shape())?), Some(db))
                    }
                    (w_wanted, b_wanted) => (
                        w_wanted
                            .then(|| g2.matmul_t(&x.im2col(*win)?, false, true)?.reshape_to(w.shape()))
                            .transpose()?,
                        b_wanted.map(|b| g.sum_to(b.shape())).transpose()?,
                    ),
                };
                let mut grads = vec![dx, dw];
                if b.is_some() {
                    grads.push(db);
                }
                Ok(grads)
            }
            Op::Linear { x, w, b, relu } => {
                // The composite's gradients: dx = g W and dW = gᵀ x (MatMul with W read transposed), db = g
                // summed over the rows (Add's broadcast); dW and db in one launch when both are wanted.
                // After a ReLU, g first passes its mask, step(y) (y > 0 exactly where the input was).
                let g = &through_relu(g, relu.as_ref())?;
                let dx = wanted(x).then(|| g.matmul_t(w, false, false)).transpose()?;
                let (dw, db) = match (wanted(w), wanted(b)) {
                    (true, true) => {
                        let (dw, db) = g.matmul_t_row_sums(x, [true, false], b.shape())?;
                        (Some(dw), Some(db))
                    }
                    (w_wanted, b_wanted) => (
                        w_wanted.then(|| g.matmul_t(x, true, false)).transpose()?,
                        b_wanted.then(|| g.sum_to(b.shape())).transpose()?,
                    ),
                };
                Ok(vec![dx, dw, db])
            }
            Op::LinearCrossEntropy { x, w, b, dz, dw, db } => {
                // g is the loss's gradient (a scalar): dx = g·dz W (made only when asked), dW = g·dW, db = g·db.
                // The usual seed, 1 (known on the host on either device), takes the saved gradients as they
                // are: no pass over them, and on the GPU no launch.
                let one = g.host_scalar() == Some(1.0);
                let scaled = |t: &Tensor| if one { Ok(t.clone()) } else { t.mul(g) };
                let dx = wanted(x).then(|| scaled(dz)?.matmul_t(w, false, false)).transpose()?;
                let mut grads = vec![dx, wanted(w).then(|| scaled(dw)).transpose()?];
                if let Some(b) = b {
                    grads.push(wanted(b).then(|| scaled(db)).transpose()?);
                }
                Ok(grads)
            }
            _ => Ok(self.backward_all(g)?.into_iter().map(Some).collect()),
        }
    }

    /// Every input's gradient (the ops whose inputs' gradients cost little to make unasked).
    fn backward_all(&self, g: &Tensor) -> Result<Vec<Tensor>> {
        use UnaryOp as U;
        Ok(match self {
            // g · f'(x) for the activations is one launch on the GPU (`mul_unary`).
            Op::Unary(op, x) => vec![match *op {
                U::Neg => g.neg(),
                U::Exp => g.mul(&x.exp())?,
                U::Log => g.div(x)?,
                U::Sqrt => g.div(&x.sqrt().mul_scalar(2.0))?,
                U::Abs => g.mul_unary(U::Sign, x)?,
                U::Sigmoid => {
                    let s = x.sigmoid();
                    g.mul(&s.mul(&s.neg().add_scalar(1.0))?)?
                }
                U::Tanh => g.mul(&x.tanh().pow(2.0).neg().add_scalar(1.0))?,
                U::Relu => g.mul_unary(U::Step, x)?,
                U::LeakyRelu(a) => g.mul_unary(U::LeakyReluDeriv(a), x)?,
                U::Elu(a) => g.mul_unary(U::EluDeriv(a), x)?,
                U::Gelu => g.mul_unary(U::GeluDeriv, x)?,
                U::Silu => g.mul_unary(U::SiluDeriv, x)?,
                U::Softplus => g.mul_unary(U::Sigmoid, x)?,
                U::PowScalar(p) => g.mul(&x.pow(p - 1.0).mul_scalar(p))?,
                U::AddScalar(_) => g.clone(),
                U::MulScalar(c) => g.mul_scalar(c),
                // Piecewise-constant helpers: derivative zero wherever it exists.
                U::Sign | U::Step | U::LeakyReluDeriv(_) | U::EluDeriv(_) | U::GeluDeriv | U::SiluDeriv => {
                    Tensor::zeros(x.shape().clone())
                }
            }],
            Op::Binary(op, a, b) => {
                let (ga, gb) = binary_grads(*op, g, a, b)?;
                vec![ga.sum_to(a.shape())?, gb.sum_to(b.shape())?]
            }
            Op::Sum(x) => vec![g.expand(x.shape())?],
            Op::Max { x, axis, argmax } => {
                // One-hot of the argmax along `axis` (first maximum wins ties, as in the forward pass).
                let n = x.dims()[*axis];
                let mut along = vec![1; x.rank()];
                along[*axis] = n;
                let positions = Tensor::arange(0.0, n as f32, 1.0)?.reshape_to(&Shape::new(&along))?;
                vec![positions.eq(argmax)?.mul(g)?]
            }
            Op::Reshape(x) => vec![g.reshape_to(x.shape())?],
            Op::Permute { perm, .. } => {
                let mut inverse = vec![0; perm.len()];
                for (i, &p) in perm.iter().enumerate() {
                    inverse[p] = i;
                }
                vec![g.permute(&inverse)?]
            }
            Op::Expand(x) => vec![g.sum_to(x.shape())?],
            Op::Where { cond, a, b } => {
                let zero = Tensor::scalar(0.0);
                let ga = Tensor::where_(cond, g, &zero)?.sum_to(a.shape())?;
                let gb = Tensor::where_(cond, &zero, g)?.sum_to(b.shape())?;
                vec![ga, gb]
            }
            Op::Slice { x, axis, start } => {
                // Pad the gradient with zeros before and after the slice.
                let (n, len) = (x.dims()[*axis], g.dims()[*axis]);
                let zeros = |k: usize| {
                    let mut d = x.dims().to_vec();
                    d[*axis] = k;
                    Tensor::zeros(Shape::new(&d))
                };
                vec![Tensor::concat(&[&zeros(*start), g, &zeros(n - start - len)], *axis as isize)?]
            }
            Op::Concat { axis, sizes, .. } => {
                let mut start = 0;
                let mut grads = Vec::with_capacity(sizes.len());
                for &n in sizes {
                    grads.push(g.slice(*axis as isize, start, start + n)?);
                    start += n;
                }
                grads
            }
            Op::IndexSelect { x, axis, indices } => {
                let positions = crate::tensor::index_select_positions(x.dims(), *axis, indices);
                vec![Tensor::scatter_add(g, &positions, x.shape())?]
            }
            Op::Gather { x, positions } | Op::MaxPool2d { x, argmax: Argmax::Host(positions) } => {
                vec![Tensor::scatter_add(g, positions, x.shape())?]
            }
            Op::MaxPool2d { x, argmax: Argmax::Gpu { idx, win } } => {
                vec![g.to_device(crate::tensor::Device::WebGpu)?.max_pool2d_backward_gpu(
                    idx,
                    x.shape(),
                    *win,
                )?]
            }
            Op::Im2Col { x, win } => vec![g.col2im(x.shape(), *win)?],
            Op::LogSoftmax { x, axis, y } => vec![g.log_softmax_backward_gpu(y, x.shape(), *axis)?],
            Op::MatMul(..) | Op::Conv2d { .. } | Op::Linear { .. } | Op::LinearCrossEntropy { .. } => {
                unreachable!("handled by backward")
            }
            Op::AvgPool2d { x, win } => vec![g.avg_pool2d_backward(x.shape(), *win)?],
        })
    }
}

/// The output gradient before a ReLU fused into the op (`relu`: the output's buffer, whose positive entries
/// are the mask), or g itself when none was.
fn through_relu(g: &Tensor, relu: Option<&std::rc::Rc<crate::backend::webgpu::GpuBuf>>) -> Result<Tensor> {
    match relu {
        Some(y) => g.relu_mask_gpu(y),
        None => Ok(g.clone()),
    }
}

/// ∂/∂a and ∂/∂b of `a op b`, before reducing broadcast dimensions.
fn binary_grads(op: BinaryOp, g: &Tensor, a: &Tensor, b: &Tensor) -> Result<(Tensor, Tensor)> {
    Ok(match op {
        BinaryOp::Add => (g.clone(), g.clone()),
        BinaryOp::Sub => (g.clone(), g.neg()),
        BinaryOp::Mul => (g.mul(b)?, g.mul(a)?),
        BinaryOp::Div => (g.div(b)?, g.mul(a)?.div(&b.mul(b)?)?.neg()),
        // Ties split the gradient evenly between the two inputs, as PyTorch does.
        BinaryOp::Maximum | BinaryOp::Minimum => {
            let wins = if op == BinaryOp::Maximum { a.gt(b)? } else { a.lt(b)? };
            let ties = a.eq(b)?.mul_scalar(0.5);
            let share_a = wins.add(&ties)?;
            let share_b = share_a.neg().add_scalar(1.0);
            (g.mul(&share_a)?, g.mul(&share_b)?)
        }
        // Comparisons are never recorded (their outputs carry no gradient).
        _ => (Tensor::zeros(a.shape().clone()), Tensor::zeros(b.shape().clone())),
    })
}

thread_local! {
    static GRAD_ENABLED: Cell<bool> = const { Cell::new(true) };
}

pub fn is_grad_enabled() -> bool {
    GRAD_ENABLED.with(Cell::get)
}

/// Runs `f` without recording any op (`with torch.no_grad():`), for inference and weight updates.
pub fn no_grad<T>(f: impl FnOnce() -> T) -> T {
    let _guard = NoGradGuard::new();
    f()
}

/// Recording is off while this lives and restored when it drops (even on unwinding); async code holds one
/// across awaits, where a `no_grad` closure cannot reach.
pub struct NoGradGuard(bool);

impl NoGradGuard {
    pub fn new() -> NoGradGuard {
        NoGradGuard(GRAD_ENABLED.with(|c| c.replace(false)))
    }
}

impl Default for NoGradGuard {
    fn default() -> Self {
        NoGradGuard::new()
    }
}

impl Drop for NoGradGuard {
    fn drop(&mut self) {
        GRAD_ENABLED.with(|c| c.set(self.0));
    }
}

/// Nodes reachable from `root` through recorded ops, inputs before outputs.
pub(crate) fn topological_order(root: &Tensor) -> Vec<Tensor> {
    let mut order = Vec::new();
    let mut seen = std::collections::HashSet::new();
    // Iterative DFS: a deep MLP's graph would overflow the (small, in wasm) stack with recursion.
    let mut stack = vec![(root.clone(), false)];
    while let Some((t, expanded)) = stack.pop() {
        if expanded {
            order.push(t);
            continue;
        }
        if !seen.insert(t.id()) {
            continue;
        }
        stack.push((t.clone(), true));
        if let Some(op) = t.op() {
            for input in op.inputs() {
                if input.requires_grad() && !seen.contains(&input.id()) {
                    stack.push((input.clone(), false));
                }
            }
        }
    }
    order
}

/// Propagates `seed` (the gradient of the output) to every leaf that requires a gradient.
pub(crate) fn backward(root: &Tensor, seed: Tensor) -> Result<()> {
    if !root.requires_grad() {
        return Err(crate::LabError::InvalidArgument(
            "backward: this tensor does not require grad (no input had requires_grad set, or it was \
             computed under no_grad)"
                .into(),
        ));
    }
    let order = topological_order(root);
    let mut pending: HashMap<usize, Tensor> = HashMap::from([(root.id(), seed)]);
    no_grad(|| {
        for t in order.iter().rev() {
            let Some(g) = pending.remove(&t.id()) else { continue };
            if t.is_leaf() || t.retains_grad() {
                // Gradients accumulate across backward calls until zero_grad, as in PyTorch.
                let total = match t.grad() {
                    Some(old) => old.add(&g)?,
                    None => g.clone(),
                };
                t.set_grad(Some(total));
            }
            let Some(op) = t.op() else { continue };
            for (input, grad) in op.inputs().into_iter().zip(op.backward(&g)?) {
                let Some(grad) = grad.filter(|_| input.requires_grad()) else { continue };
                let sum = match pending.remove(&input.id()) {
                    Some(prev) => prev.add(&grad)?,
                    None => grad,
                };
                pending.insert(input.id(), sum);
            }
        }
        Ok(())
    })
}

/// The shape `g` must be summed to, checked: used by `Tensor::sum_to`.
pub(crate) fn reduced_axes(from: &Shape, to: &Shape) -> Option<Vec<usize>> {
    if to.rank() > from.rank() {
        return None;
    }
    let offset = from.rank() - to.rank();
    let mut axes: Vec<usize> = (0..offset).collect();
    for (i, (&f, &t)) in from.dims()[offset..].iter().zip(to.dims()).enumerate() {
        match (f, t) {
            (f, t) if f == t => {}
            (_, 1) => axes.push(offset + i),
            _ => return None,
        }
    }
    Some(axes)
}
