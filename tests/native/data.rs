//! Parsers on small files the tests generate, every hostile case of the data issue as its own test, a
//! property test feeding random and mutated bytes to every parser, and the real datasets when installed.

use std::io::Write;

use cvjourney::LabError;
use cvjourney::data::*;
use proptest::prelude::*;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn idx_images(count: u32, rows: u32, cols: u32, pixels: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    for x in [IMAGES_MAGIC, count, rows, cols] {
        v.extend_from_slice(&x.to_be_bytes());
    }
    v.extend_from_slice(pixels);
    v
}

fn idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut v = LABELS_MAGIC.to_be_bytes().to_vec();
    v.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    v.extend_from_slice(labels);
    v
}

fn message(e: LabError) -> String {
    e.to_string()
}

#[test]
fn idx_images_and_labels_parse_raw_and_gzipped() {
    let pixels: Vec<u8> = (0..3 * 2 * 4).map(|i| i as u8 * 10).collect();
    let images = idx_images(3, 2, 4, &pixels);
    let labels = idx_labels(&[2, 0, 9]);
    for (im, lb) in [(images.clone(), labels.clone()), (gzip(&images), gzip(&labels))] {
        let d = parse_idx_pair(&im, &lb, 10).unwrap();
        assert_eq!((d.images.count, d.images.rows, d.images.cols, d.images.channels), (3, 2, 4, 1));
        assert_eq!(d.images.image(1).unwrap(), &pixels[8..16]);
        assert_eq!(d.labels, vec![2, 0, 9]);
        assert_eq!(d.class_counts()[..3], [1, 0, 1]);
    }
}

#[test]
fn idx_wrong_magic_names_both_numbers() {
    let mut bytes = idx_labels(&[1]);
    bytes[3] = 0xd2; // 2049 -> 2258
    let e = message(parse_idx(&bytes).unwrap_err());
    assert_eq!(e, "IDX file: magic 2049 (labels) or 2051 (images) expected, found 2258");
}

#[test]
fn idx_truncated_header_and_payload() {
    let e = message(parse_idx(&IMAGES_MAGIC.to_be_bytes()).unwrap_err());
    assert!(e.contains("file ends before the item count"), "{e}");
    let images = idx_images(2, 2, 2, &[0; 7]);
    let e = message(parse_idx(&images).unwrap_err());
    assert_eq!(e, "IDX file: header declares 8 bytes of pixels, the file holds 7");
}

#[test]
fn idx_counts_larger_than_the_bytes_allocate_nothing() {
    // 4 billion labels declared, 3 present: refused before any allocation of the declared size.
    let mut bytes = LABELS_MAGIC.to_be_bytes().to_vec();
    bytes.extend_from_slice(&u32::MAX.to_be_bytes());
    bytes.extend_from_slice(&[1, 2, 3]);
    let e = message(parse_idx(&bytes).unwrap_err());
    assert!(e.contains("declares 4294967295 bytes of labels, the file holds 3"), "{e}");
}

#[test]
fn idx_dimensions_whose_product_overflows() {
    let bytes = idx_images(u32::MAX, u32::MAX, u32::MAX, &[0; 4]);
    let e = message(parse_idx(&bytes).unwrap_err());
    assert!(e.contains("impossible size") || e.contains("header declares"), "{e}");
}

#[test]
fn idx_label_out_of_range_and_count_mismatch() {
    let images = idx_images(2, 1, 1, &[0, 0]);
    let e = message(parse_idx_pair(&images, &idx_labels(&[3, 10]), 10).unwrap_err());
    assert_eq!(e, "IDX file: label 10 of item 1 is not one of the 10 classes (0-9)");
    let e = message(parse_idx_pair(&images, &idx_labels(&[3]), 10).unwrap_err());
    assert_eq!(e, "IDX file: 2 images but 1 labels");
}

#[test]
fn gzip_bomb_is_capped() {
    // 200 MiB of zeros compresses to about 200 KiB; the parser stops at its 128 MiB limit.
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..200 {
        enc.write_all(&zeros).unwrap();
    }
    let bomb = enc.finish().unwrap();
    assert!(bomb.len() < 1 << 20);
    let e = message(parse_idx(&bomb).unwrap_err());
    assert!(e.contains("decompresses to more than 128 MiB"), "{e}");
}

