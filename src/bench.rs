//! Benchmarks that print tables (never timed unit tests): GEMM at square sizes and at the shapes the lab's
//! MLP and CNN training runs, fast kernel against the naive reference loop, in the same run. Natively
//! `cvjourney bench`; in the browser `./lab bench` calls `benchGemm` through the page.

use serde::Serialize;

use crate::backend::cpu;
use crate::tensor::Rng;

/// One measured GEMM shape: (m, k) · (k, n).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GemmRow {
    pub name: String,
    pub m: usize,
    pub k: usize,
    pub n: usize,
    /// Median GFLOP/s of the fast kernel (`cpu::matmul`).
    pub fast_gflops: f64,
    /// Median GFLOP/s of the `matrixmultiply` crate on the same shape (the bar our own kernel must clear).
    pub crate_gflops: f64,
    /// GFLOP/s of the reference triple loop (`cpu::matmul_ref`).
    pub naive_gflops: f64,
    /// Largest |fast − naive| relative to the largest |naive| value: the run is also a correctness check.
    pub max_rel_diff: f64,
}

/// A GEMM kernel: a (m, k), b (k, n) -> out (m, n).
type GemmFn = fn(&[f32], &[f32], usize, usize, usize, &mut [f32]);

/// The shapes: squares, then the lab's training GEMMs (batch 128; W3 CNN on 28x28 Fashion-MNIST).
pub fn gemm_shapes() -> Vec<(String, usize, usize, usize)> {
    let mut v: Vec<(String, usize, usize, usize)> =
        [128, 256, 512, 1024].iter().map(|&s| (format!("square {s}"), s, s, s)).collect();
    v.extend([
        ("MLP 784-128 forward".into(), 128, 784, 128),
        ("MLP 784-128 weight grad".into(), 784, 128, 128),
        ("CNN conv1 3x3x16 (im2col)".into(), 16, 9, 128 * 28 * 28),
        ("CNN conv2 3x3x32 (im2col)".into(), 32, 144, 128 * 14 * 14),
    ]);
    v
}

/// Measures every shape; `now_ms` is the clock (Instant natively, performance.now() in the browser).
/// `budget_ms` bounds the time spent on each fast measurement (at least 3 runs).
pub fn gemm_table(now_ms: &dyn Fn() -> f64, budget_ms: f64) -> Vec<GemmRow> {
    gemm_shapes().into_iter().map(|(name, m, k, n)| gemm_row(name, m, k, n, now_ms, budget_ms)).collect()
}

fn gemm_row(name: String, m: usize, k: usize, n: usize, now_ms: &dyn Fn() -> f64, budget_ms: f64) -> GemmRow {
    let mut rng = Rng::new(1);
    let a: Vec<f32> = (0..m * k).map(|_| rng.uniform_range(-1.0, 1.0)).collect();
    let b: Vec<f32> = (0..k * n).map(|_| rng.uniform_range(-1.0, 1.0)).collect();
    let (mut fast, mut naive) = (vec![0.0; m * n], vec![0.0; m * n]);
    let flops = 2.0 * (m * k * n) as f64;

    let median_ms = |kernel: GemmFn, out: &mut [f32]| {
        let mut time = |reps: usize| {
            let t0 = now_ms();
            for _ in 0..reps {
                kernel(&a, &b, m, k, n, out);
            }
            Ok((now_ms() - t0) / reps as f64)
        };
        median_of_samples(now_ms, budget_ms, &mut time).unwrap_or(f64::NAN)
    };
    let median = median_ms(cpu::matmul, &mut fast);
    let crate_median = median_ms(cpu::matmul_crate, &mut vec![0.0; m * n]);

    let t0 = now_ms();
    cpu::matmul_ref(&a, &b, m, k, n, &mut naive);
    let naive_ms = (now_ms() - t0).max(1e-6);

    let scale = naive.iter().fold(0.0f32, |s, v| s.max(v.abs())).max(1e-30);
    let diff = fast.iter().zip(&naive).fold(0.0f32, |d, (x, y)| d.max((x - y).abs()));
    GemmRow {
        name,
        m,
        k,
        n,
        fast_gflops: flops / median / 1e6,
        crate_gflops: flops / crate_median / 1e6,
        naive_gflops: flops / naive_ms / 1e6,
        max_rel_diff: f64::from(diff / scale),
    }
}

