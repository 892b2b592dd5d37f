//! `cvjourney`: the lab's native command line. It runs the same code as the web page, headless, for
//! benchmarks, reproducible tables and checks. Later chapters add subcommands here.

#[cfg(not(target_arch = "wasm32"))]
mod cli {
    use std::process::ExitCode;
    use std::time::Instant;

    use clap::{Parser, Subcommand};
    use cvjourney::probe;

    #[derive(Parser)]
    #[command(name = "cvjourney", version, about = "The Computer Vision Journey lab, on the command line")]
    struct Cli {
        #[command(subcommand)]
        command: Command,
    }

    #[derive(Subcommand)]
    enum Command {
        /// Find the compute backend (Vulkan GPU through wgpu, else the CPU) and check one kernel on it.
        Probe {
            /// How many floats the `add` kernel check adds.
            #[arg(long, default_value_t = 1 << 20)]
            n: usize,
            /// Skip the GPU and check the CPU's SIMD kernel.
            #[arg(long)]
            cpu: bool,
        },
        /// List the chapters' presets.
        List {
            /// Print a JSON array of {id, chapter, title}.
            #[arg(long)]
            json: bool,
        },
        /// Train a preset (or each run of a study) headless and print its metrics and success check.
        Run {
            /// A preset id from `cvjourney list`.
            preset: String,
            /// Override the number of epochs.
            #[arg(long)]
            epochs: Option<u32>,
            /// Override a setting: lr=0.05, batch_size=32, seed=7 (repeatable).
            #[arg(long = "set", value_name = "KEY=VALUE")]
            set: Vec<String>,
            /// Where to train: cpu, webgpu (a GPU through wgpu: Vulkan natively), or auto (a hardware GPU when
            /// there is one, else the CPU; a software Vulkan such as lavapipe is slower than the CPU path).
            #[arg(long, default_value = "auto")]
            backend: String,
            /// Print one JSON object instead of text.
            #[arg(long)]
            json: bool,
            /// Draw the preset's plots into one PNG file.
            #[arg(long, value_name = "FILE.png")]
            plot: Option<std::path::PathBuf>,
        },
        /// Run every preset of a chapter and print the lab's numbers next to the textbook's.
        Reproduce {
            /// A chapter number (1-8) or id (e.g. "mlp").
            chapter: String,
            /// At most 3 epochs and a 2,000-image slice of Fashion-MNIST: the shape of the results in seconds.
            #[arg(long)]
            quick: bool,
        },
        /// Data files: `data inspect FILE` detects the format, parses it and prints a summary.
        Data {
            #[command(subcommand)]
            command: DataCommand,
        },
        /// Model files (the drawing pad's): `model inspect FILE`, `model starters`.
        Model {
            #[command(subcommand)]
            command: ModelCommand,
        },
        /// Fuzz the parsers of everything a visitor can hand the lab (data files, model files, configs):
        /// mutated inputs, crashes saved to target/fuzz/, a table of executions, crashes and the largest
        /// allocation. Exit 1 on any crash or an allocation over the cap.
        Fuzz {
            /// One parser (idx, mnist-csv, csv, cifar, safetensors, config, inspect); all by default.
            #[arg(long)]
            parser: Option<String>,
            /// Inputs per parser.
            #[arg(long, default_value_t = 100_000)]
            execs: u64,
            /// Stop each parser after this many seconds even if fewer inputs ran.
            #[arg(long, default_value_t = 86_400.0)]
            seconds: f64,
            /// The mutation generator's seed (same seed, same inputs).
            #[arg(long, default_value_t = 1)]
            seed: u64,
        },
        /// Benchmark the CPU GEMM (fast kernel against the naive loop) and print a table.
        Bench {
            /// Milliseconds to spend measuring each shape's fast kernel.
            #[arg(long, default_value_t = 1500.0)]
            budget_ms: f64,
            /// Also measure the WGSL GEMM on the GPU (wgpu; Vulkan natively) against the CPU kernel.
            #[arg(long)]
            gpu: bool,
            /// Largest side of the GPU GEMM shapes (2048 on a real GPU; less on a software one, lavapipe).
            #[arg(long, default_value_t = 2048)]
            max_side: usize,
            /// Instead: time the side-by-side workloads (W1, W2, W3-100, W3, W4, W5; see `./lab bench`)
            /// on the CPU, or with --gpu on the GPU instead; print a table.
            #[arg(long)]
            workloads: bool,
            /// With --workloads: only these (repeatable), e.g. --only W2.
            #[arg(long)]
            only: Vec<String>,
            /// With --workloads: also write the rows as JSON to this file.
            #[arg(long)]
            json: Option<std::path::PathBuf>,
            /// With --workloads --gpu: instead of timing whole runs, time each launch of one training step
            /// of each workload by GPU timestamps (after 5 warm-up steps) and print it launch by launch.
            #[arg(long)]
            timeline: bool,
        },
    }

