//! One op suite, every backend: each tensor op (and the gradients of a CNN built from them, and every
//! optimizer's update) runs on the CPU and on `device`, and the results must agree. The CPU ops are
//! themselves checked against the scalar references (`parity::*_parity`), so this chains every GPU kernel
//! to the specification. Async, so the same code runs natively (blocked on) and in the browser (awaited).
//!
//! Tolerance: |gpu − cpu| ≤ 1e-4 · max(1, |cpu|) for elementwise ops and layout; for sums and products of
//! length k the scale is Σ|terms| instead of |cpu| (the summation order differs; f32's bound for a dot
//! product is k·ε·Σ|aᵢbᵢ|, and 1e-4 is ~800 ε). Inputs stay inside each function's domain: WGSL leaves
//! log, sqrt and pow of negative numbers undefined, and the kernels define them explicitly but no test of
//! a GPU driver's NaN handling is portable, so NaN propagation is tested on the CPU only.
#![allow(dead_code)]

use cvjourney::backend::ops::{BinaryOp, UnaryOp, Window};
use cvjourney::optim::{Clip, Optimizer, OptimizerKind};
use cvjourney::tensor::{Device, Rng, Shape, Tensor};

use super::{BINARY, UNARY};

async fn values(t: &Tensor) -> Vec<f32> {
    t.to_vec_async().await.unwrap_or_else(|e| panic!("readback failed: {e}"))
}

fn random(rng: &mut Rng, dims: &[usize], lo: f32, hi: f32) -> Tensor {
    let n = dims.iter().product();
    Tensor::from_vec((0..n).map(|_| rng.uniform_range(lo, hi)).collect(), dims).unwrap()
}

fn on(t: &Tensor, device: Device) -> Tensor {
    t.to_device(device).unwrap()
}

/// Compares element by element; `scale[i]` (default |cpu[i]|) sets the tolerance.
fn assert_near(got: &[f32], want: &[f32], scale: Option<&[f32]>, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let s = scale.map_or(w.abs(), |s| s[i]).max(1.0);
        let ok = g == w || (g.is_nan() && w.is_nan()) || (g - w).abs() <= 1e-4 * s;
        assert!(ok, "{what}: element {i}: device {g} vs cpu {w} (scale {s})");
    }
}

async fn same(cpu: &Tensor, dev: &Tensor, what: &str) {
    assert_eq!(cpu.dims(), dev.dims(), "{what}: shapes");
    assert_near(&values(dev).await, &cpu.to_vec(), None, what);
}

/// The input range each unary op is defined on everywhere (positive for log, sqrt and pow).
fn domain(op: UnaryOp) -> (f32, f32) {
    match op {
        UnaryOp::Log | UnaryOp::Sqrt | UnaryOp::PowScalar(_) => (0.05, 4.0),
        _ => (-6.0, 6.0),
    }
}

pub async fn unary_ops(device: Device) {
    let mut rng = Rng::new(11);
    for op in UNARY {
        let (lo, hi) = domain(op);
        for dims in [vec![1], vec![7, 37], vec![3, 1000]] {
            let x = random(&mut rng, &dims, lo, hi);
            same(&x.unary(op), &on(&x, device).unary(op), &format!("{op:?} {dims:?}")).await;
        }
    }
    // Extreme but finite inputs: sigmoid, tanh, softplus and exp must saturate, not overflow into NaN.
    let x = Tensor::from_vec(vec![-1e4, -88.0, -20.0, 0.0, 20.0, 88.0, 1e4], [7]).unwrap();
    for op in [UnaryOp::Sigmoid, UnaryOp::Tanh, UnaryOp::Softplus, UnaryOp::Relu, UnaryOp::Silu] {
        same(&x.unary(op), &on(&x, device).unary(op), &format!("{op:?} extremes")).await;
    }
}

