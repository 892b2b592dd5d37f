//! The native CLI as a user runs it: `cvjourney data inspect FILE` prints a summary (exit 0) or the error
//! (exit 2).
#![cfg(not(target_arch = "wasm32"))]

use std::process::Command;

fn inspect(contents: &[u8], name: &str) -> (i32, String, String) {
    let dir = std::env::temp_dir().join(format!("cvjourney-cli-{}-{name}", std::process::id()));
    std::fs::write(&dir, contents).unwrap();
    let out =
        Command::new(env!("CARGO_BIN_EXE_cvjourney")).args(["data", "inspect"]).arg(&dir).output().unwrap();
    let _ = std::fs::remove_file(&dir);
    let text = |b: Vec<u8>| String::from_utf8_lossy(&b).into_owned();
    (out.status.code().unwrap_or(-1), text(out.stdout), text(out.stderr))
}

#[test]
fn inspect_summarises_a_valid_table() {
    let (code, out, _) = inspect(b"TV,Sales\n1,2\n3,4.5\n", "ok.csv");
    assert_eq!(code, 0);
    assert!(
        out.contains("kind:    CSV table") && out.contains("items:   2") && out.contains("TV, Sales"),
        "{out}"
    );
}

#[test]
fn inspect_reports_a_broken_file_with_exit_2() {
    let mut idx = 2049u32.to_be_bytes().to_vec();
    idx.extend_from_slice(&100u32.to_be_bytes());
    idx.extend_from_slice(&[1, 2]);
    let (code, _, err) = inspect(&idx, "labels.idx");
    assert_eq!(code, 2);
    assert!(err.contains("IDX file: header declares 100 bytes of labels, the file holds 2"), "{err}");
    let (code, _, err) = inspect(b"", "empty.csv");
    assert_eq!((code, err.contains("is empty")), (2, true), "{err}");
}

fn cli(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cvjourney"))
        .args(args)
        .env("CVJOURNEY_DATA", concat!(env!("CARGO_MANIFEST_DIR"), "/datasets"))
        .output()
        .unwrap();
    let text = |b: Vec<u8>| String::from_utf8_lossy(&b).into_owned();
    (out.status.code().unwrap_or(-1), text(out.stdout), text(out.stderr))
}

#[test]
fn list_and_run_presets() {
    let (code, out, _) = cli(&["list", "--json"]);
    assert_eq!(code, 0);
    assert!(out.starts_with('[') && out.contains("\"id\":\"ch3-iris-softmax\""), "{out}");
    let (code, out, err) = cli(&["run", "ch3-iris-softmax", "--json"]);
    assert_eq!(code, 0, "{err}");
    for key in ["train_loss", "test_loss", "test_accuracy", "epochs", "seconds", "examples_per_s", "backend"]
    {
        assert!(out.contains(&format!("\"{key}\"")), "missing {key}: {out}");
    }
    assert!(out.contains("\"check_passed\":true"), "{out}");
    let (code, _, err) = cli(&["run", "ch1-tv-sgd", "--set", "lr=50", "--epochs", "2"]);
    assert_eq!(code, 1);
    assert!(err.contains("training diverged at step"), "{err}");
    let (code, _, err) = cli(&["run", "ch1-tv-sgd", "--set", "momentum=2"]);
    assert_eq!((code, err.contains("unknown key 'momentum'")), (2, true), "{err}");
}

#[test]
fn run_studies_backends_settings_and_reproduce() {
    let (code, out, err) = cli(&["run", "ch1-batch-sizes", "--json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.matches("\"label\"").count(), 4, "three runs plus the top level: {out}");
    // The GPU path natively is wgpu on Vulkan (lavapipe here); the run must train and pass its check there.
    let (code, out, err) = cli(&["run", "ch3-iris-softmax", "--backend", "webgpu", "--json"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"backend\":\"Vulkan: ") && out.contains("\"check_passed\":true"), "{out}");
    let (code, out, err) = cli(&["run", "ch3-iris-softmax", "--backend", "cpu", "--json"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"backend\":\"CPU: "), "{out}");
    let (code, _, err) = cli(&["run", "ch3-iris-softmax", "--backend", "tpu"]);
    assert_eq!((code, err.contains("expected cpu, webgpu or auto")), (2, true), "{err}");
    // Any config field, nested ones dotted, values as JSON or bare words.
    let (code, out, err) = cli(&[
        "run",
        "ch4-rings-mlp",
        "--epochs",
        "3",
        "--set",
        "model.hidden=[8]",
        "--set",
        "normalization=unit-range",
        "--set",
        r#"optimizer={"kind":"sgd","momentum":0.9}"#,
        "--json",
    ]);
    assert!(code == 0 || code == 1, "{err}");
    assert!(out.contains("\"epochs\":3"), "{out}");
    let (code, _, err) = cli(&["run", "ch4-rings-mlp", "--set", "normalization=sideways"]);
    assert_eq!((code, err.contains("unknown variant `sideways`")), (2, true), "{err}");
    let (code, out, err) = cli(&["reproduce", "softmax", "--quick"]);
    assert_eq!(code, 1, "3 epochs are too few for the checks: {err}");
    assert!(out.contains("Chapter 3") && out.contains("textbook: Loss near 0.2"), "{out}");
    let (code, _, err) = cli(&["reproduce", "9"]);
    assert_eq!((code, err.contains("no chapter '9'")), (2, true), "{err}");
}

