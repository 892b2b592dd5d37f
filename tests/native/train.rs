//! Training sessions end to end on the CPU: the first success checks of chapters 1-4 (issue 7 adds the
//! presets and the rest), the divergence guard, determinism.
#![cfg(not(target_arch = "wasm32"))]

use cvjourney::data::Normalization;
use cvjourney::nn::{Activation, Init, Module};
use cvjourney::optim::{OptimizerKind, Schedule};
use cvjourney::train::*;

/// The committed small datasets (Advertising, Iris) are all these runs need.
fn source() -> DirSource {
    DirSource(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets"))
}

fn config(dataset: DatasetSpec, loss: LossKind, hidden: Vec<usize>) -> SessionConfig {
    SessionConfig {
        dataset,
        test_fraction: 0.2,
        normalization: Normalization::ZScore,
        model: ModelSpec::mlp(hidden, Activation::Tanh, Init::XavierUniform { fan_avg: false }),
        loss,
        optimizer: OptimizerKind::Sgd { momentum: 0.0 },
        lr: 0.1,
        schedule: Schedule::Constant,
        batch_size: 16,
        epochs: 100,
        seed: 1,
        weight_decay: 0.0,
        features: Features::Pixels,
    }
}

fn iris_features() -> Vec<String> {
    ["SepalLengthCm", "SepalWidthCm", "PetalLengthCm", "PetalWidthCm"].map(String::from).to_vec()
}

/// Least squares by the normal equations (XᵀX)w = Xᵀy with a bias column, in f64, by Gaussian elimination
/// (index loops on purpose: they read like the elimination on paper).
#[allow(clippy::needless_range_loop)]
fn least_squares_mse(x: &[f32], y: &[f32], d: usize) -> f64 {
    let n = y.len();
    let row = |i: usize| (0..=d).map(move |j| if j == d { 1.0 } else { f64::from(x[i * d + j]) });
    let mut a = vec![vec![0.0f64; d + 2]; d + 1];
    for i in 0..n {
        let r: Vec<f64> = row(i).collect();
        for p in 0..=d {
            for q in 0..=d {
                a[p][q] += r[p] * r[q];
            }
            a[p][d + 1] += r[p] * f64::from(y[i]);
        }
    }
    for c in 0..=d {
        let pivot = a[c][c];
        for k in c..d + 2 {
            a[c][k] /= pivot;
        }
        for r in 0..=d {
            if r != c {
                let f = a[r][c];
                for k in c..d + 2 {
                    a[r][k] -= f * a[c][k];
                }
            }
        }
    }
    let w: Vec<f64> = (0..=d).map(|i| a[i][d + 1]).collect();
    (0..n).map(|i| (row(i).zip(&w).map(|(v, w)| v * w).sum::<f64>() - f64::from(y[i])).powi(2)).sum::<f64>()
        / n as f64
}

#[test]
fn ch1_gradient_descent_reaches_the_least_squares_fit() {
    let features = ["TV", "Radio", "Newspaper"].map(String::from).to_vec();
    let mut c = config(DatasetSpec::Advertising { features }, LossKind::Mse, vec![]);
    (c.test_fraction, c.batch_size, c.epochs) = (0.0, 200, 500);
    // Per-column z-score (for (N, D) features the "channels" are the columns): a well-conditioned problem.
    c.normalization = Normalization::ZScorePerChannel;
    let mut s = Session::new(c, &source()).unwrap();
    s.run().unwrap();
    let cvjourney::data::Targets::Values { values, .. } = &s.train.targets else { panic!() };
    let best = least_squares_mse(&s.train.features, values, 3);
    let (trained, _) = s.evaluate(&s.train).unwrap();
    assert!((f64::from(trained) - best).abs() < 1e-3 * best.max(1.0), "GD {trained} vs least squares {best}");
}

#[test]
fn ch2_iris_two_classes_is_separated_perfectly() {
    let c = config(
        DatasetSpec::Iris { classes: 2, features: iris_features() },
        LossKind::BinaryCrossEntropy,
        vec![],
    );
    let mut s = Session::new(c, &source()).unwrap();
    let history = s.run().unwrap();
    assert_eq!(history.last().unwrap().test_accuracy, Some(1.0));
    assert_eq!(s.test.len(), 20);
}

#[test]
fn ch3_softmax_regression_on_three_iris_species() {
    let mut c =
        config(DatasetSpec::Iris { classes: 3, features: iris_features() }, LossKind::CrossEntropy, vec![]);
    c.epochs = 200;
    let mut s = Session::new(c, &source()).unwrap();
    let acc = s.run().unwrap().last().unwrap().test_accuracy.unwrap();
    assert!(acc >= 0.93, "test accuracy {acc}");
}

#[test]
fn ch4_a_hidden_layer_solves_xor_and_the_rings() {
    let mut c = config(DatasetSpec::Xor, LossKind::CrossEntropy, vec![8]);
    (c.test_fraction, c.batch_size, c.epochs, c.lr) = (0.0, 4, 300, 0.05);
    c.optimizer = OptimizerKind::Adam { betas: (0.9, 0.999), eps: 1e-8 };
    c.normalization = Normalization::None;
    let mut s = Session::new(c, &source()).unwrap();
    s.run().unwrap();
    assert_eq!(s.evaluate(&s.train).unwrap().1, Some(1.0), "XOR: 4 of 4");

    let rings = DatasetSpec::Rings { rings: 3, per_ring: 200, noise: 0.1 };
    let run = |hidden: Vec<usize>| {
        let mut c = config(rings.clone(), LossKind::CrossEntropy, hidden);
        (c.epochs, c.lr, c.batch_size) = (60, 0.01, 32);
        c.optimizer = OptimizerKind::Adam { betas: (0.9, 0.999), eps: 1e-8 };
        c.model.activation = Activation::ReLU;
        let mut s = Session::new(c, &source()).unwrap();
        s.run().unwrap().last().unwrap().test_accuracy.unwrap()
    };
    let linear = run(vec![]);
    let mlp = run(vec![32, 32]);
    assert!(linear <= 0.6, "a linear model cannot separate rings, got {linear}");
    assert!(mlp >= 0.95, "an MLP separates them, got {mlp}");
}

#[test]
fn divergence_is_stopped_with_the_step_and_a_cause() {
    let features = ["TV", "Radio", "Newspaper"].map(String::from).to_vec();
    let mut c = config(DatasetSpec::Advertising { features }, LossKind::Mse, vec![]);
    (c.normalization, c.lr, c.epochs) = (Normalization::None, 0.5, 5);
    let mut s = Session::new(c, &source()).unwrap();
    let e = s.run().unwrap_err().to_string();
    assert!(e.starts_with("training diverged at step"), "{e}");
    assert!(e.contains("learning rate 0.5 is too high for unnormalized inputs"), "{e}");
}

#[test]
fn same_seed_same_metrics_and_absurd_configs_are_refused() {
    let c =
        config(DatasetSpec::Iris { classes: 3, features: iris_features() }, LossKind::CrossEntropy, vec![16]);
    let run = |c: SessionConfig| {
        let mut s = Session::new(c, &source()).unwrap();
        for _ in 0..3 {
            s.run_epoch().unwrap();
        }
        numbers(&s.history)
    };
    assert_eq!(run(c.clone()), run(c.clone()));
    for (field, bad) in [
        ("lr", SessionConfig { lr: -1.0, ..c.clone() }),
        ("batch", SessionConfig { batch_size: 0, ..c.clone() }),
        ("epochs", SessionConfig { epochs: 1_000_000_000, ..c.clone() }),
        (
            "units",
            SessionConfig { model: ModelSpec { hidden: vec![1_000_000], ..c.model.clone() }, ..c.clone() },
        ),
    ] {
        assert!(Session::new(bad, &source()).is_err(), "{field} should be refused");
    }
    let missing = DirSource(std::env::temp_dir().join("no-such-cvjourney-dir"));
    let e = Session::new(c, &missing).err().unwrap().to_string();
    assert!(e.contains("run ./lab setup"), "{e}");
}

/// The metrics that must reproduce exactly (wall time and speed never do).
fn numbers(h: &[EpochMetrics]) -> Vec<(u32, f32, f32, Option<f32>, f32)> {
    h.iter().map(|m| (m.epoch, m.train_loss, m.test_loss, m.test_accuracy, m.lr)).collect()
}

fn iris3(hidden: Vec<usize>) -> SessionConfig {
    config(DatasetSpec::Iris { classes: 3, features: iris_features() }, LossKind::CrossEntropy, hidden)
}

#[test]
fn steps_add_up_to_epochs_with_timing() {
    let mut s = Session::new(iris3(vec![8]), &source()).unwrap();
    assert_eq!(s.steps_per_epoch(), 120usize.div_ceil(16));
    let mut ends = 0;
    for i in 1..=s.steps_per_epoch() * 2 {
        let info = s.step().unwrap();
        assert_eq!(info.step, i as u64);
        assert!(info.loss.is_some_and(f32::is_finite), "CPU losses are read every step");
        ends += usize::from(info.epoch_end.is_some());
        assert_eq!(info.epoch_end.is_some(), i % s.steps_per_epoch() == 0, "step {i}");
    }
    assert_eq!((ends, s.history.len(), s.step_losses.len()), (2, 2, 16));
    let m = &s.history[1];
    assert!(m.examples_per_s > 0.0 && m.seconds > 0.0 && m.seconds >= s.history[0].seconds, "{m:?}");
    // Stepping by hand gives the numbers `run` gives.
    let mut t = Session::new(iris3(vec![8]), &source()).unwrap();
    t.run_epoch().unwrap();
    t.run_epoch().unwrap();
    assert_eq!(numbers(&s.history), numbers(&t.history));
}

#[test]
fn a_checkpoint_resumes_exactly_where_it_stopped() {
    let mut c = iris3(vec![8]);
    c.optimizer = OptimizerKind::Adam { betas: (0.9, 0.999), eps: 1e-8 };
    let mut straight = Session::new(c.clone(), &source()).unwrap();
    for _ in 0..4 {
        straight.run_epoch().unwrap();
    }
    let mut first = Session::new(c.clone(), &source()).unwrap();
    first.run_epoch().unwrap();
    first.run_epoch().unwrap();
    let bytes = first.checkpoint().unwrap();
    let mut resumed = Session::new(c, &source()).unwrap();
    resumed.restore(&bytes).unwrap();
    assert_eq!((resumed.history.len(), resumed.steps()), (2, first.steps()));
    resumed.run_epoch().unwrap();
    resumed.run_epoch().unwrap();
    assert_eq!(numbers(&resumed.history), numbers(&straight.history));
    // A checkpoint of another architecture is refused with the reason.
    let mut other = Session::new(iris3(vec![4]), &source()).unwrap();
    let e = other.restore(&bytes).unwrap_err().to_string();
    assert!(e.contains("tensor '0.weight' is F32 [8, 4]; the model needs F32 [4, 4]"), "{e}");
    assert!(other.restore(&bytes[..bytes.len() / 2]).is_err());
}

#[test]
fn layer_stats_find_dead_relus_and_gradients() {
    let mut c = iris3(vec![16, 16]);
    c.model.activation = Activation::ReLU;
    let mut s = Session::new(c, &source()).unwrap();
    s.run_epoch().unwrap();
    let stats = s.layer_stats(30).unwrap();
    assert_eq!(stats.len(), 5, "{stats:?}");
    assert!(stats[0].layer.starts_with("0 Linear(4 -> 16)"), "{}", stats[0].layer);
    assert!(stats[0].weight_grad_std.unwrap() > 0.0);
    assert!(stats[1].weight_grad_std.is_none());
    // Kill every unit of the first ReLU layer: a large negative bias.
    let bias = s.model.named_parameters().into_iter().find(|(n, _)| n == "0.bias").unwrap().1;
    bias.assign(&[-100.0; 16]).unwrap();
    let dead = s.layer_stats(30).unwrap();
    assert_eq!(dead[1].dead_fraction, 1.0);
    assert_eq!(dead[1].activation_std, 0.0);
}

#[test]
fn tracing_records_the_parameter_path() {
    let features = vec!["TV".to_string()];
    let mut s = Session::new(config(DatasetSpec::Advertising { features }, LossKind::Mse, vec![]), &source())
        .unwrap();
    s.trace_parameters().unwrap();
    s.run_epoch().unwrap();
    let trace = s.trace.as_ref().unwrap();
    assert_eq!(trace.len(), 1 + s.steps_per_epoch());
    assert!(trace.iter().all(|p| p.len() == 2));
    assert_ne!(trace[0], trace[trace.len() - 1]);
    let mut big = Session::new(iris3(vec![64]), &source()).unwrap();
    assert!(big.trace_parameters().is_err());
}

/// conv/pool output sizes: the formula ⌊(S − K + 2P)/stride⌋ + 1 against the shapes the layers actually
/// produce, for 50 random settings.
#[test]
fn conv_and_pool_output_sizes_match_the_formula() {
    use cvjourney::nn::{Conv2d, MaxPool2d, Padding};
    use cvjourney::tensor::{Rng, Tensor};
    let mut rng = Rng::new(3);
    let mut pick =
        |lo: usize, hi: usize| lo + (rng.uniform() * (hi - lo + 1) as f32) as usize % (hi - lo + 1);
    for _ in 0..50 {
        let (s, k, stride, p) = (pick(1, 20), pick(1, 7), pick(1, 3), pick(0, 3));
        let x = Tensor::zeros([1, 2, s, s]);
        let conv = Conv2d::new(2, 3, k, stride, Padding::Explicit(p), Init::XavierUniform { fan_avg: false });
        let want = conv_output_size(s, k, stride, p);
        match (conv.forward(&x), want) {
            (Ok(y), Some(o)) => assert_eq!(y.dims(), &[1, 3, o, o], "S {s} K {k} stride {stride} P {p}"),
            (Err(_), None) => {}
            (got, want) => panic!("S {s} K {k} stride {stride} P {p}: {got:?} vs {want:?}"),
        }
        if p <= k / 2 {
            let pool = MaxPool2d { kernel: k, stride, padding: p };
            match (pool.forward(&x), want) {
                (Ok(y), Some(o)) => assert_eq!(y.dims(), &[1, 2, o, o]),
                (Err(_), None) => {}
                (got, want) => panic!("pool S {s} K {k} stride {stride} P {p}: {got:?} vs {want:?}"),
            }
        }
    }
}

#[test]
fn five_poolings_collapse_a_28x28_image_with_a_clear_message() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    if !dir.join("fashion-mnist/t10k-images-idx3-ubyte.gz").is_file() {
        return; // data/ not installed: the Fashion-MNIST checks run under ./lab test
    }
    let mut c = cvjourney::chapters::preset("ch6-vgg-blocks").unwrap().quick(1).config;
    let block = c.model.conv[0];
    c.model.conv = vec![block; 5];
    let e = Session::new(c, &DirSource(dir)).err().unwrap().to_string();
    assert!(
        e.contains("block 5: the 2x2 pooling window does not fit the 1x1 image")
            && e.contains("28x28 is gone after five"),
        "{e}"
    );
}

