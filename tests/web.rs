//! Browser tests: run by `wasm-bindgen-test-runner` in headless Chromium (see `webdriver.json` for the
//! WebGPU flags). They need the browser's WebGPU adapter (SwiftShader in CI): without the flags
//! `webgpu_adapter_is_available` fails, which is how we know the GPU path is really exercised.
#![cfg(target_arch = "wasm32")]

mod parity;

use cvjourney::backend::{BackendKind, cpu, webgpu};
use cvjourney::probe;
use cvjourney::tensor::{Rng, Tensor, manual_seed};
use serde::Serialize;
use wasm_bindgen::JsValue;
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

// The SIMD128 twins against the scalar references: the same bodies as the native `tests/kernels.rs`.
#[wasm_bindgen_test]
fn simd128_unary_matches_reference() {
    parity::unary_parity();
    parity::exp_sweep();
}

#[wasm_bindgen_test]
fn simd128_binary_matches_reference() {
    parity::binary_parity();
}

#[wasm_bindgen_test]
fn reduce_matches_reference() {
    parity::reduce_parity();
}

#[wasm_bindgen_test]
fn matmul_matches_reference() {
    parity::product_parity();
}

#[wasm_bindgen_test]
fn window_kernels_match_reference() {
    parity::window_parity();
}

#[wasm_bindgen_test]
fn layout_copy_matches_reference() {
    parity::layout_parity();
}

#[wasm_bindgen_test]
fn batches_drawn_as_rows_compute_what_copies_do() {
    parity::batch_rows_parity();
}

/// Same seed, same numbers: the constants the native tests pin, reproduced in the browser.
#[wasm_bindgen_test]
fn seeded_generator_gives_the_native_numbers() {
    assert_eq!(Rng::new(42).next_u32(), parity::RNG_42_FIRST);
    assert_eq!(Rng::new(42).normal().to_bits(), parity::NORMAL_42_FIRST_BITS);
    manual_seed(42);
    let a = Tensor::normal([100], 0.0, 1.0).to_vec();
    manual_seed(42);
    assert_eq!(a, Tensor::normal([100], 0.0, 1.0).to_vec());
}

/// Autograd in wasm32: the textbook's y = a·x + b example.
#[wasm_bindgen_test]
fn autograd_runs_in_the_browser() {
    let leaf = |v: f32| Tensor::scalar(v).requires_grad_(true);
    let (a, x, b) = (leaf(2.0), leaf(3.0), leaf(1.0));
    let loss = a.mul(&x).unwrap().add(&b).unwrap().sub(&Tensor::scalar(5.0)).unwrap().pow(2.0);
    loss.backward().unwrap();
    let g = |t: &Tensor| t.grad().unwrap().item().unwrap();
    assert_eq!((g(&a), g(&x), g(&b)), (12.0, 8.0, 4.0));
}

/// The browser's parsers are the native ones: a gzipped IDX pair and a CSV table, parsed in wasm32.
#[wasm_bindgen_test]
fn data_parsers_run_in_the_browser() {
    use std::io::Write;
    let gz = |bytes: &[u8]| {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    };
    let mut images = Vec::new();
    for x in [2051u32, 2, 2, 2] {
        images.extend_from_slice(&x.to_be_bytes());
    }
    images.extend_from_slice(&[0, 64, 128, 255, 1, 2, 3, 4]);
    let mut labels = 2049u32.to_be_bytes().to_vec();
    labels.extend_from_slice(&2u32.to_be_bytes());
    labels.extend_from_slice(&[4, 9]);
    let d = cvjourney::data::parse_idx_pair(&gz(&images), &gz(&labels), 10).unwrap();
    assert_eq!((d.images.count, d.labels.clone()), (2, vec![4, 9]));
    let t = cvjourney::data::parse_csv(b"TV,Sales\n230.1,22.1\n").unwrap();
    assert_eq!(t.column("Sales").unwrap(), vec![22.1]);
    assert!(cvjourney::data::parse_idx(&images[..10]).is_err());
}