pub async fn binary_ops(device: Device) {
    let mut rng = Rng::new(12);
    let shapes: [(&[usize], &[usize]); 5] = [
        (&[5, 7], &[5, 7]),
        (&[5, 1], &[1, 7]),
        (&[2, 3, 4], &[4]),
        (&[3, 300], &[]),
        (&[1], &[2, 1, 3, 1, 2]),
    ];
    for op in BINARY {
        for (da, db) in shapes {
            let a = random(&mut rng, da, -3.0, 3.0);
            // Divisors kept away from zero; comparisons also see exact ties.
            let b = match op {
                BinaryOp::Div => random(&mut rng, db, 0.5, 3.0),
                _ => random(&mut rng, db, -3.0, 3.0),
            };
            let b = if db == da {
                Tensor::where_(&a.gt(&Tensor::scalar(0.0)).unwrap(), &a, &b).unwrap()
            } else {
                b
            };
            let want = a.binary(op, &b).unwrap();
            let got = on(&a, device).binary(op, &on(&b, device)).unwrap();
            same(&want, &got, &format!("{op:?} {da:?} {db:?}")).await;
        }
    }
    // A CPU operand meeting a device one is moved over.
    let a = random(&mut rng, &[4, 4], -1.0, 1.0);
    same(&a.mul_scalar(2.0), &on(&a, device).add(&a).unwrap(), "mixed devices").await;
    let cond = random(&mut rng, &[4, 1], -1.0, 1.0).gt(&Tensor::scalar(0.0)).unwrap();
    let (x, y) = (random(&mut rng, &[1, 5], -1.0, 1.0), random(&mut rng, &[4, 5], -1.0, 1.0));
    let want = Tensor::where_(&cond, &x, &y).unwrap();
    let got = Tensor::where_(&on(&cond, device), &on(&x, device), &on(&y, device)).unwrap();
    same(&want, &got, "where").await;
}

pub async fn reductions(device: Device) {
    let mut rng = Rng::new(13);
    for dims in [vec![4, 300, 5], vec![2, 5000], vec![1, 100_000], vec![3, 1], vec![6]] {
        let x = random(&mut rng, &dims, -2.0, 2.0);
        let d = on(&x, device);
        for axis in 0..dims.len() as isize {
            let scale =
                x.abs().sum(&[axis], true).unwrap().expand(&x.sum(&[axis], true).unwrap().shape().clone());
            let (want, got) = (x.sum(&[axis], true).unwrap(), d.sum(&[axis], true).unwrap());
            assert_near(
                &values(&got).await,
                &want.to_vec(),
                Some(&scale.unwrap().to_vec()),
                &format!("sum {dims:?} axis {axis}"),
            );
            same(&x.max(axis, true).unwrap(), &d.max(axis, true).unwrap(), &format!("max {dims:?} {axis}"))
                .await;
            same(
                &x.argmax(axis, true).unwrap(),
                &d.argmax(axis, true).unwrap(),
                &format!("argmax {dims:?} {axis}"),
            )
            .await;
        }
        let scale = x.abs().sum(&[], false).unwrap().to_vec();
        assert_near(
            &values(&d.sum(&[], false).unwrap()).await,
            &x.sum(&[], false).unwrap().to_vec(),
            Some(&scale),
            "sum all",
        );
    }
    // Several axes at once (on the GPU each run of adjacent axes is one launch), and sum_to, a
    // convolution's bias gradient: (N, C, H, W) -> (1, C, 1, 1).
    let x = random(&mut rng, &[3, 4, 5, 6], -2.0, 2.0);
    let d = on(&x, device);
    for axes in [&[0isize, 2, 3][..], &[1, 2], &[0, 1, 3], &[0, 3]] {
        let scale = x.abs().sum(axes, false).unwrap().to_vec();
        let (want, got) = (x.sum(axes, false).unwrap(), d.sum(axes, false).unwrap());
        assert_eq!(got.dims(), want.dims(), "sum {axes:?}: shape");
        assert_near(&values(&got).await, &want.to_vec(), Some(&scale), &format!("sum {axes:?}"));
    }
    let to = Shape::new(&[1, 4, 1, 1]);
    let scale = x.abs().sum_to(&to).unwrap().to_vec();
    let got = d.sum_to(&to).unwrap();
    assert_eq!(got.dims(), &[1, 4, 1, 1]);
    assert_near(&values(&got).await, &x.sum_to(&to).unwrap().to_vec(), Some(&scale), "sum_to (1, C, 1, 1)");
    // Ties: the first maximum wins on every backend.
    let x = Tensor::from_vec(vec![1.0, 3.0, 3.0, 2.0, 3.0, 0.0], [2, 3]).unwrap();
    same(&x.argmax(-1, false).unwrap(), &on(&x, device).argmax(-1, false).unwrap(), "argmax ties").await;
    let x = Tensor::from_vec(vec![5.0; 3000], [1, 3000]).unwrap();
    same(&x.argmax(-1, false).unwrap(), &on(&x, device).argmax(-1, false).unwrap(), "argmax ties, long row")
        .await;
}

