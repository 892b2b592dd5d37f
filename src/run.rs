//! `cvjourney list`, `run` and `reproduce`: the chapters' presets from the command line.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use cvjourney::Device;
use cvjourney::backend::BackendKind;
use cvjourney::backend::webgpu::{self, GpuContext};
use cvjourney::chapters::{self, CHAPTERS, Preset, Progress, RunOutcome, presets};
use cvjourney::train::{DirSource, SessionConfig};
use indicatif::{ProgressBar, ProgressStyle};

pub fn list(json: bool) -> ExitCode {
    let all = presets();
    if json {
        let rows: Vec<serde_json::Value> = all
            .iter()
            .map(|p| serde_json::json!({ "id": p.id, "chapter": p.chapter, "title": p.title }))
            .collect();
        println!("{}", serde_json::Value::Array(rows));
        return ExitCode::SUCCESS;
    }
    for c in CHAPTERS {
        println!("{}. {}", c.number, c.title);
        for p in all.iter().filter(|p| p.chapter == c.number) {
            let study =
                if p.variants.is_empty() { String::new() } else { format!(" ({} runs)", p.variants.len()) };
            println!("   {:<28} {}{study}", p.id, p.title);
        }
    }
    ExitCode::SUCCESS
}

/// Applies `key=value` overrides to a config. Keys are the config's JSON fields, dotted for nested ones
/// (`lr`, `batch_size`, `normalization`, `model.hidden`, `optimizer`); values are JSON (`[256,128]`,
/// `{"kind":"sgd","momentum":0.9}`) or a bare word taken as a string (`unit-range`).
pub fn apply(config: &mut SessionConfig, set: &[String]) -> Result<(), String> {
    let mut json = serde_json::to_value(&*config).map_err(|e| e.to_string())?;
    for item in set {
        let (key, value) = item.split_once('=').ok_or(format!("--set {item}: expected KEY=VALUE"))?;
        let value: serde_json::Value =
            serde_json::from_str(value).unwrap_or_else(|_| serde_json::Value::String(value.to_string()));
        let mut slot = &mut json;
        for part in key.split('.') {
            let keys = slot.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>().join(", "));
            slot = slot.get_mut(part).ok_or_else(|| {
                format!("--set: unknown key '{key}' (known here: {})", keys.unwrap_or_default())
            })?;
        }
        *slot = value;
    }
    *config = serde_json::from_value(json).map_err(|e| format!("--set: {e}"))?;
    Ok(())
}

/// The data folder: $CVJOURNEY_DATA, else ./data, else the checkout this binary was built from.
pub(crate) fn data_dir() -> PathBuf {
    std::env::var_os("CVJOURNEY_DATA").map(PathBuf::from).unwrap_or_else(|| {
        let here = PathBuf::from("data");
        if here.is_dir() { here } else { Path::new(env!("CARGO_MANIFEST_DIR")).join("data") }
    })
}

/// How `run` is asked to go.
pub struct RunArgs<'a> {
    pub id: &'a str,
    pub epochs: Option<u32>,
    pub set: &'a [String],
    pub backend: &'a str,
    pub json: bool,
    pub plot: Option<&'a Path>,
}