/// A few Adam steps of a small classifier in the browser, then a safetensors round trip.
#[wasm_bindgen_test]
fn a_model_trains_and_round_trips_in_the_browser() {
    use cvjourney::nn::{Activation, Init, Linear, Module, Sequential, load_state, save_state};
    use cvjourney::optim::{Optimizer, OptimizerKind};
    manual_seed(11);
    let build = || {
        Sequential::default()
            .append(Linear::new(2, 8, Init::KaimingUniform, true))
            .append(Activation::ReLU)
            .append(Linear::new(8, 2, Init::XavierUniform { fan_avg: false }, true))
    };
    let model = build();
    let x = Tensor::from_slice(&[0., 0., 0., 1., 1., 0., 1., 1.], [4, 2]).unwrap();
    let labels = [0, 1, 1, 0];
    let mut opt =
        Optimizer::new(OptimizerKind::Adam { betas: (0.9, 0.999), eps: 1e-8 }, model.parameters(), 0.05)
            .unwrap();
    let loss = |m: &Sequential| cvjourney::loss::cross_entropy(&m.forward(&x).unwrap(), &labels).unwrap();
    let first = loss(&model).item().unwrap();
    for _ in 0..100 {
        opt.zero_grad();
        loss(&model).backward().unwrap();
        opt.step().unwrap();
    }
    assert!(loss(&model).item().unwrap() < first / 2.0, "XOR loss should fall");
    let bytes = save_state(&model, Default::default()).unwrap();
    let copy = build();
    load_state(&copy, &bytes).unwrap();
    assert_eq!(copy.forward(&x).unwrap().to_vec(), model.forward(&x).unwrap().to_vec());
}

/// The worker's `Trainer` in the browser: a preset with the page's edits, trained in time slices to the
/// same numbers as one uninterrupted native-style run, with figures the page can draw.
#[wasm_bindgen_test]
fn trainer_runs_a_preset_in_slices_like_the_session_does() {
    use cvjourney::chapters::preset;
    use cvjourney::train::{MemorySource, Session};
    use cvjourney::web::Trainer;

    let p = preset("ch4-rings-mlp").expect("preset");
    let mut config = p.config.clone();
    config.epochs = 3;
    let js = serde_wasm_bindgen::to_value(&config).unwrap();
    let mut trainer = Trainer::new(p.id, js).map_err(JsValue::from).expect("trainer");
    assert!(trainer.files_needed().is_empty(), "rings are synthetic");
    let mut epochs = Vec::new();
    for _ in 0..10_000 {
        let status = trainer.run_for(5.0, 7).map_err(JsValue::from).unwrap();
        let done = js_sys::Reflect::get(&status, &"done".into()).unwrap().as_bool().unwrap();
        let new = js_sys::Reflect::get(&status, &"newEpochs".into()).unwrap();
        for pair in js_sys::Array::from(&new).iter() {
            let m = js_sys::Array::from(&pair).get(1);
            epochs.push(js_sys::Reflect::get(&m, &"testLoss".into()).unwrap().as_f64().unwrap() as f32);
        }
        if done {
            break;
        }
    }
    let mut session = Session::new(config, &MemorySource::default()).unwrap();
    let want: Vec<f32> = session.run().unwrap().iter().map(|m| m.test_loss).collect();
    assert_eq!(epochs, want);
    let figures = js_sys::Array::from(&trainer.figures().map_err(JsValue::from).unwrap());
    assert_eq!(figures.length(), 2, "decision regions and loss");
    // An unknown preset and a malformed config are errors, not panics.
    assert!(Trainer::new("no-such-preset", JsValue::NULL).is_err());
    assert!(Trainer::new(p.id, JsValue::from_str("{")).is_err());
}

/// A CIFAR-10 study asked for on Fashion-MNIST (the page's fallback for a visitor without CIFAR-10): every
/// run moves to Fashion-MNIST, not only the first, so the worker fetches Fashion-MNIST's files alone.
#[wasm_bindgen_test]
fn a_cifar_study_on_fashion_mnist_needs_only_fashion_files() {
    use cvjourney::web::Trainer;
    let ser = serde_wasm_bindgen::Serializer::json_compatible();
    let p = cvjourney::chapters::preset("ch8-cifar-zscore").unwrap();
    let cifar = Trainer::new(p.id, p.config.serialize(&ser).unwrap()).map_err(JsValue::from).unwrap();
    assert!(cifar.files_needed().iter().all(|f| f.starts_with("cifar-10/")), "{:?}", cifar.files_needed());
    let twin = p.on_fashion().unwrap();
    let moved = Trainer::new(p.id, twin.config.serialize(&ser).unwrap()).map_err(JsValue::from).unwrap();
    let files = moved.files_needed();
    assert!(files.len() == 4 && files.iter().all(|f| f.starts_with("fashion-mnist/")), "{files:?}");
}

/// Chapter 6's boosted trees (the gbdt crate, built for wasm32) grow in the browser: one forest per ring,
/// the rings separated, and a model file refused with the reason.
#[wasm_bindgen_test]
fn boosted_trees_grow_in_the_browser() {
    use cvjourney::chapters::preset;
    use cvjourney::train::{LossKind, MemorySource, Session, Trees};

    let mut config = preset("ch4-rings-mlp").expect("preset").config;
    config.model.hidden.clear();
    config.model.trees = Some(Trees { rounds: 15, depth: 3, shrinkage: 0.3 });
    config.loss = LossKind::CrossEntropy;
    config.epochs = 1;
    let mut session = Session::new(config, &MemorySource::default()).unwrap();
    assert_eq!(session.steps_per_epoch(), 3);
    let m = session.run().unwrap()[0].clone();
    assert!(m.test_accuracy.unwrap() >= 0.9, "{m:?}");
    assert!(session.export_model().unwrap_err().to_string().contains("forests"));
}

