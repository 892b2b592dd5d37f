//! The backend probe: find the best compute backend and prove it with one real kernel checked against the
//! scalar reference. The page, the CLI (`cvjourney probe`) and the tests all run this same code.

use serde::Serialize;

use crate::backend::webgpu::{self, AdapterSummary, GpuContext};
use crate::backend::{BackendKind, cpu};
use crate::error::{LabError, Result};

/// Which backend the lab will use and why.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BackendChoice {
    pub kind: BackendKind,
    /// "WebGPU: <adapter>" or "CPU: WebAssembly SIMD".
    pub label: String,
    pub adapter: Option<AdapterSummary>,
    /// Set when WebGPU was wanted but could not be used: the reason, in words.
    pub fallback_reason: Option<String>,
}

/// Tries WebGPU and falls back to the CPU, keeping the reason.
pub async fn detect() -> (BackendChoice, Option<GpuContext>) {
    match GpuContext::new().await {
        Ok(ctx) => {
            let choice = BackendChoice {
                kind: BackendKind::WebGpu,
                label: BackendKind::WebGpu.label(Some(&ctx.adapter.name)),
                adapter: Some(ctx.adapter.clone()),
                fallback_reason: None,
            };
            (choice, Some(ctx))
        }
        Err(e) => {
            let choice = BackendChoice {
                kind: BackendKind::Cpu,
                label: BackendKind::Cpu.label(None),
                adapter: None,
                fallback_reason: Some(e.to_string()),
            };
            (choice, None)
        }
    }
}

/// The outcome of one kernel check: `a + b` on the chosen backend compared with the scalar reference.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KernelCheck {
    pub kind: BackendKind,
    /// "add" on `n` floats.
    pub kernel: &'static str,
    pub n: usize,
    /// Largest |fast - reference| over all elements.
    pub max_abs_diff: f32,
    /// Whether every element agrees with the reference (exactly: one IEEE add is correctly rounded everywhere).
    pub ok: bool,
    /// The first few results, for plotting: (a, b, fast, reference).
    pub sample: Vec<[f32; 4]>,
}

/// Deterministic, varied inputs: no denormals, both signs, many exponents.
pub fn check_inputs(n: usize) -> (Vec<f32>, Vec<f32>) {
    let a = (0..n).map(|i| ((i % 1009) as f32 * 0.37).sin() * 100.0).collect();
    let b = (0..n).map(|i| ((i % 997) as f32 * 0.11).cos() * 0.01 - 0.5).collect();
    (a, b)
}

/// Runs `add` on `gpu` when given (else on the CPU's SIMD twin) and compares with `cpu::add_ref`.
pub async fn kernel_check(gpu: Option<&GpuContext>, n: usize) -> Result<KernelCheck> {
    let (a, b) = check_inputs(n);
    let mut reference = vec![0.0; n];
    cpu::add_ref(&a, &b, &mut reference);
    let (kind, fast) = match gpu {
        Some(ctx) => (BackendKind::WebGpu, webgpu::add(ctx, &a, &b).await?),
        None => {
            let mut out = vec![0.0; n];
            cpu::add(&a, &b, &mut out);
            (BackendKind::Cpu, out)
        }
    };
    if fast.len() != n {
        let message = format!("returned {} values for {n} inputs", fast.len());
        return Err(LabError::Gpu { op: "add", message });
    }
    let max_abs_diff = fast.iter().zip(&reference).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
    let ok = fast.iter().zip(&reference).all(|(x, y)| x.to_bits() == y.to_bits());
    let sample = (0..n.min(64)).map(|i| [a[i], b[i], fast[i], reference[i]]).collect();
    Ok(KernelCheck { kind, kernel: "add", n, max_abs_diff, ok, sample })
}

/// One CPU product kernel on one shape, compared with `cpu::matmul_ref`: the fast path of the build that
/// runs it (SIMD128, or relaxed SIMD with fused multiply-adds in the page's second module), so the page's
/// tests can check the module the training worker loaded, not only the one the test harness built.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductCheck {
    /// "matmul" (", a stored transposed" and the like for `matmul_t`), "matmul_a_bt", "matmul_at_b", with
    /// ", indexed rows" where the wide operand's rows are picked through an index from a larger matrix
    /// whose other rows are NaN.
    pub kernel: &'static str,
    /// m, k, n of the product (m, k) · (k, n).
    pub shape: [usize; 3],
    /// The largest |fast − reference| as a fraction of the output's bound (at most 1 passes; a NaN or an
    /// infinity where the reference is finite counts as infinitely far).
    pub worst: f32,
    pub ok: bool,
    /// The first output past its bound: row, column, fast value, reference value.
    pub first_miss: Option<(usize, usize, f32, f32)>,
}

