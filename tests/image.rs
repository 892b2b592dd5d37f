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
