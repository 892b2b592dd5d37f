//! GPU benchmark tables, on whichever GPU this thread has installed: natively through Vulkan
//! (`cvjourney bench --gpu`), in headless Chromium through WebGPU (`./lab bench` calls `benchGpu`). They are
//! async because the browser cannot wait for the GPU: every "wait" here is `Runtime::sync().await`.

use serde::Serialize;
use web_time::Instant;

use super::{gemm_shapes, median_of_samples};
use crate::backend::cpu;
use crate::backend::ops::Window;
use crate::backend::webgpu::{self, Runtime};
use crate::error::Result;
use crate::tensor::{Device, Shape, Tensor};

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

fn clock() -> impl Fn() -> f64 {
    let start = Instant::now();
    move || start.elapsed().as_secs_f64() * 1e3
}

/// Every `gemm_shapes` shape plus 2048³, skipping products with a side above `max_side` (SwiftShader, a CPU
/// emulation, would take minutes on the largest).
pub async fn gpu_gemm_table(budget_ms: f64, max_side: usize) -> Result<Vec<GpuGemmRow>> {
    let rt = webgpu::current()?;
    let now = clock();
    let mut rows = Vec::new();
    let mut shapes = gemm_shapes();
    shapes.insert(4, ("square 2048".into(), 2048, 2048, 2048));
    shapes.retain(|(_, m, k, n)| *m.max(k).max(n) <= max_side);
    for (name, m, k, n) in shapes {
        crate::tensor::manual_seed(1);
        let (a, b) = (Tensor::uniform([m, k], -1.0, 1.0), Tensor::uniform([k, n], -1.0, 1.0));
        let (ga, gb) = (a.to_device(Device::WebGpu)?, b.to_device(Device::WebGpu)?);
        let flops = 2.0 * (m * k * n) as f64;
        let gpu_out = ga.matmul(&gb)?.to_vec_async().await?; // warm-up: pipelines compiled, buffers pooled
        let mut time = async |reps: usize| -> Result<f64> {
            let t0 = now();
            for _ in 0..reps {
                drop(ga.matmul(&gb)?);
            }
            rt.sync().await?;
            Ok((now() - t0) / reps as f64)
        };
        let gpu_ms = median_of_samples(&now, budget_ms, &mut time).await?;
        webgpu::ops::set_big_tiles(false);
        let gpu64_ms = async {
            ga.matmul(&gb)?.to_vec_async().await?; // warm-up of the other pipeline
            median_of_samples(&now, budget_ms, &mut time).await
        }
        .await;
        webgpu::ops::set_big_tiles(true);
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

/// One convolution forward at a chapter's shape, timed two ways on the GPU: im2col + GEMM + permute (the
/// CPU's way) and the direct kernel `Tensor::conv2d` uses on the GPU (one thread per output).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GpuConvRow {
    pub name: String,
    pub im2col_us: f64,
    pub direct_us: f64,
    /// Largest |im2col − direct| relative to the largest output.
    pub max_rel_diff: f64,
}

/// The chapters' convolutions: chapter 6's 7x7 (1 → 8, valid) and the W3 CNN's two 3x3 "same" layers, at
/// batch 128. Each way is run `reps` times between two waits for the GPU.
pub async fn gpu_conv_table(reps: usize) -> Result<Vec<GpuConvRow>> {
    let rt = webgpu::current()?;
    let shapes: [(&str, [usize; 4], usize, usize, usize); 3] = [
        ("ch6 7x7 1->8, 28x28 valid", [128, 1, 28, 28], 8, 7, 0),
        ("W3 conv1 3x3 1->16, 28x28", [128, 1, 28, 28], 16, 3, 1),
        ("W3 conv2 3x3 16->32, 14x14", [128, 16, 14, 14], 32, 3, 1),
    ];
    let mut rows = Vec::new();
    for (name, dims, c_out, k, pad) in shapes {
        crate::tensor::manual_seed(4);
        let x = Tensor::uniform(Shape::new(&dims), -1.0, 1.0).to_device(Device::WebGpu)?;
        let w = Tensor::uniform([c_out, dims[1], k, k], -1.0, 1.0).to_device(Device::WebGpu)?;
        let win = Window { kernel: (k, k), stride: (1, 1), padding: (pad, pad) };
        let out = (dims[2] + 2 * pad - k + 1, dims[3] + 2 * pad - k + 1);
        let on_gpu = || crate::error::LabError::Device("conv bench: tensors did not move to the GPU".into());
        let (xb, wb) = (x.gpu().ok_or_else(on_gpu)?, w.gpu().ok_or_else(on_gpu)?);
        // The composite the GPU used before the direct kernel (and the CPU still uses).
        let im2col = || {
            let y = w.reshape(&[c_out as isize, -1])?.matmul(&x.im2col(win)?)?;
            y.reshape(&[c_out as isize, dims[0] as isize, out.0 as isize, out.1 as isize])?
                .permute(&[1, 0, 2, 3])
        };
        let direct = || webgpu::ops::conv2d_direct(&xb, &wb, dims, c_out, win, out);
        let a = im2col()?.to_vec_async().await?;
        let b = rt.read(&direct()).await?;
        let time_us = async |f: &dyn Fn() -> Result<()>| -> Result<f64> {
            f()?;
            rt.sync().await?;
            let t0 = Instant::now();
            for _ in 0..reps {
                f()?;
            }
            rt.sync().await?;
            Ok(t0.elapsed().as_secs_f64() * 1e6 / reps as f64)
        };
        let im2col_us = time_us(&|| im2col().map(drop)).await?;
        let direct_us = time_us(&|| {
            drop(direct());
            Ok(())
        })
        .await?;
        let scale = a.iter().fold(0.0f32, |s, v| s.max(v.abs())).max(1e-30);
        let diff = if a.len() == b.len() {
            a.iter().zip(&b).fold(0.0f32, |d, (p, q)| d.max((p - q).abs()))
        } else {
            f32::NAN
        };
        rows.push(GpuConvRow {
            name: name.into(),
            im2col_us,
            direct_us,
            max_rel_diff: f64::from(diff / scale),
        });
    }
    Ok(rows)
}

/// The conv rows as a plain-text table.
pub fn format_gpu_conv_table(title: &str, rows: &[GpuConvRow]) -> String {
    let mut out = format!(
        "{title}\n{:<28} {:>12} {:>12} {:>9}\n",
        "layer (batch 128)", "im2col µs", "direct µs", "max rel"
    );
    for r in rows {
        out +=
            &format!("{:<28} {:>12.1} {:>12.1} {:>9.1e}\n", r.name, r.im2col_us, r.direct_us, r.max_rel_diff);
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
    /// The launches of the last step by kernel ("shader/entry", count), most frequent first.
    pub kernels: Vec<(String, usize)>,
}

/// The W2 MLP (784-128-64-10) and a small CNN (8 7x7 filters, max pooling, dense 64) with Adam at batch
/// 128, the MLP at an evaluation batch, and W5's softmax regression at its batch of 5,000, on random data: each step timed in phases on this thread's GPU, and whole on the CPU.
pub async fn gpu_step_table(steps: usize) -> Result<Vec<GpuStepRow>> {
    use crate::nn::{Activation, Conv2d, Flatten, Init, Linear, MaxPool2d, Module, Padding, Sequential};
    use crate::optim::{Optimizer, OptimizerKind};
    let rt = webgpu::current()?;
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
    let softmax = || Sequential::default().append(Flatten).append(Linear::new(784, 10, init, true));
    let models: [(&str, &dyn Fn() -> Sequential, usize); 4] = [
        ("MLP 784-128-64-10", &mlp, 128),
        ("CNN 7x7x8 + pool + 64", &cnn, 128),
        ("MLP, eval batch", &mlp, 4096),
        ("softmax 784-10 (W5's)", &softmax, 5000),
    ];
    let mut rows = Vec::new();
    for (name, build, batch) in models {
        crate::tensor::manual_seed(5);
        let x = Tensor::uniform([batch, 1, 28, 28], -1.0, 1.0);
        let labels: Vec<usize> = (0..batch).map(|i| i % 10).collect();
        let mut phases = [0.0f64; 3];
        let mut dispatches = 0.0;
        let mut cpu_ms = 0.0;
        let mut kernels = Vec::new();
        for device in [Device::WebGpu, Device::Cpu] {
            let model = build();
            model.to_device(device)?;
            let kind = OptimizerKind::Adam { betas: (0.9, 0.999), eps: 1e-8 };
            let mut opt = Optimizer::new(kind, model.parameters(), 1e-3)?;
            for i in 0..3 + steps {
                let t0 = Instant::now();
                let before = rt.stats();
                opt.zero_grad();
                let xb = x.to_device(device)?;
                let traced = device == Device::WebGpu && i == 2 + steps;
                if traced {
                    rt.start_trace();
                }
                model.cross_entropy(&xb, &labels)?.backward()?;
                opt.step()?;
                if traced {
                    kernels = launch_counts(rt.take_trace());
                }
                let t1 = Instant::now();
                if device == Device::WebGpu {
                    rt.flush()?;
                }
                let t2 = Instant::now();
                if device == Device::WebGpu {
                    rt.sync().await?;
                }
                let t3 = Instant::now();
                if i < 3 {
                    continue; // warm-up: pipelines compiled, buffers pooled
                }
                let ms = |a: Instant, b: Instant| (b - a).as_secs_f64() * 1e3;
                if device == Device::WebGpu {
                    phases[0] += ms(t0, t1);
                    phases[1] += ms(t1, t2);
                    phases[2] += ms(t2, t3);
                    dispatches += (rt.stats().dispatches - before.dispatches) as f64;
                } else {
                    cpu_ms += ms(t0, t3);
                }
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
            kernels,
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
    for r in rows {
        let kernels: Vec<String> = r.kernels.iter().map(|(k, n)| format!("{k} x{n}")).collect();
        out += &format!("  {} (one step's launches): {}\n", r.name, kernels.join(", "));
    }
    out
}

/// A launch trace counted by kernel, most frequent first (ties by name).
pub fn launch_counts(trace: Vec<String>) -> Vec<(String, usize)> {
    let mut counts = std::collections::BTreeMap::new();
    for k in trace {
        *counts.entry(k).or_insert(0) += 1;
    }
    let mut counts: Vec<(String, usize)> = counts.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    counts
}

/// Microseconds per launch of the kernels a CNN and an MLP training step use, at their training shapes
/// (each op run `reps` times between two waits for the GPU).
pub async fn gpu_kernel_table(reps: usize) -> Result<Vec<(String, f64)>> {
    let rt: std::rc::Rc<Runtime> = webgpu::current()?;
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
    type Op<'a> = Box<dyn Fn() -> Result<Tensor> + 'a>;
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
        rt.sync().await?;
        let t0 = Instant::now();
        for _ in 0..reps {
            drop(op()?);
        }
        rt.sync().await?;
        rows.push((name.to_string(), t0.elapsed().as_secs_f64() * 1e6 / reps as f64));
    }
    Ok(rows)
}

/// Every GPU table as text, headed by the adapter, each table handed to `emit` as soon as it is measured:
/// what `bench --gpu` prints natively and what `./lab bench` prints for headless Chromium's WebGPU.
/// `max_side` bounds the GEMM shapes, `steps` the training steps timed per model.
pub async fn gpu_report(
    budget_ms: f64,
    max_side: usize,
    steps: usize,
    emit: &mut dyn FnMut(&str),
) -> Result<()> {
    let adapter = webgpu::current()?.ctx.adapter.clone();
    let on = format!("{} ({})", adapter.name, adapter.backend);
    let gemm = gpu_gemm_table(budget_ms, max_side).await?;
    emit(&format_gpu_table(&format!("GPU GEMM: WGSL tiled kernel on {on}"), &gemm));
    emit(&format_gpu_conv_table(
        "\nconv2d forward on the GPU: im2col + GEMM + permute vs the direct kernel (used), 20 launches between waits",
        &gpu_conv_table(20).await?,
    ));
    emit(&format_step_table(
        "\nOne training step (Adam, random data): GPU phases vs the whole CPU step",
        &gpu_step_table(steps).await?,
    ));
    let mut out = "\nGPU kernels at training shapes (µs per launch, 50 launches between waits)\n".to_string();
    for (name, us) in gpu_kernel_table(50).await? {
        out += &format!("{name:<32} {us:>10.1}\n");
    }
    emit(&out);
    Ok(())
}