#[test]
fn corrupt_gzip_is_an_error() {
    let mut g = gzip(&idx_labels(&[1, 2]));
    let n = g.len();
    g[n / 2] ^= 0xff;
    g.truncate(n - 3);
    assert!(message(parse_idx(&g).unwrap_err()).starts_with("IDX file: gzip data is corrupt"));
}

#[test]
fn csv_tables_select_columns_by_name() {
    let t = parse_csv(b"TV,Radio,Sales\n230.1, 37.8 ,22.1\n44.5,39.3,10.4\n").unwrap();
    assert_eq!((t.rows, t.columns.len()), (2, 3));
    assert_eq!(t.select(&["Sales", "tv"]).unwrap(), vec![22.1, 230.1, 10.4, 44.5]);
    let e = message(t.column("Newspaper").unwrap_err());
    assert_eq!(e, "CSV file: no column named 'Newspaper'; the columns are [\"TV\", \"Radio\", \"Sales\"]");
}

#[test]
fn csv_non_numeric_ragged_and_empty() {
    let e = message(parse_csv(b"a,b\n1,x\n").unwrap_err());
    assert_eq!(e, "CSV file: row 2, column 'b': 'x' is not a finite number");
    let e = message(parse_csv(b"a,b\n1,NaN\n").unwrap_err());
    assert!(e.contains("'NaN' is not a finite number"), "{e}");
    let e = message(parse_csv(b"a,b\n1,2\n3\n").unwrap_err());
    assert!(e.starts_with("CSV file: row 3:"), "{e}");
    assert!(message(parse_csv(b"").unwrap_err()).contains("empty"));
    assert!(message(parse_csv(b"a,b\n").unwrap_err()).contains("no data rows"));
}

#[test]
fn mnist_csv_rows_and_errors() {
    let row = |label: u8| {
        let mut v: Vec<String> = (0..784).map(|i| (i % 256).to_string()).collect();
        v.push(label.to_string());
        v.join(",")
    };
    let text = format!("{}\n{}\n", row(7), row(0));
    let d = parse_mnist_csv(&gzip(text.as_bytes())).unwrap();
    assert_eq!((d.images.count, d.labels.clone()), (2, vec![7, 0]));
    assert_eq!(d.images.image(0).unwrap()[255..257], [255, 0]);
    let e = message(parse_mnist_csv(format!("{}\n1,2,3\n", row(1)).as_bytes()).unwrap_err());
    assert_eq!(e, "MNIST CSV file: line 2 has 3 fields, 785 expected (784 pixels, 1 label)");
    let e = message(parse_mnist_csv(row(1).replace(",17,", ",300,").as_bytes()).unwrap_err());
    assert!(e.contains("300 is above 255"), "{e}");
    let e = message(parse_mnist_csv(row(12).as_bytes()).unwrap_err());
    assert!(e.contains("label 12 of item 0"), "{e}");
    assert!(message(parse_mnist_csv(b"").unwrap_err()).contains("empty"));
}

#[test]
fn cifar_records_and_errors() {
    let mut batch = Vec::new();
    for label in [3u8, 9] {
        batch.push(label);
        batch.extend((0..3072).map(|i| (i / 1024) as u8)); // red plane 0, green 1, blue 2
    }
    let d = parse_cifar10(&[&batch, &batch]).unwrap();
    assert_eq!((d.images.count, d.images.channels, d.images.rows), (4, 3, 32));
    assert_eq!(d.labels, vec![3, 9, 3, 9]);
    assert_eq!(d.images.image(1).unwrap()[2048], 2);
    let e = message(parse_cifar10(&[&batch[..5000]]).unwrap_err());
    assert!(e.contains("not a whole number of 3073-byte records"), "{e}");
    batch[0] = 10;
    assert!(message(parse_cifar10(&[&batch]).unwrap_err()).contains("label 10 of item 0"));
}