    #[derive(Subcommand)]
    enum DataCommand {
        /// Parse FILE with the browser's own parsers; print a summary (exit 0) or the error (exit 2).
        Inspect { file: std::path::PathBuf },
        /// Write CIFAR-10's six batch files with generated pictures (each class a band of rows) into DIR
        /// (cifar-10/ under a data folder), for benchmarks where the real set cannot be downloaded.
        SynthCifar {
            dir: std::path::PathBuf,
            /// Records per batch (the real batches have 10,000).
            #[arg(long, default_value_t = 10_000)]
            records: usize,
        },
    }

    #[derive(Subcommand)]
    enum ModelCommand {
        /// Validate a model file and list its tensors (name, dtype, shape) and metadata (exit 0), or print
        /// why it cannot be used (exit 2).
        Inspect { file: std::path::PathBuf },
        /// Train the drawing pad's starter models on the CPU (fixed seeds) and write them with their SHA-256.
        Starters {
            /// Where to write `{id}.safetensors` and `SHA256SUMS`.
            #[arg(long, default_value = "www/models")]
            out: std::path::PathBuf,
            /// Only this starter (mnist-cnn or fashion-cnn).
            #[arg(long)]
            only: Option<String>,
        },
    }

    fn synth_cifar(dir: &std::path::Path, records: usize) -> ExitCode {
        if !(1..=100_000).contains(&records) {
            eprintln!(
                "cvjourney: --records {records}: give 1 to 100000 records per batch (the real ones have 10000)"
            );
            return ExitCode::from(2);
        }
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(dir)?;
            for (i, name) in cvjourney::train::CIFAR_FILES.iter().enumerate() {
                let file = dir.join(name.trim_start_matches("cifar-10/"));
                std::fs::write(&file, cvjourney::data::synthetic_cifar_batch(records, true, i as u64))?;
            }
            Ok(())
        };
        match write() {
            Ok(()) => {
                println!("wrote six generated CIFAR-10 batches of {records} records to {}", dir.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("cvjourney: cannot write to {}: {e}", dir.display());
                ExitCode::from(2)
            }
        }
    }

