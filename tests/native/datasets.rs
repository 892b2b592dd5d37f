//! Synthetic sets, splits, batching and normalization.

use cvjourney::data::synthetic::{self, Points};
use cvjourney::data::*;

fn iris() -> Dataset {
    let t = parse_csv(include_bytes!("../../datasets/iris.csv")).unwrap();
    let features = ["SepalLengthCm", "SepalWidthCm", "PetalLengthCm", "PetalWidthCm"];
    Dataset::classification(&t, &features, "Species", &IRIS_CLASSES).unwrap()
}

#[test]
fn truth_tables_are_the_textbook_ones() {
    assert_eq!(synthetic::xor().labels, vec![0, 1, 1, 0]);
    assert_eq!(synthetic::and().labels, vec![0, 0, 0, 1]);
    assert_eq!(synthetic::or().labels, vec![0, 1, 1, 1]);
    assert_eq!(synthetic::xor().x, vec![0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0]);
}

#[test]
fn synthetic_sets_are_seeded_balanced_and_shaped() {
    let a = synthetic::rings(100, 3, 0.1, 7);
    assert_eq!(a, synthetic::rings(100, 3, 0.1, 7), "same seed, same points");
    assert_ne!(a, synthetic::rings(100, 3, 0.1, 8));
    assert_eq!((a.len(), a.classes), (300, 3));
    for (p, &ring) in a.x.chunks_exact(2).zip(&a.labels) {
        let r = (p[0] * p[0] + p[1] * p[1]).sqrt();
        assert!((r - (ring + 1) as f32).abs() < 0.6, "ring {ring} point at radius {r}");
    }
    let count = |p: &Points, c: usize| p.labels.iter().filter(|&&l| l == c).count();
    let s = synthetic::spirals(50, 2, 0.05, 1);
    assert_eq!((count(&s, 0), count(&s, 1)), (50, 50));
    let x = synthetic::xor_cloud(25, 0.1, 3);
    assert_eq!((x.len(), count(&x, 1)), (100, 50));
    let b = synthetic::blobs(20, &[(0.0, 0.0), (5.0, 5.0)], 0.5, 2);
    let mean_x1: f32 =
        b.x.chunks_exact(2).zip(&b.labels).filter(|(_, l)| **l == 1).map(|(p, _)| p[0]).sum::<f32>() / 20.0;
    assert!((mean_x1 - 5.0).abs() < 0.5, "{mean_x1}");
}

#[test]
fn splits_are_stratified_disjoint_and_seeded() {
    let d = iris();
    let (train, test) = d.split(0.2, 42).unwrap();
    assert_eq!((train.len(), test.len()), (120, 30));
    let Targets::Classes { labels, .. } = &test.targets else { panic!("classes expected") };
    for c in 0..3 {
        assert_eq!(labels.iter().filter(|&&l| l == c).count(), 10, "class {c} in the test split");
    }
    // Disjoint and complete: every row appears exactly once across the two splits.
    let mut rows: Vec<Vec<u32>> = train
        .features
        .chunks_exact(4)
        .chain(test.features.chunks_exact(4))
        .map(|r| r.iter().map(|v| v.to_bits()).collect())
        .collect();
    let mut all: Vec<Vec<u32>> =
        d.features.chunks_exact(4).map(|r| r.iter().map(|v| v.to_bits()).collect()).collect();
    rows.sort();
    all.sort();
    assert_eq!(rows, all);
    assert_eq!(d.split(0.2, 42).unwrap().1, test, "same seed, same split");
    assert!(d.split(1.5, 1).is_err());
}

