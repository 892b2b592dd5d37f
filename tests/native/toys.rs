//! Chapter 5's toy functions: the tensor expressions equal their scalar references, the optimizers' first
//! steps on the ravine equal a hand computation, the textbook's learning-rate claim is checked as the
//! arithmetic says, and He initialisation keeps deep ReLU activations steady where N(0, 1) explodes.
#![cfg(not(target_arch = "wasm32"))]

use std::path::Path;

use cvjourney::chapters::{RunOutcome, ToyExpect, preset, run_preset};
use cvjourney::tensor::Tensor;
use cvjourney::train::{DirSource, MemorySource, Session, ToyFunction};

const ALL: [ToyFunction; 6] = [
    ToyFunction::Quadratic { a: 9.0 },
    ToyFunction::Ellipse { b: 20.0 },
    ToyFunction::Composite,
    ToyFunction::LogQuartic,
    ToyFunction::Saddle,
    ToyFunction::Quintic,
];

#[test]
fn tensor_expressions_match_the_scalar_reference_and_their_gradients_the_finite_difference() {
    for f in ALL {
        for start in [-1.7f32, -0.3, 0.4, 1.2] {
            let p: Vec<f32> = (0..f.dims()).map(|i| start + 0.37 * i as f32).collect();
            let t = Tensor::from_slice(&p, [p.len()]).unwrap().requires_grad_(true);
            let v = f.value(&t).unwrap();
            let want = f.eval(&p);
            assert!(
                (f64::from(v.item().unwrap()) - want).abs() <= 1e-4 * (1.0 + want.abs()),
                "{f:?} at {p:?}"
            );
            v.backward().unwrap();
            let g = t.grad().unwrap().to_vec();
            for i in 0..p.len() {
                let h = 1e-3;
                let (mut a, mut b) = (p.clone(), p.clone());
                a[i] += h;
                b[i] -= h;
                let fd = (f.eval(&a) - f.eval(&b)) / (2.0 * f64::from(h));
                assert!(
                    (f64::from(g[i]) - fd).abs() <= 1e-2 * (1.0 + fd.abs()),
                    "{f:?} d/dp{i} at {p:?}: {} vs {fd}",
                    g[i]
                );
            }
        }
    }
}

fn run(id: &str, steps: Option<u32>) -> Vec<RunOutcome> {
    let mut p = preset(id).unwrap();
    if let Some(n) = steps {
        p.variants.iter_mut().for_each(|v| v.config.epochs = n);
    }
    run_preset(&p, &MemorySource::default(), &mut |_| {}).unwrap().0
}

/// The first three points of each adaptive optimizer on x² + 20y² from (−4, 1), computed by hand in f64:
/// gradient (2x, 40y); Adagrad G += g², p −= lr·g/√G; RMSProp E = 0.9E + 0.1g², p −= lr·g/√E;
/// Adam with bias correction (β 0.9, 0.999).
#[test]
fn adaptive_optimizers_take_the_hand_computed_first_steps() {
    let outcomes = run("ch5-optimizer-race", Some(3));
    let grad = |p: [f64; 2]| [2.0 * p[0], 40.0 * p[1]];
    let by_hand = |label: &str, lr: f64| -> Vec<[f64; 2]> {
        let (mut p, mut s, mut m, mut v) = ([-4.0, 1.0], [0.0; 2], [0.0; 2], [0.0; 2]);
        let mut path = vec![p];
        for t in 1..=3 {
            let g = grad(p);
            for i in 0..2 {
                match label {
                    "Adagrad" => {
                        s[i] += g[i] * g[i];
                        p[i] -= lr * g[i] / (s[i].sqrt() + 1e-10);
                    }
                    "RMSProp" => {
                        s[i] = 0.9 * s[i] + 0.1 * g[i] * g[i];
                        p[i] -= lr * g[i] / (s[i].sqrt() + 1e-8);
                    }
                    _ => {
                        m[i] = 0.9 * m[i] + 0.1 * g[i];
                        v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i];
                        let (mh, vh) = (m[i] / (1.0 - 0.9f64.powi(t)), v[i] / (1.0 - 0.999f64.powi(t)));
                        p[i] -= lr * mh / (vh.sqrt() + 1e-8);
                    }
                }
            }
            path.push(p);
        }
        path
    };
    for (label, lr) in [("Adagrad", 0.5), ("RMSProp", 0.05), ("Adam", 0.1)] {
        let o = outcomes.iter().find(|o| o.label == label).unwrap();
        let trace = o.trace.as_ref().unwrap();
        let want = by_hand(label, lr);
        assert_eq!(trace.len(), 4, "{label}");
        for (got, want) in trace.iter().zip(&want) {
            for i in 0..2 {
                assert!((f64::from(got[i]) - want[i]).abs() < 1e-5, "{label}: {got:?} vs {want:?}");
            }
        }
    }
}

