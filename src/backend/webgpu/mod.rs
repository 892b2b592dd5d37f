//! The WebGPU backend: one `GpuContext` (adapter, device, queue) installed per thread as a `Runtime`
//! (buffer pool, pipeline cache, recorded commands submitted together), and WGSL kernels that are twins of
//! the scalar CPU reference kernels. Through `wgpu` the same code runs on the browser's WebGPU (wasm32) and
//! on Vulkan natively (Mesa lavapipe on machines without a GPU).

mod context;
mod kernels;
pub mod ops;
pub mod runtime;
mod timing;

pub use context::{AdapterSummary, GpuContext};
pub use kernels::add;
pub use runtime::{GpuBuf, Runtime, RuntimeStats, current, install, installed, uninstall};
pub use timing::KernelTime;
