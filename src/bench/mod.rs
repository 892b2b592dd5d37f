//! Benchmarks that print tables (never timed unit tests): GEMM at square sizes and at the shapes the lab's
//! MLP and CNN training runs, fast kernel against the naive reference loop, in the same run. Natively
//! `cvjourney bench`; in the browser `./lab bench` calls `benchGemm` through the page. The GPU tables
//! (`gpu.rs`) run on whichever GPU the thread has: natively Vulkan (`bench --gpu`), in the browser WebGPU.

use serde::Serialize;

mod gpu;
mod head;
mod workloads;
pub use gpu::{
    GpuConvRow, GpuGemmRow, GpuStepRow, format_gpu_conv_table, format_gpu_table, format_step_table,
    gpu_conv_table, gpu_gemm_table, gpu_kernel_table, gpu_report, gpu_step_table, launch_counts,
};
pub use head::{HeadRow, format_head_table, head_table};
pub use workloads::{
    Workload, WorkloadRow, format_timeline, format_workload_table, gemm_workload, run_workload,
    step_timeline, workload, workloads,
};

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
        ("CNN conv2 input grad".into(), 144, 32, 128 * 14 * 14),
        ("CNN conv2 weight grad".into(), 32, 128 * 14 * 14, 144),
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
        let mut time = async |reps: usize| {
            let t0 = now_ms();
            for _ in 0..reps {
                kernel(&a, &b, m, k, n, out);
            }
            Ok((now_ms() - t0) / reps as f64)
        };
        crate::train::now(median_of_samples(now_ms, budget_ms, &mut time)).unwrap_or(f64::NAN)
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
/// Async, so the GPU tables can await the device in the browser; CPU callers run it with `train::now`.
async fn median_of_samples(
    now_ms: &dyn Fn() -> f64,
    budget_ms: f64,
    time: &mut impl AsyncFnMut(usize) -> crate::error::Result<f64>,
) -> crate::error::Result<f64> {
    let reps = (20.0 / time(1).await?.max(0.01)).ceil().clamp(1.0, 10_000.0) as usize;
    let (mut times, start) = (Vec::new(), now_ms());
    while times.len() < 3 || (now_ms() - start < budget_ms && times.len() < 25) {
        times.push(time(reps).await?);
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

/// A product with one operand transposed and a narrow side, timed two ways: the general GEMM, which packs
/// the transposed operand as stored (`cpu::matmul_t`), against the unpacked kernel that reads it without
/// packing (`cpu::matmul_a_bt` for x Wᵀ, `cpu::matmul_at_b` for gᵀ x).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NarrowRow {
    pub name: String,
    pub m: usize,
    pub k: usize,
    pub n: usize,
    /// Which operand is stored transposed: "b" (x Wᵀ) or "a" (gᵀ x).
    pub transposed: &'static str,
    pub packed_ms: f64,
    pub narrow_ms: f64,
    /// Largest |narrow − packed| relative to the largest |packed| value.
    pub max_rel_diff: f64,
}

/// Rows of Fashion-MNIST's training set, from which W5's batches are drawn (the narrow table's "drawn" rows).
const DATASET_ROWS: usize = 60_000;

/// The classifier layers of W5 (batch 5,000), W1 (batch 128) and W2's last layer (64 → 10), and W5's two
/// products once more as training runs them: the batch's rows drawn in shuffled order from 60,000 rows of
/// 784 (read in place by the narrow kernels; gathered into a copy first on the packed path).
pub fn narrow_table(now_ms: &dyn Fn() -> f64, budget_ms: f64) -> Vec<NarrowRow> {
    let shapes = [
        ("W5 forward x·Wᵀ", 5000, 784, 10, "b", false),
        ("W5 weight grad gᵀ·x", 10, 5000, 784, "a", false),
        ("W5 x·Wᵀ, drawn rows", 5000, 784, 10, "b", true),
        ("W5 gᵀ·x, drawn rows", 10, 5000, 784, "a", true),
        ("W1 forward x·Wᵀ", 128, 784, 10, "b", false),
        ("W1 weight grad gᵀ·x", 10, 128, 784, "a", false),
        ("W2 last layer x·Wᵀ", 128, 64, 10, "b", false),
        ("W2 last weight grad gᵀ·x", 10, 128, 64, "a", false),
    ];
    shapes
        .into_iter()
        .map(|(name, m, k, n, transposed, drawn)| {
            let mut rng = Rng::new(2);
            // The wide operand (x: m x k for x·Wᵀ, k x n for gᵀ·x), as rows of `len`.
            let (count, len) = if transposed == "b" { (m, k) } else { (k, n) };
            let base_rows = if drawn { DATASET_ROWS.max(count) } else { count };
            let base: Vec<f32> = (0..base_rows * len).map(|_| rng.uniform_range(-1.0, 1.0)).collect();
            let mut index: Vec<usize> = (0..base_rows).collect();
            if drawn {
                crate::data::shuffle(&mut index, &mut rng);
            }
            index.truncate(count);
            let rows =
                if drawn { cpu::Rows::indexed(&base, &index, len) } else { cpu::Rows::dense(&base, len) };
            let narrow_len = if transposed == "b" { n * k } else { k * m };
            let small: Vec<f32> = (0..narrow_len).map(|_| rng.uniform_range(-1.0, 1.0)).collect();
            let (mut packed, mut narrow) = (vec![0.0; m * n], vec![0.0; m * n]);
            let time = |f: &mut dyn FnMut()| {
                let mut run = async |reps: usize| {
                    let t0 = now_ms();
                    (0..reps).for_each(|_| f());
                    Ok((now_ms() - t0) / reps as f64)
                };
                crate::train::now(median_of_samples(now_ms, budget_ms, &mut run)).unwrap_or(f64::NAN)
            };
            let packed_ms = time(&mut || {
                // What the general path does: gather drawn rows into a copy, then GEMM, packing the
                // transposed operand as stored (`cpu::matmul_t`).
                let wide: std::borrow::Cow<[f32]> =
                    if drawn { rows.to_vec().into() } else { base.as_slice().into() };
                if transposed == "a" {
                    cpu::matmul_t(&small, &wide, m, k, n, [true, false], &mut packed);
                } else {
                    cpu::matmul_t(&wide, &small, m, k, n, [false, true], &mut packed);
                }
            });
            let narrow_ms = time(&mut || {
                if transposed == "a" {
                    cpu::matmul_at_b(&small, rows, m, k, n, &mut narrow);
                } else {
                    cpu::matmul_a_bt(rows, &small, m, k, n, &mut narrow);
                }
            });
            let scale = packed.iter().fold(0.0f32, |s, v| s.max(v.abs())).max(1e-30);
            let diff = narrow.iter().zip(&packed).fold(0.0f32, |d, (x, y)| d.max((x - y).abs()));
            NarrowRow {
                name: name.into(),
                m,
                k,
                n,
                transposed,
                packed_ms,
                narrow_ms,
                max_rel_diff: f64::from(diff / scale),
            }
        })
        .collect()
}

/// The rows as a plain-text table.
pub fn format_narrow_table(rows: &[NarrowRow]) -> String {
    let mut out = format!(
        "products with a narrow side, one operand stored transposed: transpose + packed GEMM vs unpacked\n\
         {:<28} {:>16} {:>11} {:>11} {:>8} {:>9}\n",
        "shape", "m x k x n", "packed ms", "narrow ms", "speed-up", "max rel"
    );
    for r in rows {
        out += &format!(
            "{:<28} {:>16} {:>11.3} {:>11.3} {:>7.2}x {:>9.1e}\n",
            r.name,
            format!("{}x{}x{}", r.m, r.k, r.n),
            r.packed_ms,
            r.narrow_ms,
            r.packed_ms / r.narrow_ms,
            r.max_rel_diff
        );
    }
    out
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
