//! The WebGPU twins of the CPU primitives: each records one kernel launch (see `runtime`) and returns the
//! output buffer at once. Shapes are checked by the tensor frontend before these are called; here they
//! only become the kernels' parameter words. Shapes in comments as in `backend::cpu`.

use std::rc::Rc;

use super::runtime::{GpuBuf, Runtime, Shader};
use crate::backend::ops::{BinaryOp, ReduceOp, UnaryOp, Window};

macro_rules! shader {
    ($name:literal $(, $shared:literal)?) => {
        Shader {
            name: $name,
            source: concat!(
                include_str!("kernels/common.wgsl"),
                $(include_str!(concat!("kernels/", $shared, ".wgsl")),)?
                include_str!(concat!("kernels/", $name, ".wgsl"))
            ),
        }
    };
}

const UNARY: Shader = shader!("unary");
const BINARY: Shader = shader!("binary");
const WHERE: Shader = shader!("where");
const COPY: Shader = shader!("copy");
const FILL: Shader = shader!("fill");
const REDUCE: Shader = shader!("reduce");
const MATMUL: Shader = shader!("matmul", "gemm");
const MATMUL128: Shader = shader!("matmul128", "gemm");
const MATMUL32: Shader = shader!("matmul32", "gemm");
const CONV: Shader = shader!("conv");
const POOL: Shader = shader!("pool");
const AVG_POOL: Shader = shader!("avg_pool");
const INDEX: Shader = shader!("index");
const OPTIM: Shader = shader!("optim");
const RNG: Shader = shader!("rng");
const SOFTMAX: Shader = shader!("softmax");

/// Every kernel source, for a test that compiles them all up front.
pub const SHADERS: [Shader; 16] = [
    UNARY, BINARY, WHERE, COPY, FILL, REDUCE, MATMUL, MATMUL128, MATMUL32, CONV, POOL, AVG_POOL, INDEX,
    OPTIM, RNG, SOFTMAX,
];

/// log_softmax along the middle axis of x: (outer, n, inner), in one launch.
pub fn log_softmax(x: &GpuBuf, outer: usize, n: usize, inner: usize) -> GpuBuf {
    let rt = x.runtime();
    let y = rt.alloc(outer * n * inner);
    // Binding 3 belongs to the backward entry only; this entry's (automatic) layout has 0-2.
    rt.dispatch_1d(SOFTMAX, "log_softmax", &[outer as u32, n as u32, inner as u32], &[x, &y], outer * inner);
    y
}

/// The adjoint of `log_softmax`: g and the forward's output y -> dx = g − exp(y)·Σg along the axis.
pub fn log_softmax_backward(g: &GpuBuf, y: &GpuBuf, outer: usize, n: usize, inner: usize) -> GpuBuf {
    let rt = g.runtime();
    let dx = rt.alloc(outer * n * inner);
    let p = [outer as u32, n as u32, inner as u32];
    rt.dispatch_1d(SOFTMAX, "log_softmax_backward", &p, &[g, &dx, y], outer * inner);
    dx
}

/// A classifier head's loss rows and gradient from its logits (n, c) before the bias: (dz (n, c) =
/// (softmax(z) − onehot(y)) / n, row_loss (n) = (logsumexp(z) − z_y) / n), z = logits + bias, in one launch.
/// `labels` are n class indices below c (checked by the caller).
pub fn cross_entropy_rows(
    logits: &GpuBuf,
    bias: Option<&GpuBuf>,
    labels: &[usize],
    c: usize,
) -> (GpuBuf, GpuBuf) {
    let rt = logits.runtime();
    let n = labels.len();
    let labels: Vec<u32> = labels.iter().map(|&y| y as u32).collect();
    let labels = rt.upload_u32(&labels);
    let (dz, rows) = (rt.alloc(n * c), rt.alloc(n));
    // Without a bias the logits are bound in its place too (read-only both times, never read as one).
    let aux = bias.unwrap_or(logits);
    let p = [n as u32, c as u32, u32::from(bias.is_some())];
    rt.dispatch_1d(SOFTMAX, "cross_entropy_rows", &p, &[logits, &dz, aux, &labels, &rows], n);
    (dz, rows)
}

