//! Plot data: every figure a small preset asks for is built and drawn; the curvature study's closed forms
//! agree with finite differences of the lab's own losses; PNG files come out of the CLI.
#![cfg(not(target_arch = "wasm32"))]

use std::path::Path;

use cvjourney::chapters::{PlotKind, preset, presets, run_preset};
use cvjourney::loss;
use cvjourney::plot::{Figure, curvature, figures};
use cvjourney::tensor::Tensor;
use cvjourney::train::{DatasetSpec, DirSource};

fn committed() -> DirSource {
    DirSource(Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets"))
}

#[test]
fn every_small_preset_builds_its_figures() {
    for p in presets() {
        if matches!(p.config.dataset, DatasetSpec::FashionMnist { .. }) || p.needs_cifar() {
            continue;
        }
        let p = p.quick(3);
        let (outcomes, session) = run_preset(&p, &committed(), &mut |_| {}).unwrap();
        let figs = figures(&p, &outcomes, &session).unwrap_or_else(|e| panic!("{}: {e}", p.id));
        assert!(figs.len() >= p.plots.len(), "{}", p.id);
        for f in &figs {
            match f {
                Figure::Lines { series, .. } => {
                    assert!(series.iter().all(|s| !s.points.is_empty()), "{}: {}", p.id, f.title())
                }
                Figure::Regions { cells, cols, points, .. } => {
                    assert_eq!(cells.len(), cols * cols);
                    assert!(!points.is_empty());
                }
                Figure::Contour { values, paths, .. } => {
                    assert!(values.iter().all(|v| v.is_finite()));
                    assert!(paths.iter().all(|p| !p.points.is_empty()), "{}", p.id);
                }
                Figure::Scatter { points, line, .. } => assert!(!points.is_empty() && line.len() > 2),
                Figure::Bars { labels, series, .. } => {
                    assert!(series.iter().all(|s| s.1.len() == labels.len()))
                }
                Figure::Matrix { labels, counts, .. } => {
                    assert_eq!(counts.len(), labels.len() * labels.len());
                    let held_out = if session.test.is_empty() { &session.train } else { &session.test };
                    assert_eq!(counts.iter().sum::<u32>() as usize, held_out.len());
                }
                Figure::Images { width, height, images, .. } => {
                    assert!(
                        images.iter().all(|i| i.len() == width * height || i.len() == 3 * width * height)
                    );
                }
                Figure::Graph { nodes, edges, .. } => {
                    assert!(edges.iter().all(|&(a, b)| a < nodes.len() && b < nodes.len()));
                }
            }
        }
    }
}

#[test]
fn the_contour_is_lowest_near_where_descent_ends() {
    let p = preset("ch1-tv-sgd").unwrap();
    assert!(p.plots.contains(&PlotKind::LossContour));
    let (outcomes, session) = run_preset(&p, &committed(), &mut |_| {}).unwrap();
    let figs = figures(&p, &outcomes, &session).unwrap();
    let Some(Figure::Contour { x, y, cols, values, paths, .. }) =
        figs.iter().find(|f| matches!(f, Figure::Contour { .. }))
    else {
        panic!("no contour")
    };
    let best = values.iter().enumerate().min_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
    let at = |(lo, hi): (f32, f32), k: usize| lo + (hi - lo) * k as f32 / (cols - 1) as f32;
    let (bw, bb) = (at(*x, best % cols), at(*y, best / cols));
    assert_eq!(paths[0].points.len(), session.steps() as usize + 1);
    let end = paths[0].points.last().unwrap();
    // Per-sample SGD wanders around the minimum; it ends within a few grid cells of it.
    let cell = ((x.1 - x.0) / *cols as f32).max((y.1 - y.0) / *cols as f32);
    assert!(
        (end.0 - bw).abs() < 8.0 * cell && (end.1 - bb).abs() < 8.0 * cell,
        "end {end:?}, min ({bw}, {bb})"
    );
}

#[test]
fn bce_is_convex_along_a_weight_and_mse_on_a_sigmoid_is_not() {
    // Iris-2 as the chapter uses it: the first feature, labels 0/1 (any real data shows it).
    let x: Vec<f32> = (0..40).map(|i| (i as f32 - 20.0) / 8.0).collect();
    let y: Vec<f32> =
        x.iter().enumerate().map(|(i, &v)| f32::from(v + 0.3 * ((i % 3) as f32 - 1.0) > 0.0)).collect();
    let ws: Vec<f32> = (0..=200).map(|i| -10.0 + i as f32 * 0.1).collect();
    let rows = curvature(&x, &y, &ws);
    assert!(rows.iter().all(|r| r.4 >= 0.0), "BCE'' must never be negative");
    assert!(rows.iter().any(|r| r.3 < -1e-3), "MSE on a sigmoid must curve downwards somewhere");
    // The closed forms agree with central differences of the lab's own loss functions (f64 reference
    // above, f32 tensors here: h = 0.05 keeps the rounding error far below the tolerance).
    let xs = Tensor::from_slice(&x, [x.len()]).unwrap();
    let ys = Tensor::from_slice(&y, [y.len()]).unwrap();
    let lab = |w: f32| {
        let z = xs.mul_scalar(w);
        let mse = loss::mse(&z.sigmoid(), &ys).unwrap().item().unwrap();
        let bce = loss::binary_cross_entropy_with_logits(&z, &ys).unwrap().item().unwrap();
        (f64::from(mse), f64::from(bce))
    };
    let h = 0.05f32;
    for r in rows.iter().step_by(10) {
        let ((m0, b0), (m1, b1), (m2, b2)) = (lab(r.0 - h), lab(r.0), lab(r.0 + h));
        let d2 = |a: f64, b: f64, c: f64| (a - 2.0 * b + c) / f64::from(h * h);
        assert!((d2(m0, m1, m2) - r.3).abs() < 2e-2, "MSE'' at w = {}: {} vs {}", r.0, d2(m0, m1, m2), r.3);
        assert!((d2(b0, b1, b2) - r.4).abs() < 2e-2, "BCE'' at w = {}: {} vs {}", r.0, d2(b0, b1, b2), r.4);
        assert!((m1 - r.1).abs() < 1e-4 && (b1 - r.2).abs() < 1e-4, "losses at w = {}", r.0);
    }
}

#[test]
fn the_cli_writes_a_png_of_the_plots() {
    let out = std::env::temp_dir().join(format!("cvjourney-plot-{}.png", std::process::id()));
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_cvjourney"))
        .args(["run", "ch3-iris-regions", "--epochs", "20", "--plot"])
        .arg(&out)
        .env("CVJOURNEY_DATA", concat!(env!("CARGO_MANIFEST_DIR"), "/datasets"))
        .output()
        .unwrap();
    assert!(status.status.code().is_some(), "{status:?}");
    let bytes =
        std::fs::read(&out).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&status.stderr)));
    let _ = std::fs::remove_file(&out);
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    // Two 560x380 figures side by side: a drawing, not an empty image, compresses to well over 10 kB.
    assert!(bytes.len() > 10_000, "{} bytes", bytes.len());
}