pub async fn matmuls(device: Device) {
    let mut rng = Rng::new(14);
    // The last three split k across workgroups (small outputs, long k: a convolution's weight gradient).
    let cases: [(&[usize], &[usize]); 12] = [
        (&[37, 53], &[53, 29]),
        // The 64x64-tile kernel (≥ 64 such tiles, fewer of 128x128); every smaller one runs on 32x32 tiles.
        (&[600, 30], &[30, 600]),
        (&[1, 1], &[1, 1]),
        (&[3, 17, 65], &[3, 65, 70]),
        (&[2, 5, 6], &[6, 7]),
        (&[6, 7], &[4, 7, 3]),
        (&[130, 200], &[200, 130]),
        (&[8, 5000], &[5000, 49]),
        (&[2, 3, 3001], &[2, 3001, 5]),
        (&[5, 1000], &[1000, 3]),
        // Big enough for the 128x128-tile kernel (≥ 64 tiles): batched with ragged edges.
        (&[32, 150, 40], &[32, 40, 260]),
        (&[1030, 20], &[20, 1030]),
    ];
    for (da, db) in cases {
        let (a, b) = (random(&mut rng, da, -1.0, 1.0), random(&mut rng, db, -1.0, 1.0));
        let want = a.matmul(&b).unwrap();
        let scale = a.abs().matmul(&b.abs()).unwrap().to_vec();
        let got = on(&a, device).matmul(&on(&b, device)).unwrap();
        assert_eq!(got.dims(), want.dims());
        assert_near(&values(&got).await, &want.to_vec(), Some(&scale), &format!("matmul {da:?} @ {db:?}"));
        // The same product from transposed storage (read in place on the GPU): every combination of flags.
        let (at, bt) = (a.transpose(-1, -2).unwrap(), b.transpose(-1, -2).unwrap());
        for (x, y, ta, tb) in [(&at, &b, true, false), (&a, &bt, false, true), (&at, &bt, true, true)] {
            let got = on(x, device).matmul_t(&on(y, device), ta, tb).unwrap();
            assert_eq!(got.dims(), want.dims());
            let what = format!("matmul_t({ta}, {tb}) {da:?} @ {db:?}");
            assert_near(&values(&got).await, &want.to_vec(), Some(&scale), &what);
        }
    }
}

