//! Errors are values: every user-reachable failure is a `LabError` with a sentence a learner can act on.

use thiserror::Error;

/// Every error the lab reports. The message is shown to the visitor as it is, so it names the operation,
/// the values involved and, where there is one, what to do.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum LabError {
    /// The browser or the machine has no usable WebGPU/Vulkan adapter; the lab runs on the CPU instead.
    #[error("no GPU adapter: {0}")]
    NoAdapter(String),
    /// The adapter exists but refused to give a device, or the device was lost.
    #[error("GPU device: {0}")]
    Device(String),
    /// A GPU operation (shader compilation, dispatch, readback) failed.
    /// A tensor or model larger than the device (or the lab's budget) allows; refused before allocating.
    #[error("out of memory: {0}")]
    OutOfMemory(String),
    #[error("GPU {op}: {message}")]
    Gpu { op: &'static str, message: String },
    /// Two operands whose shapes must agree do not.
    #[error("{op}: shapes {left:?} and {right:?} do not match")]
    Shape { op: &'static str, left: Vec<usize>, right: Vec<usize> },
    /// A value outside what an operation accepts.
    #[error("{0}")]
    InvalidArgument(String),
    /// A data file that cannot be read: names the format, then the field and the value.
    #[error("{kind} file: {message}")]
    Format { kind: &'static str, message: String },
    /// Training produced a non-finite loss or gradient (the divergence guard); `message` names the step
    /// and the likely cause, `suggested_lr` is the one-click fix the page offers.
    #[error("{message}")]
    Diverged { step: u64, message: String, suggested_lr: f32 },
}

/// Shorthand used across the crate.
pub type Result<T> = std::result::Result<T, LabError>;

impl LabError {
    /// A failure of the GPU itself (lost device, out of memory, a kernel or driver error), after which a
    /// session can go on on the CPU, as opposed to a mistake in the data or the settings.
    pub fn is_gpu_failure(&self) -> bool {
        matches!(
            self,
            LabError::NoAdapter(_) | LabError::Device(_) | LabError::Gpu { .. } | LabError::OutOfMemory(_)
        )
    }
}
