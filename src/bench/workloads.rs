//! The side-by-side workloads of `./lab bench` (issue 11): the same trainings run by the lab's CPU and GPU
//! paths here and by TensorFlow.js in the same browser (`bench/tfjs/`), so that the table compares
//! engines on equal work. W4 (GEMM 1024³) is `gemm_table`'s square row; the rest are defined here once,
//! for the native CLI (`cvjourney bench --workloads`) and the page (`benchWorkload`).

use serde::Serialize;

use crate::backend::webgpu::KernelTime;
use crate::data::Normalization;
use crate::error::Result;
use crate::nn::{Activation, Init, Padding};
use crate::optim::{OptimizerKind, Schedule};
use crate::tensor::{Device, Tensor};
use crate::train::{
    ConvBlock, DataSource, DatasetSpec, Features, LossKind, ModelSpec, Pool, Session, SessionConfig,
};

/// One workload: a training config and how much of it to time.
#[derive(Debug, Clone, Serialize)]
pub struct Workload {
    pub id: &'static str,
    pub description: &'static str,
    pub config: SessionConfig,
    /// Time only this many steps (W3's first 100), no evaluation; `None`: every epoch + test accuracy.
    pub steps: Option<u64>,
}

/// Fashion-MNIST, official split, z-scored, Adam 1e-3 or SGD, batch 128, one epoch.
fn fashion(model: ModelSpec, optimizer: OptimizerKind, lr: f32) -> SessionConfig {
    SessionConfig {
        dataset: DatasetSpec::FashionMnist { train_limit: None, test_limit: None },
        test_fraction: 0.0,
        normalization: Normalization::ZScore,
        model,
        loss: LossKind::CrossEntropy,
        optimizer,
        lr,
        schedule: Schedule::Constant,
        batch_size: 128,
        epochs: 1,
        seed: 2026,
        weight_decay: 0.0,
        features: Features::Pixels,
    }
}

const ADAM: OptimizerKind = OptimizerKind::Adam { betas: (0.9, 0.999), eps: 1e-7 };

/// W1, W2, W3 (100 steps), W3 (one epoch) and W5, in that order.
pub fn workloads() -> Vec<Workload> {
    let mlp = |hidden| ModelSpec::mlp(hidden, Activation::ReLU, Init::KaimingUniform);
    let block =
        |channels| ConvBlock { channels, kernel: 3, stride: 1, padding: Padding::Same, pool: Pool::Max };
    let cnn = ModelSpec { conv: vec![block(16), block(32)], ..mlp(vec![]) };
    let sgd = OptimizerKind::Sgd { momentum: 0.0 };
    let w3 = fashion(cnn, ADAM, 1e-3);
    vec![
        Workload {
            id: "W1",
            description: "softmax regression 784-10, SGD lr 0.1, batch 128, 1 epoch",
            config: fashion(mlp(vec![]), sgd, 0.1),
            steps: None,
        },
        Workload {
            id: "W2",
            description: "MLP 784-128-64-10 ReLU, Adam 1e-3, batch 128, 1 epoch",
            config: fashion(mlp(vec![128, 64]), ADAM, 1e-3),
            steps: None,
        },
        Workload {
            id: "W3-100",
            description: "CNN conv3x3·16+pool, conv3x3·32+pool, dense 10, Adam, batch 128: first 100 steps",
            config: w3.clone(),
            steps: Some(100),
        },
        Workload { id: "W3", description: "the W3 CNN, 1 epoch", config: w3, steps: None },
        Workload {
            id: "W5",
            description: "the normalization study's z-score run: softmax, batch 5000, lr 0.01, 100 epochs",
            config: SessionConfig {
                batch_size: 5000,
                epochs: 100,
                lr: 0.01,
                ..fashion(mlp(vec![]), sgd, 0.01)
            },
            steps: None,
        },
    ]
}

/// The workload with this id.
pub fn workload(id: &str) -> Option<Workload> {
    workloads().into_iter().find(|w| w.id == id)
}

/// One timed run, in the JSON shape of `target/bench/latest.json`.
#[derive(Debug, Clone, Serialize)]
pub struct WorkloadRow {
    pub workload: String,
    pub engine: String,
    pub backend: String,
    /// Wall time of the timed part: training steps (and, for whole epochs, each epoch's test evaluation).
    /// Parsing and normalizing the data and building the model come before the clock starts.
    pub seconds: f64,
    pub examples_per_s: f64,
    pub gflops: Option<f64>,
    pub accuracy: Option<f32>,
    pub steps: u64,
    /// In the browser: the module's linear memory after the run (it never shrinks, so this is the peak).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wasm_memory_mib: Option<f64>,
}