/// Dropout's mask, made on the GPU: `scale` where hash_uniform(seed, i) < keep, else 0 (twin of
/// `tensor::rng::dropout_mask`).
pub fn dropout_mask(rt: &Rc<Runtime>, n: usize, seed: u32, keep: f32, scale: f32) -> GpuBuf {
    let out = rt.alloc(n);
    rt.dispatch_1d(RNG, "bernoulli", &[n as u32, seed, bits(keep), bits(scale)], &[&out], n);
    out
}

/// Most dimensions a strided kernel takes (its parameter block has room for 8).
pub const MAX_RANK: usize = 8;

fn bits(x: f32) -> u32 {
    x.to_bits()
}

/// The op code and parameter of `unary.wgsl`'s switch.
fn unary_code(op: UnaryOp) -> (u32, f32) {
    use UnaryOp::*;
    match op {
        Neg => (0, 0.0),
        Exp => (1, 0.0),
        Log => (2, 0.0),
        Sqrt => (3, 0.0),
        Abs => (4, 0.0),
        Sign => (5, 0.0),
        Sigmoid => (6, 0.0),
        Tanh => (7, 0.0),
        Relu => (8, 0.0),
        Step => (9, 0.0),
        LeakyRelu(a) => (10, a),
        LeakyReluDeriv(a) => (11, a),
        Elu(a) => (12, a),
        EluDeriv(a) => (13, a),
        Gelu => (14, 0.0),
        GeluDeriv => (15, 0.0),
        Silu => (16, 0.0),
        SiluDeriv => (17, 0.0),
        Softplus => (18, 0.0),
        PowScalar(p) => (19, p),
        AddScalar(c) => (20, c),
        MulScalar(c) => (21, c),
    }
}

/// x: any -> same shape.
pub fn unary(op: UnaryOp, x: &GpuBuf, n: usize) -> GpuBuf {
    let rt = x.runtime();
    let out = rt.alloc(n);
    let (code, a) = unary_code(op);
    rt.dispatch_1d(UNARY, "main", &[n as u32, code, bits(a)], &[x, &out], n);
    out
}

/// g · op(x) elementwise in one launch (an activation's backward pass, g · f'(x)); x and g: n values.
pub fn unary_times(op: UnaryOp, x: &GpuBuf, g: &GpuBuf, n: usize) -> GpuBuf {
    let rt = x.runtime();
    let out = rt.alloc(n);
    let (code, a) = unary_code(op);
    rt.dispatch_1d(UNARY, "times", &[n as u32, code, bits(a)], &[x, &out, g], n);
    out
}

/// Eight-slot blocks of dims and strides, as the strided kernels read them.
fn padded(values: &[usize]) -> [u32; MAX_RANK] {
    let mut out = [0u32; MAX_RANK];
    for (o, &v) in out.iter_mut().zip(values) {
        *o = v as u32;
    }
    out
}

/// a, b broadcast (strides per output dimension, 0 along broadcast ones) -> out_dims.
pub fn binary(
    op: BinaryOp,
    a: &GpuBuf,
    sa: &[usize],
    b: &GpuBuf,
    sb: &[usize],
    out_dims: &[usize],
) -> GpuBuf {
    let rt = a.runtime();
    let n: usize = out_dims.iter().product();
    let out = rt.alloc(n);
    let contiguous = contiguous_strides(out_dims);
    let flat = u32::from(sa == contiguous.as_slice() && sb == contiguous.as_slice());
    let mut p = vec![n as u32, op as u32, out_dims.len() as u32, flat];
    p.extend(padded(out_dims));
    p.extend(padded(sa));
    p.extend(padded(sb));
    rt.dispatch_1d(BINARY, "main", &p, &[a, b, &out], n);
    out
}

fn contiguous_strides(dims: &[usize]) -> Vec<usize> {
    let mut strides = vec![1; dims.len()];
    for d in (0..dims.len().saturating_sub(1)).rev() {
        strides[d] = strides[d + 1] * dims[d + 1];
    }
    strides
}