/// Every CPU product kernel against the scalar reference, at the edges of its blocks:
/// - the packed GEMM (`cpu::matmul`): k past KC (256), m past MC (96), n past NC; also with either or
///   both operands stored transposed (`cpu::matmul_t`, which packs them from their rows);
/// - the narrow kernels (`cpu::matmul_a_bt`: a · bᵀ with b stored (n, k); `cpu::matmul_at_b`: aᵀ · b with
///   a stored (k, m)): n around 4, 8, 12, 16 and m past blocks of 3, 4, 6, 8 rows for a · bᵀ; k around the
///   8-row sweep and n around 4 and 8 for aᵀ · b, with the wide operand stored densely and drawn through
///   an index (a batch read where it lies in a dataset).
///
/// Each output must lie within the classic bound of a length-k dot product in f32, |error| ≤ k·ε·Σ|a||b|,
/// twice (both results carry error): any summation order and fused or unfused multiply-adds pass, a
/// wrong element, a skipped tail or a stale NaN does not.
pub fn product_checks() -> Vec<ProductCheck> {
    let mut rng = crate::tensor::Rng::new(4);
    let mut random = |len: usize| -> Vec<f32> { (0..len).map(|_| rng.uniform_range(-1.0, 1.0)).collect() };
    let mut checks = Vec::new();
    let dense = [
        (1, 1, 1),
        (3, 5, 2),
        (17, 33, 9),
        (64, 64, 64),
        (1, 300, 7),
        (128, 7, 130),
        (4, 0, 3),
        (7, 520, 1030),
    ];
    for (m, k, n) in dense {
        let (a, b) = (random(m * k), random(k * n));
        let mut reference = vec![0.0; m * n];
        cpu::matmul_ref(&a, &b, m, k, n, &mut reference);
        let mut got = vec![f32::NAN; m * n];
        cpu::matmul(&a, &b, m, k, n, &mut got);
        checks.push(product_check("matmul", &a, &b, [m, k, n], &got, &reference));
        let (at, bt) = (transpose(&a, m, k), transpose(&b, k, n));
        let stored = [
            ("matmul, a stored transposed", [&at, &b], [true, false]),
            ("matmul, b stored transposed", [&a, &bt], [false, true]),
            ("matmul, both stored transposed", [&at, &bt], [true, true]),
        ];
        for (kernel, [a_stored, b_stored], trans) in stored {
            let mut got = vec![f32::NAN; m * n];
            cpu::matmul_t(a_stored, b_stored, m, k, n, trans, &mut got);
            checks.push(product_check(kernel, &a, &b, [m, k, n], &got, &reference));
        }
    }
    let narrow = [
        (1, 1, 1),
        (2, 4, 4),
        (3, 5, 7),
        (5, 3, 10),
        (10, 257, 13),
        (16, 784, 10),
        (9, 600, 6),
        (4, 0, 3),
        (7, 9, 16),
        (13, 17, 12),
        (11, 8, 5),
        (15, 33, 9),
    ];
    for (x, y, z) in narrow {
        for (m, k, n) in [(x, y, z), (z, y, x)] {
            let (a, b) = (random(m * k), random(k * n));
            let mut reference = vec![0.0; m * n];
            cpu::matmul_ref(&a, &b, m, k, n, &mut reference);
            let (a_base, a_index) = scattered(&a, m, k);
            let (b_base, b_index) = scattered(&b, k, n);
            let (bt, at) = (transpose(&b, k, n), transpose(&a, m, k));
            type Run<'a> = (&'static str, &'a dyn Fn(&mut [f32]));
            let runs: [Run; 4] = [
                ("matmul_a_bt", &|out| cpu::matmul_a_bt(cpu::Rows::dense(&a, k), &bt, m, k, n, out)),
                ("matmul_a_bt, indexed rows", &|out| {
                    cpu::matmul_a_bt(cpu::Rows::indexed(&a_base, &a_index, k), &bt, m, k, n, out)
                }),
                ("matmul_at_b", &|out| cpu::matmul_at_b(&at, cpu::Rows::dense(&b, n), m, k, n, out)),
                ("matmul_at_b, indexed rows", &|out| {
                    cpu::matmul_at_b(&at, cpu::Rows::indexed(&b_base, &b_index, n), m, k, n, out)
                }),
            ];
            for (kernel, run) in runs {
                let mut got = vec![f32::NAN; m * n];
                run(&mut got);
                checks.push(product_check(kernel, &a, &b, [m, k, n], &got, &reference));
            }
        }
    }
    checks.extend(head_checks());
    checks
}

