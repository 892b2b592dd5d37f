//! `cvjourney list` and `cvjourney run`: the chapters' presets from the command line.

use std::process::ExitCode;
use std::time::Instant;

use cvjourney::LabError;
use cvjourney::chapters::{CHAPTERS, presets};
use cvjourney::train::{DirSource, Session, SessionConfig};

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
            println!("   {:<24} {}", p.id, p.title);
        }
    }
    ExitCode::SUCCESS
}

/// Applies `key=value` overrides to a config.
fn apply(config: &mut SessionConfig, set: &[String]) -> Result<(), String> {
    for item in set {
        let (key, value) = item.split_once('=').ok_or(format!("--set {item}: expected KEY=VALUE"))?;
        let bad = |e: &dyn std::fmt::Display| format!("--set {key}: '{value}' is not valid ({e})");
        match key {
            "lr" => config.lr = value.parse().map_err(|e| bad(&e))?,
            "batch_size" => config.batch_size = value.parse().map_err(|e| bad(&e))?,
            "epochs" => config.epochs = value.parse().map_err(|e| bad(&e))?,
            "seed" => config.seed = value.parse().map_err(|e| bad(&e))?,
            "test_fraction" => config.test_fraction = value.parse().map_err(|e| bad(&e))?,
            _ => {
                return Err(format!(
                    "--set: unknown key '{key}' (lr, batch_size, epochs, seed, test_fraction)"
                ));
            }
        }
    }
    Ok(())
}

pub fn run(id: &str, epochs: Option<u32>, set: &[String], json: bool) -> ExitCode {
    let Some(preset) = presets().into_iter().find(|p| p.id == id) else {
        eprintln!("cvjourney: no preset '{id}'; `cvjourney list` shows them");
        return ExitCode::from(2);
    };
    let mut config = preset.config.clone();
    if let Err(e) = apply(&mut config, set) {
        eprintln!("cvjourney: {e}");
        return ExitCode::from(2);
    }
    config.epochs = epochs.unwrap_or(config.epochs);
    // The data folder: $CVJOURNEY_DATA, else ./data, else the checkout this binary was built from.
    let dir = std::env::var_os("CVJOURNEY_DATA").map(std::path::PathBuf::from).unwrap_or_else(|| {
        let here = std::path::PathBuf::from("data");
        if here.is_dir() { here } else { std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data") }
    });
    let data = DirSource(dir);
    let started = Instant::now();
    let result = Session::new(config, &data).and_then(|mut s| {
        s.run()?;
        Ok::<_, LabError>((s.history.last().cloned(), s.train.len()))
    });
    let seconds = started.elapsed().as_secs_f64();
    let (last, train_items) = match result {
        Ok((Some(last), n)) => (last, n),
        Ok((None, _)) => unreachable!("a session runs at least one epoch"),
        Err(e) => {
            eprintln!("cvjourney: {e}");
            return ExitCode::FAILURE;
        }
    };
    let check = preset.check.verify(&last);
    let examples_per_s = train_items as f64 * f64::from(last.epoch) / seconds.max(1e-9);
    if json {
        let out = serde_json::json!({
            "preset": id, "backend": "cpu", "epochs": last.epoch, "train_loss": last.train_loss,
            "test_loss": last.test_loss, "test_accuracy": last.test_accuracy, "seconds": seconds,
            "examples_per_s": examples_per_s, "check_passed": check.is_ok(),
        });
        println!("{out}");
    } else {
        println!(
            "{}: {} epochs in {seconds:.2} s ({examples_per_s:.0} examples/s, CPU)",
            preset.title, last.epoch
        );
        println!(
            "train loss {:.4}, test loss {:.4}, test accuracy {:?}",
            last.train_loss, last.test_loss, last.test_accuracy
        );
        match &check {
            Ok(msg) => println!("success check passed: {msg}"),
            Err(msg) => println!("success check FAILED: {msg}"),
        }
    }
    if check.is_ok() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
