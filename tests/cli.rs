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