pub fn run(a: RunArgs) -> ExitCode {
    let Some(mut preset) = chapters::preset(a.id) else {
        eprintln!("cvjourney: no preset '{}'; `cvjourney list` shows them", a.id);
        return ExitCode::from(2);
    };
    let (device, backend_label) = match choose_backend(a.backend) {
        Ok(choice) => choice,
        Err(e) => {
            eprintln!("cvjourney: {e}");
            return ExitCode::from(2);
        }
    };
    if !a.json {
        eprintln!("training on {backend_label}");
    }
    let edit = |c: &mut SessionConfig| -> Result<(), String> {
        apply(c, a.set)?;
        if let Some(e) = a.epochs {
            c.epochs = e;
        }
        Ok(())
    };
    if let Err(e) = edit(&mut preset.config)
        .and_then(|_| preset.variants.iter_mut().try_for_each(|v| edit(&mut v.config)))
    {
        eprintln!("cvjourney: {e}");
        return ExitCode::from(2);
    }
    let (outcomes, session) = match execute(&preset, device, a.json) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cvjourney: {e}");
            return ExitCode::FAILURE;
        }
    };
    for o in outcomes.iter().filter(|o| o.error.is_some()) {
        eprintln!("cvjourney: {}: {}", o.label, o.error.as_deref().unwrap_or_default());
    }
    let check = preset.check.verify(&outcomes);
    if a.json {
        println!("{}", json_report(&preset, &outcomes, check.is_ok(), &backend_label));
    } else {
        print_table(&preset, &outcomes, &backend_label);
        match &check {
            Ok(msg) => println!("success check passed: {msg}"),
            Err(msg) => println!("success check FAILED: {msg}"),
        }
    }
    if let Some(path) = a.plot {
        match cvjourney::plot::save_png(&preset, &outcomes, &session, path) {
            Ok(()) => eprintln!("plots written to {}", path.display()),
            Err(e) => {
                eprintln!("cvjourney: --plot: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    if check.is_ok() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// Runs the preset with a progress bar on stderr (hidden when stderr is not a terminal or with --json).
fn execute(
    preset: &Preset,
    device: Device,
    quiet: bool,
) -> Result<(Vec<RunOutcome>, cvjourney::train::Session), cvjourney::LabError> {
    let bar = if quiet { ProgressBar::hidden() } else { ProgressBar::new(0) };
    bar.set_style(
        ProgressStyle::with_template("{msg:24} [{bar:30}] epoch {prefix} {elapsed_precise} ETA {eta}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    let mut on_step = |p: Progress| {
        let per_run = p.steps_per_epoch as u64 * u64::from(p.epochs);
        bar.set_length(per_run * p.runs as u64);
        bar.set_position(per_run * p.run as u64 + p.step.step);
        bar.set_message(p.label.to_string());
        if let Some(m) = &p.step.epoch_end {
            bar.set_prefix(format!("{}/{}", m.epoch, p.epochs));
        }
    };
    let out = chapters::run_preset_on(preset, &DirSource(data_dir()), device, &mut on_step);
    bar.finish_and_clear();
    out
}

/// The device for `--backend`: `cpu`; `webgpu` (a GPU through wgpu, or an error); `auto` (the GPU when it
/// is a real one, the CPU when there is none or only a software rasteriser such as lavapipe, which is
/// slower than the CPU path).
fn choose_backend(name: &str) -> Result<(Device, String), String> {
    let cpu = || (Device::Cpu, BackendKind::Cpu.label(None));
    match name {
        "cpu" => Ok(cpu()),
        "webgpu" | "auto" => match pollster::block_on(GpuContext::new()) {
            Ok(ctx) if name == "webgpu" || ctx.adapter.device_type != "Cpu" => {
                let label = BackendKind::WebGpu.label(Some(&ctx.adapter.name));
                webgpu::install(ctx);
                Ok((Device::WebGpu, label))
            }
            Ok(_) => Ok(cpu()),
            Err(e) if name == "webgpu" => Err(format!("--backend webgpu: {e}")),
            Err(_) => Ok(cpu()),
        },
        other => Err(format!("--backend {other}: expected cpu, webgpu or auto")),
    }
}

fn json_report(preset: &Preset, outcomes: &[RunOutcome], passed: bool, backend: &str) -> serde_json::Value {
    let one = |o: &RunOutcome| {
        let last = o.history.last();
        serde_json::json!({
            "label": o.label, "epochs": last.map_or(0, |m| m.epoch),
            "train_loss": last.map(|m| m.train_loss), "test_loss": last.map(|m| m.test_loss),
            "test_accuracy": last.and_then(|m| m.test_accuracy), "seconds": last.map_or(0.0, |m| m.seconds),
            "examples_per_s": mean_speed(o), "error": o.error,
        })
    };
    let mut out = one(outcomes.last().expect("at least one run"));
    out["preset"] = preset.id.into();
    out["backend"] = backend.into();
    out["check_passed"] = passed.into();
    if !preset.variants.is_empty() {
        out["runs"] = outcomes.iter().map(one).collect();
    }
    out
}

/// Mean training speed over a run's epochs.
fn mean_speed(o: &RunOutcome) -> f32 {
    o.history.iter().map(|m| m.examples_per_s).sum::<f32>() / o.history.len().max(1) as f32
}

/// The runs' last epochs; `backend` says where they trained.
fn print_table(preset: &Preset, outcomes: &[RunOutcome], backend: &str) {
    println!("{} ({backend})", preset.title);
    println!(
        "{:<24} {:>6} {:>11} {:>10} {:>9} {:>9} {:>12}",
        "run", "epochs", "train loss", "test loss", "accuracy", "seconds", "examples/s"
    );
    for o in outcomes {
        let Some(m) = o.history.last() else {
            println!("{:<24} stopped before its first epoch: {}", o.label, o.error.as_deref().unwrap_or(""));
            continue;
        };
        let acc = m.test_accuracy.map_or("-".to_string(), |a| format!("{:.2} %", a * 100.0));
        println!(
            "{:<24} {:>6} {:>11.4} {:>10.4} {:>9} {:>9.2} {:>12.0}",
            o.label,
            m.epoch,
            m.train_loss,
            m.test_loss,
            acc,
            m.seconds,
            mean_speed(o)
        );
        if let Some(e) = &o.error {
            println!("{:<24} stopped: {e}", "");
        }
    }
}

/// `cvjourney reproduce <chapter>`: every preset of the chapter, the lab's numbers next to the textbook's.
pub fn reproduce(key: &str, quick: bool) -> ExitCode {
    let Some(chapter) = chapters::chapter(key) else {
        eprintln!("cvjourney: no chapter '{key}' (1-8 or an id such as 'mlp')");
        return ExitCode::from(2);
    };
    let mine: Vec<Preset> = presets().into_iter().filter(|p| p.chapter == chapter.number).collect();
    if mine.is_empty() {
        eprintln!("cvjourney: chapter {} has no presets yet", chapter.number);
        return ExitCode::from(2);
    }
    println!("Chapter {}: {}\n", chapter.number, chapter.title);
    let mut failed = 0;
    for preset in mine {
        let preset = if quick { preset.quick(3) } else { preset };
        match execute(&preset, Device::Cpu, false) {
            Ok((outcomes, _)) => {
                print_table(&preset, &outcomes, "CPU");
                println!("textbook: {}", preset.textbook);
                match preset.check.verify(&outcomes) {
                    Ok(m) => println!("check:    passed ({m})\n"),
                    Err(m) => {
                        failed += 1;
                        println!("check:    FAILED ({m})\n");
                    }
                }
            }
            Err(e) => {
                failed += 1;
                println!("{}: {e}\n", preset.id);
            }
        }
    }
    if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// `cvjourney model inspect FILE`: the file's tensors and metadata when the lab can load it (exit 0), else
/// the reason (exit 2).
pub fn inspect_model(file: &Path) -> ExitCode {
    let result =
        std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display())).and_then(|bytes| {
            let info = cvjourney::train::inspect(&bytes).map_err(|e| e.to_string())?;
            let classifier = cvjourney::train::Classifier::from_bytes(&bytes).map_err(|e| e.to_string())?;
            Ok((info, classifier))
        });
    match result {
        Ok((info, classifier)) => {
            println!("file:     {}", file.display());
            println!("input:    {:?}", classifier.input_shape());
            println!("classes:  {}", classifier.classes.join(", "));
            println!("tensors:  {}", info.tensors.len());
            for t in &info.tensors {
                println!("  {:<28} {:<5} {:?}", t.name, t.dtype, t.shape);
            }
            let mut keys: Vec<_> = info.metadata.keys().collect();
            keys.sort();
            for k in keys {
                println!("meta {k}: {}", info.metadata[k]);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cvjourney: {e}");
            ExitCode::from(2)
        }
    }
}

/// `cvjourney model starters`: trains the drawing pad's starter models (CPU, fixed seeds), checks each
/// reaches its accuracy, writes `{id}.safetensors` and `SHA256SUMS` into `out`.
pub fn train_starters(out: &Path, only: Option<&str>) -> ExitCode {
    use sha2::Digest;
    let source = DirSource(data_dir());
    let mut sums = String::new();
    for starter in chapters::starters() {
        if only.is_some_and(|id| id != starter.id) {
            continue;
        }
        let result = (|| -> Result<(Vec<u8>, f32), String> {
            let mut session =
                cvjourney::train::Session::new(starter.config.clone(), &source).map_err(|e| e.to_string())?;
            let mut accuracy = 0.0;
            while !session.finished() {
                let m = session.run_epoch().map_err(|e| e.to_string())?;
                accuracy = m.test_accuracy.unwrap_or(0.0);
                let (epoch, epochs, seconds) = (m.epoch, starter.config.epochs, m.seconds);
                eprintln!(
                    "{}: epoch {epoch}/{epochs}, test accuracy {accuracy:.4} ({seconds:.0} s)",
                    starter.id
                );
            }
            Ok((session.export_model().map_err(|e| e.to_string())?, accuracy))
        })();
        match result {
            Ok((bytes, accuracy)) => {
                if accuracy < starter.min_accuracy {
                    eprintln!(
                        "cvjourney: {} reached {accuracy:.4}, below its {}",
                        starter.id, starter.min_accuracy
                    );
                    return ExitCode::FAILURE;
                }
                let path = out.join(format!("{}.safetensors", starter.id));
                if let Err(e) = std::fs::create_dir_all(out).and_then(|_| std::fs::write(&path, &bytes)) {
                    eprintln!("cvjourney: cannot write {}: {e}", path.display());
                    return ExitCode::FAILURE;
                }
                let hex: String = sha2::Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
                println!("{hex}  {}.safetensors  (test accuracy {accuracy:.4})", starter.id);
                sums += &format!("{hex}  {}.safetensors\n", starter.id);
            }
            Err(e) => {
                eprintln!("cvjourney: {}: {e}", starter.id);
                return ExitCode::FAILURE;
            }
        }
    }
    if only.is_none() && std::fs::write(out.join("SHA256SUMS"), sums).is_err() {
        eprintln!("cvjourney: cannot write {}", out.join("SHA256SUMS").display());
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