/// `a` where cond != 0 else `b`, each read with its broadcast strides -> out_dims.
pub fn where_(
    cond: (&GpuBuf, &[usize]),
    a: (&GpuBuf, &[usize]),
    b: (&GpuBuf, &[usize]),
    out_dims: &[usize],
) -> GpuBuf {
    let rt = a.0.runtime();
    let n: usize = out_dims.iter().product();
    let out = rt.alloc(n);
    let mut p = vec![n as u32, out_dims.len() as u32, 0, 0];
    for block in [out_dims, a.1, b.1, cond.1] {
        p.extend(padded(block));
    }
    rt.dispatch_1d(WHERE, "main", &p, &[a.0, b.0, cond.0, &out], n);
    out
}

/// dst[dst_off + idx·dst_strides] = src[src_off + idx·src_strides] for every idx of `dims`.
pub fn copy_strided_into(src: (&GpuBuf, usize, &[usize]), dst: (&GpuBuf, usize, &[usize]), dims: &[usize]) {
    let rt = src.0.runtime();
    let n: usize = dims.iter().product();
    let mut p = vec![n as u32, dims.len() as u32, src.1 as u32, dst.1 as u32];
    p.extend(padded(dims));
    p.extend(padded(src.2));
    p.extend(padded(dst.2));
    rt.dispatch_1d(COPY, "main", &p, &[src.0, dst.0], n);
}

/// A new contiguous tensor of `dims` read from `src` with `strides` (permute, expand, slice).
pub fn copy_strided(src: &GpuBuf, offset: usize, strides: &[usize], dims: &[usize]) -> GpuBuf {
    let out = src.runtime().alloc(dims.iter().product());
    copy_strided_into((src, offset, strides), (&out, 0, &contiguous_strides(dims)), dims);
    out
}

/// A new buffer of `n` copies of `value`.
pub fn full(rt: &Rc<Runtime>, n: usize, value: f32) -> GpuBuf {
    let out = rt.alloc(n);
    rt.dispatch_1d(FILL, "main", &[n as u32, bits(value)], &[&out], n);
    out
}

/// x: (outer, n, inner) -> (outer, inner). Long rows with few outputs get a workgroup each.
pub fn reduce(op: ReduceOp, x: &GpuBuf, outer: usize, n: usize, inner: usize) -> GpuBuf {
    let rt = x.runtime();
    let outputs = outer * inner;
    let out = rt.alloc(outputs);
    let code = match op {
        ReduceOp::Sum => 0,
        ReduceOp::Max => 1,
        ReduceOp::ArgMax => 2,
    };
    let p = [outer as u32, n as u32, inner as u32, code];
    if n >= 1024 && outputs <= 4096 {
        let (x_groups, y_groups) = (outputs.min(65_535) as u32, outputs.div_ceil(65_535) as u32);
        rt.dispatch(REDUCE, "tree", &p, &[x, &out], [x_groups, y_groups, 1]);
    } else {
        rt.dispatch_1d(REDUCE, "rows", &p, &[x, &out], outputs);
    }
    out
}

/// a: (batch, m, k), b: (batch, k, n) -> (batch, m, n); a batch stride of 0 shares an operand. With
/// `trans_a` a is stored (batch, k, m) and read transposed in place (likewise `trans_b`), so the products of
/// `Linear` and of every matmul backward need no transpose copies.
pub fn matmul(
    a: (&GpuBuf, usize),
    b: (&GpuBuf, usize),
    batch: usize,
    mkn: [usize; 3],
    trans: [bool; 2],
) -> GpuBuf {
    matmul_bias(a, b, None, false, batch, mkn, trans)
}

/// `matmul` with `bias` (n values) added to every row of the product and, with `relu`, a ReLU (NaN kept)
/// applied, in the same launch: a `Linear` layer (and the ReLU after it). Where the product splits k, the
/// reduction adding the slices applies the ReLU. With k = 0 the product is zero and the bias is not added:
/// `Tensor::linear` takes the composite for empty products.
pub fn matmul_bias(
    a: (&GpuBuf, usize),
    b: (&GpuBuf, usize),
    bias: Option<&GpuBuf>,
    relu: bool,
    batch: usize,
    mkn: [usize; 3],
    trans: [bool; 2],
) -> GpuBuf {
    gemm(a, b, bias, [false, relu], batch, mkn, trans).0
}