/// `bench --workloads` (the native rows of `./lab bench`): W4's GEMM and W1's epoch on Fashion-MNIST run
/// and write the JSON rows the side-by-side table reads; an unknown workload is refused with exit 2.
#[test]
fn bench_workloads_time_w4_and_w1_and_write_json() {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    if !data.join("fashion-mnist/train-images-idx3-ubyte.gz").exists() {
        let required = std::env::var("CVJOURNEY_REQUIRE_DATA").is_ok_and(|v| v == "1");
        assert!(!required, "data/ is missing Fashion-MNIST: run ./lab setup");
        eprintln!("note: data/ not installed (./lab setup); bench --workloads not checked");
        return;
    }
    let json = std::env::temp_dir().join(format!("cvjourney-bench-{}.json", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_cvjourney"))
        .args(["bench", "--workloads", "--only", "W4", "--only", "W1", "--json"])
        .arg(&json)
        .env("CVJOURNEY_DATA", &data)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let _ = std::fs::remove_file(&json);
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.iter().map(|r| r["workload"].as_str().unwrap()).collect::<Vec<_>>(), ["W4", "W1"]);
    assert!(rows[0]["gflops"].as_f64().unwrap() > 0.1, "{}", rows[0]);
    // One epoch of softmax regression on standardised pixels: well past chance.
    assert!(rows[1]["accuracy"].as_f64().unwrap() > 0.7, "{}", rows[1]);
    assert!(rows[1]["steps"].as_u64().unwrap() >= 468, "{}", rows[1]);
    let (code, _, err) = cli(&["bench", "--workloads", "--only", "W9"]);
    assert_eq!(code, 2, "{err}");
}

/// `bench --workloads --gpu --timeline` on lavapipe: W1's step launch by launch, every line a kernel with
/// its grid and times, and the totals line counting them; misuse is refused with exit 2 and the reason.
#[test]
fn bench_timeline_prints_a_step_launch_by_launch() {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    if !data.join("fashion-mnist/train-images-idx3-ubyte.gz").exists() {
        let required = std::env::var("CVJOURNEY_REQUIRE_DATA").is_ok_and(|v| v == "1");
        assert!(!required, "data/ is missing Fashion-MNIST: run ./lab setup");
        eprintln!("note: data/ not installed (./lab setup); bench --timeline not checked");
        return;
    }
    let out = Command::new(env!("CARGO_BIN_EXE_cvjourney"))
        .args(["bench", "--workloads", "--gpu", "--timeline", "--only", "W1"])
        .env("CVJOURNEY_DATA", &data)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.starts_with("W1: one training step on "), "{text}");
    let launches: Vec<&str> = text.lines().skip(2).take_while(|l| !l.contains(" launches: ")).collect();
    // The fused head's GEMM, loss rows and sums, its weight gradient and SGD's update at least (lavapipe
    // binds less than the 188 MB training set in one buffer, so it stays on the host: no select_rows).
    assert!(launches.len() >= 5 && launches.iter().any(|l| l.starts_with("matmul")), "{text}");
    assert!(launches.iter().any(|l| l.starts_with("optim/")), "{text}");
    assert!(text.contains(&format!("{} launches: ", launches.len())), "{text}");
    for line in launches {
        let cols: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cols.len(), 4, "{line}");
        assert!(cols[3].parse::<f64>().is_ok_and(|us| us >= 0.0), "{line}");
    }
    let (code, _, err) = cli(&["bench", "--timeline"]);
    assert!(code == 2 && err.contains("--workloads --gpu"), "{err}");
    let (code, _, err) = cli(&["bench", "--workloads", "--gpu", "--timeline", "--only", "W3"]);
    assert!(code == 2 && err.contains("W3-100"), "{err}");
}

/// `fuzz` (the bounded run; `./lab fuzz` is the long one): every parser takes mutated inputs without a
/// panic or an allocation over the cap; an unknown parser is refused with exit 2.
#[test]
fn fuzz_runs_every_parser_without_a_crash() {
    let (code, out, err) = cli(&["fuzz", "--execs", "3000", "--seed", "7"]);
    assert_eq!(code, 0, "{out}\n{err}");
    for parser in ["idx", "mnist-csv", "csv", "cifar", "safetensors", "config", "inspect"] {
        let row =
            out.lines().find(|l| l.starts_with(parser)).unwrap_or_else(|| panic!("no {parser} row: {out}"));
        let cols: Vec<&str> = row.split_whitespace().collect();
        assert_eq!((cols[1], cols[2]), ("3000", "0"), "{row}");
    }
    assert_eq!(cli(&["fuzz", "--parser", "png"]).0, 2);
}

/// `data synth-cifar` writes the six batches in CIFAR-10's format (read back by `data inspect` as
/// CIFAR-10), and refuses a record count out of range with the reason.
#[test]
fn synth_cifar_writes_batches_the_parser_reads() {
    let dir = std::env::temp_dir().join(format!("cvjourney-synth-{}", std::process::id()));
    let (code, out, err) = cli(&["data", "synth-cifar", dir.to_str().unwrap(), "--records", "20"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("six generated CIFAR-10 batches of 20 records"), "{out}");
    let batch = std::fs::read(dir.join("test_batch.bin")).unwrap();
    assert_eq!(batch.len(), 20 * (1 + 3 * 32 * 32));
    let (code, out, _) = inspect(&batch, "test_batch.bin");
    assert!(code == 0 && out.contains("CIFAR-10") && out.contains("items:   20"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
    let (code, _, err) = cli(&["data", "synth-cifar", "/tmp/unused", "--records", "0"]);
    assert_eq!(code, 2);
    assert!(err.contains("--records 0: give 1 to 100000"), "{err}");
}
