//! `cvjourney fuzz`: a mutational fuzzer for every parser that reads what a visitor hands the lab (issue
//! 12). Each parser starts from small valid inputs (the seeds below) and gets them back mutated: bits
//! flipped, bytes set to boundary values, ranges deleted, duplicated or spliced from another seed, random
//! bytes inserted, the tail cut, sometimes gzipped after mutation so that the inflate path is reached
//! with hostile contents. A panic is a crash: the input is saved under target/fuzz/ and the command fails.
//! The largest single allocation is tracked by the CLI's allocator (`TRACK` in main.rs) and must stay under
//! the cap: a hostile header must be refused, not obeyed.
//!
//! `cargo fuzz` (libFuzzer) needs a nightly compiler these machines do not have; this loop needs nothing
//! and runs anywhere `cargo test` does. Repeatable: the same `--seed` gives the same inputs.

use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use cvjourney::tensor::Rng;

/// Largest single allocation seen while `TRACK` is set (bytes), maintained by main.rs's allocator.
pub static LARGEST: AtomicUsize = AtomicUsize::new(0);
/// Whether the allocator records sizes (only while a parser runs under the fuzzer).
pub static TRACK: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// No single allocation of a parse may exceed this: gzip output is capped at 128 MiB (a growing buffer may
/// reserve up to twice that), model files at 64 MiB.
pub const ALLOCATION_CAP: usize = 300 << 20;

pub const PARSERS: [&str; 7] = ["idx", "mnist-csv", "csv", "cifar", "safetensors", "config", "inspect"];

type Parse = fn(&[u8]);

fn parser(name: &str) -> Option<Parse> {
    Some(match name {
        "idx" => |b| drop(cvjourney::data::parse_idx(b)),
        "mnist-csv" => |b| drop(cvjourney::data::parse_mnist_csv(b)),
        "csv" => |b| drop(cvjourney::data::parse_csv(b)),
        "cifar" => |b| {
            // One batch, or two batches split at the first byte's position.
            let at = usize::from(b.first().copied().unwrap_or(0)) * 13 % (b.len() + 1);
            drop(cvjourney::data::parse_cifar10(&[b]));
            drop(cvjourney::data::parse_cifar10(&[&b[..at], &b[at..]]));
        },
        "safetensors" => |b| drop(cvjourney::train::Classifier::from_bytes(b)),
        // A config from a link or an imported file: JSON, then the same checks as the page's settings.
        "config" => |b| {
            if let Ok(c) = serde_json::from_slice::<cvjourney::train::SessionConfig>(b) {
                drop(cvjourney::train::describe_model(&c));
            }
        },
        "inspect" => |b| {
            drop(cvjourney::data::inspect("fuzz.csv", b));
            drop(cvjourney::data::inspect("fuzz.gz", b));
        },
        _ => return None,
    })
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).expect("writing to memory");
    enc.finish().expect("writing to memory")
}

fn idx(magic_type: u8, dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0, magic_type, dims.len() as u8];
    for d in dims {
        v.extend_from_slice(&d.to_be_bytes());
    }
    v.extend_from_slice(data);
    v
}

/// Small valid inputs of each format.
fn seeds(name: &str) -> Vec<Vec<u8>> {
    let pixels: Vec<u8> = (0..2 * 4 * 4).map(|i| (i * 37 % 256) as u8).collect();
    match name {
        "idx" => {
            let images = idx(0x08, &[2, 4, 4], &pixels);
            let labels = idx(0x08, &[3], &[1, 2, 9]);
            let floats = idx(0x0d, &[2], &[0, 0, 0x80, 0x3f, 0, 0, 0, 0x40]);
            vec![gzip(&images), images, labels, floats]
        }
        "mnist-csv" => {
            let row = |label: u8| {
                let mut s = label.to_string();
                for i in 0..784 {
                    s += &format!(",{}", (i * 7 + usize::from(label)) % 256);
                }
                s + "\n"
            };
            let text = format!(
                "label,{}\n{}{}",
                (0..784).map(|i| format!("p{i}")).collect::<Vec<_>>().join(","),
                row(3),
                row(7)
            );
            vec![text.clone().into_bytes(), gzip(text.as_bytes())]
        }
        "csv" | "inspect" => {
            let table = b"TV,Radio,Newspaper,Sales\n230.1,37.8,69.2,22.1\n44.5,39.3,45.1,10.4\n".to_vec();
            let iris = b"sepal_length,sepal_width,petal_length,petal_width,species\n5.1,3.5,1.4,0.2,setosa\n7.0,3.2,4.7,1.4,versicolor\n".to_vec();
            let mut v = vec![gzip(&table), table, iris];
            if name == "inspect" {
                v.push(gzip(&idx(0x08, &[2, 4, 4], &pixels)));
            }
            v
        }
        "cifar" => {
            let mut batch = Vec::new();
            for label in [3u8, 8] {
                batch.push(label);
                batch.extend((0..3072).map(|i| (i % 251) as u8 ^ label));
            }
            vec![batch]
        }
        "safetensors" => vec![small_model()],
        "config" => cvjourney::chapters::presets()
            .iter()
            .take(12)
            .map(|p| serde_json::to_vec(&p.config).expect("configs serialize"))
            .collect(),
        _ => Vec::new(),
    }
}