/// One product a (m, k) @ b (k, n) and the row sums of a (m values): a Linear's weight gradient gᵀ x and
/// its bias gradient (g summed over the batch, with a = gᵀ stored as g) in one launch, the sums made as the
/// product's extra column against a column of ones. Where the product splits k across workgroups the sums
/// are a reduction of their own.
pub fn matmul_row_sums(a: &GpuBuf, b: &GpuBuf, [m, k, n]: [usize; 3], trans: [bool; 2]) -> (GpuBuf, GpuBuf) {
    let (product, sums) = gemm((a, 0), (b, 0), None, [true, false], 1, [m, k, n], trans);
    let sums = sums.unwrap_or_else(|| {
        // Rows of a as stored: (k, m) when transposed, summed along k.
        if trans[0] { reduce(ReduceOp::Sum, a, 1, k, m) } else { reduce(ReduceOp::Sum, a, m, k, 1) }
    });
    (product, sums)
}

/// The GEMM launch behind `matmul`, `matmul_bias` and `matmul_row_sums`: the product (+ bias, then
/// ReLU when `relu`), and a's row sums when `want_sums` and the product is one launch without split-K
/// (`None` otherwise).
fn gemm(
    a: (&GpuBuf, usize),
    b: (&GpuBuf, usize),
    bias: Option<&GpuBuf>,
    [want_sums, relu]: [bool; 2],
    batch: usize,
    [m, k, n]: [usize; 3],
    [trans_a, trans_b]: [bool; 2],
) -> (GpuBuf, Option<GpuBuf>) {
    let rt = a.0.runtime();
    if k == 0 {
        // A zero product (the bias is not added: `Tensor::linear` takes the composite there).
        let sums = want_sums.then(|| full(rt, m, 0.0));
        return (full(rt, batch * m * n, 0.0), sums);
    }
    // The 128x128-tile kernel (8x8 per thread) when the product has at least 64 such tiles: on an H200 it
    // ran 1024³ at 14.3 and 2048³ at 23.5 TFLOP/s against 10.1 and 12.0 for 64x64 tiles, but lost below
    // (512³: 3.1 vs 4.5, 16 tiles), where too few workgroups fill the GPU. Below `SMALL_BELOW` 64x64 tiles,
    // the 32x32-tile kernel.
    let big = m.div_ceil(128) * n.div_ceil(128) * batch >= 64;
    let small = m.div_ceil(64) * n.div_ceil(64) * batch < SMALL_BELOW;
    let (shader, tile) = if big && big_tiles() {
        (MATMUL128, 128)
    } else if small {
        (MATMUL32, 32)
    } else {
        (MATMUL, 64)
    };
    let splits = split_k(batch, m, k, n, tile);
    let chunk = k.div_ceil(splits).next_multiple_of(16);
    let splits = k.div_ceil(chunk);
    let ones = want_sums && batch == 1 && splits == 1;
    // Row and column strides of each operand: a is (m, k), or stored (k, m) when `trans_a`; b is (k, n), or
    // stored (n, k) when `trans_b`.
    let (ra, ca) = if trans_a { (1, m) } else { (k, 1) };
    let (rb, cb) = if trans_b { (1, k) } else { (n, 1) };
    let flags = [bias.is_some(), ones, relu].map(usize::from);
    let p =
        [m, k, n, a.1, b.1, splits, chunk, ra, ca, rb, cb, flags[0], flags[1], flags[2]].map(|v| v as u32);
    // The ones column, when made, is column n: one more column of tiles where n is a multiple of the tile.
    let columns = n + usize::from(ones);
    let groups = [columns.div_ceil(tile) as u32, m.div_ceil(tile) as u32, (batch * splits) as u32];
    let partial = rt.alloc(batch * splits * m * n);
    // The sums' buffer, or one word the kernel never touches. Without a bias, a is bound in its place
    // (read-only twice; the kernel never reads it there).
    let sums = rt.alloc(if ones { m } else { 1 });
    rt.dispatch(shader, "main", &p, &[a.0, b.0, &partial, bias.unwrap_or(a.0), &sums], groups);
    let sums = ones.then_some(sums);
    if splits == 1 {
        return (partial, sums);
    }
    // (batch, splits, m·n) summed over the splits, in order (deterministic), then ReLU'd when asked.
    let out = rt.alloc(batch * m * n);
    let p = [batch, splits, m * n, if relu { 3 } else { 0 }].map(|v| v as u32);
    rt.dispatch_1d(REDUCE, "rows", &p, &[&partial, &out], batch * m * n);
    (out, sums)
}