/// Runs `w` on `device` (a GPU context must already be installed for `Device::WebGpu`) with `now` as the
/// clock in milliseconds. The data come from `source`.
pub async fn run_workload(
    w: &Workload,
    source: &dyn DataSource,
    device: Device,
    (engine, backend): (&str, &str),
    now: &dyn Fn() -> f64,
) -> Result<WorkloadRow> {
    let mut session = Session::new(w.config.clone(), source)?;
    if device != Device::Cpu {
        session.to_device_async(device).await?;
    }
    let started = now();
    let mut accuracy = None;
    let mut steps = 0;
    while !session.finished() && w.steps.is_none_or(|n| steps < n) {
        let info = session.step_async().await?;
        steps = info.step;
        if let Some(m) = info.epoch_end {
            accuracy = m.test_accuracy;
        }
    }
    // The GPU works ahead of the host: the clock stops when its last loss is back.
    session.settle_async().await?;
    let seconds = (now() - started) / 1e3;
    Ok(WorkloadRow {
        workload: w.id.to_string(),
        engine: engine.to_string(),
        backend: backend.to_string(),
        seconds,
        examples_per_s: (steps as f64 * w.config.batch_size as f64) / seconds.max(1e-9),
        gflops: None,
        accuracy,
        steps,
        wasm_memory_mib: None,
    })
}

/// Where one training step of `w` spends its GPU time: the session on this thread's GPU, `warmup` steps
/// (pipelines compiled, buffers pooled, bind groups cached), then one step with every launch timed by GPU
/// timestamps (`Runtime::start_timing`). Natively only where the adapter gives timestamps.
pub async fn step_timeline(w: &Workload, source: &dyn DataSource, warmup: usize) -> Result<Vec<KernelTime>> {
    let rt = crate::backend::webgpu::current()?;
    let mut session = Session::new(w.config.clone(), source)?;
    session.to_device_async(Device::WebGpu).await?;
    for _ in 0..warmup {
        session.step_async().await?;
    }
    session.settle_async().await?;
    rt.start_timing()?;
    let stepped = session.step_async().await;
    let timings = rt.take_timings().await;
    stepped?;
    timings
}

/// A step's timed launches, one line each (kernel, workgroup grid, start and duration in µs), then the
/// launch count, the sum of the launches' own times and the span from the first start to the last end.
pub fn format_timeline(title: &str, launches: &[KernelTime]) -> String {
    let mut out = format!("{title}\n{:<34} {:>16} {:>10} {:>10}\n", "launch", "workgroups", "start µs", "µs");
    for t in launches {
        let [x, y, z] = t.groups;
        out +=
            &format!("{:<34} {:>16} {:>10.1} {:>10.1}\n", t.kernel, format!("{x}x{y}x{z}"), t.start_us, t.us);
    }
    let busy: f64 = launches.iter().map(|t| t.us).sum();
    let span = launches.iter().map(|t| t.start_us + t.us).fold(0.0, f64::max);
    out += &format!(
        "{} launches: {busy:.1} µs in the launches, {span:.1} µs from the first start to the last end\n",
        launches.len()
    );
    out
}

/// W4: a 1024 x 1024 x 1024 f32 product on `device`, the median of 10 after a warm-up, each timed until
/// the result is back on the host (as TensorFlow.js's `await data()` is).
pub async fn gemm_workload(
    device: Device,
    (engine, backend): (&str, &str),
    now: &dyn Fn() -> f64,
) -> Result<WorkloadRow> {
    const SIDE: usize = 1024;
    crate::tensor::manual_seed(1);
    let a = Tensor::uniform([SIDE, SIDE], -1.0, 1.0).to_device(device)?;
    let b = Tensor::uniform([SIDE, SIDE], -1.0, 1.0).to_device(device)?;
    a.matmul(&b)?.to_vec_async().await?;
    let mut samples = Vec::new();
    for _ in 0..10 {
        let t0 = now();
        a.matmul(&b)?.to_vec_async().await?;
        samples.push(now() - t0);
    }
    samples.sort_by(f64::total_cmp);
    let seconds = (samples[4] + samples[5]) / 2e3;
    Ok(WorkloadRow {
        workload: "W4".into(),
        engine: engine.to_string(),
        backend: backend.to_string(),
        seconds,
        examples_per_s: 0.0,
        gflops: Some(2.0 * (SIDE * SIDE * SIDE) as f64 / seconds / 1e9),
        accuracy: None,
        steps: 1,
        wasm_memory_mib: None,
    })
}

/// The rows as a table: workload, engine, seconds, examples/s, GFLOP/s, test accuracy.
pub fn format_workload_table(rows: &[WorkloadRow]) -> String {
    let mut out = format!(
        "{:<8} {:<28} {:>10} {:>12} {:>9} {:>9}\n",
        "workload", "engine", "seconds", "examples/s", "GFLOP/s", "accuracy"
    );
    for r in rows {
        let gflops = r.gflops.map_or("–".to_string(), |g| format!("{g:.1}"));
        let acc = r.accuracy.map_or("–".to_string(), |a| format!("{:.2} %", a * 100.0));
        out += &format!(
            "{:<8} {:<28} {:>10.2} {:>12.0} {:>9} {:>9}\n",
            r.workload,
            format!("{} ({})", r.engine, r.backend),
            r.seconds,
            r.examples_per_s,
            gflops,
            acc
        );
    }
    out
}
