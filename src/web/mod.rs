//! The only wasm-bindgen facade: what the TypeScript shell (`www/ts/`) may call. JSON-shaped values go out
//! through serde-wasm-bindgen; errors go out as `JsError` with the `LabError` message. No panic crosses
//! into JavaScript: the panic hook logs one to the console if a bug ever causes it.

use std::rc::Rc;

use plotters::prelude::*;
use plotters_canvas::CanvasBackend;
use serde::Serialize;
use wasm_bindgen::prelude::*;

mod canvas;
mod pad;
mod trainer;

pub use pad::PadModel;
pub use trainer::Trainer;

use crate::backend::webgpu::GpuContext;
use crate::probe::{self, BackendChoice};

/// Installs the panic hook. Runs once when the module is instantiated.
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// The chapter list, in curriculum order: `[{ number, id, title }]`.
#[wasm_bindgen]
pub fn chapters() -> Result<JsValue, JsError> {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    Ok(crate::chapters::CHAPTERS.serialize(&serializer)?)
}

/// Every preset of the built chapters: `[{ id, chapter, title, summary, config, variants, plots, textbook }]`.
#[wasm_bindgen]
pub fn presets() -> Result<JsValue, JsError> {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    Ok(crate::chapters::presets().serialize(&serializer)?)
}

/// The preset `id` on Fashion-MNIST in place of CIFAR-10 (`Preset::on_fashion`), or `null` for a preset
/// that does not read CIFAR-10: what the page offers a visitor without the CIFAR-10 files.
#[wasm_bindgen(js_name = presetOnFashion)]
pub fn preset_on_fashion(id: &str) -> Result<JsValue, JsError> {
    let twin = crate::chapters::preset(id).and_then(|p| p.on_fashion());
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    Ok(twin.serialize(&serializer)?)
}

/// Each layer's output shape and parameter count for a config (`[{ layer, shape, parameters }]`), or an
/// error saying why the model cannot be built (e.g. five poolings of a 28x28 image).
#[wasm_bindgen(js_name = describeModel)]
pub fn describe_model(config: JsValue) -> Result<JsValue, JsError> {
    let config: crate::train::SessionConfig = serde_wasm_bindgen::from_value(config)
        .map_err(|e| JsError::new(&format!("the settings are not a valid config: {e}")))?;
    let rows = crate::train::describe_model(&config).map_err(|e| JsError::new(&e.to_string()))?;
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    Ok(rows.serialize(&serializer)?)
}

/// Draws one figure (as `Trainer.figures()` returns them) on the canvas with this id. For a confusion
/// matrix, returns where its cells are (`{ x: [left, right], y: [top, bottom], k }` in canvas pixels), so
/// the page can tell which cell a click lands on; `null` for other figures.
#[wasm_bindgen(js_name = drawFigure)]
pub fn draw_figure(canvas_id: &str, figure: JsValue) -> Result<JsValue, JsError> {
    let figure: crate::plot::Figure = serde_wasm_bindgen::from_value(figure)
        .map_err(|e| JsError::new(&format!("drawFigure: not a figure: {e}")))?;
    let backend = canvas::Canvas::new(canvas_id)
        .ok_or_else(|| JsError::new(&format!("no canvas with id '{canvas_id}'")))?;
    let cells =
        crate::plot::draw_cells(&figure, &backend.into_drawing_area()).map_err(|e| JsError::new(&e))?;
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    Ok(cells.serialize(&serializer)?)
}

/// The page's `performance.now()` as a benchmark clock (milliseconds); `who` names the caller in the error.
fn page_clock(who: &str) -> Result<impl Fn() -> f64, JsError> {
    let performance = web_sys::window()
        .and_then(|w| w.performance())
        .ok_or_else(|| JsError::new(&format!("{who}: performance.now() is not available")))?;
    Ok(move || performance.now())
}

/// Runs the CPU GEMM benchmark (see `bench`) with `performance.now()` as the clock; returns its rows.
/// Blocks the thread it runs on for a few seconds: `./lab bench` calls it, the page never does.
#[wasm_bindgen(js_name = benchGemm)]
pub fn bench_gemm(budget_ms: f64) -> Result<JsValue, JsError> {
    let now = page_clock("benchGemm")?;
    Ok(serde_wasm_bindgen::to_value(&crate::bench::gemm_table(&now, budget_ms))?)
}

