//! Compute backends. The scalar CPU kernels are the specification; the SIMD kernels (`cpu`) and the WGSL
//! kernels (`webgpu`) are their twins, with the same names, tested against them.

pub mod cpu;
pub mod ops;
pub mod webgpu;

use serde::Serialize;

/// Which device a computation runs on, as shown to the visitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// The CPU: WebAssembly SIMD128 in the browser, portable SIMD natively.
    Cpu,
    /// A GPU through `wgpu`: the browser's WebGPU on wasm32, Vulkan natively.
    WebGpu,
}

impl BackendKind {
    /// The label the page shows, e.g. "WebGPU: SwiftShader Device" or "CPU: WebAssembly SIMD".
    /// Natively the GPU path is `wgpu` on Vulkan, and the label says so.
    pub fn label(self, adapter: Option<&str>) -> String {
        const GPU: &str = if cfg!(target_arch = "wasm32") { "WebGPU" } else { "Vulkan" };
        match (self, adapter) {
            (BackendKind::WebGpu, Some(name)) => format!("{GPU}: {name}"),
            (BackendKind::WebGpu, None) => GPU.to_string(),
            (BackendKind::Cpu, _) => format!("CPU: {}", cpu::SIMD_NAME),
        }
    }
}
