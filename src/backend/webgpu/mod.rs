//! The WebGPU backend: one `GpuContext` per session (adapter, device, queue) and WGSL kernels that are
//! twins of the scalar CPU reference kernels. Through `wgpu` the same code runs on the browser's WebGPU
//! (wasm32) and on Vulkan natively (Mesa lavapipe on machines without a GPU).

mod context;
mod kernels;

pub use context::{AdapterSummary, GpuContext};
pub use kernels::add;
