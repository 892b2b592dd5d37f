//! The WGSL kernels through native `wgpu` on Vulkan (Mesa lavapipe on machines without a GPU), checked
//! against the scalar CPU reference. These tests fail, not skip, when no Vulkan adapter is found: `./lab test`
//! installs `mesa-vulkan-drivers`, so a missing adapter is a broken set-up.
#![cfg(not(target_arch = "wasm32"))]

use cvjourney::LabError;
use cvjourney::backend::{BackendKind, cpu, webgpu};
use cvjourney::bench::launch_counts;
use cvjourney::probe;

use crate::parity;

use cvjourney::tensor::{Device, Tensor};

/// Installs a fresh GPU runtime on this test's thread.
fn install() {
    webgpu::install(gpu());
}

macro_rules! device_suite {
    ($($name:ident),*) => {$(
        #[test]
        fn $name() {
            install();
            pollster::block_on(parity::device::$name(Device::WebGpu));
            let rt = webgpu::current().unwrap();
            assert!(rt.take_error().is_none());
        }
    )*};
}

device_suite!(
    unary_ops,
    binary_ops,
    reductions,
    matmuls,
    layout_and_indexing,
    windows,
    gradients,
    fused_head,
    linear_layers,
    conv_layers,
    activation_gradients,
    optimizers,
    dropout_masks
);

#[test]
fn every_kernel_compiles_and_validates() {
    let ctx = gpu();
    for shader in webgpu::ops::SHADERS {
        let scope = ctx.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let _ = ctx.device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(shader.name),
            source: wgpu::ShaderSource::Wgsl(shader.source.into()),
        });
        if let Some(e) = pollster::block_on(scope.pop()) {
            panic!("{}.wgsl: {e}", shader.name);
        }
    }
}

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

/// `data/` with Fashion-MNIST (see `crate::installed`): the CPU-vs-GPU training runs need images.
fn fashion() -> Option<cvjourney::train::DirSource> {
    crate::installed(&[crate::FASHION], "CPU-vs-GPU training runs")
}

/// Trains `id` (on a 1,024-image slice, one epoch) on the CPU and on the GPU from the same seed. The first
/// step (same weights, same batch) must agree within 1e-4 relative; later steps within `drift`, because
/// rounding differs per step and compounds; the test accuracy within two images of 512.
fn same_curve(id: &str, variant: Option<&str>, drift: f32) {
    use cvjourney::chapters::preset;
    use cvjourney::train::DatasetSpec;
    let Some(source) = fashion() else { return };
    install();
    let mut p = preset(id).unwrap_or_else(|| panic!("no preset {id}"));
    if let Some(label) = variant {
        let v =
            p.variants.iter().find(|v| v.label == label).unwrap_or_else(|| panic!("{id}: no run '{label}'"));
        p.config = v.config.clone();
    }
    p.variants.clear();
    p.config.epochs = 1;
    p.config.dataset = DatasetSpec::FashionMnist { train_limit: Some(1024), test_limit: Some(512) };
    same_runs(p, &source, drift);
}

/// `p`'s run trained on the CPU and on the GPU: see `same_curve`.
fn same_runs(p: cvjourney::chapters::Preset, source: &cvjourney::train::DirSource, drift: f32) {
    use cvjourney::chapters::run_preset_on;
    let id = p.id;
    let (cpu_runs, cpu) = run_preset_on(&p, source, Device::Cpu, &mut |_| {}).unwrap();
    let (gpu_runs, gpu) = run_preset_on(&p, source, Device::WebGpu, &mut |_| {}).unwrap();
    assert_eq!(gpu.device(), Device::WebGpu);
    // Both splits stay on the GPU, each batch drawn there (the losses below show the same batches).
    assert_eq!(gpu.resident_bytes(), ((gpu.train.len() + gpu.test.len()) * 784 * 4) as u64, "{id}");
    assert!(
        cpu_runs[0].error.is_none() && gpu_runs[0].error.is_none(),
        "{:?} {:?}",
        cpu_runs[0].error,
        gpu_runs[0].error
    );
    assert_eq!(cpu.step_losses.len(), gpu.step_losses.len(), "{id}: every GPU loss was read back");
    assert!(cpu.step_losses.len() >= 8, "{id}: {} steps", cpu.step_losses.len());
    for (i, (c, g)) in cpu.step_losses.iter().zip(&gpu.step_losses).enumerate() {
        let tolerance = if i == 0 { 1e-4 } else { drift };
        assert!(
            (c - g).abs() <= tolerance * c.abs().max(1.0),
            "{id}: step {}: cpu loss {c} vs gpu {g}",
            i + 1
        );
    }
    let (c, g) = (&cpu.history[0], &gpu.history[0]);
    assert!(
        (c.test_loss - g.test_loss).abs() <= 1e-3 * c.test_loss.max(1.0),
        "{id}: test loss {c:?} vs {g:?}"
    );
    let (ca, ga) = (c.test_accuracy.unwrap(), g.test_accuracy.unwrap());
    assert!((ca - ga).abs() <= 2.0 / 512.0, "{id}: test accuracy cpu {ca} vs gpu {ga}");
    assert!(webgpu::current().unwrap().take_error().is_none());
}

