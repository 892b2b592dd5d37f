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
