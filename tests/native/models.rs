//! Model files (issue 10): export → import gives identical predictions; malformed and hostile files are
//! refused with a message naming the problem; the committed starter models reach their accuracy on data
//! they never trained on and are the bytes their SHA256SUMS name; `cvjourney model inspect` exits 0 or 2.
#![cfg(not(target_arch = "wasm32"))]

use std::path::Path;
use std::process::Command;

use cvjourney::chapters::starters;
use cvjourney::data::Normalization;
use cvjourney::train::{Classifier, DatasetSpec, DirSource, MAX_MODEL_BYTES, Session, SessionConfig};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `data/` with both digit and Fashion-MNIST files, or `None` (see `crate::installed`).
fn installed() -> Option<DirSource> {
    crate::installed(&[crate::MNIST, crate::FASHION], "model tests on real data")
}

/// A quick digits model: the starter's architecture on 600 digits for one epoch.
fn quick_session(source: &DirSource) -> Session {
    let mut config: SessionConfig = starters()[0].config.clone();
    config.dataset = DatasetSpec::MnistSample { limit: Some(600) };
    config.epochs = 1;
    let mut s = Session::new(config, source).unwrap();
    s.run().unwrap();
    s
}

fn raw_test_images(config: &SessionConfig, source: &DirSource) -> Session {
    // The same split (it depends on the seed, not on normalization), with the pixels left raw.
    let mut raw = config.clone();
    raw.normalization = Normalization::None;
    raw.epochs = 1;
    Session::new(raw, source).unwrap()
}

