//! Adapter and device acquisition, with every failure turned into a `LabError` the page can show.

use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::error::{LabError, Result};

/// What the visitor sees about the GPU the lab found.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdapterSummary {
    /// A human name: the adapter's name, else its description, else vendor and architecture.
    pub name: String,
    /// The graphics API underneath (`BrowserWebGpu`, `Vulkan`, ...).
    pub backend: String,
    /// `DiscreteGpu`, `IntegratedGpu`, `Cpu` (a software rasteriser such as SwiftShader or lavapipe), ...
    pub device_type: String,
    /// Largest storage buffer one kernel may bind, in bytes.
    pub max_storage_buffer_bytes: u64,
}

/// One adapter, device and queue. Cheap to clone (wgpu handles are reference counted).
#[derive(Clone, Debug)]
pub struct GpuContext {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub adapter: AdapterSummary,
    /// The limits the device was opened with (the adapter's own): buffer sizes, offset alignment.
    pub limits: wgpu::Limits,
    /// Errors no error scope caught (e.g. raised by work submitted outside a kernel call); kept, not panicked on.
    uncaptured: Arc<Mutex<Vec<String>>>,
}

impl GpuContext {
    /// Finds an adapter and opens a device. On wasm32 this checks `navigator.gpu` first, so a browser
    /// without WebGPU gets a clear `NoAdapter` error instead of a panic inside `wgpu`.
    pub async fn new() -> Result<GpuContext> {
        #[cfg(target_arch = "wasm32")]
        if !wgpu::util::is_browser_webgpu_supported().await {
            return Err(LabError::NoAdapter(browser_webgpu_missing_reason()));
        }
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                ..Default::default()
            })
            .await
            .map_err(|e| LabError::NoAdapter(e.to_string()))?;
        let limits = adapter.limits();
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("cvjourney"),
                // Ask for what the adapter has, so large models are limited by the hardware, not by defaults.
                required_limits: limits.clone(),
                // Timestamps for the step profile's per-launch times (`timing`), natively only: the
                // browser's WebGPU quantizes them, and the page has no use for them.
                required_features: if cfg!(target_arch = "wasm32") {
                    wgpu::Features::empty()
                } else {
                    adapter.features() & wgpu::Features::TIMESTAMP_QUERY
                },
                ..Default::default()
            })
            .await
            .map_err(|e| LabError::Device(format!("the adapter refused to open a device: {e}")))?;
        let uncaptured = Arc::new(Mutex::new(Vec::new()));
        let sink = uncaptured.clone();
        // wgpu's default handler panics; a lab page must report instead.
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            if let Ok(mut v) = sink.lock() {
                v.push(e.to_string());
            }
        }));
        #[allow(unused_mut)]
        let mut summary = summarize(&adapter.get_info(), &limits);
        #[cfg(target_arch = "wasm32")]
        if summary.name.is_empty() {
            summary.name = browser_adapter_name().await;
        }
        Ok(GpuContext { device, queue, adapter: summary, limits, uncaptured })
    }

    /// Errors that reached the device outside any error scope since the last call.
    pub fn take_uncaptured_errors(&self) -> Vec<String> {
        self.uncaptured.lock().map(|mut v| std::mem::take(&mut *v)).unwrap_or_default()
    }
}

fn summarize(info: &wgpu::AdapterInfo, limits: &wgpu::Limits) -> AdapterSummary {
    let name = [info.name.as_str(), info.driver_info.as_str()]
        .into_iter()
        .find(|s| !s.trim().is_empty())
        .map(str::to_string)
        .unwrap_or_default();
    AdapterSummary {
        name,
        backend: format!("{:?}", info.backend),
        device_type: format!("{:?}", info.device_type),
        max_storage_buffer_bytes: limits.max_storage_buffer_binding_size,
    }
}

/// Why WebGPU is unusable here, in words: no `navigator.gpu` at all, or an adapter request that came back empty.
#[cfg(target_arch = "wasm32")]
fn browser_webgpu_missing_reason() -> String {
    let global = js_sys::global();
    let navigator = js_sys::Reflect::get(&global, &"navigator".into()).unwrap_or_default();
    let gpu = js_sys::Reflect::get(&navigator, &"gpu".into()).unwrap_or_default();
    if gpu.is_undefined() || gpu.is_null() {
        "this browser has no WebGPU (navigator.gpu is missing)".to_string()
    } else {
        "WebGPU is present but requestAdapter() found no adapter (blocked or unsupported GPU)".to_string()
    }
}

/// The browser's own words for its adapter. wgpu maps only `GPUAdapterInfo.description`, which Chromium
/// leaves empty for privacy; `vendor` and `architecture` (e.g. "google", "swiftshader") are still given.
#[cfg(target_arch = "wasm32")]
async fn browser_adapter_name() -> String {
    use js_sys::Reflect;
    use wasm_bindgen::JsCast;
    let get = |obj: &wasm_bindgen::JsValue, key: &str| Reflect::get(obj, &key.into()).unwrap_or_default();
    let navigator = get(&js_sys::global(), "navigator");
    let gpu = get(&navigator, "gpu");
    let adapter = match get(&gpu, "requestAdapter").dyn_into::<js_sys::Function>() {
        Ok(request) => match request.call0(&gpu).map(|p| p.dyn_into::<js_sys::Promise>()) {
            Ok(Ok(promise)) => wasm_bindgen_futures::JsFuture::from(promise).await.unwrap_or_default(),
            _ => wasm_bindgen::JsValue::UNDEFINED,
        },
        Err(_) => wasm_bindgen::JsValue::UNDEFINED,
    };
    let info = get(&adapter, "info");
    let words: Vec<String> = ["description", "vendor", "architecture", "device"]
        .iter()
        .filter_map(|k| get(&info, k).as_string())
        .filter(|s| !s.trim().is_empty())
        .collect();
    if words.is_empty() { "unnamed adapter".to_string() } else { words.join(" ") }
}