/// The same preset trained by the worker's Trainer on the browser's GPU: every await is a real readback,
/// the epochs' test losses follow the CPU session's within rounding, the figures come back (the weights
/// read back first), and the status names the adapter.
#[wasm_bindgen_test]
async fn trainer_trains_on_the_browser_gpu() {
    use cvjourney::chapters::preset;
    use cvjourney::train::{MemorySource, Session};
    use cvjourney::web::Trainer;

    let p = preset("ch4-rings-mlp").expect("preset");
    let mut config = p.config.clone();
    config.epochs = 3;
    let js = serde_wasm_bindgen::to_value(&config).unwrap();
    let mut trainer = Trainer::new(p.id, js).map_err(JsValue::from).expect("trainer");
    let label = trainer.use_gpu().await.map_err(JsValue::from).expect("the browser's GPU");
    assert!(label.starts_with("WebGPU: "), "{label}");
    let (mut epochs, mut backend) = (Vec::new(), String::new());
    for _ in 0..10_000 {
        let status = trainer.run_for_async(5.0, 7).await.map_err(JsValue::from).unwrap();
        let get = |k: &str| js_sys::Reflect::get(&status, &k.into()).unwrap();
        backend = get("backend").as_string().unwrap();
        assert!(get("error").is_null() || get("error").is_undefined(), "{:?}", get("error"));
        for pair in js_sys::Array::from(&get("newEpochs")).iter() {
            let m = js_sys::Array::from(&pair).get(1);
            epochs.push(js_sys::Reflect::get(&m, &"testLoss".into()).unwrap().as_f64().unwrap() as f32);
        }
        if get("done").as_bool().unwrap() {
            break;
        }
    }
    assert_eq!(backend, label);
    let mut session = Session::new(config, &MemorySource::default()).unwrap();
    let want: Vec<f32> = session.run().unwrap().iter().map(|m| m.test_loss).collect();
    assert_eq!(epochs.len(), want.len());
    for (g, c) in epochs.iter().zip(&want) {
        assert!((g - c).abs() <= 1e-3 * c.abs().max(1.0), "gpu {epochs:?} vs cpu {want:?}");
    }
    let figures = js_sys::Array::from(&trainer.figures_async().await.map_err(JsValue::from).unwrap());
    assert_eq!(figures.length(), 2, "decision regions and loss");
    // The synchronous entry refuses a GPU session instead of blocking or returning wrong numbers.
    let mut again = Trainer::new(p.id, serde_wasm_bindgen::to_value(&p.config).unwrap()).unwrap();
    again.use_gpu().await.map_err(JsValue::from).unwrap();
    let err = again.run_for(1e6, 10_000).map_err(JsValue::from).unwrap_err();
    assert!(format!("{err:?}").contains("step_async"), "{err:?}");
}

/// Trains rings for 3 epochs on the browser's GPU, breaks the GPU with `break_it` after the first epoch,
/// and checks the run goes on on the CPU from the epoch boundary, finishes every epoch, and the status says
/// what happened in one line naming `named`.
async fn survives_in_the_browser(break_it: impl Fn(&webgpu::Runtime), named: &str) {
    use cvjourney::chapters::preset;
    use cvjourney::web::Trainer;

    let p = preset("ch4-rings-mlp").expect("preset");
    let mut config = p.config.clone();
    config.epochs = 3;
    let mut trainer = Trainer::new(p.id, serde_wasm_bindgen::to_value(&config).unwrap()).unwrap();
    trainer.use_gpu().await.map_err(JsValue::from).expect("the browser's GPU");
    let (mut epochs, mut broken, mut backend) = (0, false, String::new());
    for _ in 0..10_000 {
        let status = trainer.run_for_async(5.0, 7).await.map_err(JsValue::from).expect("no error escapes");
        let get = |k: &str| js_sys::Reflect::get(&status, &k.into()).unwrap();
        epochs += js_sys::Array::from(&get("newEpochs")).length();
        backend = get("backend").as_string().unwrap();
        if epochs >= 1 && !broken {
            break_it(&webgpu::current().unwrap());
            broken = true;
        }
        if get("done").as_bool().unwrap() {
            assert!(get("error").is_null() || get("error").is_undefined(), "{:?}", get("error"));
            break;
        }
    }
    assert_eq!(epochs, 3, "every epoch, none lost");
    assert!(backend.starts_with("CPU: ") && backend.contains("the GPU failed"), "{backend}");
    assert!(backend.contains(named) && !backend.contains('\n'), "{backend}");
}