thread_local! {
    static BIG_TILES: std::cell::Cell<bool> = const { std::cell::Cell::new(true) };
}

/// Whether large products use the 128x128-tile kernel (on by default); the benchmark turns it off to time
/// the 64x64 kernel on the same shapes.
pub fn set_big_tiles(on: bool) {
    BIG_TILES.with(|c| c.set(on));
}

fn big_tiles() -> bool {
    BIG_TILES.with(std::cell::Cell::get)
}

/// How many slices of k to compute in parallel: enough workgroups to fill a large GPU (~256), each slice
/// still at least `MIN_SPLIT_K` long, and within the 65,535 limit of the z dimension.
fn split_k(batch: usize, m: usize, k: usize, n: usize, tile: usize) -> usize {
    let tiles = m.div_ceil(tile) * n.div_ceil(tile) * batch;
    let wanted = 256usize.div_ceil(tiles.max(1));
    wanted.min(k / MIN_SPLIT_K).min(65_535 / batch.max(1)).max(1)
}

/// Products of fewer 64x64 tiles than this run on the 32x32-tile kernel (`matmul32.wgsl`): a training
/// step's products are small and serial, so each one's time is its workgroups' latency. Chosen with
/// `MIN_SPLIT_K` on an H200 from four settings timed in one run (bench/results/h200-vulkan-2026-12-04.md):
/// W2's step went from 15 launches in 267 µs of launch time to 16 in 187 µs, the epoch 0.17 → 0.11 s.
const SMALL_BELOW: usize = 64;

/// The least k a split-K slice gets (fewer slices, each longer, below it). 128 against 256 and 64 in the
/// same run: 64 made more reductions than the shorter slices saved.
const MIN_SPLIT_K: usize = 128;

/// The window kernels' parameter block.
fn window_params(dims: [usize; 4], win: Window, out: (usize, usize)) -> [u32; 12] {
    let [n, c, h, w] = dims;
    [
        n,
        c,
        h,
        w,
        win.kernel.0,
        win.kernel.1,
        win.stride.0,
        win.stride.1,
        win.padding.0,
        win.padding.1,
        out.0,
        out.1,
    ]
    .map(|v| v as u32)
}

/// x: (N, C, H, W) -> cols (C·KH·KW, N·OH·OW).
pub fn im2col(x: &GpuBuf, dims: [usize; 4], win: Window, out: (usize, usize)) -> GpuBuf {
    let rt = x.runtime();
    let count = dims[1] * win.kernel.0 * win.kernel.1 * dims[0] * out.0 * out.1;
    let cols = rt.alloc(count);
    rt.dispatch_1d(CONV, "im2col", &window_params(dims, win, out), &[x, &cols], count);
    cols
}

/// cols (C·KH·KW, N·OH·OW) -> x (N, C, H, W), overlaps summed.
pub fn col2im(cols: &GpuBuf, dims: [usize; 4], win: Window, out: (usize, usize)) -> GpuBuf {
    let rt = cols.runtime();
    let count: usize = dims.iter().product();
    let x = rt.alloc(count);
    rt.dispatch_1d(CONV, "col2im", &window_params(dims, win, out), &[cols, &x], count);
    x
}

/// Direct convolution forward: x (N, C, H, W), weight (C_out, C, KH, KW) -> (N, C_out, OH, OW), one thread
/// per output (what the training path runs forward; measured against im2col + GEMM by `bench --gpu`).
pub fn conv2d_direct(
    x: &GpuBuf,
    weight: &GpuBuf,
    dims: [usize; 4],
    c_out: usize,
    win: Window,
    out: (usize, usize),
) -> GpuBuf {
    conv2d_direct_fused(x, weight, None, false, dims, c_out, win, out)
}