#[test]
fn at_the_textbooks_lr_001_all_three_quadratics_descend_smoothly() {
    // The book reports smooth / oscillating / diverging at lr 0.01. On a·x² one step multiplies x by
    // (1 − 2a·lr): 0.98, 0.82 and 0.6 at lr 0.01, all smooth. The preset shows the three behaviours at lr
    // 0.1 (0.8, −0.8, −3), and says so.
    let mut p = preset("ch5-quadratics").unwrap();
    p.variants.iter_mut().for_each(|v| v.config.lr = 0.01);
    let outcomes = run_preset(&p, &MemorySource::default(), &mut |_| {}).unwrap().0;
    for o in &outcomes {
        let xs: Vec<f32> = o.trace.as_ref().unwrap().iter().map(|p| p[0]).collect();
        assert!(xs.windows(2).all(|w| w[1] < w[0] && w[1] > 0.0), "{}: {xs:?}", o.label);
    }
    assert_eq!(ToyExpect::Smooth, ToyExpect::Smooth);
    let at_01 = run("ch5-quadratics", None);
    assert!(preset("ch5-quadratics").unwrap().check.verify(&at_01).is_ok());
}

#[test]
fn a_toy_run_refuses_a_bad_start_and_reports_divergence_in_words() {
    let mut p = preset("ch5-quadratics").unwrap();
    let mut c = p.variants.remove(2).config;
    let mut s = Session::new(c.clone(), &MemorySource::default()).unwrap();
    let e = s.run().map(|_| ()).unwrap_err().to_string();
    assert!(e.contains("learning rate 0.1 is too large for this function: try 0.01"), "{e}");
    if let cvjourney::train::DatasetSpec::Toy { start, .. } = &mut c.dataset {
        *start = vec![1.0, 2.0];
    }
    let e = Session::new(c, &MemorySource::default()).err().unwrap().to_string();
    assert!(e.contains("starts from 1 finite coordinates"), "{e}");
}

/// He initialisation keeps the spread of ReLU activations within ×2 across ten layers; N(0, 1) makes it
/// grow by more than 100× (textbook §6.1). Measured on the preset's own network and Fashion-MNIST inputs.
#[test]
fn he_init_keeps_activations_steady_where_a_unit_normal_explodes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    if !dir.join("fashion-mnist/t10k-images-idx3-ubyte.gz").is_file() {
        assert!(!std::env::var("CVJOURNEY_REQUIRE_DATA").is_ok_and(|v| v == "1"), "run ./lab setup");
        eprintln!("note: data/ not installed; He-init check not run");
        return;
    }
    let p = preset("ch5-init").unwrap().quick(1);
    let spread = |label: &str| -> Vec<f32> {
        let v = p.variants.iter().find(|v| v.label == label).unwrap();
        let s = Session::new(v.config.clone(), &DirSource(dir.clone())).unwrap();
        let stats = s.layer_stats(500).unwrap();
        // After each ReLU: layers 2, 4, ..., 20 of Flatten, (Linear, ReLU) x 10, Linear.
        stats.iter().filter(|l| l.layer.ends_with("ReLU")).map(|l| l.activation_std).collect()
    };
    let he = spread("He uniform");
    assert_eq!(he.len(), 10);
    let (lo, hi) = he.iter().fold((f32::INFINITY, 0f32), |(a, b), &v| (a.min(v), b.max(v)));
    assert!(hi / lo < 2.0, "He: {he:?}");
    let big = spread("N(0, 1): too large");
    assert!(big[9] / big[0] > 100.0, "N(0, 1): {big:?}");
    let small = spread("N(0, 0.01): too small");
    assert!(small[9] / small[0] < 1e-3, "N(0, 0.01): {small:?}");
}