#[test]
fn the_model_walk_through_gives_each_layers_shape_or_the_reason_it_cannot_be_built() {
    let p = cvjourney::chapters::preset("ch6-vgg-blocks").unwrap();
    let rows = describe_model(&p.config).unwrap();
    let shapes: Vec<&str> = rows.iter().map(|r| r.shape.as_str()).collect();
    assert_eq!(shapes[0], "[N, 1, 28, 28]");
    assert!(shapes.contains(&"[N, 16, 28, 28]") && shapes.contains(&"[N, 32, 7, 7]"), "{shapes:?}");
    assert_eq!(*shapes.last().unwrap(), "[N, 10]");
    // 16·(1·9) + 16, 32·(16·9) + 32, 64·1568 + 64, 10·64 + 10
    let total: usize = rows.iter().map(|r| r.parameters).sum();
    assert_eq!(total, 160 + 4640 + 100_416 + 650);
    let all_conv = describe_model(&cvjourney::chapters::preset("ch6-all-conv").unwrap().config).unwrap();
    assert_eq!(
        all_conv.iter().map(|r| r.parameters).sum::<usize>(),
        total,
        "the same network in another shape"
    );
    let mut bad = p.config.clone();
    bad.model.conv = vec![bad.model.conv[0]; 5];
    let e = describe_model(&bad).unwrap_err().to_string();
    assert!(e.contains("28x28 is gone after five"), "{e}");
    let toy = describe_model(&cvjourney::chapters::preset("ch5-ravine").unwrap().config).unwrap();
    assert_eq!(toy.last().unwrap().shape, "scalar");
}

