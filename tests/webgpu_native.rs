//! The WGSL kernels through native `wgpu` on Vulkan (Mesa lavapipe on machines without a GPU), checked
//! against the scalar CPU reference. These tests fail, not skip, when no Vulkan adapter is found: `./lab test`
//! installs `mesa-vulkan-drivers`, so a missing adapter is a broken set-up.
#![cfg(not(target_arch = "wasm32"))]

use cvjourney::LabError;
use cvjourney::backend::{BackendKind, cpu, webgpu};
use cvjourney::probe;

fn gpu() -> webgpu::GpuContext {
    pollster::block_on(webgpu::GpuContext::new())
        .unwrap_or_else(|e| panic!("a Vulkan adapter is required (install mesa-vulkan-drivers): {e}"))
}

#[test]
fn add_kernel_matches_reference_on_edge_sizes() {
    let ctx = gpu();
    // Sizes around the workgroup (256) and past the 65,535-workgroup row that folds the grid into 2-D.
    for n in [1usize, 3, 255, 256, 257, 1000, 65_535 * 256 + 5] {
        let (a, b) = probe::check_inputs(n);
        let got = pollster::block_on(webgpu::add(&ctx, &a, &b)).unwrap();
        let mut want = vec![0.0; n];
        cpu::add_ref(&a, &b, &mut want);
        assert_eq!(got.len(), n);
        let bad = got.iter().zip(&want).position(|(x, y)| x.to_bits() != y.to_bits());
        assert_eq!(bad, None, "n = {n}: first mismatch at {bad:?}");
    }
    assert!(ctx.take_uncaptured_errors().is_empty());
}

#[test]
fn add_kernel_reports_bad_input_as_errors() {
    let ctx = gpu();
    let err = pollster::block_on(webgpu::add(&ctx, &[1.0, 2.0], &[1.0])).unwrap_err();
    assert!(matches!(err, LabError::Shape { op: "add", .. }), "{err}");
    assert!(err.to_string().contains("[2] and [1]"), "{err}");
    assert_eq!(pollster::block_on(webgpu::add(&ctx, &[], &[])).unwrap(), Vec::<f32>::new());
}

#[test]
fn probe_picks_the_gpu_and_its_check_passes() {
    let (choice, gpu) = pollster::block_on(probe::detect());
    assert_eq!(choice.kind, BackendKind::WebGpu, "fell back: {:?}", choice.fallback_reason);
    assert!(choice.label.starts_with("Vulkan: "), "{}", choice.label);
    let check = pollster::block_on(probe::kernel_check(gpu.as_ref(), 4097)).unwrap();
    assert!(check.ok && check.max_abs_diff == 0.0, "{check:?}");
    assert_eq!(check.sample.len(), 64);
}