/// The median of timed samples, `time(reps)` giving ms per repetition: one calibration run (also the
/// warm-up), then samples of enough repetitions to last ≥ 20 ms each, so coarse clocks (the browser's
/// performance.now() is rounded to 0.1 ms without cross-origin isolation) do not dominate small shapes;
/// at least 3 samples, more while `budget_ms` lasts (at most 25).
fn median_of_samples(
    now_ms: &dyn Fn() -> f64,
    budget_ms: f64,
    time: &mut dyn FnMut(usize) -> crate::error::Result<f64>,
) -> crate::error::Result<f64> {
    let reps = (20.0 / time(1)?.max(0.01)).ceil().clamp(1.0, 10_000.0) as usize;
    let (mut times, start) = (Vec::new(), now_ms());
    while times.len() < 3 || (now_ms() - start < budget_ms && times.len() < 25) {
        times.push(time(reps)?);
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2].max(1e-9))
}

/// The rows as a plain-text table.
pub fn format_table(title: &str, rows: &[GemmRow]) -> String {
    let mut out = format!(
        "{title}\n{:<28} {:>16} {:>10} {:>10} {:>10} {:>9} {:>9}\n",
        "shape", "m x k x n", "fast GF/s", "crate GF/s", "naive GF/s", "vs naive", "max rel"
    );
    for r in rows {
        out += &format!(
            "{:<28} {:>16} {:>10.2} {:>10.2} {:>10.2} {:>8.1}x {:>9.1e}\n",
            r.name,
            format!("{}x{}x{}", r.m, r.k, r.n),
            r.fast_gflops,
            r.crate_gflops,
            r.naive_gflops,
            r.fast_gflops / r.naive_gflops,
            r.max_rel_diff
        );
    }
    out
}

/// One convolution layer timed two ways: the lab's im2col + GEMM (`Tensor::conv2d`) and a direct loop
/// written for the cache (rows of x and out streamed, the innermost loop contiguous and vectorisable).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConvRow {
    pub name: String,
    pub im2col_ms: f64,
    pub direct_ms: f64,
    /// Largest |im2col − direct| over the outputs: the two must compute the same convolution.
    pub max_abs_diff: f32,
}

/// The W3 CNN's two convolutions (3x3 "same", batch 32 of 28x28 and 14x14 maps).
pub fn conv_table(now_ms: &dyn Fn() -> f64) -> Vec<ConvRow> {
    [("conv1 1->16, 28x28", [32, 1, 28, 28], 16), ("conv2 16->32, 14x14", [32, 16, 14, 14], 32)]
        .into_iter()
        .map(|(name, xs, c_out)| {
            crate::tensor::manual_seed(3);
            let x = crate::Tensor::uniform(xs, -1.0, 1.0);
            let w = crate::Tensor::uniform([c_out, xs[1], 3, 3], -1.0, 1.0);
            let time = |f: &dyn Fn() -> Vec<f32>| {
                let _ = f();
                let t0 = now_ms();
                for _ in 0..5 {
                    let _ = f();
                }
                (now_ms() - t0) / 5.0
            };
            let im2col_ms = time(&|| x.conv2d(&w, (1, 1), (1, 1)).map(|y| y.to_vec()).unwrap_or_default());
            let direct_ms = time(&|| conv3x3_same_direct(&x.to_vec(), xs, &w.to_vec(), c_out));
            let a = x.conv2d(&w, (1, 1), (1, 1)).map(|y| y.to_vec()).unwrap_or_default();
            let b = conv3x3_same_direct(&x.to_vec(), xs, &w.to_vec(), c_out);
            let max_abs_diff = if a.len() == b.len() {
                a.iter().zip(&b).fold(0.0f32, |m, (p, q)| m.max((p - q).abs()))
            } else {
                f32::NAN
            };
            ConvRow { name: name.into(), im2col_ms, direct_ms, max_abs_diff }
        })
        .collect()
}