/// `Tensor::linear` (a Linear layer's x Wᵀ + b: one launch on the GPU, the bias added by the GEMM as it
/// stores; dW and db one launch in backward) against the CPU's matmul + add, forward and every gradient:
/// ragged tiles, split-K (only the first slice adds the bias; db then a reduction of its own), the
/// 128x128-tile kernel, no bias, and x without a gradient; and `linear_relu` (the ReLU applied as the
/// GEMM stores, or by split-K's reduction) on the same shapes.
pub async fn linear_layers(device: Device) {
    let mut rng = Rng::new(24);
    let cases = [
        (37, 53, 29, true, true),
        (1, 1, 1, true, true),
        (128, 784, 128, true, false),
        (5, 3000, 7, true, true),
        (1030, 20, 1030, true, true),
        (9, 11, 13, false, true),
        // The weight gradient's GEMM makes the bias gradient as an extra column of ones: its column past a
        // whole tile (64 here, 128 below), and in the 128x128-tile kernel.
        (33, 64, 10, true, true),
        (20, 1024, 1030, true, false),
        // The forward product on 64x64 tiles, the weight gradient's on 32x32 with its ones column.
        (600, 70, 530, true, true),
    ];
    for (relu, &(n, k, c, bias, x_grad)) in
        [false, true].into_iter().flat_map(|r| cases.iter().map(move |c| (r, c)))
    {
        let what = format!("linear n {n} k {k} c {c} bias {bias} relu {relu}");
        let x = random(&mut rng, &[n, k], -1.0, 1.0).requires_grad_(x_grad);
        let w = random(&mut rng, &[c, k], -0.5, 0.5).requires_grad_(true);
        let b = random(&mut rng, &[c], -0.5, 0.5).requires_grad_(true);
        let g = random(&mut rng, &[n, c], -1.0, 1.0);
        let cpu = [x.clone(), w.clone(), b.clone()];
        let run = |t: &[Tensor], g: &Tensor| {
            let b = bias.then_some(&t[2]);
            let y = if relu { t[0].linear_relu(&t[1], b)? } else { t[0].linear(&t[1], b)? };
            y.backward_with(g)?;
            Ok::<_, cvjourney::LabError>(y)
        };
        let want = run(&cpu, &g).unwrap();
        let moved: Vec<Tensor> =
            cpu.iter().map(|p| on(p, device).requires_grad_(p.requires_grad())).collect();
        let got = run(&moved, &on(&g, device)).unwrap();
        if device == Device::WebGpu && bias {
            let name = if relu { "linear_relu" } else { "linear" };
            assert_eq!(got.grad_fn(), Some(name), "{what}: one launch on the GPU");
        }
        let scale = x.abs().matmul_t(&w.abs(), false, true).unwrap().add(&b.abs()).unwrap().to_vec();
        assert_near(&values(&got).await, &want.to_vec(), Some(&scale), &format!("{what}: forward"));
        for (i, (p, cpu)) in moved.iter().zip(&cpu).enumerate() {
            let Some(want) = cpu.grad() else {
                assert!(p.grad().is_none(), "{what}: gradient {i} made though not asked for");
                continue;
            };
            let got = values(&p.grad().expect("gradient reached its input")).await;
            // Each gradient is a sum over n or c products of values below 1: their count bounds the error.
            let terms = vec![if i == 0 { c as f32 } else { n as f32 }; got.len()];
            assert_near(&got, &want.to_vec(), Some(&terms), &format!("{what}: gradient {i}"));
        }
    }
}

/// `Tensor::conv2d_fused` (a Conv2d layer, optionally with the ReLU after it: one launch forward on the GPU,
/// the bias gradient made by the weight gradient's GEMM or a reduction) against the CPU's conv2d + add +
/// relu, forward and the gradients of x, W and b: strides, padding, with and without bias and ReLU.
pub async fn conv_layers(device: Device) {
    let mut rng = Rng::new(26);
    for (n, c, hw, c_out, k, stride, pad, bias, relu) in [
        (2, 3, 9, 4, 3, 1, 1, true, true),
        (3, 1, 12, 8, 5, 2, 0, true, false),
        (2, 4, 7, 5, 3, 1, 0, false, true),
        (32, 1, 28, 16, 3, 1, 1, true, true),
    ] {
        let what =
            format!("conv n {n} c {c} {hw}x{hw} -> {c_out} k {k} s {stride} p {pad} bias {bias} relu {relu}");
        let x = random(&mut rng, &[n, c, hw, hw], -1.0, 1.0).requires_grad_(true);
        let w = random(&mut rng, &[c_out, c, k, k], -0.5, 0.5).requires_grad_(true);
        let b = random(&mut rng, &[1, c_out, 1, 1], -0.5, 0.5).requires_grad_(true);
        let out = (hw + 2 * pad - k) / stride + 1;
        let g = random(&mut rng, &[n, c_out, out, out], -1.0, 1.0);
        let cpu = [x.clone(), w.clone(), b.clone()];
        let run = |t: &[Tensor], g: &Tensor| {
            let y = t[0].conv2d_fused(&t[1], bias.then_some(&t[2]), relu, (stride, stride), (pad, pad))?;
            y.backward_with(g)?;
            Ok::<_, cvjourney::LabError>(y)
        };
        let want = run(&cpu, &g).unwrap();
        let moved: Vec<Tensor> = cpu.iter().map(|p| on(p, device).requires_grad_(true)).collect();
        let got = run(&moved, &on(&g, device)).unwrap();
        let terms = (c * k * k) as f32;
        assert_near(
            &values(&got).await,
            &want.to_vec(),
            Some(&vec![terms; got.numel()]),
            &format!("{what}: forward"),
        );
        for (i, (p, cpu)) in moved.iter().zip(&cpu).enumerate().take(if bias { 3 } else { 2 }) {
            let got = values(&p.grad().expect("gradient reached its input")).await;
            // Sums over up to n·OH·OW (weights, bias) or C_out·k·k (x) terms each below 1 in size.
            let terms = vec![(n * hw * hw).max(c_out * k * k) as f32; got.len()];
            assert_near(&got, &cpu.grad().unwrap().to_vec(), Some(&terms), &format!("{what}: gradient {i}"));
        }
    }
}