/// Chapter 8's toggles build the layers they name, train, and refuse absurd values.
#[test]
fn model_toggles_build_their_layers_and_train() {
    let rings = DatasetSpec::Rings { rings: 3, per_ring: 60, noise: 0.1 };
    let mut c = config(rings, LossKind::CrossEntropy, vec![16, 16, 16]);
    c.model.activation = Activation::ReLU;
    (c.model.batch_norm, c.model.dropout, c.model.input_noise, c.model.residual) = (true, 0.2, 0.1, true);
    c.weight_decay = 1e-3;
    let rows = describe_model(&c).unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r.layer.as_str()).collect();
    let joined = names.join(" | ");
    for want in ["GaussianNoise", "BatchNorm", "Dropout", "Residual"] {
        assert!(joined.contains(want), "{want} missing: {joined}");
    }
    // The first hidden layer changes width (2 -> 16): no skip there; the next two get one each.
    assert_eq!(names.iter().filter(|n| n.starts_with("Residual")).count(), 2, "{joined}");
    let mut s = Session::new(c.clone(), &source()).unwrap();
    let m = s.run_epoch().unwrap();
    assert!(m.train_loss.is_finite() && m.test_accuracy.is_some());
    // The checkpoint carries BatchNorm's running statistics and restores exactly.
    let bytes = s.checkpoint().unwrap();
    let mut t = Session::new(c.clone(), &source()).unwrap();
    t.restore(&bytes).unwrap();
    assert_eq!(s.evaluate(&s.test).unwrap(), t.evaluate(&t.test).unwrap());
    for bad in [
        SessionConfig { weight_decay: 2.0, ..c.clone() },
        SessionConfig { model: ModelSpec { dropout: 1.0, ..c.model.clone() }, ..c.clone() },
    ] {
        assert!(Session::new(bad, &source()).is_err());
    }
}