#[test]
fn batches_cover_each_item_once_per_epoch() {
    let d = iris();
    let b = Batcher { batch_size: 32, shuffle: true, drop_last: false, seed: 9 };
    let batches: Vec<Batch> = b.epoch(&d, 0).unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(batches.iter().map(|x| x.x.dims()[0]).collect::<Vec<_>>(), vec![32, 32, 32, 32, 22]);
    assert_eq!(batches[0].x.dims(), &[32, 4]);
    let mut seen: Vec<usize> = b.order(150, 0);
    seen.sort_unstable();
    assert_eq!(seen, (0..150).collect::<Vec<_>>());
    assert_eq!(b.order(150, 0), b.order(150, 0));
    assert_ne!(b.order(150, 0), b.order(150, 1), "a new order each epoch");
    // Batch rows are the dataset's rows, with their labels.
    let first = b.order(150, 0)[0];
    assert_eq!(batches[0].x.to_vec()[..4], d.features[first * 4..first * 4 + 4]);
    let dropped = Batcher { drop_last: true, ..b.clone() };
    assert_eq!(dropped.epoch(&d, 0).unwrap().count(), 4);
    assert!(Batcher { batch_size: 0, ..b }.epoch(&d, 0).is_err());
}

#[test]
fn regression_tables_batch_their_targets() {
    let t = parse_csv(include_bytes!("../../datasets/advertising.csv")).unwrap();
    let d = Dataset::regression(&t, &["TV", "Radio", "Newspaper"], "Sales").unwrap();
    assert_eq!((d.len(), d.feature_len()), (200, 3));
    let b = Batcher { batch_size: 50, shuffle: false, drop_last: false, seed: 0 };
    let first = b.epoch(&d, 0).unwrap().next().unwrap().unwrap();
    assert_eq!(first.y.dims(), &[50, 1]);
    assert_eq!(first.y.to_vec()[..2], [22.1, 10.4]);
    assert!(Dataset::regression(&t, &["TV"], "Profit").is_err());
}

#[test]
fn normalization_uses_training_statistics_only() {
    let (train, test) = iris().split(0.2, 1).unwrap();
    let fit = |mode| NormStats::fit(mode, &train).unwrap();
    let mut x = train.features.to_vec();
    fit(Normalization::UnitRange).apply(&mut x, 4);
    let (lo, hi) = x.iter().fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    assert!(lo.abs() < 1e-6 && (hi - 1.0).abs() < 1e-6, "{lo}..{hi}");
    let mut x = train.features.to_vec();
    fit(Normalization::SymmetricRange).apply(&mut x, 4);
    assert!(x.iter().all(|v| (-1.0 - 1e-6..=1.0 + 1e-6).contains(v)));
    let mut x = train.features.to_vec();
    fit(Normalization::ZScore).apply(&mut x, 4);
    let n = x.len() as f32;
    let mean = x.iter().sum::<f32>() / n;
    let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / n;
    assert!(mean.abs() < 1e-4 && (var - 1.0).abs() < 1e-3, "{mean} {var}");
    // The test split is transformed with the training statistics, so it need not be exactly centred.
    let stats = fit(Normalization::ZScore);
    let mut t = test.clone();
    stats.apply_to(&mut t);
    assert_eq!(t.features[0], (test.features[0] - stats.shift[0]) * stats.scale[0]);
}

#[test]
fn per_channel_z_score_standardises_each_channel() {
    // Two channels of 2x2 "images": channel 0 around 100, channel 1 around -3.
    let features: Vec<f32> = (0..10)
        .flat_map(|i| {
            let i = i as f32;
            [100.0 + i, 101.0 + i, 99.0, 100.0, -3.0, -2.0 - i * 0.1, -4.0, -3.0]
        })
        .collect();
    let d = Dataset {
        features: features.into(),
        feature_shape: vec![2, 2, 2],
        targets: Targets::Classes { labels: vec![0; 10], classes: 1 },
        class_names: vec!["x".into()],
    };
    let stats = NormStats::fit(Normalization::ZScorePerChannel, &d).unwrap();
    assert_eq!((stats.shift.len(), stats.scale.len()), (2, 2));
    let mut x = d.features.to_vec();
    stats.apply(&mut x, 8);
    for c in 0..2 {
        let v: Vec<f32> = x.chunks_exact(8).flat_map(|item| item[c * 4..c * 4 + 4].to_vec()).collect();
        let mean = v.iter().sum::<f32>() / v.len() as f32;
        let var = v.iter().map(|e| (e - mean).powi(2)).sum::<f32>() / v.len() as f32;
        assert!(mean.abs() < 1e-4 && (var - 1.0).abs() < 1e-3, "channel {c}: {mean} {var}");
    }
}