/// Every differentiable unary op's gradient g · f'(x) on the device (one launch there, `unary/times`)
/// against the CPU's.
pub async fn activation_gradients(device: Device) {
    let mut rng = Rng::new(25);
    for op in UNARY {
        let (lo, hi) = domain(op);
        let x = random(&mut rng, &[7, 37], lo, hi).requires_grad_(true);
        let w = random(&mut rng, &[7, 37], -1.0, 1.0);
        let loss = |x: &Tensor, w: &Tensor| x.unary(op).mul(w)?.sum(&[], false);
        let Ok(want) = loss(&x, &w) else { continue };
        if !want.requires_grad() {
            continue; // piecewise-constant helpers (Step, Sign, the derivatives): nothing to differentiate
        }
        want.backward().unwrap();
        let d = on(&x, device).requires_grad_(true);
        loss(&d, &on(&w, device)).unwrap().backward().unwrap();
        let got = values(&d.grad().expect("gradient reached x")).await;
        assert_near(&got, &x.grad().unwrap().to_vec(), None, &format!("{op:?} gradient"));
    }
}

pub async fn layout_and_indexing(device: Device) {
    let mut rng = Rng::new(15);
    let x = random(&mut rng, &[2, 3, 4, 5], -1.0, 1.0);
    let d = on(&x, device);
    same(&x.permute(&[3, 1, 0, 2]).unwrap(), &d.permute(&[3, 1, 0, 2]).unwrap(), "permute").await;
    same(&x.transpose(-1, -2).unwrap(), &d.transpose(-1, -2).unwrap(), "transpose").await;
    same(&x.reshape(&[6, -1]).unwrap(), &d.reshape(&[6, -1]).unwrap(), "reshape").await;
    let small = random(&mut rng, &[3, 1, 5], -1.0, 1.0);
    let target = Shape::new(&[2, 3, 4, 5]);
    same(&small.expand(&target).unwrap(), &on(&small, device).expand(&target).unwrap(), "expand").await;
    same(&x.slice(2, 1, 3).unwrap(), &d.slice(2, 1, 3).unwrap(), "slice").await;
    let y = random(&mut rng, &[2, 3, 2, 5], -1.0, 1.0);
    let want = Tensor::concat(&[&x, &y, &x], 2).unwrap();
    same(&want, &Tensor::concat(&[&d, &on(&y, device), &d], 2).unwrap(), "concat").await;
    same(&x.index_select(1, &[2, 0, 2]).unwrap(), &d.index_select(1, &[2, 0, 2]).unwrap(), "index_select")
        .await;
    let index = Tensor::from_vec(vec![4.0, 0.0, 3.0, 3.0, 1.0, 2.0], [6, 1]).unwrap();
    let m = random(&mut rng, &[6, 5], -1.0, 1.0);
    same(&m.gather(1, &index).unwrap(), &on(&m, device).gather(1, &index).unwrap(), "gather").await;
    same(&x.softmax(-1).unwrap(), &d.softmax(-1).unwrap(), "softmax").await;
    let logits = Tensor::from_vec(vec![1e4, -1e4, 0.0, -50.0, 50.0, 30.0], [2, 3]).unwrap();
    let lsm = on(&logits, device).log_softmax(-1).unwrap();
    same(&logits.log_softmax(-1).unwrap(), &lsm, "log_softmax of extreme logits").await;
    assert!(values(&lsm).await.iter().all(|v| v.is_finite()), "log_softmax stays finite");
}