/// The GPU benchmark report (GEMM, conv, training steps, kernels) on the browser's WebGPU adapter, as the
/// text `cvjourney bench --gpu` prints natively. For `./lab bench`; the page never calls it.
#[wasm_bindgen(js_name = benchGpu)]
pub async fn bench_gpu(budget_ms: f64, max_side: usize, steps: usize) -> Result<String, JsError> {
    let report = async {
        crate::backend::webgpu::install(crate::backend::webgpu::GpuContext::new().await?);
        let mut text = String::new();
        crate::bench::gpu_report(budget_ms, max_side, steps, &mut |table| text += table).await?;
        Ok::<_, crate::error::LabError>(text)
    };
    report.await.map_err(|e| JsError::new(&e.to_string()))
}

/// What `./lab soak` samples every minute from the training worker: this module's linear memory, and with
/// a GPU runtime on this thread its live buffers, idle pooled bytes and submits so far (zeros without one).
#[wasm_bindgen(js_name = memoryStats)]
pub fn memory_stats() -> Result<JsValue, JsError> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Stats {
        wasm_bytes: u64,
        gpu: Option<crate::backend::webgpu::RuntimeStats>,
    }
    let wasm_bytes = core::arch::wasm32::memory_size(0) as u64 * 65_536;
    let gpu = crate::backend::webgpu::installed()
        .then(crate::backend::webgpu::current)
        .and_then(Result::ok)
        .map(|rt| rt.stats());
    Ok(Stats { wasm_bytes, gpu }.serialize(&serde_wasm_bindgen::Serializer::json_compatible())?)
}

/// This module's CPU product kernels against the scalar reference (`probe::product_checks`), with the name
/// of its SIMD path: the page's tests run it in both modules (plain SIMD128 and relaxed SIMD), the one
/// Trunk loads and the one the training worker picks.
#[wasm_bindgen(js_name = checkCpuProducts)]
pub fn check_cpu_products() -> Result<JsValue, JsError> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Report {
        simd: &'static str,
        checks: Vec<crate::probe::ProductCheck>,
    }
    let report = Report { simd: crate::backend::cpu::SIMD_NAME, checks: crate::probe::product_checks() };
    Ok(report.serialize(&serde_wasm_bindgen::Serializer::json_compatible())?)
}

/// The data files a side-by-side workload (`bench::workloads`: W1, W2, W3-100, W3, W5) reads.
#[wasm_bindgen(js_name = benchWorkloadFiles)]
pub fn bench_workload_files(id: &str) -> Result<Vec<String>, JsError> {
    let w = crate::bench::workload(id).ok_or_else(|| JsError::new(&format!("no workload '{id}'")))?;
    Ok(crate::train::files_needed(&w.config.dataset).into_iter().map(String::from).collect())
}

/// Times one side-by-side workload (W4 is "W4": the 1024³ GEMM) on this thread, on the browser's GPU when
/// `gpu`, with the data files given as parallel lists of names and bytes. Resolves to a `WorkloadRow`.
/// Blocks the CPU path for its whole run: `./lab bench` calls it, the page never does.
#[wasm_bindgen(js_name = benchWorkload)]
pub async fn bench_workload(
    id: String,
    gpu: bool,
    names: Vec<String>,
    files: Vec<js_sys::Uint8Array>,
) -> Result<JsValue, JsError> {
    use crate::tensor::Device;
    let now = page_clock("benchWorkload")?;
    let (device, engine, backend) = if gpu {
        let ctx =
            crate::backend::webgpu::GpuContext::new().await.map_err(|e| JsError::new(&e.to_string()))?;
        let name = ctx.adapter.name.clone();
        crate::backend::webgpu::install(ctx);
        (Device::WebGpu, "cvjourney webgpu", format!("WebGPU, {name}"))
    } else {
        (Device::Cpu, "cvjourney cpu", format!("wasm32 {} (single thread)", crate::backend::cpu::SIMD_NAME))
    };
    let row = if id == "W4" {
        crate::bench::gemm_workload(device, (engine, &backend), &now).await
    } else {
        let w = crate::bench::workload(&id).ok_or_else(|| JsError::new(&format!("no workload '{id}'")))?;
        let mut source = crate::train::MemorySource::default();
        for (name, bytes) in names.into_iter().zip(files) {
            source.0.insert(name, bytes.to_vec());
        }
        crate::bench::run_workload(&w, &source, device, (engine, &backend), &now).await
    };
    let mut row = row.map_err(|e| JsError::new(&e.to_string()))?;
    row.wasm_memory_mib = Some(core::arch::wasm32::memory_size(0) as f64 * 65_536.0 / f64::from(1 << 20));
    Ok(row.serialize(&serde_wasm_bindgen::Serializer::json_compatible())?)
}

/// The narrow-product benchmark rows (transpose + packed GEMM vs the unpacked kernels), for `./lab bench`.
#[wasm_bindgen(js_name = benchNarrow)]
pub fn bench_narrow(budget_ms: f64) -> Result<JsValue, JsError> {
    let now = page_clock("benchNarrow")?;
    Ok(serde_wasm_bindgen::to_value(&crate::bench::narrow_table(&now, budget_ms))?)
}