/// `conv2d_direct` with the bias of each output channel (C_out values) added and, with `relu`, a ReLU
/// (NaN kept) applied as each output is stored: a Conv2d and the ReLU after it in one launch.
#[allow(clippy::too_many_arguments)]
pub fn conv2d_direct_fused(
    x: &GpuBuf,
    weight: &GpuBuf,
    bias: Option<&GpuBuf>,
    relu: bool,
    dims: [usize; 4],
    c_out: usize,
    win: Window,
    out: (usize, usize),
) -> GpuBuf {
    let rt = x.runtime();
    let count = dims[0] * c_out * out.0 * out.1;
    let y = rt.alloc(count);
    let mut params = window_params(dims, win, out).to_vec();
    params.extend([c_out as u32, u32::from(bias.is_some()), u32::from(relu)]);
    // Without a bias the weights are bound in its place (read-only twice; never read there).
    rt.dispatch_1d(CONV, "direct_forward", &params, &[x, &y, weight, bias.unwrap_or(weight)], count);
    y
}

/// x: (N, C, H, W) -> (values (N, C, OH, OW), argmax as flat u32 indices into x).
pub fn max_pool2d(x: &GpuBuf, dims: [usize; 4], win: Window, out: (usize, usize)) -> (GpuBuf, GpuBuf) {
    let rt = x.runtime();
    let count = dims[0] * dims[1] * out.0 * out.1;
    let (values, argmax) = (rt.alloc(count), rt.alloc(count));
    rt.dispatch_1d(POOL, "max_forward", &window_params(dims, win, out), &[x, &values, &argmax], count);
    (values, argmax)
}

/// g: (N, C, OH, OW) and the forward's argmax -> dx: (N, C, H, W).
pub fn max_pool2d_backward(
    g: &GpuBuf,
    argmax: &GpuBuf,
    dims: [usize; 4],
    win: Window,
    out: (usize, usize),
) -> GpuBuf {
    let rt = g.runtime();
    let count: usize = dims.iter().product();
    let dx = rt.alloc(count);
    rt.dispatch_1d(POOL, "max_backward", &window_params(dims, win, out), &[g, &dx, argmax], count);
    dx
}

/// x: (N, C, H, W) -> (N, C, OH, OW).
pub fn avg_pool2d(x: &GpuBuf, dims: [usize; 4], win: Window, out: (usize, usize)) -> GpuBuf {
    let rt = x.runtime();
    let count = dims[0] * dims[1] * out.0 * out.1;
    let y = rt.alloc(count);
    rt.dispatch_1d(AVG_POOL, "forward", &window_params(dims, win, out), &[x, &y], count);
    y
}

/// g: (N, C, OH, OW) -> dx: (N, C, H, W).
pub fn avg_pool2d_backward(g: &GpuBuf, dims: [usize; 4], win: Window, out: (usize, usize)) -> GpuBuf {
    let rt = g.runtime();
    let count: usize = dims.iter().product();
    let dx = rt.alloc(count);
    rt.dispatch_1d(AVG_POOL, "backward", &window_params(dims, win, out), &[g, &dx], count);
    dx
}

/// out[i] = x[positions[i]].
pub fn gather(x: &GpuBuf, positions: &[usize]) -> GpuBuf {
    let rt = x.runtime();
    let pos: Vec<u32> = positions.iter().map(|&p| p as u32).collect();
    let pos = rt.upload_u32(&pos);
    let out = rt.alloc(positions.len());
    rt.dispatch_1d(INDEX, "gather", &[positions.len() as u32], &[x, &out, &pos], positions.len());
    out
}

/// index_select along the middle axis: x (outer, n, inner) -> (outer, k, inner), row r of each outer block
/// being x's row indices[r] (each below n, checked by the caller). Only the k indices are uploaded.
pub fn select_rows(x: &GpuBuf, [outer, n, inner]: [usize; 3], indices: &[usize]) -> GpuBuf {
    let rt = x.runtime();
    let k = indices.len();
    let idx: Vec<u32> = indices.iter().map(|&i| i as u32).collect();
    let idx = rt.upload_u32(&idx);
    let out = rt.alloc(outer * k * inner);
    let p = [outer, n, k, inner].map(|v| v as u32);
    rt.dispatch_1d(INDEX, "select_rows", &p, &[x, &out, &idx], outer * k * inner);
    out
}