pub async fn windows(device: Device) {
    let mut rng = Rng::new(16);
    let x = random(&mut rng, &[2, 3, 9, 8], -1.0, 1.0);
    let d = on(&x, device);
    for (k, stride, pad) in [(3, 1, 1), (3, 2, 0), (1, 1, 0), (5, 2, 2)] {
        let win = Window { kernel: (k, k), stride: (stride, stride), padding: (pad, pad) };
        same(&x.im2col(win).unwrap(), &d.im2col(win).unwrap(), &format!("im2col k{k} s{stride} p{pad}"))
            .await;
        let w = random(&mut rng, &[4, 3, k, k], -1.0, 1.0);
        let want = x.conv2d(&w, (stride, stride), (pad, pad)).unwrap();
        let got = d.conv2d(&on(&w, device), (stride, stride), (pad, pad)).unwrap();
        let scale = x.abs().conv2d(&w.abs(), (stride, stride), (pad, pad)).unwrap().to_vec();
        assert_near(
            &values(&got).await,
            &want.to_vec(),
            Some(&scale),
            &format!("conv2d k{k} s{stride} p{pad}"),
        );
    }
    for (k, stride, pad) in [(2, 2, 0), (3, 1, 1), (3, 2, 1)] {
        same(&x.max_pool2d(k, stride, pad).unwrap(), &d.max_pool2d(k, stride, pad).unwrap(), "max_pool2d")
            .await;
        same(&x.avg_pool2d(k, stride, pad).unwrap(), &d.avg_pool2d(k, stride, pad).unwrap(), "avg_pool2d")
            .await;
    }
}

/// The fused classifier head (`loss::linear_cross_entropy`: the CPU's one pass block by block, the
/// device's five launches) on both devices: the loss and the gradients of x, W and b. Shapes: one row, one
/// class, no bias, a batch past the reduction's tree threshold (1,024 rows); seeds 1 (the saved gradients
/// as they are) and 2.5 (scaled in backward); x with and without a gradient (dx only when asked).
pub async fn fused_head(device: Device) {
    let mut rng = Rng::new(23);
    for (n, k, c, bias, seed, x_grad) in [
        (45, 50, 10, true, 1.0, true),
        (1, 7, 3, true, 1.0, true),
        (6, 9, 1, false, 1.0, true),
        (37, 784, 10, false, 2.5, true),
        (1100, 20, 10, true, 1.0, false),
        (300, 64, 10, true, 2.5, false),
    ] {
        let what = format!("fused head n {n} k {k} c {c} bias {bias} seed {seed}");
        let x = random(&mut rng, &[n, k], -1.0, 1.0).requires_grad_(x_grad);
        let w = random(&mut rng, &[c, k], -0.3, 0.3).requires_grad_(true);
        let b = random(&mut rng, &[c], -0.2, 0.2).requires_grad_(true);
        let labels: Vec<usize> = (0..n).map(|i| (i * 7 + 3) % c).collect();
        let head = |t: &[Tensor]| {
            let loss = cvjourney::loss::linear_cross_entropy(&t[0], &t[1], bias.then_some(&t[2]), &labels)?;
            loss.mul_scalar(seed).backward()?;
            Ok::<_, cvjourney::LabError>(loss)
        };
        let cpu = [x.clone(), w.clone(), b.clone()];
        let want = head(&cpu).unwrap();
        let moved: Vec<Tensor> =
            cpu.iter().map(|p| on(p, device).requires_grad_(p.requires_grad())).collect();
        let got = head(&moved).unwrap();
        assert_eq!(got.grad_fn(), Some("linear_cross_entropy"), "{what}: the fused op ran");
        same(&want, &got, &format!("{what}: loss")).await;
        for (i, (p, cpu)) in moved.iter().zip(&cpu).enumerate() {
            let Some(want) = cpu.grad() else {
                assert!(p.grad().is_none(), "{what}: gradient {i} made though not asked for");
                continue;
            };
            let g = p.grad().unwrap_or_else(|| panic!("{what}: gradient {i} reached its input"));
            assert_eq!(g.device(), device, "{what}: gradient {i} stays on the device");
            // Sums of n terms each at most (1 + |x|) / n in size: scale 1 (the tolerance's floor) covers them.
            assert_near(&values(&g).await, &want.to_vec(), None, &format!("{what}: gradient {i}"));
        }
    }
}