#[test]
fn mlp_trains_alike_on_cpu_and_gpu() {
    same_curve("ch4-fashion-adam", None, 1e-3);
}

#[test]
fn cnn_trains_alike_on_cpu_and_gpu() {
    same_curve("ch6-cnn-pooling", None, 1e-3);
}

/// BatchNorm divides by each feature's batch spread, and Adam by each gradient's running size, so rounding
/// differences in near-constant pixels grow into visible ones: measured 6e-5 relative at step 3, 1.1e-3 at
/// step 6, 1.9e-3 at step 7 (lavapipe), hence a 1 % band after the first step.
#[test]
fn batchnorm_net_trains_alike_on_cpu_and_gpu() {
    same_curve("ch8-regularizers", Some("BatchNorm"), 1e-2);
}

/// Chapter 8's skip connections around convolutions: a 1x1 shortcut convolution and an add, or a channel
/// concatenation, on the GPU as on the CPU. The study's CNN slimmed to two blocks of 4 channels and 512
/// images: lavapipe runs the full one's 16-32 channels at minutes per epoch.
#[test]
fn cnn_skips_train_alike_on_cpu_and_gpu() {
    use cvjourney::chapters::preset;
    use cvjourney::train::{DatasetSpec, SkipJoin};
    let Some(source) = fashion() else { return };
    install();
    for join in [SkipJoin::Add, SkipJoin::Concat] {
        let mut p = preset("ch8-cnn-toggles").unwrap();
        p.variants.clear();
        let c = &mut p.config;
        (c.epochs, c.model.residual, c.model.join) = (1, true, join);
        c.model.conv.truncate(2);
        c.model.conv.iter_mut().for_each(|b| b.channels = 4);
        c.dataset = DatasetSpec::FashionMnist { train_limit: Some(512), test_limit: Some(512) };
        same_runs(p, &source, 1e-3);
    }
}

#[test]
fn dropout_net_trains_alike_on_cpu_and_gpu() {
    same_curve("ch8-regularizers", Some("dropout 0.3"), 1e-3);
}

/// Trains XOR-free rings (synthetic, 3 epochs) on the GPU, breaks the GPU after the first epoch with
/// `break_it`, and checks the session goes on on the CPU from the epoch boundary: all epochs present,
/// the reason recorded, and the result that of a run that never left (within the GPU's rounding).
fn survives_gpu_failure(break_it: impl FnOnce(&webgpu::Runtime), what: &str, named: &str) {
    use cvjourney::chapters::preset;
    use cvjourney::train::{MemorySource, Session};
    let p = preset("ch4-rings-mlp").expect("preset");
    let mut config = p.config.clone();
    config.epochs = 3;
    let want = cpu_test_losses(&config);

    install();
    let mut s = Session::new(config, &MemorySource::default()).unwrap();
    s.to_device(Device::WebGpu).unwrap();
    s.run_epoch().unwrap();
    assert_eq!(s.device(), Device::WebGpu);
    break_it(&webgpu::current().unwrap());
    let got: Vec<f32> =
        s.run().unwrap_or_else(|e| panic!("{what}: {e}")).iter().map(|m| m.test_loss).collect();
    assert_eq!(s.device(), Device::Cpu, "{what}: moved to the CPU");
    assert_eq!(s.resident_bytes(), 0, "{what}: the GPU's copies of the data dropped");
    let why = s.fallback.clone().unwrap_or_default();
    assert!(why.contains("the GPU failed") && why.contains("end of epoch 1"), "{what}: {why}");
    assert!(why.contains(named) && !why.contains('\n'), "{what}: one line naming the cause: {why}");
    assert_eq!(got.len(), 3, "{what}: every epoch, none lost or repeated");
    same_losses(&got, &want, what);
}