/// Chapter 7's first graph: exactly the expected nodes, and the leaves' gradients are 2(ax + b − y)·x and
/// 2(ax + b − y) at the point the run has reached.
#[test]
fn the_first_graph_has_the_expected_nodes_and_gradients() {
    use cvjourney::plot::{Figure, graph_figure};
    let p = preset("ch7-first-graph").unwrap();
    let mut s = Session::new(p.config.clone(), &MemorySource::default()).unwrap();
    for _ in 0..3 {
        s.step().unwrap();
    }
    let f = ToyFunction::AffineSquare { x: 2.0, y: 5.0 };
    let point: Vec<f32> = s.trace.clone().map_or_else(
        || cvjourney::nn::Module::parameters(&s.model).iter().flat_map(|t| t.to_vec()).collect(),
        |t| t.last().unwrap().clone(),
    );
    let (a, b) = (point[0], point[1]);
    let (graph, names) = cvjourney::train::ToyModel::new(f, &point).unwrap().fresh_graph().unwrap();
    let ops: Vec<&str> = graph.nodes.iter().map(|n| n.op).collect();
    let mut sorted = ops.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        ["add", "add_scalar", "leaf", "leaf", "mul_scalar", "pow", "reshape", "sum"],
        "{ops:?}"
    );
    let r = a * 2.0 + b - 5.0;
    for (id, name) in names {
        let node = graph.nodes.iter().find(|n| n.id == id).unwrap();
        let want = if name == "a" { 2.0 * r * 2.0 } else { 2.0 * r };
        assert!((node.grad.unwrap().mean - want).abs() < 1e-5, "∂L/∂{name}: {:?} vs {want}", node.grad);
    }
    // The figure: the same nodes, leaves in the first layer, the loss in the last.
    let Figure::Graph { nodes, edges, .. } = graph_figure(&s).unwrap() else { panic!("not a graph") };
    assert_eq!((nodes.len(), edges.len()), (8, 7));
    // Each leaf sits one layer before the op that reads it: a before a·x, b before a·x + b.
    for (i, n) in nodes.iter().enumerate().filter(|(_, n)| n.leaf) {
        let reader = edges.iter().filter(|e| e.0 == i).map(|e| nodes[e.1].layer).min().unwrap();
        assert_eq!(n.layer + 1, reader, "{}", n.label);
    }
    // backward_traced keeps every node's gradient: the loss's own is 1.
    assert!(nodes.iter().all(|n| n.grad.is_some()), "{nodes:?}");
    assert_eq!(nodes.last().unwrap().grad.as_deref(), Some("∂L = 1.0000"));
    assert!(
        nodes.iter().any(|n| n.label.starts_with("a ")) && nodes.iter().any(|n| n.label.starts_with("b "))
    );
    // The training run's own gradients are untouched by drawing the graph.
    assert!(preset("ch7-first-graph").unwrap().check.verify(&run("ch7-first-graph", None)).is_ok());
}

/// The number after "∂L = " on a drawn node (mean of a tensor's gradient), if it has one.
fn grad_of(node: &cvjourney::plot::GraphBox) -> Option<f32> {
    node.grad.as_deref().map(|g| g.trim_start_matches("∂L = ").trim_start_matches("mean ").parse().unwrap())
}