/// A small CNN's loss and every gradient, on both devices (col2im, pooling adjoints, scatter, sum_to...).
pub async fn gradients(device: Device) {
    let mut rng = Rng::new(17);
    let x = random(&mut rng, &[3, 2, 8, 8], -1.0, 1.0).requires_grad_(true);
    let w = random(&mut rng, &[4, 2, 3, 3], -0.5, 0.5).requires_grad_(true);
    let dense = random(&mut rng, &[4 * 4 * 4, 5], -0.3, 0.3).requires_grad_(true);
    let bias = random(&mut rng, &[5], -0.1, 0.1).requires_grad_(true);
    let targets = [1usize, 4, 0];
    let run = |x: &Tensor, w: &Tensor, dense: &Tensor, bias: &Tensor, max: bool| {
        let h = x.conv2d(w, (1, 1), (1, 1))?.tanh();
        let h = if max { h.max_pool2d(2, 2, 0)? } else { h.avg_pool2d(2, 2, 0)? };
        let logits = h.reshape(&[3, -1])?.matmul(dense)?.add(bias)?;
        cvjourney::loss::cross_entropy(&logits, &targets)
    };
    for max in [true, false] {
        let params = [&x, &w, &dense, &bias];
        params.iter().for_each(|p| p.zero_grad());
        let loss = run(&x, &w, &dense, &bias, max).unwrap();
        loss.backward().unwrap();
        let want: Vec<Vec<f32>> = params.iter().map(|p| p.grad().unwrap().to_vec()).collect();
        let moved: Vec<Tensor> = params.iter().map(|p| on(p, device).requires_grad_(true)).collect();
        let got_loss = run(&moved[0], &moved[1], &moved[2], &moved[3], max).unwrap();
        same(&loss, &got_loss, "loss").await;
        got_loss.backward().unwrap();
        for (i, (p, want)) in moved.iter().zip(&want).enumerate() {
            let g = p.grad().expect("gradient reached the parameter");
            assert_eq!(g.device(), device, "gradient {i} stays on the device");
            assert_near(&values(&g).await, want, None, &format!("gradient {i} (max pool: {max})"));
        }
    }
    // The GPU convolves directly and rebuilds im2col in the backward pass: strided and unpadded too.
    for (stride, pad) in [(2usize, 1usize), (1, 0), (2, 0)] {
        let f = |x: &Tensor, w: &Tensor| x.conv2d(w, (stride, stride), (pad, pad))?.tanh().sum(&[], false);
        x.zero_grad();
        w.zero_grad();
        f(&x, &w).unwrap().backward().unwrap();
        let (dx, dw) = (on(&x, device).requires_grad_(true), on(&w, device).requires_grad_(true));
        f(&dx, &dw).unwrap().backward().unwrap();
        let what = format!("conv2d s{stride} p{pad}");
        assert_near(
            &values(&dx.grad().unwrap()).await,
            &x.grad().unwrap().to_vec(),
            None,
            &format!("{what} dx"),
        );
        assert_near(
            &values(&dw.grad().unwrap()).await,
            &w.grad().unwrap().to_vec(),
            None,
            &format!("{what} dw"),
        );
    }
}