/// The fused classifier head (`cpu::linear_cross_entropy`: logits x Wᵀ + b, softmax, cross-entropy and
/// the gradients, block by block of x's rows) against its reference, with x's rows stored densely and
/// drawn through an index: n across the 40- and 16-row blocks of k = 784 and 1568, more than `NARROW`
/// classes (the general GEMM), no bias, one item. `shape` is (n, k, c). Every entry of dW (c, k) and db
/// must lie within the bound of a length-(n + 16) dot product of |dz| and |x| (the 16 covers dz's own few
/// ulp from the SIMD exp), the loss and each dz within 1e-5 of max(1, |value|) and of 1/n.
fn head_checks() -> Vec<ProductCheck> {
    let mut rng = crate::tensor::Rng::new(6);
    let mut checks = Vec::new();
    for (n, k, c, bias) in [
        (1, 1, 1, true),
        (7, 5, 3, true),
        (41, 784, 10, true),
        (300, 33, 10, false),
        (9, 8, 17, true),
        (37, 1568, 10, true),
        (81, 784, 2, false),
    ] {
        let x: Vec<f32> = (0..n * k).map(|_| rng.uniform_range(-2.0, 2.0)).collect();
        let w: Vec<f32> = (0..c * k).map(|_| rng.uniform_range(-0.5, 0.5)).collect();
        let b: Vec<f32> = (0..c).map(|_| rng.uniform_range(-1.0, 1.0)).collect();
        let targets: Vec<usize> = (0..n).map(|_| rng.below(c)).collect();
        let b = bias.then_some(&b[..]);
        let reference = cpu::linear_cross_entropy_ref(cpu::Rows::dense(&x, k), &w, b, &targets, c);
        let (base, index) = scattered(&x, n, k);
        let runs = [
            ("linear_cross_entropy", cpu::linear_cross_entropy(cpu::Rows::dense(&x, k), &w, b, &targets, c)),
            (
                "linear_cross_entropy, indexed rows",
                cpu::linear_cross_entropy(cpu::Rows::indexed(&base, &index, k), &w, b, &targets, c),
            ),
        ];
        for (kernel, got) in runs {
            checks.push(head_check(kernel, &x, [n, k, c], &got, &reference));
        }
    }
    checks
}

/// One [`head_checks`] entry: `got` against `reference`; first_miss names (row, column) of dW, or row
/// n (c for db, c + 1 for the loss, c + 2 + j for dz[j]'s worst row) when something else misses.
fn head_check(
    kernel: &'static str,
    x: &[f32],
    [n, k, c]: [usize; 3],
    got: &cpu::Head,
    reference: &cpu::Head,
) -> ProductCheck {
    let eps = (n + 16) as f32 * f32::EPSILON * 2.0;
    let (mut worst, mut first_miss) = (0.0f32, None);
    let mut judge = |at: (usize, usize), f: f32, r: f32, bound: f32| {
        let off = (f - r).abs() / (bound + f32::MIN_POSITIVE);
        let off = if off.is_nan() && !(f.is_nan() && r.is_nan()) { f32::INFINITY } else { off };
        let off = if off.is_nan() { 0.0 } else { off };
        worst = worst.max(off);
        if off > 1.0 && first_miss.is_none() {
            first_miss = Some((at.0, at.1, f, r));
        }
    };
    for j in 0..c {
        for p in 0..k {
            let magnitude: f32 = (0..n).map(|i| (reference.dz[i * c + j] * x[i * k + p]).abs()).sum();
            judge((j, p), got.dw[j * k + p], reference.dw[j * k + p], eps * magnitude);
        }
        let magnitude: f32 = (0..n).map(|i| reference.dz[i * c + j].abs()).sum();
        judge((n, c), got.db[j], reference.db[j], eps * magnitude);
        for i in 0..n {
            judge((i, c + 2 + j), got.dz[i * c + j], reference.dz[i * c + j], 1e-5 / n as f32);
        }
    }
    judge((n, c + 1), got.loss, reference.loss, 1e-5 * reference.loss.abs().max(1.0));
    ProductCheck { kernel, shape: [n, k, c], worst, ok: first_miss.is_none(), first_miss }
}

/// `rows` (count rows of len) stored at rows `index` of a larger matrix, three rows of NaN among them.
fn scattered(rows: &[f32], count: usize, len: usize) -> (Vec<f32>, Vec<usize>) {
    let index: Vec<usize> = (0..count).map(|i| count + 2 - i).collect();
    let mut base = vec![f32::NAN; (count + 3) * len];
    for (i, &at) in index.iter().enumerate() {
        base[at * len..(at + 1) * len].copy_from_slice(&rows[i * len..(i + 1) * len]);
    }
    (base, index)
}

fn transpose(v: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    (0..cols).flat_map(|c| (0..rows).map(move |r| v[r * cols + c])).collect()
}

/// `got` against the reference product of a (m, k) and b (k, n), output by output, within the bound of
/// [`product_checks`].
fn product_check(
    kernel: &'static str,
    a: &[f32],
    b: &[f32],
    shape: [usize; 3],
    got: &[f32],
    reference: &[f32],
) -> ProductCheck {
    let [m, k, n] = shape;
    let (mut worst, mut first_miss) = (0.0f32, None);
    for i in 0..m {
        for j in 0..n {
            let magnitude: f32 = (0..k).map(|p| (a[i * k + p] * b[p * n + j]).abs()).sum();
            let bound = 2.0 * k as f32 * f32::EPSILON * magnitude + f32::MIN_POSITIVE;
            let (f, r) = (got[i * n + j], reference[i * n + j]);
            let off = (f - r).abs() / bound;
            let off = if off.is_nan() { f32::INFINITY } else { off };
            worst = worst.max(off);
            if off > 1.0 && first_miss.is_none() {
                first_miss = Some((i, j, f, r));
            }
        }
    }
    ProductCheck { kernel, shape, worst, ok: first_miss.is_none(), first_miss }
}