/// `drawFigure` takes figures from JavaScript: degenerate or hostile ones draw something or return an
/// error, and never panic (a panic would take the page's module down).
#[test]
fn degenerate_figures_never_panic() {
    use cvjourney::plot::{Series, draw, register_font};
    use plotters::prelude::*;
    register_font().unwrap();
    let nan = f32::NAN;
    let figs = vec![
        Figure::Lines {
            guide: None,
            title: "".into(),
            x_label: "".into(),
            y_label: "".into(),
            series: vec![],
        },
        Figure::Lines {
            guide: None,
            title: "nan".into(),
            x_label: "".into(),
            y_label: "".into(),
            series: vec![Series { label: "a".into(), points: vec![(nan, nan), (1.0, f32::INFINITY)] }],
        },
        Figure::Scatter {
            title: "".into(),
            x_label: "".into(),
            y_label: "".into(),
            points: vec![],
            line: vec![],
        },
        Figure::Scatter {
            title: "far".into(),
            x_label: "".into(),
            y_label: "".into(),
            points: vec![(0.0, 0.0), (1.0, 1.0)],
            line: vec![(-1e35, 1e35), (0.5, 0.5)],
        },
        Figure::Regions {
            title: "".into(),
            x_label: "".into(),
            y_label: "".into(),
            x: (1.0, 1.0),
            y: (nan, 0.0),
            cols: 0,
            cells: vec![200; 7],
            points: vec![(nan, 0.0, 255), (3e38, -3e38, 0)],
            classes: vec!["a".into()],
        },
        Figure::Contour {
            title: "".into(),
            x_label: "".into(),
            y_label: "".into(),
            x: (2.0, -2.0),
            y: (0.0, 1.0),
            cols: 0,
            values: vec![],
            paths: vec![Series { label: "far".into(), points: vec![(nan, nan), (1e30, -1e30), (0.5, 0.5)] }],
        },
        Figure::Contour {
            title: "".into(),
            x_label: "".into(),
            y_label: "".into(),
            x: (0.0, 1.0),
            y: (0.0, 1.0),
            cols: 3,
            values: vec![nan, -1.0, f32::INFINITY, 0.0],
            paths: vec![],
        },
        Figure::Bars {
            title: "".into(),
            y_label: "".into(),
            labels: vec!["a".into()],
            series: vec![("s".into(), vec![nan, 1.0, 2.0])],
        },
    ];
    let figs = [
        figs,
        vec![
            Figure::Matrix { title: "".into(), labels: vec!["a".into()], counts: vec![] },
            Figure::Matrix {
                title: "".into(),
                labels: vec!["a".into(), "b".into()],
                counts: vec![1, 0, 5, 9],
            },
            Figure::Images {
                title: "".into(),
                width: 0,
                height: 3,
                images: vec![vec![]],
                captions: vec![],
                columns: 0,
            },
            Figure::Graph { title: "".into(), nodes: vec![], edges: vec![(3, 9)], shown: Some(4) },
            Figure::Images {
                title: "".into(),
                width: 2,
                height: 2,
                images: vec![vec![nan, 2.0], vec![0.5; 4]],
                captions: vec!["x".into()],
                columns: 9,
            },
        ],
    ]
    .concat();
    let mut buffer = vec![0u8; 300 * 200 * 3];
    for fig in &figs {
        let area = BitMapBackend::with_buffer(&mut buffer, (300, 200)).into_drawing_area();
        let _ = draw(fig, &area);
    }
}