/// A real model file as the page exports it, from a few steps on Iris (the repository's own CSV).
fn small_model() -> Vec<u8> {
    use cvjourney::train::{DirSource, Session};
    let preset = cvjourney::chapters::preset("ch3-iris-softmax").expect("the preset exists");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets");
    let mut s = Session::new(preset.config.clone(), &DirSource(dir)).expect("Iris is in datasets/");
    s.step().expect("one step");
    s.export_model().expect("export")
}

const BOUNDARY: [u8; 8] = [0, 1, 0x7f, 0x80, 0xfe, 0xff, b',', b'\n'];

fn mutate(rng: &mut Rng, input: &mut Vec<u8>, seeds: &[Vec<u8>]) {
    let below = |rng: &mut Rng, n: usize| (rng.next_u32() as usize) % n.max(1);
    for _ in 0..1 + below(rng, 6) {
        let n = input.len();
        match below(rng, 9) {
            0 if n > 0 => {
                let i = below(rng, n);
                input[i] ^= 1 << below(rng, 8);
            }
            1 if n > 0 => {
                let i = below(rng, n);
                input[i] = BOUNDARY[below(rng, BOUNDARY.len())];
            }
            2 if n > 0 => {
                // A 32-bit big-endian field (IDX dimensions, lengths) set to a boundary value.
                let i = below(rng, n);
                let v: u32 = [0, 1, 0x7fff_ffff, 0xffff_ffff, 1 << 20, 60_000][below(rng, 6)];
                for (k, b) in v.to_be_bytes().iter().enumerate() {
                    if let Some(slot) = input.get_mut(i + k) {
                        *slot = *b;
                    }
                }
            }
            3 if n > 0 => {
                let (a, len) = (below(rng, n), 1 + below(rng, 64));
                input.drain(a..(a + len).min(n));
            }
            4 if n > 0 => {
                let (a, len) = (below(rng, n), 1 + below(rng, 64));
                let piece: Vec<u8> = input[a..(a + len).min(n)].to_vec();
                let at = below(rng, n);
                input.splice(at..at, piece);
            }
            5 => {
                let at = below(rng, n + 1);
                let extra: Vec<u8> = (0..1 + below(rng, 16)).map(|_| rng.next_u32() as u8).collect();
                input.splice(at..at, extra);
            }
            6 if n > 0 => input.truncate(below(rng, n)),
            7 => {
                let other = &seeds[below(rng, seeds.len())];
                if !other.is_empty() {
                    let (a, b) = (below(rng, other.len()), below(rng, other.len()));
                    let at = below(rng, n + 1);
                    input.splice(at..at, other[a.min(b)..a.max(b)].iter().copied());
                }
            }
            _ => {}
        }
    }
    if below(rng, 16) == 0 {
        *input = gzip(input);
    }
}

/// A valid config (JSON) with one field, at any depth, replaced by a hostile value: byte mutations alone
/// rarely keep JSON parseable, and the checks behind the parser deserve absurd numbers and shapes.
fn hostile_field(rng: &mut Rng, json: &[u8]) -> Vec<u8> {
    let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(json) else { return json.to_vec() };
    let hostile = [
        serde_json::json!(-1),
        serde_json::json!(0),
        serde_json::json!(1e9),
        serde_json::json!(1e308),
        serde_json::json!(-1e308),
        serde_json::json!(4_294_967_296u64),
        serde_json::json!(u64::MAX),
        serde_json::json!("<script>alert(1)</script>"),
        serde_json::json!(vec![16_384; 64]),
        serde_json::json!(vec![
            serde_json::json!({"channels": 512, "kernel": 11, "padding": "same", "pool": "max"});
            8
        ]),
        serde_json::json!(null),
        serde_json::json!({}),
    ];
    let pick = hostile[(rng.next_u32() as usize) % hostile.len()].clone();
    let mut node = &mut value;
    loop {
        let keys: Vec<String> = match node {
            serde_json::Value::Object(m) if !m.is_empty() => m.keys().cloned().collect(),
            _ => break,
        };
        let key = &keys[(rng.next_u32() as usize) % keys.len()];
        // Stop at this level now and then, so that whole objects get replaced too.
        if rng.next_u32().is_multiple_of(3) {
            node[key.as_str()] = pick;
            return serde_json::to_vec(&value).expect("values serialize");
        }
        node = &mut node[key.as_str()];
    }
    *node = pick;
    serde_json::to_vec(&value).expect("values serialize")
}