/// The classifier-head benchmark rows (composite vs fused linear + cross-entropy), for `./lab bench`.
#[wasm_bindgen(js_name = benchHead)]
pub fn bench_head(budget_ms: f64) -> Result<JsValue, JsError> {
    let now = page_clock("benchHead")?;
    Ok(serde_wasm_bindgen::to_value(&crate::bench::head_table(&now, budget_ms))?)
}

/// The conv2d benchmark rows (im2col + GEMM vs a direct loop), for `./lab bench`.
#[wasm_bindgen(js_name = benchConv)]
pub fn bench_conv() -> Result<JsValue, JsError> {
    let now = page_clock("benchConv")?;
    Ok(serde_wasm_bindgen::to_value(&crate::bench::conv_table(&now))?)
}

/// A lab session in the page: the backend it chose and, when that is WebGPU, the open device.
#[wasm_bindgen]
pub struct Lab {
    choice: BackendChoice,
    gpu: Option<Rc<GpuContext>>,
}

/// Detects the backend (WebGPU if an adapter opens, else the CPU) and returns a ready `Lab`.
#[wasm_bindgen(js_name = createLab)]
pub async fn create_lab() -> Lab {
    let (choice, gpu) = probe::detect().await;
    Lab { choice, gpu: gpu.map(Rc::new) }
}

#[wasm_bindgen]
impl Lab {
    /// `{ kind: "webgpu" | "cpu", label, adapter, fallbackReason }`.
    pub fn backend(&self) -> Result<JsValue, JsError> {
        Ok(serde_wasm_bindgen::to_value(&self.choice)?)
    }

    /// Runs the `add` kernel on `n` floats on the chosen backend and checks it against the scalar CPU
    /// reference. Resolves to `{ kind, kernel, n, maxAbsDiff, ok, sample }`.
    #[wasm_bindgen(js_name = kernelCheck)]
    pub fn kernel_check(&self, n: u32) -> js_sys::Promise {
        let gpu = self.gpu.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let check = probe::kernel_check(gpu.as_deref(), n as usize).await.map_err(js_error)?;
            serde_wasm_bindgen::to_value(&check).map_err(JsValue::from)
        })
    }

    /// Draws a kernel check (the fast results over the reference) on the canvas with this id.
    #[wasm_bindgen(js_name = drawKernelCheck)]
    pub fn draw_kernel_check(&self, canvas_id: &str, check: JsValue) -> Result<(), JsError> {
        let check: KernelCheckSample = serde_wasm_bindgen::from_value(check)?;
        draw_check(canvas_id, &check.sample).map_err(|e| JsError::new(&e))
    }
}

/// The part of a `KernelCheck` the plot needs, read back from JavaScript.
#[derive(serde::Deserialize)]
struct KernelCheckSample {
    sample: Vec<[f32; 4]>,
}

fn js_error(e: crate::LabError) -> JsValue {
    JsError::new(&e.to_string()).into()
}

/// Line plot of the first results: reference as a line, the fast backend's values as dots on it.
fn draw_check(canvas_id: &str, sample: &[[f32; 4]]) -> Result<(), String> {
    let backend = CanvasBackend::new(canvas_id).ok_or(format!("no canvas with id '{canvas_id}'"))?;
    let root = backend.into_drawing_area();
    let err = |e: DrawingAreaErrorKind<_>| format!("plot: {e}");
    root.fill(&WHITE).map_err(err)?;
    let (lo, hi) = sample.iter().fold((f32::MAX, f32::MIN), |(lo, hi), s| (lo.min(s[3]), hi.max(s[3])));
    let (lo, hi) = if lo <= hi { (lo - 1.0, hi + 1.0) } else { (-1.0, 1.0) };
    let mut chart = ChartBuilder::on(&root)
        .margin(10)
        .caption("a[i] + b[i]: CPU reference (line), fast kernel (dots)", ("sans-serif", 14))
        .x_label_area_size(40)
        .y_label_area_size(44)
        .build_cartesian_2d(0f32..sample.len().max(1) as f32, lo..hi)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("index i")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .light_line_style(WHITE)
        .draw()
        .map_err(err)?;
    let reference = sample.iter().enumerate().map(|(i, s)| (i as f32, s[3]));
    chart.draw_series(LineSeries::new(reference, &BLUE)).map_err(err)?;
    let fast = sample.iter().enumerate().map(|(i, s)| Circle::new((i as f32, s[2]), 2, RED.filled()));
    chart.draw_series(fast).map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}