/// Each epoch's test loss of `config` trained on the CPU only: the run a GPU run that left the GPU
/// (by failure or on purpose) must match.
fn cpu_test_losses(config: &cvjourney::train::SessionConfig) -> Vec<f32> {
    use cvjourney::train::{MemorySource, Session};
    let mut cpu = Session::new(config.clone(), &MemorySource::default()).unwrap();
    cpu.run().unwrap().iter().map(|m| m.test_loss).collect()
}

/// Equal within the GPU's rounding (1e-3 relative), epoch by epoch.
fn same_losses(got: &[f32], want: &[f32], what: &str) {
    for (g, c) in got.iter().zip(want) {
        assert!((g - c).abs() <= 1e-3 * c.abs().max(1.0), "{what}: {got:?} vs {want:?}");
    }
}

/// A data set larger than the GPU binds in one buffer (a phone's WebGPU gives 128 MiB; Fashion-MNIST's
/// training images are 188 MB) stays on the host, its batches uploaded step by step as before, while a
/// smaller one is kept on the GPU: the run trains on the GPU all the same, with the CPU's losses.
#[test]
fn a_data_set_past_the_buffer_limit_stays_on_the_host() {
    use cvjourney::chapters::preset;
    use cvjourney::train::{DatasetSpec, Session};
    let Some(source) = fashion() else { return };
    let mut config = preset("ch4-fashion-adam").expect("preset").config;
    config.epochs = 1;
    config.dataset = DatasetSpec::FashionMnist { train_limit: Some(1024), test_limit: Some(256) };
    let mut cpu = Session::new(config.clone(), &source).unwrap();
    let want: Vec<f32> = cpu.run().unwrap().iter().map(|m| m.test_loss).collect();
    install();
    let mut s = Session::new(config, &source).unwrap();
    let (train, test) = ((s.train.features.len() * 4) as u64, (s.test.features.len() * 4) as u64);
    let rt = webgpu::current().unwrap();
    rt.set_buffer_cap(Some(train - 4));
    s.to_device(Device::WebGpu).unwrap();
    assert_eq!(s.resident_bytes(), test, "only the test set fits");
    let got: Vec<f32> = s.run().unwrap().iter().map(|m| m.test_loss).collect();
    rt.set_buffer_cap(None);
    assert_eq!(s.device(), Device::WebGpu, "{:?}", s.fallback);
    same_losses(&got, &want, "training set on the host");
}

#[test]
fn out_of_memory_mid_run_goes_on_on_the_cpu() {
    survives_gpu_failure(|rt| rt.set_buffer_cap(Some(64)), "out of memory", "out of memory");
}

#[test]
fn a_destroyed_device_mid_run_goes_on_on_the_cpu() {
    survives_gpu_failure(|rt| rt.ctx.device.destroy(), "device.destroy()", "GPU");
}