#[test]
fn export_then_import_gives_identical_predictions() {
    let Some(source) = installed() else { return };
    let session = quick_session(&source);
    let bytes = session.export_model().unwrap();
    assert_eq!(bytes, session.export_model().unwrap(), "the same model gives the same bytes (sorted header)");
    let model = Classifier::from_bytes(&bytes).unwrap();
    assert_eq!(model.classes.len(), 10);
    assert_eq!(model.input_shape(), &[1, 28, 28]);
    assert_eq!(model.drawing_side(), 20);
    let raw = raw_test_images(&session.config, &source);
    for i in 0..20 {
        let pixels = &raw.test.features[i * 784..(i + 1) * 784];
        let live = pollster::block_on(session.classify_async(pixels)).unwrap();
        let loaded = model.predict(pixels).unwrap();
        assert_eq!(live, loaded, "image {i}: the file must reproduce the trained model exactly");
        assert!((loaded.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    }
    // A checkpoint (weights + optimizer state + history: the page's "Save model file") loads the same way.
    let from_checkpoint = Classifier::from_bytes(&session.checkpoint().unwrap()).unwrap();
    let pixels = &raw.test.features[..784];
    assert_eq!(from_checkpoint.predict(pixels).unwrap(), model.predict(pixels).unwrap());
    // The normalized input is the z-score of the pixels with the training split's statistics.
    let z = model.normalized(pixels).unwrap();
    assert_eq!(z.len(), 784);
    assert!(z.iter().any(|v| *v < 0.0) && z.iter().any(|v| *v > 1.0), "z-scores, not raw pixels");
    // Feature maps: the starter architecture's first convolution has 16 channels of 28x28.
    let maps = model.feature_maps(pixels).unwrap();
    assert_eq!((maps.len(), maps[0].rows, maps[0].cols), (16, 28, 28));
    assert!(maps.iter().all(|m| m.values.iter().all(|v| (0.0..=1.0).contains(v))));
    // Saliency is a map over the input, peak 1, from the lab's own autograd.
    let map = model.saliency(&raw.test.features[..784]).unwrap();
    assert_eq!(map.len(), 784);
    assert_eq!(map.iter().fold(0.0f32, |m, v| m.max(*v)), 1.0);
    assert!(model.predict(&[0.5; 10]).unwrap_err().to_string().contains("expected 784 pixel values"));
    assert!(model.predict(&[f32::NAN; 784]).unwrap_err().to_string().contains("not numbers"));
}

/// Rewrites one metadata entry of a model file (re-serialized, tensors unchanged).
fn with_metadata(bytes: &[u8], key: &str, value: Option<&str>) -> Vec<u8> {
    use safetensors::SafeTensors;
    let file = SafeTensors::deserialize(bytes).unwrap();
    let (_, meta) = SafeTensors::read_metadata(bytes).unwrap();
    let mut meta = meta.metadata().clone().unwrap_or_default();
    match value {
        Some(v) => meta.insert(key.to_string(), v.to_string()),
        None => meta.remove(key),
    };
    let tensors: Vec<(String, safetensors::tensor::TensorView)> = file.tensors();
    safetensors::tensor::serialize(tensors, Some(meta)).unwrap()
}

#[test]
fn malformed_and_hostile_model_files_are_refused_with_reasons() {
    let Some(source) = installed() else { return };
    let bytes = quick_session(&source).export_model().unwrap();
    let refuse = |b: &[u8], what: &str, expected: &str| {
        let e = Classifier::from_bytes(b).err().unwrap_or_else(|| panic!("{what}: accepted")).to_string();
        assert!(e.starts_with("model file") && e.contains(expected), "{what}: {e}");
    };
    refuse(&bytes[..bytes.len() / 2], "truncated", "cannot be read");
    refuse(&[], "empty", "cannot be read");
    let mut huge_header = bytes.clone();
    huge_header[..8].copy_from_slice(&(u64::MAX / 2).to_le_bytes());
    refuse(&huge_header, "oversized header", "cannot be read");
    refuse(&vec![0u8; MAX_MODEL_BYTES + 1], "too large", "MiB");
    refuse(
        &with_metadata(&bytes, "format", Some("something-else/9")),
        "format",
        "is format 'something-else/9'",
    );
    refuse(&with_metadata(&bytes, "config", None), "no config", "no 'config' entry");
    refuse(&with_metadata(&bytes, "config", Some("{\"lr\": \"<script>\"}")), "bad config", "config:");
    refuse(&with_metadata(&bytes, "classes", Some("[\"a\", \"b\"]")), "class count", "names 2 classes");
    let norm = "{\"mode\":\"z-score\",\"shift\":[0.1],\"scale\":[NaN],\"offset\":0.0}";
    refuse(&with_metadata(&bytes, "normalization", Some(norm)), "NaN statistics", "normalization");
    let norm = "{\"mode\":\"z-score\",\"shift\":[0.1,0.2,0.3],\"scale\":[1.0],\"offset\":0.0}";
    refuse(&with_metadata(&bytes, "normalization", Some(norm)), "wrong-size statistics", "do not fit");
    // Tensors that do not match the config's architecture: a wider hidden layer than the weights hold.
    let session = quick_session(&source);
    let mut wider = session.config.clone();
    wider.model.hidden = vec![65];
    let config = serde_json::to_string(&wider).unwrap();
    refuse(&with_metadata(&bytes, "config", Some(&config)), "wrong shapes", "the model needs F32");
    // Absurd settings in an imported config are refused by the same validation as the page's controls.
    let mut absurd = session.config.clone();
    absurd.lr = -1.0;
    let config = serde_json::to_string(&absurd).unwrap();
    refuse(&with_metadata(&bytes, "config", Some(&config)), "negative lr", "learning rate");
}

/// The committed starter models: the files their SHA256SUMS name, and the accuracy the issue demands on
/// examples they never trained on (the held-out fifth of the digits sample; Fashion-MNIST's test set).
#[test]
fn starter_models_reach_their_accuracy_on_held_out_data() {
    use sha2::Digest;
    let dir = root().join("www/models");
    let sums = std::fs::read_to_string(dir.join("SHA256SUMS")).expect("www/models/SHA256SUMS");
    let Some(source) = installed() else { return };
    for starter in starters() {
        let file = format!("{}.safetensors", starter.id);
        let bytes = std::fs::read(dir.join(&file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let hex: String = sha2::Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        assert!(sums.contains(&format!("{hex}  {file}")), "{file} is not the file SHA256SUMS names");
        let model = Classifier::from_bytes(&bytes).unwrap();
        assert_eq!(model.config.seed, starter.config.seed);
        let held_out = raw_test_images(&starter.config, &source).test;
        let accuracy = model.accuracy(&held_out).unwrap();
        eprintln!("{}: {accuracy:.4} on {} held-out images", starter.id, held_out.len());
        assert!(accuracy >= starter.min_accuracy, "{}: {accuracy} < {}", starter.id, starter.min_accuracy);
    }
}

fn cli(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cvjourney")).args(args).output().unwrap();
    let text = |b: Vec<u8>| String::from_utf8_lossy(&b).into_owned();
    (out.status.code().unwrap_or(-1), text(out.stdout), text(out.stderr))
}

#[test]
fn model_inspect_lists_tensors_or_exits_2() {
    let file = root().join("www/models/mnist-cnn.safetensors");
    let (code, out, err) = cli(&["model", "inspect", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("input:    [1, 28, 28]") && out.contains("classes:  0, 1, 2"), "{out}");
    assert!(
        out.contains("0.weight") && out.contains("F32") && out.contains("meta format: cvjourney-model/1"),
        "{out}"
    );
    let bytes = std::fs::read(&file).unwrap();
    let broken = std::env::temp_dir().join(format!("cvjourney-model-{}.safetensors", std::process::id()));
    std::fs::write(&broken, &bytes[..100]).unwrap();
    let (code, _, err) = cli(&["model", "inspect", broken.to_str().unwrap()]);
    let _ = std::fs::remove_file(&broken);
    assert_eq!(code, 2);
    assert!(err.contains("model file: cannot be read"), "{err}");
}