/// Memory: a model and batch past the budget are refused with the estimate before anything is allocated
/// (16 layers of 16,384 units would be 16 GiB of weights alone); every preset fits, and the estimate
/// counts the batch, optimizer state and convolutions so that it grows with each.
#[test]
fn configs_past_the_memory_budget_are_refused_before_allocation() {
    let mlp = config(
        DatasetSpec::FashionMnist { train_limit: None, test_limit: None },
        LossKind::CrossEntropy,
        vec![],
    );
    let huge =
        SessionConfig { model: ModelSpec { hidden: vec![16_384; 16], ..mlp.model.clone() }, ..mlp.clone() };
    let e = Session::new(huge.clone(), &source()).err().unwrap().to_string();
    assert!(e.contains("MiB") && e.contains("2048 MiB"), "{e}");
    assert!(describe_model(&huge).is_err(), "the shape walk-through must not build it either");
    let wide_batch = SessionConfig {
        batch_size: 100_000,
        model: ModelSpec { hidden: vec![4096; 2], ..mlp.model.clone() },
        ..mlp.clone()
    };
    assert!(Session::new(wide_batch, &source()).err().unwrap().to_string().contains("smaller batch"));
    // The estimate: softmax regression 784 -> 10, batch 16: 7850 parameters x 4, and per example the input
    // and the layer's two outputs (logits, activation), each with its gradient; 4 bytes a float.
    assert_eq!(memory_estimate(&mlp), Some((7850 * 4 + 16 * (784 + 2 * 10) * 2) * 4));
    let double = SessionConfig { batch_size: 32, ..mlp.clone() };
    assert!(memory_estimate(&double).unwrap() > memory_estimate(&mlp).unwrap());
    let conv = SessionConfig {
        model: ModelSpec {
            conv: vec![ConvBlock {
                channels: 8,
                kernel: 3,
                stride: 1,
                padding: cvjourney::nn::Padding::Same,
                pool: Pool::Max,
            }],
            ..mlp.model.clone()
        },
        ..mlp.clone()
    };
    assert!(memory_estimate(&conv).unwrap() > memory_estimate(&mlp).unwrap());
    // Evaluation goes in batches that fit 64 MiB: the whole 4096 rows for a linear model, far fewer for a CNN
    // (a 4096-image batch through the W3 CNN took ~1.6 GiB of wasm memory, which never shrinks).
    assert_eq!(evaluation_rows(&mlp), 4096);
    let w3 = cvjourney::bench::workload("W3").unwrap().config;
    let rows = evaluation_rows(&w3);
    assert!((32..=256).contains(&rows), "{rows} rows per evaluation batch for the W3 CNN");
    for preset in cvjourney::chapters::presets() {
        for run in preset.runs() {
            let need = memory_estimate(&run.config).unwrap_or(0);
            assert!(need <= MEMORY_BUDGET, "{} ({}) needs {} MiB", preset.id, run.label, need >> 20);
        }
    }
}