/// A zero tensor of `len` values with src[i] added at positions[i]. The inverse map (sources of each
/// destination, in source order) is built here, so the kernel needs no atomics and sums in a fixed order.
pub fn scatter_add(src: &GpuBuf, positions: &[usize], len: usize) -> GpuBuf {
    let rt = src.runtime();
    let mut starts = vec![0u32; len + 1];
    for &p in positions {
        starts[p + 1] += 1;
    }
    for j in 0..len {
        starts[j + 1] += starts[j];
    }
    let mut fill = starts.clone();
    let mut order = vec![0u32; positions.len()];
    for (i, &p) in positions.iter().enumerate() {
        order[fill[p] as usize] = i as u32;
        fill[p] += 1;
    }
    let (order, starts) = (rt.upload_u32(&order), rt.upload_u32(&starts));
    let out = rt.alloc(len);
    rt.dispatch_1d(INDEX, "scatter_add", &[len as u32], &[src, &out, &order, &starts], len);
    out
}

/// One optimizer update rule, as `optim.wgsl` numbers it.
#[derive(Clone, Copy, Debug)]
pub enum UpdateRule {
    Sgd,
    Momentum(f32),
    Adagrad {
        eps: f32,
    },
    RmsProp {
        rho: f32,
        eps: f32,
    },
    /// Adam with bias corrections c1 = 1 − β1ᵗ, c2 = 1 − β2ᵗ and decoupled decay lr·wd (AdamW; 0 for Adam).
    Adam {
        betas: (f32, f32),
        eps: f32,
        c1: f32,
        c2: f32,
        decoupled: f32,
    },
}

/// One parameter for `optimizer_steps`: weight (updated in place), gradient, state slots s1 and s2.
pub type ParamSlots<'a> = (&'a GpuBuf, &'a GpuBuf, &'a GpuBuf, &'a GpuBuf);

/// Most parameters one `optim.wgsl` launch updates (its entries step1..step4).
const MAX_SLOTS: usize = 4;

/// Updates every parameter in place from its gradient (+ coupled weight decay `wd`·w), with its state
/// slots: up to four per launch where the device binds 1 + 4·k storage buffers per stage (WebGPU's
/// default is 8: one per launch; an H200 on Vulkan, lavapipe and most GPUs bind many more).
pub fn optimizer_steps(rule: UpdateRule, lr: f32, wd: f32, params: &[ParamSlots<'_>]) {
    let Some(first) = params.first() else { return };
    let rt = first.0.runtime();
    let bindable = rt.ctx.limits.max_storage_buffers_per_shader_stage as usize;
    let per_launch = (bindable.saturating_sub(1) / 4).clamp(1, MAX_SLOTS);
    let (code, a, b, eps, c1, c2, dec) = match rule {
        UpdateRule::Sgd => (0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0),
        UpdateRule::Momentum(m) => (1, m, 0.0, 0.0, 1.0, 1.0, 0.0),
        UpdateRule::Adagrad { eps } => (2, 0.0, 0.0, eps, 1.0, 1.0, 0.0),
        UpdateRule::RmsProp { rho, eps } => (3, rho, 0.0, eps, 1.0, 1.0, 0.0),
        UpdateRule::Adam { betas, eps, c1, c2, decoupled } => (4, betas.0, betas.1, eps, c1, c2, decoupled),
    };
    const ENTRIES: [&str; MAX_SLOTS] = ["step1", "step2", "step3", "step4"];
    for chunk in params.chunks(per_launch) {
        let lens: Vec<usize> = chunk.iter().map(|slot| slot.0.len()).collect();
        let n_max = lens.iter().copied().max().unwrap_or(0);
        let mut p =
            vec![n_max as u32, code, bits(lr), bits(wd), bits(a), bits(b), bits(eps), bits(c1), bits(c2)];
        p.push(bits(dec));
        p.extend((0..MAX_SLOTS).map(|s| lens.get(s).map_or(0, |&n| n as u32)));
        let bufs: Vec<&GpuBuf> = chunk.iter().flat_map(|&(w, g, s1, s2)| [w, g, s1, s2]).collect();
        rt.dispatch_1d(OPTIM, ENTRIES[chunk.len() - 1], &p, &bufs, n_max);
    }
}