#[test]
fn inspect_detects_each_format() {
    let kind = |name: &str, bytes: &[u8]| inspect(name, bytes).map(|s| s.kind);
    assert_eq!(kind("x", &idx_labels(&[1, 2])).unwrap(), "IDX labels");
    assert_eq!(kind("x.gz", &gzip(&idx_images(1, 1, 1, &[5]))).unwrap(), "IDX images");
    assert_eq!(kind("t.csv", b"a\n1\n").unwrap(), "CSV table");
    assert!(inspect("empty", b"").is_err());
    let s = inspect("x", &idx_labels(&[1, 1, 0])).unwrap();
    assert_eq!(s.class_counts, vec![1, 2]);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Random bytes: every parser answers with a value or an error, never a panic.
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = parse_idx(&bytes);
        let _ = parse_csv(&bytes);
        let _ = parse_mnist_csv(&bytes);
        let _ = parse_cifar10(&[&bytes]);
        let _ = inspect("fuzz.bin", &bytes);
        let _ = inspect("fuzz", &bytes);
    }

    /// Valid files with a few bytes changed or cut: still no panic (these reach deeper than random bytes).
    #[test]
    fn mutated_valid_files_never_panic(
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
        cut in any::<usize>(),
        zipped in any::<bool>(),
    ) {
        let base = [
            idx_images(2, 3, 3, &[7; 18]),
            idx_labels(&[1, 2, 3]),
            b"a,b\n1,2\n3,4\n".to_vec(),
        ];
        for file in base {
            let mut f = if zipped { gzip(&file) } else { file };
            for &(at, v) in &flips {
                let n = f.len();
                f[at % n] = v;
            }
            f.truncate(cut % (f.len() + 1));
            let _ = parse_idx(&f);
            let _ = parse_csv(&f);
            let _ = inspect("m", &f);
        }
    }
}

/// The real datasets that `./lab setup` installs. `./lab test` sets CVJOURNEY_REQUIRE_DATA=1 so that a
/// missing file fails there; a bare `cargo test` on a machine without them says so and checks the rest.
#[test]
fn real_datasets_parse_to_their_documented_counts() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    let read = |rel: &str| std::fs::read(dir.join(rel));
    let required = std::env::var("CVJOURNEY_REQUIRE_DATA").is_ok_and(|v| v == "1");
    let (Ok(train_x), Ok(train_y), Ok(test_x), Ok(test_y), Ok(mnist)) = (
        read("fashion-mnist/train-images-idx3-ubyte.gz"),
        read("fashion-mnist/train-labels-idx1-ubyte.gz"),
        read("fashion-mnist/t10k-images-idx3-ubyte.gz"),
        read("fashion-mnist/t10k-labels-idx1-ubyte.gz"),
        read("mnist/mnist_5k.csv.gz"),
    ) else {
        assert!(!required, "data/ is missing Fashion-MNIST or the MNIST sample: run ./lab setup");
        eprintln!("note: data/ not installed (./lab setup); real-dataset checks not run");
        return;
    };
    let train = parse_idx_pair(&train_x, &train_y, 10).unwrap();
    let test = parse_idx_pair(&test_x, &test_y, 10).unwrap();
    assert_eq!((train.images.count, test.images.count), (60_000, 10_000));
    assert_eq!(train.class_counts(), vec![6_000; 10]);
    assert_eq!(test.class_counts(), vec![1_000; 10]);
    assert_eq!((train.images.rows, train.images.cols), (28, 28));
    let digits = parse_mnist_csv(&mnist).unwrap();
    assert_eq!(digits.images.count, 5_000);
    assert_eq!(digits.class_counts(), vec![500; 10]);
    let iris = parse_csv(&std::fs::read(dir.join("iris.csv")).unwrap()).unwrap();
    assert_eq!((iris.rows, iris.columns.len()), (150, 5));
    let ads = parse_csv(&std::fs::read(dir.join("advertising.csv")).unwrap()).unwrap();
    assert_eq!(ads.column("Sales").unwrap()[..3], [22.1, 10.4, 12.0]);
}