/// Numerics: NaN injected into the inputs, or into a weight (so into the loss and the gradients), stops the
/// run at the very step it first flows through, with the guard's message; steps before it went normally.
#[test]
fn the_guard_stops_at_the_step_a_nan_appears() {
    let iris =
        config(DatasetSpec::Iris { classes: 3, features: iris_features() }, LossKind::CrossEntropy, vec![8]);
    let mut s = Session::new(iris.clone(), &source()).unwrap();
    for _ in 0..3 {
        s.step().unwrap();
    }
    std::rc::Rc::make_mut(&mut s.train.features).iter_mut().for_each(|v| *v = f32::NAN);
    let e = s.step().unwrap_err().to_string();
    assert!(e.starts_with("training diverged at step 4"), "{e}");

    let mut s = Session::new(iris, &source()).unwrap();
    for _ in 0..5 {
        s.step().unwrap();
    }
    let w = s.model.parameters()[0].clone();
    let mut values = w.to_vec();
    values[0] = f32::NAN;
    w.assign(&values).unwrap();
    let e = s.step().unwrap_err().to_string();
    assert!(e.starts_with("training diverged at step 6"), "{e}");
}

/// Chapter 6's boosted-trees baseline through a session: one forest per class per step, the run over
/// after the last class, Iris learned; what trees cannot do (files, resuming, more epochs, layers) refused.
#[test]
fn boosted_trees_grow_one_forest_per_class_and_refuse_what_they_cannot_do() {
    let trees = |edit: fn(&mut SessionConfig)| {
        let mut c = iris3(vec![]);
        c.epochs = 1;
        c.model.trees = Some(Trees { rounds: 10, depth: 2, shrinkage: 0.3 });
        edit(&mut c);
        c
    };
    let mut s = Session::new(trees(|_| {}), &source()).unwrap();
    assert_eq!(s.steps_per_epoch(), 3);
    let first = s.step().unwrap();
    assert!(first.loss.is_some_and(|l| l.is_finite() && l < 0.7), "{first:?}");
    assert!(first.epoch_end.is_none());
    s.step().unwrap();
    let m = s.step().unwrap().epoch_end.expect("the third forest ends the run");
    assert!(s.finished());
    assert!(m.test_accuracy.unwrap() >= 0.9, "{m:?}");
    assert!(m.examples_per_s > 0.0);
    assert!(s.step().is_err(), "no fourth forest for three classes");
    let graph = cvjourney::plot::graph_figure(&s).unwrap_err();
    for e in [s.export_model().unwrap_err(), s.checkpoint().unwrap_err(), graph] {
        assert!(e.to_string().contains("boosted-trees run cannot be"), "{e}");
    }
    // Same seed, same forests.
    let mut t = Session::new(trees(|_| {}), &source()).unwrap();
    t.run().unwrap();
    assert_eq!(numbers(&s.history)[0].2, numbers(&t.history)[0].2);
    let refused: [fn(&mut SessionConfig); 6] = [
        |c| c.epochs = 2,
        |c| c.model.hidden = vec![8],
        |c| c.loss = LossKind::Mse,
        |c| c.model.trees = Some(Trees { rounds: 0, depth: 2, shrinkage: 0.3 }),
        |c| c.model.trees = Some(Trees { rounds: 10, depth: 2, shrinkage: f32::NAN }),
        |c| c.model.trees = Some(Trees { rounds: 10, depth: 20, shrinkage: 0.3 }),
    ];
    for edit in refused {
        let c = trees(edit);
        assert!(Session::new(c.clone(), &source()).is_err(), "{:?}", c.model);
        assert!(describe_model(&c).is_err(), "{:?}", c.model);
    }
    let rows = describe_model(&trees(|_| {})).unwrap();
    assert_eq!(rows.last().unwrap().shape, "[N, 3]");
}