/// A run that leaves the GPU on purpose (no failure) goes on on the CPU with the optimizer's state as the
/// GPU left it: Adam's moments and the momentum velocity live on the GPU during GPU steps, and a CPU step
/// after the move must start from them, not from the host's stale copy. A figure's round trip (weights
/// read to the CPU and back, no step between) is taken first, as the page does several times a second.
#[test]
fn leaving_the_gpu_mid_run_keeps_the_optimizer_state() {
    use cvjourney::chapters::preset;
    use cvjourney::optim::OptimizerKind;
    use cvjourney::train::{MemorySource, Session};
    for optimizer in
        [OptimizerKind::Adam { betas: (0.9, 0.999), eps: 1e-8 }, OptimizerKind::Sgd { momentum: 0.9 }]
    {
        let mut config = preset("ch4-rings-mlp").expect("preset").config;
        (config.epochs, config.optimizer, config.lr) = (3, optimizer, 0.01);
        let want = cpu_test_losses(&config);

        install();
        let mut s = Session::new(config, &MemorySource::default()).unwrap();
        s.to_device(Device::WebGpu).unwrap();
        s.run_epoch().unwrap();
        pollster::block_on(s.to_cpu_for_reading_async()).unwrap();
        s.to_device(Device::WebGpu).unwrap();
        // Mid-epoch: the epoch boundary's recovery checkpoint has read the state back; steps since have not.
        let half = s.steps_per_epoch() / 2;
        for _ in 0..half {
            s.step().unwrap();
        }
        s.to_device(Device::Cpu).unwrap();
        let got: Vec<f32> = s.run().unwrap().iter().map(|m| m.test_loss).collect();
        assert_eq!(got.len(), 3);
        same_losses(&got, &want, &format!("{optimizer:?}"));
        assert!(s.fallback.is_none());
    }
    // Brought to the CPU only to be read, a run refuses a CPU step rather than take it from stale state.
    let mut config = preset("ch4-rings-mlp").expect("preset").config;
    config.optimizer = OptimizerKind::Adam { betas: (0.9, 0.999), eps: 1e-8 };
    let mut s = Session::new(config, &MemorySource::default()).unwrap();
    s.to_device(Device::WebGpu).unwrap();
    for _ in 0..3 {
        s.step().unwrap();
    }
    pollster::block_on(s.to_cpu_for_reading_async()).unwrap();
    let refused = s.step().err().map(|e| e.to_string()).unwrap_or_default();
    assert!(refused.contains("still on the GPU"), "{refused}");
}

/// A training step records the same launches on the same pooled buffers every time, so after the first
/// steps its bind groups come from the runtime's cache (one fewer GPU object per launch), and the run's
/// losses still equal a CPU run's: a cached bind group never points at the wrong buffer or parameters.
#[test]
fn repeated_steps_reuse_their_bind_groups() {
    use cvjourney::chapters::preset;
    use cvjourney::train::{MemorySource, Session};
    let mut config = preset("ch4-rings-mlp").expect("preset").config;
    config.epochs = 2;
    let want = cpu_test_losses(&config);
    install();
    let rt = webgpu::current().unwrap();
    let mut s = Session::new(config, &MemorySource::default()).unwrap();
    s.to_device(Device::WebGpu).unwrap();
    for _ in 0..3 {
        s.step().unwrap();
    }
    let before = rt.stats();
    let steps = 20.min(s.steps_per_epoch() - 4);
    for _ in 0..steps {
        s.step().unwrap();
    }
    let after = rt.stats();
    let (launches, made) =
        (after.dispatches - before.dispatches, after.bind_groups_made - before.bind_groups_made);
    // A step of this MLP is about 17 launches (fused head, bias and ReLU; Adam four parameters at a time).
    assert!(launches >= 12 * steps as u64, "{launches} launches in {steps} steps");
    // At most the few launches that touch the step's loss: its buffer is a new one while the losses of
    // earlier steps wait to be read back together.
    assert!(made <= 4 * steps as u64, "{made} bind groups made for {launches} launches in {steps} steps");
    let got: Vec<f32> = s.run().unwrap().iter().map(|m| m.test_loss).collect();
    same_losses(&got, &want, "bind groups from the cache");
    assert!(rt.take_error().is_none());
}