/// A model file whose JSON header has one hostile field (a shape of 64 dimensions, offsets past the end,
/// metadata that is not a config...), its length prefix kept right so that the parser reads it.
fn hostile_header(rng: &mut Rng, file: &[u8]) -> Vec<u8> {
    let Some(len) = file.get(..8).map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")) as usize) else {
        return file.to_vec();
    };
    let Some(header) = file.get(8..8usize.saturating_add(len)) else { return file.to_vec() };
    let header = hostile_field(rng, header);
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&header);
    out.extend_from_slice(&file[8 + len..]);
    out
}

/// One parser's campaign: `execs` mutated inputs (or until `seconds` pass). Returns the crash count.
fn campaign(name: &str, execs: u64, seconds: f64, seed: u64) -> u64 {
    let parse = parser(name).expect("checked by the caller");
    let seeds = seeds(name);
    let mut rng = Rng::new(seed);
    let (start, mut done, mut crashes) = (Instant::now(), 0u64, 0u64);
    LARGEST.store(0, Ordering::Relaxed);
    let quiet = std::panic::take_hook();
    static MESSAGE: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());
    std::panic::set_hook(Box::new(|info| {
        if let Ok(mut m) = MESSAGE.lock() {
            *m = info.to_string();
        }
    }));
    while done < execs && start.elapsed().as_secs_f64() < seconds {
        let mut input = seeds[(rng.next_u32() as usize) % seeds.len()].clone();
        if name == "config" && rng.next_u32().is_multiple_of(2) {
            input = hostile_field(&mut rng, &input);
        } else if name == "safetensors" && rng.next_u32().is_multiple_of(2) {
            input = hostile_header(&mut rng, &input);
        } else {
            mutate(&mut rng, &mut input, &seeds);
        }
        TRACK.store(true, Ordering::Relaxed);
        let outcome = catch_unwind(AssertUnwindSafe(|| parse(&input)));
        TRACK.store(false, Ordering::Relaxed);
        done += 1;
        if outcome.is_err() {
            crashes += 1;
            let dir = std::path::Path::new("target/fuzz");
            let _ = std::fs::create_dir_all(dir);
            let file = dir.join(format!("crash-{name}-{done}.bin"));
            let _ = std::fs::write(&file, &input);
            let why = MESSAGE.lock().map(|m| m.clone()).unwrap_or_default();
            eprintln!("{name}: panic on input #{done}, saved to {}: {why}", file.display());
        }
    }
    std::panic::set_hook(quiet);
    let secs = start.elapsed().as_secs_f64();
    let largest = LARGEST.load(Ordering::Relaxed);
    println!(
        "{name:<12} {done:>12} {crashes:>8} {:>12.0} {:>14.1}",
        done as f64 / secs.max(1e-9),
        largest as f64 / f64::from(1 << 20)
    );
    if largest > ALLOCATION_CAP {
        eprintln!("{name}: an allocation of {largest} bytes, over the {ALLOCATION_CAP}-byte cap");
        crashes += 1;
    }
    crashes
}

/// The command: every parser (or the one named), `execs` inputs each.
pub fn run(only: Option<&str>, execs: u64, seconds: f64, seed: u64) -> ExitCode {
    let names: Vec<&str> = match only {
        Some(n) if parser(n).is_some() => vec![n],
        Some(n) => {
            eprintln!("cvjourney fuzz: no parser '{n}' (one of {})", PARSERS.join(", "));
            return ExitCode::from(2);
        }
        None => PARSERS.to_vec(),
    };
    println!(
        "{:<12} {:>12} {:>8} {:>12} {:>14}",
        "parser", "executions", "crashes", "execs/s", "largest MiB"
    );
    let crashes: u64 = names.iter().map(|n| campaign(n, execs, seconds, seed)).sum();
    if crashes == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
