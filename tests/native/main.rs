//! The native test suite in one binary (one link instead of fourteen: most of a cold `cargo test` was
//! linking). Each module is one area; `cargo test --test native MODULE::` runs one of them, e.g.
//! `cargo test --test native webgpu_native::`. The browser tests are `tests/web.rs`, the page's `tests/e2e/`.
#![cfg(not(target_arch = "wasm32"))]

#[allow(dead_code)]
#[path = "../parity/mod.rs"]
mod parity;

mod autograd;
mod cli;
mod conv;
mod data;
mod datasets;
mod image;
mod kernels;
mod models;
mod nn;
mod plot;
mod presets;
mod toys;
mod train;
mod webgpu_native;