/// Galleries of colour data are in colour: CIFAR-format test images come out as three planes and are drawn
/// as such (a red picture paints red pixels); the first convolution's feature maps come row by row, each
/// image then its maps, on one grid size, the maps activated (no negative values).
#[test]
fn galleries_show_colour_images_and_feature_maps() {
    use cvjourney::plot::draw;
    use plotters::prelude::*;
    let data = crate::cifar_files(30, true, 9);
    let mut p = preset("ch6-cifar-vgg16").unwrap().quick(1);
    p.config.model.conv.iter_mut().for_each(|b| b.channels = (b.channels / 8).max(4));
    p.config.model.hidden = vec![16];
    let (outcomes, session) = run_preset(&p, &data, &mut |_| {}).unwrap();
    let figs = figures(&p, &outcomes, &session).unwrap();
    let find = |start: &str| {
        figs.iter().find(|f| f.title().starts_with(start)).unwrap_or_else(|| panic!("no '{start}' figure"))
    };
    let Figure::Images { width, height, images, captions, .. } = find("The first test images") else {
        panic!("samples are a gallery")
    };
    assert_eq!((*width, *height, images.len(), captions.len()), (32, 32, 12, 12));
    assert!(images.iter().all(|i| i.len() == 3 * 32 * 32 && i.iter().all(|v| (0.0..=1.0).contains(v))));
    assert!(captions[0] == "airplane" || captions[0].starts_with("airplane →"), "{captions:?}");
    let Figure::Images { width, images, captions, columns, .. } = find("Feature maps") else {
        panic!("feature maps are a gallery")
    };
    assert_eq!((*width, *columns, images.len()), (32, 5, 15), "3 images, each with 4 maps");
    assert_eq!(&captions[..2], ["input", "map 1"]);
    assert_eq!(images[0].len(), 3 * 32 * 32, "the input in colour");
    assert!(images[1].len() == 32 * 32 && images[1].iter().all(|v| (0.0..=1.0).contains(v)));
    // A pure red picture paints red pixels.
    let red: Vec<f32> = [vec![1.0; 16], vec![0.0; 32]].concat();
    let fig = Figure::Images {
        title: "red".into(),
        width: 4,
        height: 4,
        images: vec![red],
        captions: vec![],
        columns: 1,
    };
    cvjourney::plot::register_font().unwrap();
    let mut buffer = vec![255u8; 200 * 200 * 3];
    draw(&fig, &BitMapBackend::with_buffer(&mut buffer, (200, 200)).into_drawing_area()).unwrap();
    let reds = buffer.chunks(3).filter(|p| p == &[255, 0, 0]).count();
    assert!(reds > 1000, "{reds} red pixels");
}