/// Skip connections by concatenation (dense layers: each layer reads its input next to its output) and
/// around convolutions ('same' padding; a 1x1 convolution on the shortcut where the channels differ for
/// addition; the input's channels passed on for concatenation), with the shapes the walk-through shows,
/// gradients through both branches, and a memory estimate that does not undercount them.
#[test]
fn skips_join_by_addition_or_concatenation_around_dense_and_conv_layers() {
    use cvjourney::nn::Padding;
    let rings = DatasetSpec::Rings { rings: 3, per_ring: 60, noise: 0.1 };
    let mut dense = config(rings, LossKind::CrossEntropy, vec![8, 8]);
    (dense.model.residual, dense.model.join) = (true, SkipJoin::Concat);
    let rows = describe_model(&dense).unwrap();
    let shapes: Vec<&str> = rows.iter().map(|r| r.shape.as_str()).collect();
    // 2 inputs -> [8 | 2] = 10 -> [8 | 10] = 18 -> 3 classes.
    assert_eq!(shapes, ["[N, 2]", "[N, 10]", "[N, 18]", "[N, 3]"], "{rows:?}");
    let mut s = Session::new(dense.clone(), &source()).unwrap();
    assert!(s.run_epoch().unwrap().train_loss.is_finite());

    // Convolutions on 28x28 digits (the MNIST sample `./lab setup` installs).
    let Some(data) = crate::installed(&[crate::MNIST], "the convolutional skips") else { return };
    let block = |channels, padding, pool| ConvBlock { channels, kernel: 3, stride: 1, padding, pool };
    let mut cnn = config(DatasetSpec::MnistSample { limit: Some(200) }, LossKind::CrossEntropy, vec![]);
    cnn.model.activation = Activation::ReLU;
    cnn.model.conv = vec![
        block(4, Padding::Same, Pool::None),
        block(4, Padding::Same, Pool::Max),
        block(6, Padding::Valid, Pool::None),
    ];
    cnn.model.residual = true;
    let conv_rows = |c: &SessionConfig| -> Vec<(String, String, usize)> {
        describe_model(c).unwrap().into_iter().map(|r| (r.layer, r.shape, r.parameters)).collect()
    };
    let added = conv_rows(&cnn);
    let residuals: Vec<_> = added.iter().filter(|r| r.0.starts_with("Residual")).collect();
    // 1 -> 4 channels: a 1x1 shortcut (4 + 4 more parameters); 4 -> 4: the identity; 'valid': no skip.
    assert_eq!(residuals.len(), 2, "{added:?}");
    assert_eq!(residuals[0].2, 4 * 9 + 4 + 4 + 4, "{added:?}");
    assert_eq!(residuals[1].2, 4 * 4 * 9 + 4, "{added:?}");
    assert_eq!(residuals[1].1, "[N, 4, 28, 28]");
    cnn.model.join = SkipJoin::Concat;
    let concatenated = conv_rows(&cnn);
    let shapes: Vec<&str> = concatenated.iter().map(|r| r.1.as_str()).collect();
    // 1 -> [4 | 1] = 5 -> [4 | 5] = 9, pooled to 14x14, then a 'valid' 3x3 to 6 channels of 12x12.
    assert!(shapes.contains(&"[N, 5, 28, 28]") && shapes.contains(&"[N, 9, 28, 28]"), "{concatenated:?}");
    assert!(shapes.contains(&"[N, 9, 14, 14]") && shapes.contains(&"[N, 6, 12, 12]"), "{concatenated:?}");
    for join in [SkipJoin::Add, SkipJoin::Concat] {
        cnn.model.join = join;
        let mut s = Session::new(cnn.clone(), &data).unwrap();
        s.step().unwrap();
        // Every parameter, shortcut included, got a gradient from the step.
        for (name, t) in s.model.named_parameters() {
            let g = t.grad().unwrap_or_else(|| panic!("{join:?}: {name} has no gradient"));
            assert!(g.to_vec().iter().any(|v| *v != 0.0), "{join:?}: {name}");
        }
        // The estimate counts at least the parameters that exist (×4: values, gradients, two moments).
        let params: usize = s.model.parameters().iter().map(|p| p.numel()).sum();
        assert!(memory_estimate(&cnn).unwrap() >= 16 * params as u64, "{join:?}");
    }
}