/// Direct 3x3 "same" convolution, the measured alternative to im2col. x: (N, C, H, W), w: (O, C, 3, 3).
fn conv3x3_same_direct(x: &[f32], [n, c, h, wd]: [usize; 4], w: &[f32], o: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; n * o * h * wd];
    for ni in 0..n {
        for oi in 0..o {
            let dst = &mut out[(ni * o + oi) * h * wd..][..h * wd];
            for ci in 0..c {
                let src = &x[(ni * c + ci) * h * wd..][..h * wd];
                for ki in 0..3 {
                    for kj in 0..3 {
                        let wv = w[((oi * c + ci) * 3 + ki) * 3 + kj];
                        for y in 0..h {
                            let Some(iy) = (y + ki).checked_sub(1).filter(|&v| v < h) else { continue };
                            let (x0, x1) = (1usize.saturating_sub(kj), (wd + 1 - kj).min(wd));
                            let row = &mut dst[y * wd + x0..y * wd + x1];
                            let from = &src[iy * wd + x0 + kj - 1..iy * wd + x1 + kj - 1];
                            for (d, &s) in row.iter_mut().zip(from) {
                                *d += wv * s;
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

/// One GEMM shape on the GPU: the WGSL tiled kernel through `Tensor::matmul`, timed from submit to idle.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GpuGemmRow {
    pub name: String,
    pub m: usize,
    pub k: usize,
    pub n: usize,
    /// Median GFLOP/s over samples of `reps` products each (upload excluded, submit and wait included),
    /// with the kernel the lab picks for the shape.
    pub gpu_gflops: f64,
    /// The same with the 64x64-tile kernel forced (it differs only for m, n ≥ 128).
    pub gpu64_gflops: f64,
    /// The CPU fast kernel on the same shape, in the same run.
    pub cpu_gflops: f64,
    /// Largest |gpu − cpu| relative to the largest |cpu| value.
    pub max_rel_diff: f64,
}

/// Every `gemm_shapes` shape on this thread's GPU (natively: it waits for the device).
#[cfg(not(target_arch = "wasm32"))]
pub fn gpu_gemm_table(budget_ms: f64) -> crate::error::Result<Vec<GpuGemmRow>> {
    use crate::tensor::{Device, Tensor};
    use web_time::Instant;
    let rt = crate::backend::webgpu::current()?;
    let now = {
        let start = Instant::now();
        move || start.elapsed().as_secs_f64() * 1e3
    };
    let mut rows = Vec::new();
    let mut shapes = gemm_shapes();
    shapes.insert(4, ("square 2048".into(), 2048, 2048, 2048));
    for (name, m, k, n) in shapes {
        crate::tensor::manual_seed(1);
        let (a, b) = (Tensor::uniform([m, k], -1.0, 1.0), Tensor::uniform([k, n], -1.0, 1.0));
        let (ga, gb) = (a.to_device(Device::WebGpu)?, b.to_device(Device::WebGpu)?);
        let flops = 2.0 * (m * k * n) as f64;
        let gpu_out = ga.matmul(&gb)?.to_vec(); // warm-up: pipelines compiled, buffers pooled
        let time = |reps: usize| -> crate::error::Result<f64> {
            let t0 = now();
            for _ in 0..reps {
                drop(ga.matmul(&gb)?);
            }
            rt.wait_idle()?;
            Ok((now() - t0) / reps as f64)
        };
        let median = || median_of_samples(&now, budget_ms, &mut |reps| time(reps));
        let gpu_ms = median()?;
        crate::backend::webgpu::ops::set_big_tiles(false);
        drop(ga.matmul(&gb)?); // warm-up of the other pipeline
        let gpu64_ms = median();
        crate::backend::webgpu::ops::set_big_tiles(true);
        let gpu64_ms = gpu64_ms?;
        let mut cpu_out = vec![0.0; m * n];
        let t0 = now();
        cpu::matmul(&a.to_vec(), &b.to_vec(), m, k, n, &mut cpu_out);
        let cpu_ms = (now() - t0).max(1e-6);
        let scale = cpu_out.iter().fold(0.0f32, |s, v| s.max(v.abs())).max(1e-30);
        let diff = gpu_out.iter().zip(&cpu_out).fold(0.0f32, |d, (x, y)| d.max((x - y).abs()));
        rows.push(GpuGemmRow {
            name,
            m,
            k,
            n,
            gpu_gflops: flops / gpu_ms / 1e6,
            gpu64_gflops: flops / gpu64_ms / 1e6,
            cpu_gflops: flops / cpu_ms / 1e6,
            max_rel_diff: f64::from(diff / scale),
        });
    }
    Ok(rows)
}

/// The GPU rows as a plain-text table.
pub fn format_gpu_table(title: &str, rows: &[GpuGemmRow]) -> String {
    let mut out = format!(
        "{title}\n{:<28} {:>16} {:>10} {:>10} {:>10} {:>9} {:>9}\n",
        "shape", "m x k x n", "GPU GF/s", "64-tile", "CPU GF/s", "GPU/CPU", "max rel"
    );
    for r in rows {
        out += &format!(
            "{:<28} {:>16} {:>10.1} {:>10.1} {:>10.2} {:>8.1}x {:>9.1e}\n",
            r.name,
            format!("{}x{}x{}", r.m, r.k, r.n),
            r.gpu_gflops,
            r.gpu64_gflops,
            r.cpu_gflops,
            r.gpu_gflops / r.cpu_gflops,
            r.max_rel_diff
        );
    }
    out
}

/// Where one training step's time goes on the GPU, averaged over `steps` steps after a warm-up.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GpuStepRow {
    pub name: String,
    pub batch: usize,
    /// Host time recording the forward pass, the backward pass and the optimizer update (no GPU work yet).
    pub record_ms: f64,
    /// Host time encoding and submitting the recorded commands (bind groups, passes).
    pub encode_ms: f64,
    /// Waiting for the GPU to finish the submitted step.
    pub wait_ms: f64,
    pub dispatches_per_step: f64,
    /// The same step on the CPU, for comparison.
    pub cpu_ms: f64,
}

/// The W2 MLP (784-128-64-10) and a small CNN (8 7x7 filters, max pooling, dense 64) with Adam, on random
/// data: each step timed in phases on this thread's GPU, and whole on the CPU.
#[cfg(not(target_arch = "wasm32"))]
pub fn gpu_step_table(steps: usize) -> crate::error::Result<Vec<GpuStepRow>> {
    use crate::nn::{Activation, Conv2d, Flatten, Init, Linear, MaxPool2d, Module, Padding, Sequential};
    use crate::optim::{Optimizer, OptimizerKind};
    use crate::tensor::{Device, Tensor};
    use web_time::Instant;
    let rt = crate::backend::webgpu::current()?;
    let init = Init::Uniform { low: -0.05, high: 0.05 };
    let mlp = || {
        Sequential::default()
            .append(Flatten)
            .append(Linear::new(784, 128, init, true))
            .append(Activation::ReLU)
            .append(Linear::new(128, 64, init, true))
            .append(Activation::ReLU)
            .append(Linear::new(64, 10, init, true))
    };
    let cnn = || {
        Sequential::default()
            .append(Conv2d::new(1, 8, 7, 1, Padding::Valid, init))
            .append(Activation::ReLU)
            .append(MaxPool2d { kernel: 2, stride: 2, padding: 0 })
            .append(Flatten)
            .append(Linear::new(8 * 11 * 11, 64, init, true))
            .append(Activation::ReLU)
            .append(Linear::new(64, 10, init, true))
    };
    let models: [(&str, &dyn Fn() -> Sequential, usize); 3] = [
        ("MLP 784-128-64-10", &mlp, 128),
        ("CNN 7x7x8 + pool + 64", &cnn, 64),
        ("MLP, eval batch", &mlp, 4096),
    ];
    let mut rows = Vec::new();
    for (name, build, batch) in models {
        crate::tensor::manual_seed(5);
        let x = Tensor::uniform([batch, 1, 28, 28], -1.0, 1.0);
        let labels: Vec<usize> = (0..batch).map(|i| i % 10).collect();
        let mut phases = [0.0f64; 3];
        let mut dispatches = 0.0;
        let mut cpu_ms = 0.0;
        for device in [Device::WebGpu, Device::Cpu] {
            let model = build();
            model.to_device(device)?;
            let kind = OptimizerKind::Adam { betas: (0.9, 0.999), eps: 1e-8 };
            let mut opt = Optimizer::new(kind, model.parameters(), 1e-3)?;
            let mut step = |timed: bool| -> crate::error::Result<()> {
                let t0 = Instant::now();
                let before = rt.stats();
                opt.zero_grad();
                let xb = x.to_device(device)?;
                crate::loss::cross_entropy(&model.forward(&xb)?, &labels)?.backward()?;
                opt.step()?;
                let t1 = Instant::now();
                if device == Device::WebGpu {
                    rt.flush()?;
                }
                let t2 = Instant::now();
                if device == Device::WebGpu {
                    rt.wait_idle()?;
                }
                let t3 = Instant::now();
                if timed {
                    let after = rt.stats();
                    let ms = |a: Instant, b: Instant| (b - a).as_secs_f64() * 1e3;
                    if device == Device::WebGpu {
                        phases[0] += ms(t0, t1);
                        phases[1] += ms(t1, t2);
                        phases[2] += ms(t2, t3);
                        dispatches += (after.dispatches - before.dispatches) as f64;
                    } else {
                        cpu_ms += ms(t0, t3);
                    }
                }
                Ok(())
            };
            for _ in 0..3 {
                step(false)?;
            }
            for _ in 0..steps {
                step(true)?;
            }
        }
        let n = steps as f64;
        rows.push(GpuStepRow {
            name: name.into(),
            batch,
            record_ms: phases[0] / n,
            encode_ms: phases[1] / n,
            wait_ms: phases[2] / n,
            dispatches_per_step: dispatches / n,
            cpu_ms: cpu_ms / n,
        });
    }
    Ok(rows)
}

/// The step profile as a plain-text table.
pub fn format_step_table(title: &str, rows: &[GpuStepRow]) -> String {
    let mut out = format!(
        "{title}\n{:<24} {:>6} {:>10} {:>10} {:>10} {:>10} {:>11} {:>10}\n",
        "model", "batch", "record ms", "encode ms", "GPU wait", "GPU total", "dispatches", "CPU ms"
    );
    for r in rows {
        out += &format!(
            "{:<24} {:>6} {:>10.2} {:>10.2} {:>10.2} {:>10.2} {:>11.0} {:>10.2}\n",
            r.name,
            r.batch,
            r.record_ms,
            r.encode_ms,
            r.wait_ms,
            r.record_ms + r.encode_ms + r.wait_ms,
            r.dispatches_per_step,
            r.cpu_ms
        );
    }
    out
}

/// Microseconds per launch of the kernels a CNN and an MLP training step use, at their training shapes
/// (each op run `reps` times between two waits for the GPU).
#[cfg(not(target_arch = "wasm32"))]
pub fn gpu_kernel_table(reps: usize) -> crate::error::Result<Vec<(String, f64)>> {
    use crate::backend::ops::Window;
    use crate::tensor::{Device, Shape, Tensor};
    use web_time::Instant;
    let rt = crate::backend::webgpu::current()?;
    let on = |dims: &[usize]| Tensor::uniform(Shape::new(dims), -1.0, 1.0).to_device(Device::WebGpu);
    let x = on(&[64, 1, 28, 28])?;
    let win = Window { kernel: (7, 7), stride: (1, 1), padding: (0, 0) };
    let cols = x.im2col(win)?;
    let w = on(&[8, 49])?;
    let g = on(&[8, 64 * 484])?;
    let cols_t = on(&[64 * 484, 49])?;
    let w_t = on(&[49, 8])?;
    let fmap = on(&[64, 8, 22, 22])?;
    let pooled_g = on(&[64, 8, 11, 11])?;
    let bias = on(&[1, 8, 1, 1])?;
    let (a, b, a_t, gm) = (on(&[128, 784])?, on(&[784, 128])?, on(&[784, 128])?, on(&[128, 128])?);
    let x_shape = Shape::new(&[64, 1, 28, 28]);
    type Op<'a> = Box<dyn Fn() -> crate::error::Result<Tensor> + 'a>;
    let ops: Vec<(&str, Op)> = vec![
        ("im2col 64x1x28x28, 7x7", Box::new(|| x.im2col(win))),
        ("col2im back to 64x1x28x28", Box::new(|| cols.col2im(&x_shape, win))),
        ("matmul 8x49 @ 49x30976", Box::new(|| w.matmul(&cols))),
        ("matmul 8x30976 @ 30976x49", Box::new(|| g.matmul(&cols_t))),
        ("matmul 49x8 @ 8x30976", Box::new(|| w_t.matmul(&g))),
        ("matmul 128x784 @ 784x128", Box::new(|| a.matmul(&b))),
        ("matmul 784x128 @ 128x128", Box::new(|| a_t.matmul(&gm))),
        ("permute 8x64x22x22", Box::new(|| fmap.permute(&[1, 0, 2, 3]))),
        ("max_pool2d 2x2 fwd", Box::new(|| fmap.max_pool2d(2, 2, 0))),
        (
            "max_pool2d 2x2 fwd + bwd",
            Box::new(|| {
                let y = fmap.detach().requires_grad_(true);
                let p = y.max_pool2d(2, 2, 0)?;
                p.backward_with(&pooled_g)?;
                Ok(y.grad().unwrap_or(p))
            }),
        ),
        ("relu 64x8x22x22", Box::new(|| Ok(fmap.relu()))),
        ("add bias (broadcast)", Box::new(|| fmap.add(&bias))),
        ("sum_to bias grad", Box::new(|| fmap.sum_to(&Shape::new(&[1, 8, 1, 1])))),
        ("sum all 64x8x22x22", Box::new(|| fmap.sum(&[], false))),
    ];
    let mut rows = Vec::new();
    for (name, op) in ops {
        drop(op()?);
        rt.wait_idle()?;
        let t0 = Instant::now();
        for _ in 0..reps {
            drop(op()?);
        }
        rt.wait_idle()?;
        rows.push((name.to_string(), t0.elapsed().as_secs_f64() * 1e6 / reps as f64));
    }
    Ok(rows)
}
