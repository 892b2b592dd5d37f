//! Classical filters and MNIST-style preprocessing.

use cvjourney::Tensor;
use cvjourney::data::image::*;

#[test]
fn filters_agree_with_conv2d_and_ignore_flat_regions() {
    let (h, w) = (6, 7);
    let img: Vec<f32> = (0..h * w).map(|i| ((i * 37) % 11) as f32).collect();
    let x = Tensor::from_vec(img.clone(), [1, 1, h, w]).unwrap();
    for k in classical_filters() {
        let got = filter(&img, h, w, &k).unwrap();
        if k.size == (3, 3) {
            let weights = Tensor::from_vec(k.weights.clone(), [1, 1, 3, 3]).unwrap();
            let want = x.conv2d(&weights, (1, 1), (1, 1)).unwrap().to_vec();
            assert_eq!(got, want, "{}", k.name);
        }
        // Every edge/Laplacian kernel sums to zero: a flat image gives no response away from the border.
        assert_eq!(k.weights.iter().sum::<f32>(), 0.0, "{}", k.name);
        let flat = filter(&vec![3.0; 100], 10, 10, &k).unwrap();
        assert_eq!(flat[5 * 10 + 5], 0.0, "{}", k.name);
    }
    assert!(filter(&img, 5, 5, &classical_filters()[0]).is_err());
}

#[test]
fn sobel_x_finds_a_vertical_edge() {
    let img: Vec<f32> = (0..25).map(|i| if i % 5 >= 2 { 1.0 } else { 0.0 }).collect();
    let sobel_x = &classical_filters()[0];
    let out = filter(&img, 5, 5, sobel_x).unwrap();
    assert_eq!(out[2 * 5 + 1..2 * 5 + 4], [4.0, 4.0, 0.0]);
}

#[test]
fn mnist_preprocessing_boxes_scales_and_centres() {
    // A 40-tall, 10-wide bar near the top-left of a 100x100 pad.
    let (h, w) = (100, 100);
    let mut pad = vec![0.0; h * w];
    for y in 5..45 {
        for x in 8..18 {
            pad[y * w + x] = 1.0;
        }
    }
    let digit = mnist_preprocess(&pad, h, w).unwrap();
    assert_eq!(digit.len(), 28 * 28);
    let (top, bottom, left, right) = bounding_box(&digit, 28, 28).unwrap();
    assert_eq!(bottom - top + 1, 20, "the longer side becomes 20 pixels");
    assert_eq!(right - left + 1, 5, "the aspect ratio is kept (40:10 -> 20:5)");
    let (cy, cx) = center_of_mass(&digit, 28, 28).unwrap();
    assert!((cy - 14.0).abs() <= 0.5 && (cx - 14.0).abs() <= 0.5, "center of mass at ({cy}, {cx})");
    assert!(mnist_preprocess(&vec![0.0; 100], 10, 10).is_none(), "no ink, no digit");
}

#[test]
fn area_resize_keeps_constant_images_and_means() {
    let img = vec![0.5; 12 * 9];
    assert!(resize_area(&img, 12, 9, 5, 4).iter().all(|&v| (v - 0.5).abs() < 1e-6));
    let ramp: Vec<f32> = (0..16).map(|i| i as f32).collect();
    let half = resize_area(&ramp, 4, 4, 2, 2);
    assert_eq!(half, vec![2.5, 4.5, 10.5, 12.5]);
}