/// Freezing (chapter 7): the first layer keeps its starting weights through training while the rest
/// learn, the walk-through marks it, the graph leaves it out, and freezing every layer is refused.
#[test]
fn a_frozen_layer_keeps_its_weights_and_leaves_the_graph() {
    let mut c = iris3(vec![8]);
    c.model.frozen = 1;
    let rows = describe_model(&c).unwrap();
    assert!(rows[1].layer.ends_with("(frozen)") && !rows[3].layer.contains("frozen"), "{rows:?}");
    let mut s = Session::new(c.clone(), &source()).unwrap();
    let before: Vec<(String, Vec<f32>)> =
        s.model.named_parameters().into_iter().map(|(n, t)| (n, t.to_vec())).collect();
    s.run_epoch().unwrap();
    for ((name, was), (_, now)) in before.iter().zip(s.model.named_parameters()) {
        let same = *was == now.to_vec();
        assert_eq!(same, name.starts_with("0."), "{name}: frozen layers stay, the others learn");
    }
    let cvjourney::plot::Figure::Graph { nodes, .. } = cvjourney::plot::graph_figure(&s).unwrap() else {
        panic!("not a graph")
    };
    let leaves: Vec<&str> =
        nodes.iter().filter(|n| n.leaf).map(|n| n.label.split(' ').next().unwrap()).collect();
    assert_eq!(leaves.len(), 2, "{leaves:?}");
    assert!(leaves.iter().all(|l| l.starts_with("2.")), "{leaves:?}");
    for frozen in [2, 3, 1000] {
        c.model.frozen = frozen;
        let e = Session::new(c.clone(), &source()).err().unwrap_or_else(|| panic!("{frozen} frozen"));
        assert!(e.to_string().contains("frozen") || e.to_string().contains("nothing to train"), "{e}");
    }
}