    fn run_inspect(file: &std::path::Path) -> ExitCode {
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let result = std::fs::read(file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))
            .and_then(|bytes| cvjourney::data::inspect(&name, &bytes).map_err(|e| e.to_string()));
        match result {
            Ok(s) => {
                println!("file:    {}", file.display());
                println!("kind:    {}", s.kind);
                println!("items:   {}", s.items);
                if !s.item_shape.is_empty() {
                    println!("shape:   {:?} per item", s.item_shape);
                }
                if !s.columns.is_empty() {
                    println!("columns: {}", s.columns.join(", "));
                }
                if !s.class_counts.is_empty() {
                    let counts: Vec<String> =
                        s.class_counts.iter().enumerate().map(|(c, n)| format!("{c}: {n}")).collect();
                    println!("classes: {} ({})", s.class_counts.len(), counts.join(", "));
                }
                println!("values:  {} to {}", s.min, s.max);
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("cvjourney: {e}");
                ExitCode::from(2)
            }
        }
    }

    pub fn main() -> ExitCode {
        match Cli::parse().command {
            Command::Probe { n, cpu } => run_probe(n, cpu),
            Command::Data { command: DataCommand::Inspect { file } } => run_inspect(&file),
            Command::Data { command: DataCommand::SynthCifar { dir, records } } => synth_cifar(&dir, records),
            Command::Model { command: ModelCommand::Inspect { file } } => super::run::inspect_model(&file),
            Command::Model { command: ModelCommand::Starters { out, only } } => {
                super::run::train_starters(&out, only.as_deref())
            }
            Command::List { json } => super::run::list(json),
            Command::Run { preset, epochs, set, backend, json, plot } => {
                super::run::run(super::run::RunArgs {
                    id: &preset,
                    epochs,
                    set: &set,
                    backend: &backend,
                    json,
                    plot: plot.as_deref(),
                })
            }
            Command::Reproduce { chapter, quick } => super::run::reproduce(&chapter, quick),
            Command::Fuzz { parser, execs, seconds, seed } => {
                super::fuzz::run(parser.as_deref(), execs, seconds, seed)
            }
            Command::Bench { workloads: true, gpu: true, only, timeline: true, .. } => bench_timelines(&only),
            Command::Bench { timeline: true, .. } => {
                eprintln!("cvjourney: bench --timeline times GPU launches: use it with --workloads --gpu");
                ExitCode::from(2)
            }
            Command::Bench { workloads: true, gpu, only, json, .. } => {
                bench_workloads(gpu, &only, json.as_deref())
            }
            Command::Bench { budget_ms, gpu, max_side, .. } => {
                let start = Instant::now();
                let now = move || start.elapsed().as_secs_f64() * 1e3;
                let title = format!("CPU GEMM, native {} (single thread)", std::env::consts::ARCH);
                print!(
                    "{}",
                    cvjourney::bench::format_table(&title, &cvjourney::bench::gemm_table(&now, budget_ms))
                );
                println!(
                    "\n{}",
                    cvjourney::bench::format_narrow_table(&cvjourney::bench::narrow_table(&now, budget_ms))
                );
                println!(
                    "{}",
                    cvjourney::bench::format_head_table(&cvjourney::bench::head_table(&now, budget_ms))
                );
                println!("conv2d forward, 3x3 same, batch 32: im2col + GEMM (used) vs direct loop");
                for r in cvjourney::bench::conv_table(&now) {
                    let (name, a, b, d) = (&r.name, r.im2col_ms, r.direct_ms, r.max_abs_diff);
                    println!("{name:<28} im2col {a:>8.2} ms   direct {b:>8.2} ms   max |diff| {d:.1e}");
                }
                if gpu {
                    return bench_gpu(budget_ms, max_side);
                }
                ExitCode::SUCCESS
            }
        }
    }

    /// `bench --workloads`: each workload on the CPU (or the GPU), one run each; the table at the end.
    fn bench_workloads(gpu: bool, only: &[String], json: Option<&std::path::Path>) -> ExitCode {
        use cvjourney::bench::{format_workload_table, gemm_workload, run_workload};
        use cvjourney::tensor::Device;
        let chosen = match chosen_workloads(only, true) {
            Ok(chosen) => chosen,
            Err(code) => return code,
        };
        let mut devices = vec![(Device::Cpu, format!("native {} (single thread)", std::env::consts::ARCH))];
        if gpu {
            match install_gpu() {
                Ok(name) => devices = vec![(Device::WebGpu, format!("wgpu, {name}"))],
                Err(code) => return code,
            }
        }
        let source = cvjourney::train::DirSource(crate::run::data_dir());
        let start = Instant::now();
        let now = move || start.elapsed().as_secs_f64() * 1e3;
        let mut rows = Vec::new();
        let engine =
            |device: &Device| if *device == Device::Cpu { "cvjourney CLI cpu" } else { "cvjourney CLI gpu" };
        if only.is_empty() || only.iter().any(|o| o == "W4") {
            for (device, backend) in &devices {
                match pollster::block_on(gemm_workload(*device, (engine(device), backend), &now)) {
                    Ok(row) => rows.push(row),
                    Err(e) => eprintln!("cvjourney: bench W4 on {backend}: {e}"),
                }
            }
        }
        for w in &chosen {
            for (device, backend) in &devices {
                let engine = engine(device);
                eprintln!("{}: {} on {backend}…", w.id, w.description);
                match pollster::block_on(run_workload(w, &source, *device, (engine, backend), &now)) {
                    Ok(row) => rows.push(row),
                    Err(e) => {
                        eprintln!("cvjourney: bench {}: {e}", w.id);
                        return ExitCode::FAILURE;
                    }
                }
            }
        }
        print!("{}", format_workload_table(&rows));
        if let Some(path) = json {
            let text = serde_json::to_string_pretty(&rows).expect("rows serialize");
            if let Err(e) = std::fs::write(path, text) {
                eprintln!("cvjourney: --json {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        }
        ExitCode::SUCCESS
    }

    /// `bench --workloads --gpu --timeline`: one step of each workload, launch by launch (GPU timestamps).
    /// (W3's step is W3-100's, so W3 is left out; W4 is a single product, not a step.)
    fn bench_timelines(only: &[String]) -> ExitCode {
        use cvjourney::bench::{format_timeline, step_timeline};
        let chosen = match chosen_workloads(only, false) {
            Ok(chosen) => chosen,
            Err(code) => return code,
        };
        let name = match install_gpu() {
            Ok(name) => name,
            Err(code) => return code,
        };
        let steps: Vec<_> = chosen.into_iter().filter(|w| w.id != "W3").collect();
        if steps.is_empty() {
            eprintln!("cvjourney: bench --timeline: W3's step is W3-100's; use --only W3-100");
            return ExitCode::from(2);
        }
        let source = cvjourney::train::DirSource(crate::run::data_dir());
        for w in steps {
            match pollster::block_on(step_timeline(&w, &source, 5)) {
                Ok(launches) => {
                    let title = format!("{}: one training step on {name}, launch by launch", w.id);
                    println!("{}", format_timeline(&title, &launches));
                }
                Err(e) => {
                    eprintln!("cvjourney: bench --timeline {}: {e}", w.id);
                    return ExitCode::FAILURE;
                }
            }
        }
        ExitCode::SUCCESS
    }

    /// The workloads `--only` names (all when none), or exit code 2 naming the valid ids when it names
    /// none of them (W4, a single product, counts where `with_w4`).
    fn chosen_workloads(only: &[String], with_w4: bool) -> Result<Vec<cvjourney::bench::Workload>, ExitCode> {
        let chosen: Vec<_> = cvjourney::bench::workloads()
            .into_iter()
            .filter(|w| only.is_empty() || only.iter().any(|o| o == w.id))
            .collect();
        if chosen.is_empty() && !(with_w4 && only.iter().any(|o| o == "W4")) {
            let ids = if with_w4 { "W1, W2, W3-100, W3, W4, W5" } else { "W1, W2, W3-100, W5" };
            eprintln!("cvjourney: bench --only: no such workload ({ids})");
            return Err(ExitCode::from(2));
        }
        Ok(chosen)
    }

    /// Finds this machine's GPU and makes it the thread's: its name, or a failure exit saying why.
    fn install_gpu() -> Result<String, ExitCode> {
        match pollster::block_on(cvjourney::backend::webgpu::GpuContext::new()) {
            Ok(ctx) => {
                let name = ctx.adapter.name.clone();
                cvjourney::backend::webgpu::install(ctx);
                Ok(name)
            }
            Err(e) => {
                eprintln!("cvjourney: --gpu: no GPU: {e}");
                Err(ExitCode::FAILURE)
            }
        }
    }

    fn bench_gpu(budget_ms: f64, max_side: usize) -> ExitCode {
        let report = pollster::block_on(async {
            cvjourney::backend::webgpu::install(cvjourney::backend::webgpu::GpuContext::new().await?);
            println!();
            cvjourney::bench::gpu_report(budget_ms, max_side, 20, &mut |table| print!("{table}")).await
        });
        match report {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("cvjourney: bench --gpu: {e}");
                ExitCode::FAILURE
            }
        }
    }

    fn run_probe(n: usize, force_cpu: bool) -> ExitCode {
        let (choice, gpu) = if force_cpu {
            (None, None)
        } else {
            let (choice, gpu) = pollster::block_on(probe::detect());
            (Some(choice), gpu)
        };
        match &choice {
            Some(c) => {
                println!("backend: {}", c.label);
                if let Some(reason) = &c.fallback_reason {
                    println!("WebGPU/Vulkan unavailable: {reason}");
                }
            }
            None => println!("backend: CPU (asked for with --cpu)"),
        }
        let started = Instant::now();
        match pollster::block_on(probe::kernel_check(gpu.as_ref(), n)) {
            Ok(check) => {
                let verdict = if check.ok { "matches" } else { "DIFFERS FROM" };
                println!(
                    "kernel add on {} floats: {verdict} the scalar reference (max |diff| {:e}) in {:.1} ms",
                    check.n,
                    check.max_abs_diff,
                    started.elapsed().as_secs_f64() * 1e3
                );
                if check.ok { ExitCode::SUCCESS } else { ExitCode::FAILURE }
            }
            Err(e) => {
                eprintln!("cvjourney: {e}");
                ExitCode::FAILURE
            }
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod run;

#[cfg(not(target_arch = "wasm32"))]
mod fuzz;

/// The system allocator, which also notes the largest allocation while `cvjourney fuzz` runs a parser and
/// refuses (fails) one over the fuzzer's cap: a hostile header must be refused by the parser, not obeyed.
#[cfg(not(target_arch = "wasm32"))]
mod tracking {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::sync::atomic::Ordering;

    use super::fuzz::{ALLOCATION_CAP, LARGEST, TRACK};

    pub struct Tracking;

    fn allowed(size: usize) -> bool {
        if !TRACK.load(Ordering::Relaxed) {
            return true;
        }
        LARGEST.fetch_max(size, Ordering::Relaxed);
        size <= ALLOCATION_CAP
    }

    // SAFETY: every call is forwarded to `System` unchanged, or answered with null (allocation failure),
    // which the trait allows.
    unsafe impl GlobalAlloc for Tracking {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            if allowed(layout.size()) { unsafe { System.alloc(layout) } } else { std::ptr::null_mut() }
        }
        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            if allowed(layout.size()) { unsafe { System.alloc_zeroed(layout) } } else { std::ptr::null_mut() }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            unsafe { System.dealloc(ptr, layout) }
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            if allowed(new_size) {
                unsafe { System.realloc(ptr, layout, new_size) }
            } else {
                std::ptr::null_mut()
            }
        }
    }

    #[global_allocator]
    static GLOBAL: Tracking = Tracking;
}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    cli::main()
}

// The browser entry point is `web::start` in the library; this binary has nothing to do on wasm32.
#[cfg(target_arch = "wasm32")]
fn main() {}