/// `GPUDevice.destroy()` after the first epoch.
#[wasm_bindgen_test]
async fn a_lost_gpu_mid_run_goes_on_on_the_cpu() {
    survives_in_the_browser(|rt| rt.ctx.device.destroy(), "GPU").await;
}

/// The browser's shader compiler rejects a kernel after the first epoch (the small GEMM's source is replaced).
#[wasm_bindgen_test]
async fn a_shader_compile_error_mid_run_goes_on_on_the_cpu() {
    let broken = "fn main( { this is not WGSL";
    survives_in_the_browser(|rt| rt.replace_shader("matmul32", broken), "matmul32").await;
}

// The one op suite, on the browser's WebGPU adapter: the same bodies as the native `tests/webgpu_native.rs`
// runs on Vulkan, every value read back asynchronously (the page never blocks).
macro_rules! browser_device_suite {
    ($($name:ident),*) => {$(
        #[wasm_bindgen_test]
        async fn $name() {
            webgpu::install(webgpu::GpuContext::new().await.expect("WebGPU adapter"));
            parity::device::$name(cvjourney::Device::WebGpu).await;
            let error = webgpu::current().expect("installed").take_error();
            assert!(error.is_none(), "{error:?}");
        }
    )*};
}

browser_device_suite!(
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

/// The same products and gradients on the browser's CPU path, which reads narrow transposed operands with
/// its own unpacked kernels (`cpu::NARROW_KERNELS`, wasm32 only): `matmul_t` with every flag (narrow
/// cases among them: n = 3, m = 5, m = 8 over k = 5000) against the plain product.
#[wasm_bindgen_test]
async fn cpu_transposed_products_in_wasm() {
    const { assert!(cvjourney::backend::cpu::NARROW_KERNELS) };
    parity::device::matmuls(cvjourney::Device::Cpu).await;
}

/// The page's figures go through `drawFigure` onto a real canvas: the heat map and its points arrive as
/// one pixel image (`putImageData`), the labels are measured with the canvas's `measureText`. Reads the
/// pixels back: the two classes' regions differ, a point stands out from its region, the axes have text.
#[wasm_bindgen_test]
fn draw_figure_paints_regions_points_and_labels_on_a_canvas() {
    use cvjourney::plot::Figure;
    use wasm_bindgen::JsCast;
    let document = web_sys::window().unwrap().document().unwrap();
    let canvas: web_sys::HtmlCanvasElement = document.create_element("canvas").unwrap().dyn_into().unwrap();
    canvas.set_id("draw-figure-test");
    canvas.set_width(560);
    canvas.set_height(380);
    document.body().unwrap().append_child(&canvas).unwrap();
    // Left half class 0, right half class 1; one class-1 point in the left half.
    let fig = Figure::Regions {
        title: "Decision regions".into(),
        x_label: "x1".into(),
        y_label: "x2".into(),
        x: (0.0, 1.0),
        y: (0.0, 1.0),
        cols: 2,
        cells: vec![0, 1, 0, 1],
        points: vec![(0.25, 0.25, 1)],
        classes: vec!["zero".into(), "one".into()],
    };
    let value = fig.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).unwrap();
    cvjourney::web::draw_figure("draw-figure-test", value).unwrap();
    let context: web_sys::CanvasRenderingContext2d =
        canvas.get_context("2d").unwrap().unwrap().dyn_into().unwrap();
    let pixel = |x: f64, y: f64| context.get_image_data(x, y, 1.0, 1.0).unwrap().data().0;
    // Plotting area: x from 56 (margin 8 + y-label area 48) to 552, y from about 30 to 340.
    let (left, right) = (pixel(150.0, 300.0), pixel(450.0, 300.0));
    let white = vec![255, 255, 255, 255];
    assert!(left != white && right != white && left != right, "regions {left:?} {right:?}");
    let (px, py) = (56.0 + 0.25 * 496.0, 340.0 - 0.25 * 310.0);
    let (point, beside) = (pixel(px, py), pixel(px + 20.0, py));
    assert_ne!(point, beside, "the point at ({px}, {py}) is not drawn over its region");
    // Tick labels under the plot: dark text pixels in the x-label band.
    let band = context.get_image_data(56.0, 344.0, 496.0, 14.0).unwrap().data().0;
    let dark = band.chunks_exact(4).filter(|p| p[0] < 100 && p[1] < 100 && p[2] < 100).count();
    assert!(dark > 30, "{dark} dark pixels where the x tick labels go");
    canvas.remove();
}