/// CIFAR-10 from files in the official binary format (generated here: a band of rows marks the class): the six
/// batches read and cut to limits, 3x32x32 images with CIFAR's class names, per-channel statistics that
/// differ from global ones, a model that learns, and clear errors for a missing or corrupt batch.
#[test]
fn cifar10_batches_load_train_and_fail_clearly() {
    use cvjourney::data::Normalization;
    const RECORD: usize = cvjourney::data::CIFAR_RECORD;
    let source = crate::cifar_files(40, true, 3);
    let mut c = config(
        DatasetSpec::Cifar10 { train_limit: Some(150), test_limit: None },
        LossKind::CrossEntropy,
        vec![16],
    );
    c.normalization = Normalization::ZScorePerChannel;
    c.epochs = 3;
    let mut s = Session::new(c.clone(), &source).unwrap();
    assert_eq!((s.train.len(), s.test.len()), (150, 40));
    assert_eq!(s.train.feature_shape, vec![3, 32, 32]);
    assert_eq!(s.train.class_names[0], "airplane");
    assert_eq!(s.norm.shift.len(), 3, "one mean per colour channel");
    assert!(s.norm.shift[2] > s.norm.shift[0], "{:?}", s.norm.shift);
    let m = s.run().unwrap().last().unwrap().clone();
    assert!(m.test_accuracy.unwrap() > 0.5, "{m:?} train {:?}", s.evaluate(&s.train));
    assert!(s.drawing_classes().is_none(), "the drawing pad cannot feed a colour model");
    assert_eq!(describe_model(&c).unwrap()[0].shape, "[N, 3, 32, 32]");
    // A missing batch names where CIFAR-10 comes from; a truncated one is a format error.
    let mut missing = source.0.clone();
    missing.remove("cifar-10/data_batch_3.bin");
    let e = Session::new(c.clone(), &MemorySource(missing)).err().unwrap().to_string();
    assert!(e.contains("data_batch_3.bin") && e.contains("cifar-10-binary.tar.gz"), "{e}");
    let mut cut = source.0.clone();
    cut.get_mut("cifar-10/test_batch.bin").unwrap().truncate(RECORD * 2 + 17);
    let e = Session::new(c, &MemorySource(cut)).err().unwrap().to_string();
    assert!(e.contains("CIFAR-10") && e.contains("records"), "{e}");
}
