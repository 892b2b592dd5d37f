//! Browser tests: run by `wasm-bindgen-test-runner` in headless Chromium (see `webdriver.json` for the
//! WebGPU flags). They need the browser's WebGPU adapter (SwiftShader in CI): without the flags
//! `webgpu_adapter_is_available` fails, which is how we know the GPU path is really exercised.
#![cfg(target_arch = "wasm32")]

use cvjourney::backend::{BackendKind, cpu, webgpu};
use cvjourney::probe;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn webgpu_adapter_is_available() {
    let ctx = webgpu::GpuContext::new().await.expect("the browser should expose a WebGPU adapter");
    assert_eq!(ctx.adapter.backend, "BrowserWebGpu");
}

#[wasm_bindgen_test]
async fn add_kernel_on_browser_webgpu_matches_cpu_reference() {
    let ctx = webgpu::GpuContext::new().await.expect("WebGPU adapter");
    for n in [1usize, 255, 256, 257, 100_003] {
        let (a, b) = probe::check_inputs(n);
        let got = webgpu::add(&ctx, &a, &b).await.expect("add kernel");
        let mut want = vec![0.0; n];
        cpu::add_ref(&a, &b, &mut want);
        let bad = got.iter().zip(&want).position(|(x, y)| x.to_bits() != y.to_bits());
        assert_eq!((got.len(), bad), (n, None), "n = {n}");
    }
}

#[wasm_bindgen_test]
async fn probe_chooses_webgpu_in_the_browser() {
    let (choice, gpu) = probe::detect().await;
    assert_eq!(choice.kind, BackendKind::WebGpu, "fell back: {:?}", choice.fallback_reason);
    assert!(choice.label.starts_with("WebGPU: "), "{}", choice.label);
    let check = probe::kernel_check(gpu.as_ref(), 10_000).await.expect("kernel check");
    assert!(check.ok, "{check:?}");
}

#[wasm_bindgen_test]
fn simd128_add_matches_reference() {
    for n in [0usize, 1, 3, 4, 5, 17, 1001] {
        let (a, b) = probe::check_inputs(n);
        let (mut fast, mut want) = (vec![0.0; n], vec![0.0; n]);
        cpu::add(&a, &b, &mut fast);
        cpu::add_ref(&a, &b, &mut want);
        assert_eq!(fast, want, "n = {n}");
    }
}
