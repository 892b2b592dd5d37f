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

use cvjourney::train::DirSource;

/// `data/` (what `./lab setup` installs) when every one of `files` is there; otherwise `None` with a note
/// saying which tests (`skipped`) did not run, or a failure when CVJOURNEY_REQUIRE_DATA=1 (`./lab test`
/// sets it, so CI never skips them).
pub fn installed(files: &[&str], skipped: &str) -> Option<DirSource> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    if files.iter().all(|f| dir.join(f).is_file()) {
        return Some(DirSource(dir));
    }
    let required = std::env::var("CVJOURNEY_REQUIRE_DATA").is_ok_and(|v| v == "1");
    assert!(!required, "data/ lacks one of {files:?}: run ./lab setup");
    eprintln!("note: data/ not installed (./lab setup); {skipped} not run");
    None
}

/// The files of each installed dataset the tests check for.
pub const FASHION: &str = "fashion-mnist/t10k-labels-idx1-ubyte.gz";
pub const MNIST: &str = "mnist/mnist_5k.csv.gz";

/// The six CIFAR-10 batch files in the official binary format, generated (`data::synthetic_cifar_batch`):
/// `per_batch` records each, learnable or random.
pub fn cifar_files(per_batch: usize, learnable: bool, seed: u64) -> cvjourney::train::MemorySource {
    let batch = |i: u64| cvjourney::data::synthetic_cifar_batch(per_batch, learnable, seed + i);
    cvjourney::train::MemorySource(
        cvjourney::train::CIFAR_FILES.iter().zip(0..).map(|(f, i)| (f.to_string(), batch(i))).collect(),
    )
}