/// The direct convolution kernel (measured against im2col + GEMM by `bench --gpu`) against the CPU's
/// `conv2d`, with padding, strides and non-square kernels.
#[test]
fn direct_conv_kernel_matches_the_cpu_convolution() {
    use cvjourney::backend::ops::Window;
    install();
    let rt = webgpu::current().unwrap();
    type Pair = (usize, usize);
    // (x dims, output channels, kernel, stride, padding)
    let cases: [([usize; 4], usize, Pair, Pair, Pair); 4] = [
        ([2, 3, 9, 8], 4, (3, 3), (1, 1), (1, 1)),
        ([3, 1, 28, 28], 8, (7, 7), (1, 1), (0, 0)),
        ([2, 2, 11, 10], 5, (3, 2), (2, 3), (1, 2)),
        ([1, 16, 14, 14], 32, (3, 3), (1, 1), (1, 1)),
    ];
    for (dims, c_out, kernel, stride, padding) in cases {
        cvjourney::tensor::manual_seed(11);
        let x = Tensor::uniform(cvjourney::tensor::Shape::new(&dims), -1.0, 1.0);
        let w = Tensor::uniform([c_out, dims[1], kernel.0, kernel.1], -1.0, 1.0);
        let want = x.conv2d(&w, stride, padding).unwrap();
        let out = (want.dims()[2], want.dims()[3]);
        let (gx, gw) = (x.to_device(Device::WebGpu).unwrap(), w.to_device(Device::WebGpu).unwrap());
        let y = webgpu::ops::conv2d_direct(
            &gx.gpu().unwrap(),
            &gw.gpu().unwrap(),
            dims,
            c_out,
            Window { kernel, stride, padding },
            out,
        );
        let got = rt.read_blocking(&y).unwrap();
        let want = want.to_vec();
        assert_eq!(got.len(), want.len(), "{dims:?}");
        // Each output sums c·kh·kw products of values in [-1, 1].
        let tol = 1e-6 * (dims[1] * kernel.0 * kernel.1) as f32;
        for (i, (g, e)) in got.iter().zip(&want).enumerate() {
            assert!((g - e).abs() <= tol, "{dims:?} k{kernel:?} s{stride:?} p{padding:?} at {i}: {g} vs {e}");
        }
    }
}

/// The step profile's GPU timestamps (`Runtime::start_timing`): one entry per launch, in the launch
/// trace's order, each with its grid, starts in order and no negative time; a device without timestamps
/// says so instead. Lavapipe has them.
#[test]
fn launches_are_timed_by_the_gpu() {
    install();
    let rt = webgpu::current().unwrap();
    assert!(rt.can_time(), "lavapipe gives timestamps");
    let a = Tensor::uniform([70, 40], -1.0, 1.0).to_device(Device::WebGpu).unwrap();
    let b = Tensor::uniform([40, 90], -1.0, 1.0).to_device(Device::WebGpu).unwrap();
    rt.flush().unwrap();
    rt.start_timing().unwrap();
    rt.start_trace();
    let y = a.matmul(&b).unwrap().relu().sum(&[], false).unwrap();
    let trace = rt.take_trace();
    let timed = pollster::block_on(rt.take_timings()).unwrap();
    assert_eq!(timed.iter().map(|t| t.kernel.clone()).collect::<Vec<_>>(), trace);
    assert_eq!(timed[0].groups, [3, 3, 1], "70x90 on 32x32 tiles");
    assert!(timed.windows(2).all(|w| w[0].start_us <= w[1].start_us), "{timed:?}");
    assert!(timed.iter().all(|t| t.us >= 0.0 && t.start_us >= 0.0), "{timed:?}");
    // Timing stopped: the next submit is not timed, and the values are right all the same.
    let want = a.to_device(Device::Cpu).unwrap().matmul(&b.to_device(Device::Cpu).unwrap()).unwrap();
    let want: f32 = want.relu().to_vec().iter().sum();
    let got = y.to_vec()[0];
    assert!((got - want).abs() <= 1e-3 * want.abs().max(1.0), "{got} vs {want}");
    assert!(pollster::block_on(rt.take_timings()).unwrap().is_empty());
}

/// Uploads go first in a submit only where nothing earlier in it touches their buffer: a buffer released
/// mid-recording and handed to a new upload must keep the values its earlier reader saw.
#[test]
fn an_upload_into_a_reused_buffer_waits_for_its_earlier_reader() {
    install();
    let rt = webgpu::current().unwrap();
    rt.flush().unwrap();
    let first: Vec<f32> = (0..1000).map(|i| i as f32 - 500.0).collect();
    let second: Vec<f32> = (0..1000).map(|i| 2.0 * i as f32).collect();
    let x = Tensor::from_vec(first.clone(), [1000]).unwrap().to_device(Device::WebGpu).unwrap();
    let relu = x.relu();
    let before = rt.stats().live_buffers;
    drop(x); // its buffer goes back to the pool, and is the next of its size handed out
    let y = Tensor::from_vec(second.clone(), [1000]).unwrap().to_device(Device::WebGpu).unwrap();
    assert_eq!(rt.stats().live_buffers, before, "the upload reused the released buffer");
    assert_eq!(relu.to_vec(), first.iter().map(|v| v.max(0.0)).collect::<Vec<_>>());
    assert_eq!(y.to_vec(), second);
}