/// A drawn confusion matrix says where its cells are: the centre of the cell (true 2, predicted 0) holds
/// its count's full colour, the empty cells stay white. The page maps clicks with these spans.
#[test]
fn a_drawn_confusion_matrix_reports_its_cells() {
    use cvjourney::plot::draw_cells;
    use plotters::prelude::*;
    cvjourney::plot::register_font().unwrap();
    let fig = Figure::Matrix {
        title: "m".into(),
        labels: vec!["a".into(), "b".into(), "c".into()],
        counts: vec![0, 0, 0, 0, 0, 0, 9, 0, 0],
    };
    let (w, h) = (300u32, 240u32);
    let mut buffer = vec![0u8; (w * h * 3) as usize];
    let cells = draw_cells(&fig, &BitMapBackend::with_buffer(&mut buffer, (w, h)).into_drawing_area())
        .unwrap()
        .expect("a matrix has cells");
    assert_eq!(cells.k, 3);
    assert!(cells.x.0 > 0 && cells.x.1 <= w as i32 && cells.y.0 > 0 && cells.y.1 <= h as i32, "{cells:?}");
    let pixel = |row: usize, col: usize| {
        // A quarter into the cell: its centre holds the count in text.
        let at = |(a, b): (i32, i32), i: usize| a + (b - a) * (4 * i as i32 + 1) / 12;
        let (x, y) = (at(cells.x, col) as u32, at(cells.y, row) as u32);
        let i = ((y * w + x) * 3) as usize;
        [buffer[i], buffer[i + 1], buffer[i + 2]]
    };
    assert!(pixel(2, 0).iter().any(|&c| c < 128), "{:?}", pixel(2, 0));
    for (r, c) in [(0, 0), (1, 1), (2, 2), (0, 2)] {
        assert!(pixel(r, c).iter().all(|&v| v > 200), "cell ({r}, {c}): {:?}", pixel(r, c));
    }
    assert!(
        draw_cells(
            &Figure::Images {
                title: "".into(),
                width: 1,
                height: 1,
                images: vec![],
                captions: vec![],
                columns: 0
            },
            &BitMapBackend::with_buffer(&mut buffer, (w, h)).into_drawing_area()
        )
        .unwrap()
        .is_none()
    );
}

/// Per-layer histograms: one curve per activation layer (ReLU outputs never below zero) and per weight
/// gradient, each a distribution (shares summing to 1); the binning itself on known values.
#[test]
fn per_layer_histograms_describe_activations_and_gradients() {
    use cvjourney::train::Histogram;
    let h = Histogram::of("x".into(), &[0.0, 1.0, 2.0, 3.0, f32::NAN], 2);
    assert_eq!((h.lo, h.hi, h.shares.clone()), (0.0, 3.0, vec![0.5, 0.5]));
    assert_eq!(Histogram::of("c".into(), &[2.0; 5], 4).shares.iter().sum::<f32>(), 1.0);
    let mut p = preset("ch4-rings-mlp").unwrap().quick(2);
    p.plots = vec![PlotKind::Histograms];
    let (outcomes, session) = run_preset(&p, &committed(), &mut |_| {}).unwrap();
    let figs = figures(&p, &outcomes, &session).unwrap();
    assert_eq!(figs.len(), 2, "activations and gradients");
    let activation_layers = session.model.layers.iter().filter(|l| l.describe() == "ReLU").count();
    let weights = session.model.layers.iter().filter(|l| !l.parameters().is_empty()).count();
    for (fig, expected) in figs.iter().zip([activation_layers, weights]) {
        let Figure::Lines { series, .. } = fig else { panic!("a histogram overlay is lines") };
        assert_eq!(series.len(), expected, "{}", fig.title());
        for s in series {
            let total: f32 = s.points.iter().map(|p| p.1).sum();
            assert!((total - 1.0).abs() < 1e-4, "{}: {total}", s.label);
        }
    }
    let Figure::Lines { series, .. } = &figs[0] else { unreachable!() };
    assert!(series.iter().all(|s| s.label.ends_with("ReLU") && s.points[0].0 >= 0.0), "{series:?}");
}

/// Chapter 1's "why vectorize": the three ways of computing one epoch's gradient agree (the figure is
/// refused otherwise) and each is timed; no speed is asserted here (that belongs to benchmarks).
#[test]
fn why_vectorize_times_three_ways_that_agree() {
    let p = preset("ch1-three-features").unwrap().quick(2);
    assert!(p.plots.contains(&PlotKind::Vectorize));
    let (outcomes, session) = run_preset(&p, &committed(), &mut |_| {}).unwrap();
    let figs = figures(&p, &outcomes, &session).unwrap();
    let Some(Figure::Bars { title, labels, series, .. }) =
        figs.iter().find(|f| matches!(f, Figure::Bars { .. }))
    else {
        panic!("no timing bars")
    };
    assert_eq!(labels.len(), 3);
    assert!(title.contains(&format!("over {} rows", session.train.len())), "{title}");
    assert!(series[0].1.iter().all(|v| v.is_finite() && *v > 0.0), "{series:?}");
    eprintln!("{title}");
}