/// Chapter 7's rules, each computed by the lab's autograd at the run's current (a, b): backward's leaf
/// gradients, accumulation, zero_grad, no_grad, a frozen leaf, and a vector-Jacobian product.
#[test]
fn the_rules_of_autograd_show_what_each_rule_does() {
    use cvjourney::plot::{Figure, autograd_rules};
    let p = preset("ch7-autograd-rules").unwrap();
    let mut s = Session::new(p.config.clone(), &MemorySource::default()).unwrap();
    s.step().unwrap();
    let point: Vec<f32> =
        cvjourney::nn::Module::parameters(&s.model).iter().flat_map(|t| t.to_vec()).collect();
    let (a, b) = (point[0], point[1]);
    let r = 2.0 * (a * 2.0 + b - 5.0);
    let rules = autograd_rules(&s).unwrap();
    assert_eq!(rules.len(), 6);
    let leaf = |f: &Figure, name: &str| -> Option<Option<f32>> {
        let Figure::Graph { nodes, .. } = f else { panic!("not a graph") };
        nodes.iter().find(|n| n.leaf && n.label.starts_with(&format!("{name} "))).map(grad_of)
    };
    let close = |got: Option<Option<f32>>, want: f32| {
        let got = got.flatten().unwrap();
        assert!((got - want).abs() <= 1e-4 * (1.0 + want.abs()), "{got} vs {want}");
    };
    close(leaf(&rules[0], "a"), r * 2.0);
    close(leaf(&rules[0], "b"), r);
    close(leaf(&rules[1], "a"), 2.0 * r * 2.0); // accumulated: twice the first
    close(leaf(&rules[1], "b"), 2.0 * r);
    assert_eq!((leaf(&rules[2], "a"), leaf(&rules[2], "b")), (Some(None), Some(None)), "zero_grad clears");
    let Figure::Graph { nodes, edges, .. } = &rules[3] else { panic!() };
    assert_eq!((nodes.len(), edges.len()), (1, 0), "no_grad records nothing");
    assert!(rules[3].title().contains("refuses"), "{}", rules[3].title());
    assert_eq!(leaf(&rules[4], "a"), None, "a frozen leaf is not in the graph");
    close(leaf(&rules[4], "b"), r);
    close(leaf(&rules[5], "a"), 1.0 + 1.0 + 0.75); // Σ vᵢxᵢ with v = [1, .5, .25], x = [1, 2, 3]
    close(leaf(&rules[5], "b"), 1.75);
    // Other runs have no (a, b): refused with a reason.
    let other =
        Session::new(preset("ch5-saddle").unwrap().runs()[0].config.clone(), &MemorySource::default());
    assert!(autograd_rules(&other.unwrap()).is_err());
}

/// The graph of the model being trained: every parameter a named leaf whose drawn gradient is the one a
/// plain backward gives on the same two items, every node with its gradient (backward reached it), and the
/// run's own gradients and numbers untouched by drawing it.
#[test]
fn the_model_graph_names_every_parameter_with_its_gradient() {
    use cvjourney::data::make_batch;
    use cvjourney::nn::Module;
    use cvjourney::plot::{Figure, graph_figure};
    let p = preset("ch7-model-graph").unwrap();
    let source = DirSource(Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets"));
    let mut s = Session::new(p.config.clone(), &source).unwrap();
    let mut twin = Session::new(p.config.clone(), &source).unwrap();
    for _ in 0..5 {
        s.step().unwrap();
        twin.step().unwrap();
    }
    let Figure::Graph { nodes, edges, .. } = graph_figure(&s).unwrap() else { panic!("not a graph") };
    assert!(edges.iter().all(|&(a, b)| a < b), "nodes come inputs first");
    assert!(nodes.iter().all(|n| n.grad.is_some()), "backward reaches every node");
    assert!(s.model.parameters().iter().all(|t| t.grad().is_none()), "the run's gradients are cleared");
    // The same two items through the model by hand.
    s.model.eval();
    let batch = make_batch(&s.train, &[0, 1]).unwrap();
    let out = s.model.forward(&batch.x).unwrap();
    cvjourney::loss::cross_entropy(&out, &batch.labels).unwrap().backward().unwrap();
    s.model.train();
    for (name, t) in s.model.named_parameters() {
        let node = nodes.iter().find(|n| n.leaf && n.label.starts_with(&format!("{name} "))).expect(&name);
        let g = t.grad().unwrap().to_vec();
        let want = g.iter().sum::<f32>() / g.len() as f32;
        let got = grad_of(node).unwrap();
        assert!((got - want).abs() <= 1e-4 + 1e-3 * want.abs(), "{name}: {got} vs {want}");
        t.zero_grad();
    }
    assert_eq!(nodes.iter().filter(|n| n.leaf).count(), s.model.parameters().len());
    assert_eq!(nodes.last().unwrap().grad.as_deref(), Some("∂L = 1.0000"), "the loss's own gradient");
    // Drawing the graph changed nothing in training.
    s.run().unwrap();
    twin.run().unwrap();
    let losses = |s: &Session| s.history.iter().map(|m| m.test_loss).collect::<Vec<_>>();
    assert_eq!(losses(&s), losses(&twin));
}