/// A polyline stroke rendered onto an `n`x`n` pad: each pixel's ink is the share of its 4x4 subsamples
/// within `width / 2` of the path (anti-aliased, like a canvas stroke). `points` are in [0, 1] pad units,
/// mapped through `scale` and `offset`.
fn stroke(n: usize, points: &[(f32, f32)], scale: f32, offset: (f32, f32), width: f32) -> Vec<f32> {
    let p: Vec<(f32, f32)> = points
        .iter()
        .map(|&(x, y)| ((x * scale + offset.0) * n as f32, (y * scale + offset.1) * n as f32))
        .collect();
    let dist = |px: f32, py: f32| {
        p.windows(2)
            .map(|s| {
                let ((ax, ay), (bx, by)) = (s[0], s[1]);
                let (dx, dy) = (bx - ax, by - ay);
                let t = (((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)).clamp(0.0, 1.0);
                ((px - ax - t * dx).powi(2) + (py - ay - t * dy).powi(2)).sqrt()
            })
            .fold(f32::INFINITY, f32::min)
    };
    let mut img = vec![0.0; n * n];
    for y in 0..n {
        for x in 0..n {
            let mut hits = 0;
            for sy in 0..4 {
                for sx in 0..4 {
                    let (px, py) = (x as f32 + (sx as f32 + 0.5) / 4.0, y as f32 + (sy as f32 + 0.5) / 4.0);
                    hits += usize::from(dist(px, py) <= width / 2.0);
                }
            }
            img[y * n + x] = hits as f32 / 16.0;
        }
    }
    img
}

/// Issue 10's check: the same "7" drawn small in a corner and large in the middle of the pad becomes the
/// same 28x28 input, since cropping, scaling and centering remove where and how big it was drawn.
#[test]
fn a_small_off_center_stroke_prepares_like_a_large_centered_one() {
    let seven = [(0.1, 0.1), (0.9, 0.1), (0.45, 0.95)];
    let n = 280;
    let large = stroke(n, &seven, 0.7, (0.15, 0.15), 18.0);
    let small = stroke(n, &seven, 0.25, (0.68, 0.05), 18.0 * 0.25 / 0.7);
    let (a, b) = (prepare_drawing(&large, n, n, 20).unwrap(), prepare_drawing(&small, n, n, 20).unwrap());
    let mean_diff = a.input.iter().zip(&b.input).map(|(x, y)| (x - y).abs()).sum::<f32>() / 784.0;
    let ink = a.input.iter().sum::<f32>() / 784.0;
    assert!(mean_diff < 0.2 * ink.max(0.01), "mean |difference| {mean_diff} against mean ink {ink}");
    assert_eq!(a.scaled.rows.max(a.scaled.cols), 20);
    assert_eq!(b.scaled.rows.max(b.scaled.cols), 20);
    // The steps are what the pad shows: the crop is the ink's box, the input has its mass at the center.
    assert!(a.crop.rows > b.crop.rows && a.crop.values.len() == a.crop.rows * a.crop.cols);
    let (cy, cx) = center_of_mass(&b.input, 28, 28).unwrap();
    assert!((cy - 14.0).abs() <= 0.5 && (cx - 14.0).abs() <= 0.5, "center of mass at ({cy}, {cx})");
    // Clothes fill the frame: side 28 scales the longer side to 28.
    let c = prepare_drawing(&large, n, n, 28).unwrap();
    assert_eq!(c.scaled.rows.max(c.scaled.cols), 28);
    assert!(prepare_drawing(&large, n, n, 0).is_none() && prepare_drawing(&large, n, n + 1, 20).is_none());
}

/// The classical pipeline's features (one convolution with every kernel centred in 5x5) against the scalar
/// reference: `filter` on the channel-mean image, absolute value, the mean of each 4x4 cell.
#[test]
fn edge_features_match_the_scalar_filters_pooled_over_cells() {
    use cvjourney::data::{Dataset, Targets};
    let (n, c, h, w) = (3, 2, 10, 9);
    let mut rng = cvjourney::tensor::Rng::new(7);
    let features: Vec<f32> = (0..n * c * h * w).map(|_| (rng.uniform() * 255.0).floor()).collect();
    let d = Dataset {
        features: features.clone().into(),
        feature_shape: vec![c, h, w],
        targets: Targets::Classes { labels: vec![0, 1, 0], classes: 2 },
        class_names: vec!["a".into(), "b".into()],
    };
    let filters = classical_filters();
    let (ch, cw) = (h / EDGE_CELL, w / EDGE_CELL);
    let len = filters.len() * ch * cw;
    assert_eq!(edge_feature_len(&[c, h, w]), Some(len));
    let got = edge_features(&d).unwrap();
    assert_eq!(got.feature_shape, vec![len]);
    assert_eq!(got.targets, d.targets);
    for i in 0..n {
        let item = &features[i * c * h * w..(i + 1) * c * h * w];
        let grey: Vec<f32> = (0..h * w).map(|p| (item[p] + item[h * w + p]) / (2.0 * 255.0)).collect();
        for (f, k) in filters.iter().enumerate() {
            let response = filter(&grey, h, w, k).unwrap();
            for (cy, cx) in (0..ch).flat_map(|y| (0..cw).map(move |x| (y, x))) {
                let cell = (0..EDGE_CELL * EDGE_CELL)
                    .map(|j| {
                        response[(cy * EDGE_CELL + j / EDGE_CELL) * w + cx * EDGE_CELL + j % EDGE_CELL].abs()
                    })
                    .sum::<f32>()
                    / (EDGE_CELL * EDGE_CELL) as f32;
                let at = got.features[i * len + f * ch * cw + cy * cw + cx];
                assert!(
                    (at - cell).abs() <= 1e-4 * (1.0 + cell.abs()),
                    "{} cell {cy},{cx}: {at} vs {cell}",
                    k.name
                );
            }
        }
    }
    // Not images: refused with a reason, not a panic.
    let flat = Dataset { feature_shape: vec![c * h * w], ..d.clone() };
    assert!(edge_features(&flat).unwrap_err().to_string().contains("images"));
    let tiny = Dataset { features: vec![0.0; n * 3 * 3].into(), feature_shape: vec![1, 3, 3], ..d };
    assert!(edge_features(&tiny).is_err());
}