#[test]
fn a_shader_that_fails_to_compile_mid_run_goes_on_on_the_cpu() {
    survives_gpu_failure(
        |rt| rt.replace_shader("matmul32", "@compute @workgroup_size(64) fn main( { this is not WGSL"),
        "shader compile error",
        "Shader 'matmul32' parsing error",
    );
}

/// Issue 7's other half, and chapter 8's toggles: every preset of chapters 1-4 and 8 (every toggle of the
/// CNN and the MLPs) runs one quick epoch on the GPU path too (Fashion-MNIST
/// cut to 512 training and 256 test images: lavapipe runs the kernels on the CPU), with the same outcomes
/// rule as on the CPU (`tests/presets.rs`): a run either finishes its epoch or is stopped by the guard.
#[test]
fn chapters_1_to_4_and_8_run_one_quick_epoch_on_the_gpu() {
    use cvjourney::chapters::{presets, run_preset_on};
    use cvjourney::train::{DatasetSpec, DirSource};
    let committed = DirSource(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets"));
    let data = fashion();
    install();
    let cifar = crate::cifar_files(64, true, 2);
    let mut ran = 0;
    for p in presets().into_iter().filter(|p| p.chapter <= 4 || p.chapter == 8) {
        let mut q = p.quick(1);
        let mut fashion_run = false;
        for c in std::iter::once(&mut q.config).chain(q.variants.iter_mut().map(|v| &mut v.config)) {
            if let DatasetSpec::FashionMnist { train_limit, test_limit } = &mut c.dataset {
                // Chapter 8's 22 runs (CNNs among them) get a smaller slice: lavapipe is a CPU.
                let (train, test) = if p.chapter == 8 { (128, 64) } else { (512, 256) };
                (*train_limit, *test_limit, fashion_run) = (Some(train), Some(test), true);
            }
            if let DatasetSpec::Cifar10 { train_limit, test_limit } = &mut c.dataset {
                // Chapter 8's VGG16-like runs, on generated CIFAR-format batches, at an eighth of the widths:
                // the full net takes ~40 s per 64 images on lavapipe (0.7 s for 1,000 on an H200).
                (*train_limit, *test_limit) = (Some(64), Some(32));
                c.model.conv.iter_mut().for_each(|b| b.channels = (b.channels / 8).max(4));
                c.model.hidden.iter_mut().for_each(|h| *h = (*h / 8).max(4));
            }
        }
        let source: &dyn cvjourney::train::DataSource = match (&data, fashion_run) {
            _ if p.needs_cifar() => &cifar,
            (Some(d), true) => d,
            (None, true) => continue,
            (_, false) => &committed,
        };
        let started = std::time::Instant::now();
        let (outcomes, session) = run_preset_on(&q, source, Device::WebGpu, &mut |_| {})
            .unwrap_or_else(|e| panic!("{}: {e}", p.id));
        eprintln!("{}: {:.1} s", p.id, started.elapsed().as_secs_f64());
        for o in &outcomes {
            let guard = o.error.as_deref().is_none_or(|e| e.starts_with("training diverged at step"));
            assert!(guard, "{} / {}: {:?}", p.id, o.label, o.error);
            assert!(o.error.is_some() || o.history.len() == 1, "{} / {}", p.id, o.label);
        }
        assert!(outcomes.iter().any(|o| o.error.is_none()), "{}: every run stopped", p.id);
        let expected = if session.stays_on_cpu() { Device::Cpu } else { Device::WebGpu };
        assert_eq!(session.device(), expected, "{}: ran where it should", p.id);
        assert!(session.fallback.is_none(), "{}: {:?}", p.id, session.fallback);
        ran += 1;
    }
    assert!(ran >= 18, "only {ran} presets ran");
}

/// Uploads under 1 MiB go through the arena, which is kept between submits; a submit that needs more than
/// 16 MiB of it (25 uploads of 800 KB recorded without a read) gets a buffer of its own, so the kept arena
/// stays small, and every upload and product still comes back right.
#[test]
fn a_huge_submit_gets_an_arena_of_its_own() {
    install();
    let rt = webgpu::current().unwrap();
    let n = 200_000;
    let inputs: Vec<Vec<f32>> =
        (0..25).map(|j| (0..n).map(|i| ((i * 7 + j) % 1000) as f32).collect()).collect();
    let doubled: Vec<Tensor> = inputs
        .iter()
        .map(|v| {
            Tensor::from_vec(v.clone(), [n]).unwrap().into_device(Device::WebGpu).unwrap().mul_scalar(2.0)
        })
        .collect();
    for (got, want) in doubled.iter().zip(&inputs) {
        assert_eq!(got.to_vec(), want.iter().map(|v| v * 2.0).collect::<Vec<_>>());
    }
    assert!(rt.stats().arena_bytes <= 16 << 20, "kept arena of {} bytes", rt.stats().arena_bytes);
    let small = Tensor::from_vec(vec![1.5; 1000], [1000]).unwrap().into_device(Device::WebGpu).unwrap();
    assert_eq!(small.mul_scalar(2.0).to_vec(), vec![3.0; 1000]);
    assert!(rt.take_error().is_none());
}

/// A large upload goes to the queue directly (not through the recorded arena) after the commands recorded
/// before it are submitted. The hazard that ordering prevents: a pooled buffer freed by one batch and handed
/// to the next while a recorded kernel still has to read the first batch from it. Each product here must
/// see its own batch, and the second batch must arrive intact.
#[test]
fn large_uploads_keep_the_recorded_order() {
    install();
    let rt = webgpu::current().unwrap();
    let n = 600_000; // 2.4 MB: the direct path
    let first: Vec<f32> = (0..n).map(|i| (i % 1000) as f32).collect();
    let second: Vec<f32> = (0..n).map(|i| -((i % 777) as f32)).collect();
    let a = Tensor::from_vec(first.clone(), [n]).unwrap().into_device(Device::WebGpu).unwrap();
    let doubled = a.mul_scalar(2.0); // recorded, not yet run
    drop(a); // its buffer goes back to the pool, to be handed out again at once
    let before = rt.stats().submits;
    let b = Tensor::from_vec(second.clone(), [n]).unwrap().into_device(Device::WebGpu).unwrap();
    assert!(rt.stats().submits > before, "the recorded product was submitted before the write");
    let tripled = b.mul_scalar(3.0);
    assert_eq!(doubled.to_vec(), first.iter().map(|v| v * 2.0).collect::<Vec<_>>());
    assert_eq!(tripled.to_vec(), second.iter().map(|v| v * 3.0).collect::<Vec<_>>());
    assert_eq!(b.to_device(Device::Cpu).unwrap().to_vec(), second);
    assert!(rt.take_error().is_none());
}

/// The launches of one Adam step of W2's MLP (784-128-64-10, batch 128) on the GPU, by kernel: the fused
/// head (`Sequential::cross_entropy`, what the trainer runs) against the composite forward + cross-entropy.
/// Per-launch cost bounds small steps on a real GPU (~10-15 µs each on an H200), so the count is the figure
/// to keep down; it is exact, so a change that adds launches to the step fails here.
#[test]
fn an_mlp_step_launches_few_kernels() {
    use cvjourney::nn::{Activation, Flatten, Init, Linear, Module, Sequential};
    let init = Init::Uniform { low: -0.05, high: 0.05 };
    let model = Sequential::default()
        .append(Flatten)
        .append(Linear::new(784, 128, init, true))
        .append(Activation::ReLU)
        .append(Linear::new(128, 64, init, true))
        .append(Activation::ReLU)
        .append(Linear::new(64, 10, init, true));
    let x = Tensor::uniform([128, 1, 28, 28], -1.0, 1.0);
    install();
    let composite =
        traced_adam_step(&model, &x, &|m, x, y| cvjourney::loss::cross_entropy(&m.forward(x)?, y));
    let fused = traced_adam_step(&model, &x, &|m, x, y| m.cross_entropy(x, y));
    let counts = launch_counts(fused.clone());
    eprintln!("composite: {} launches {:?}", composite.len(), launch_counts(composite.clone()));
    eprintln!("fused: {} launches {counts:?}", fused.len());
    assert!(fused.iter().any(|k| k == "softmax/cross_entropy_rows"), "the fused head ran: {counts:?}");
    assert!(!fused.iter().any(|k| k.starts_with("index/")), "no gather or scatter left: {counts:?}");
    // The head alone: its bias, log-softmax, gather, mean and their adjoints (9 launches) against 1.
    assert!(fused.len() + 8 <= composite.len(), "fused {} vs composite {}", fused.len(), composite.len());
    assert_eq!(fused.len(), FUSED_MLP_STEP_LAUNCHES + adam_launches(6), "{counts:?}");
}

type StepLoss = dyn Fn(&cvjourney::nn::Sequential, &Tensor, &[usize]) -> Result<Tensor, LabError>;

/// One Adam step of `model` (moved to this thread's GPU, installed by the caller) on x (labels i mod 10)
/// with `loss`: its launches, in order.
fn traced_adam_step(model: &cvjourney::nn::Sequential, x: &Tensor, loss: &StepLoss) -> Vec<String> {
    use cvjourney::nn::Module;
    use cvjourney::optim::{Optimizer, OptimizerKind};
    let rt = webgpu::current().unwrap();
    model.to_device(Device::WebGpu).unwrap();
    let kind = OptimizerKind::Adam { betas: (0.9, 0.999), eps: 1e-8 };
    let mut opt = Optimizer::new(kind, model.parameters(), 1e-3).unwrap();
    opt.zero_grad(); // an earlier step's gradients would be added to (six more launches)
    let labels: Vec<usize> = (0..x.dims()[0]).map(|i| i % 10).collect();
    let xb = x.to_device(Device::WebGpu).unwrap();
    rt.start_trace();
    loss(model, &xb, &labels).unwrap().backward().unwrap();
    opt.step().unwrap();
    let trace = rt.take_trace();
    rt.flush().unwrap();
    assert!(rt.take_error().is_none());
    trace
}

/// Adam's launches for `params` parameters: one per four where the device binds 17 storage buffers
/// (lavapipe and an H200 do), one each where it binds only WebGPU's default 8.
fn adam_launches(params: usize) -> usize {
    let bindable = webgpu::current().unwrap().ctx.limits.max_storage_buffers_per_shader_stage as usize;
    params.div_ceil((bindable.saturating_sub(1) / 4).clamp(1, 4))
}

/// The launches of one Adam step of W3's CNN (conv 3x3·16 same + ReLU + max-pool 2, conv 3x3·32 same +
/// ReLU + max-pool 2, flatten, dense 10; batch 32 here) on the GPU, by kernel: exact, like the MLP's.
#[test]
fn a_cnn_step_launches_few_kernels() {
    use cvjourney::nn::{Activation, Conv2d, Flatten, Init, Linear, MaxPool2d, Padding, Sequential};
    let init = Init::Uniform { low: -0.1, high: 0.1 };
    let pool = || MaxPool2d { kernel: 2, stride: 2, padding: 0 };
    let model = Sequential::default()
        .append(Conv2d::new(1, 16, 3, 1, Padding::Same, init))
        .append(Activation::ReLU)
        .append(pool())
        .append(Conv2d::new(16, 32, 3, 1, Padding::Same, init))
        .append(Activation::ReLU)
        .append(pool())
        .append(Flatten)
        .append(Linear::new(32 * 7 * 7, 10, init, true));
    let x = Tensor::uniform([32, 1, 28, 28], -1.0, 1.0);
    install();
    let trace = traced_adam_step(&model, &x, &|m, x, y| m.cross_entropy(x, y));
    let counts = launch_counts(trace.clone());
    eprintln!("CNN step: {} launches {counts:?}", trace.len());
    assert_eq!(trace.len(), CNN_STEP_LAUNCHES + adam_launches(6), "{counts:?}");
}

/// W3's CNN step's launches before the optimizer's, as counted on 2026-12-04: 34 after the MLP's fusions,
/// 32 with each convolution's bias gradient summed over N and H·W in two launches instead of three, 26
/// with the bias and ReLU applied by the direct convolution and the bias gradient made with dW's GEMM
/// (a split-K product here, so one reduction of its own).
const CNN_STEP_LAUNCHES: usize = 26;

/// The fused MLP step's launches before the optimizer's, as counted on 2026-12-04: 32 with every op
/// separate, 22 with the fused head, 18 with the bias in the GEMM and each ReLU's backward in one launch,
/// 15 with each bias gradient made by its weight gradient's GEMM, 13 with each ReLU applied by the GEMM
/// before it (plus Adam's: 6, then 2 with four parameters per launch).
const FUSED_MLP_STEP_LAUNCHES: usize = 13;
