//! cvjourney: an in-browser deep-learning lab that follows "The Computer Vision Journey: from Linear
//! Regression to CNNs". The same crate builds for wasm32 (the web page, through `web`) and natively (the
//! `cvjourney` CLI and the test suite). See `ARCHITECTURE.md` for the map of the code.

pub mod autograd;
pub mod backend;
pub mod bench;
pub mod chapters;
pub mod data;
pub mod error;
pub mod loss;
pub mod nn;
pub mod optim;
pub mod plot;
pub mod probe;
pub mod seed;
pub mod tensor;
pub mod train;

#[cfg(target_arch = "wasm32")]
pub mod web;

pub use autograd::no_grad;
pub use error::LabError;
pub use tensor::{Device, Shape, Tensor};