/// Three updates of every optimizer (with weight decay and clipping) on both devices.
pub async fn optimizers(device: Device) {
    let kinds = [
        OptimizerKind::Sgd { momentum: 0.0 },
        OptimizerKind::Sgd { momentum: 0.9 },
        OptimizerKind::Adagrad { eps: 1e-8 },
        OptimizerKind::RmsProp { rho: 0.9, eps: 1e-8 },
        OptimizerKind::Adam { betas: (0.9, 0.999), eps: 1e-8 },
        OptimizerKind::AdamW { betas: (0.9, 0.999), eps: 1e-8 },
    ];
    for kind in kinds {
        for clip in [None, Some(Clip::Norm(0.5)), Some(Clip::Value(0.1))] {
            let mut finals = Vec::new();
            for dev in [Device::Cpu, device] {
                // Six parameters of different sizes: the GPU updates up to four per launch (4 + 2 here
                // where the device binds 17 buffers), each slot as long as its own parameter.
                let mut rng = Rng::new(18);
                let shapes: [&[usize]; 6] = [&[3, 40], &[7], &[1], &[5, 5], &[300], &[2, 2, 2]];
                let ws: Vec<Tensor> = shapes
                    .iter()
                    .map(|d| on(&random(&mut rng, d, -1.0, 1.0), dev).requires_grad_(true))
                    .collect();
                let targets: Vec<Tensor> =
                    shapes.iter().map(|d| on(&random(&mut rng, d, -1.0, 1.0), dev)).collect();
                let mut opt = Optimizer::new(kind, ws.clone(), 0.05).unwrap().with_weight_decay(0.01);
                if let Some(c) = clip {
                    opt = opt.with_clip(c);
                }
                for _ in 0..3 {
                    opt.zero_grad();
                    let mut loss = Tensor::scalar(0.0).to_device(dev).unwrap();
                    for (w, t) in ws.iter().zip(&targets) {
                        loss = loss.add(&w.sub(t).unwrap().pow(2.0).sum(&[], false).unwrap()).unwrap();
                    }
                    loss.backward().unwrap();
                    opt.step().unwrap();
                }
                let mut all = Vec::new();
                for w in &ws {
                    assert_eq!(w.device(), dev);
                    all.extend(values(w).await);
                }
                // Reading the optimizer's state is synchronous: natively only (the browser cannot block).
                let state = if cfg!(target_arch = "wasm32") { Vec::new() } else { opt.state() };
                finals.push((all, state));
            }
            let what = format!("{kind:?} clip {clip:?}");
            assert_near(&finals[1].0, &finals[0].0, None, &what);
            for ((name, gpu), (_, cpu)) in finals[1].1.iter().zip(&finals[0].1) {
                assert_near(gpu, cpu, None, &format!("{what}: {name}"));
            }
        }
    }
}

/// Dropout's mask is made on the device from (seed, index): the same mask bit for bit, and about 1 − p
/// of the units kept.
pub async fn dropout_masks(device: Device) {
    let x = Tensor::ones([64, 1000]);
    for p in [0.1f32, 0.5, 0.9] {
        cvjourney::tensor::manual_seed(7);
        let want = x.dropout(p, true).unwrap().to_vec();
        cvjourney::tensor::manual_seed(7);
        let got = values(&on(&x, device).dropout(p, true).unwrap()).await;
        assert_eq!(got, want, "p = {p}: the device's mask differs from the CPU's");
        let kept = want.iter().filter(|&&v| v != 0.0).count() as f32 / want.len() as f32;
        // 64,000 draws: the standard error of the kept share is below 0.002.
        assert!((kept - (1.0 - p)).abs() < 0.01, "p = {p}: kept {kept}");
        assert!(want.iter().all(|&v| v == 0.0 || (v - 1.0 / (1.0 - p)).abs() < 1e-6), "inverted scaling");
    }
}

/// Every part of the suite, in order.
pub async fn all(device: Device) {
    unary_ops(device).await;
    binary_ops(device).await;
    reductions(device).await;
    matmuls(device).await;
    layout_and_indexing(device).await;
    windows(device).await;
    gradients(device).await;
    optimizers(device).await;
    dropout_masks(device).await;
}
