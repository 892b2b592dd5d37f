//! Image helpers for the chapters and the drawing pad: the classical edge filters of textbook §7 as 2-D
//! kernels, a "same"-size filter, and MNIST-style preprocessing (bounding box, scale the longer side to 20,
//! center of mass at the middle of 28x28). Images are grey, row-major f32.

use crate::error::{LabError, Result};
use crate::tensor::Tensor;

/// A small 2-D kernel, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Kernel {
    pub name: &'static str,
    pub size: (usize, usize),
    pub weights: Vec<f32>,
}

fn kernel(name: &'static str, size: (usize, usize), weights: &[f32]) -> Kernel {
    Kernel { name, size, weights: weights.to_vec() }
}

/// The classical filters: Sobel, Scharr and Prewitt (x and y), Roberts' cross, the Laplacian and a 5x5
/// Laplacian of Gaussian.
pub fn classical_filters() -> Vec<Kernel> {
    vec![
        kernel("Sobel x", (3, 3), &[-1., 0., 1., -2., 0., 2., -1., 0., 1.]),
        kernel("Sobel y", (3, 3), &[-1., -2., -1., 0., 0., 0., 1., 2., 1.]),
        kernel("Scharr x", (3, 3), &[-3., 0., 3., -10., 0., 10., -3., 0., 3.]),
        kernel("Scharr y", (3, 3), &[-3., -10., -3., 0., 0., 0., 3., 10., 3.]),
        kernel("Prewitt x", (3, 3), &[-1., 0., 1., -1., 0., 1., -1., 0., 1.]),
        kernel("Prewitt y", (3, 3), &[-1., -1., -1., 0., 0., 0., 1., 1., 1.]),
        kernel("Roberts +45°", (2, 2), &[1., 0., 0., -1.]),
        kernel("Roberts -45°", (2, 2), &[0., 1., -1., 0.]),
        kernel("Laplacian", (3, 3), &[0., 1., 0., 1., -4., 1., 0., 1., 0.]),
        kernel(
            "Laplacian of Gaussian",
            (5, 5),
            &[
                0., 0., -1., 0., 0., 0., -1., -2., -1., 0., -1., -2., 16., -2., -1., 0., -1., -2., -1., 0.,
                0., 0., -1., 0., 0.,
            ],
        ),
    ]
}

/// Cross-correlates a `h`×`w` image with `k` (as conv2d does), zero padding so the output has the input's
/// size; for even kernels the extra row/column of padding goes after.
pub fn filter(image: &[f32], h: usize, w: usize, k: &Kernel) -> Result<Vec<f32>> {
    if image.len() != h * w {
        return Err(LabError::InvalidArgument(format!(
            "filter: {} values are not a {h}x{w} image",
            image.len()
        )));
    }
    let (kh, kw) = k.size;
    let (ph, pw) = ((kh - 1) / 2, (kw - 1) / 2);
    let mut out = vec![0.0; h * w];
    for y in 0..h {
        for x in 0..w {
            let mut acc = 0.0;
            for i in 0..kh {
                for j in 0..kw {
                    let (sy, sx) = ((y + i).checked_sub(ph), (x + j).checked_sub(pw));
                    if let (Some(sy), Some(sx)) = (sy, sx) {
                        if sy < h && sx < w {
                            acc += image[sy * w + sx] * k.weights[i * kw + j];
                        }
                    }
                }
            }
            out[y * w + x] = acc;
        }
    }
    Ok(out)
}

/// MNIST's preparation of a drawn digit (LeCun et al.): crop to the ink's bounding box, scale so the longer
/// side is 20 pixels (keeping the aspect ratio, area-averaged), and paste into 28x28 so the center of mass
/// lands at the center. Ink is bright (0 background). Returns `None` for an image without ink.
pub fn mnist_preprocess(image: &[f32], h: usize, w: usize) -> Option<Vec<f32>> {
    Some(prepare_drawing(image, h, w, 20)?.input)
}

/// A small image: rows, columns, values row-major.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Plane {
    pub rows: usize,
    pub cols: usize,
    pub values: Vec<f32>,
}

/// Each step of `prepare_drawing`, for the drawing pad to show.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DrawingSteps {
    /// The ink's bounding box, cut out.
    pub crop: Plane,
    /// The crop scaled so its longer side is `side` pixels.
    pub scaled: Plane,
    /// 28x28, the scaled crop placed with its center of mass at the center: the model's raw input.
    pub input: Vec<f32>,
}

/// A drawing (ink bright, background 0; any size) made into a 28x28 model input the way the dataset's
/// images were made: crop to the ink, scale the longer side to `side` pixels (20 for MNIST digits, which
/// leaves a 4-pixel margin; 28 for Fashion-MNIST, whose items fill the frame), then center by mass.
pub fn prepare_drawing(image: &[f32], h: usize, w: usize, side: usize) -> Option<DrawingSteps> {
    if image.len() != h * w || !(1..=28).contains(&side) {
        return None;
    }
    let (top, bottom, left, right) = bounding_box(image, h, w)?;
    let (bh, bw) = (bottom - top + 1, right - left + 1);
    let scale = side as f32 / bh.max(bw) as f32;
    let fit = |n: usize| ((n as f32 * scale).round() as usize).clamp(1, side);
    let (nh, nw) = (fit(bh), fit(bw));
    let crop: Vec<f32> =
        (top..=bottom).flat_map(|y| image[y * w + left..=y * w + right].iter().copied()).collect();
    let small = resize_area(&crop, bh, bw, nh, nw);
    let (cy, cx) = center_of_mass(&small, nh, nw)?;
    let mut out = vec![0.0; 28 * 28];
    let (oy, ox) = ((14.0 - cy).round() as isize, (14.0 - cx).round() as isize);
    for y in 0..nh {
        for x in 0..nw {
            let (ty, tx) = (y as isize + oy, x as isize + ox);
            if (0..28).contains(&ty) && (0..28).contains(&tx) {
                out[ty as usize * 28 + tx as usize] = small[y * nw + x];
            }
        }
    }
    Some(DrawingSteps {
        crop: Plane { rows: bh, cols: bw, values: crop },
        scaled: Plane { rows: nh, cols: nw, values: small },
        input: out,
    })
}

/// Rows and columns that contain ink (> 0): (top, bottom, left, right), inclusive.
pub fn bounding_box(image: &[f32], h: usize, w: usize) -> Option<(usize, usize, usize, usize)> {
    let ink = |y: usize, x: usize| image[y * w + x] > 0.0;
    let rows: Vec<usize> = (0..h).filter(|&y| (0..w).any(|x| ink(y, x))).collect();
    let cols: Vec<usize> = (0..w).filter(|&x| (0..h).any(|y| ink(y, x))).collect();
    Some((*rows.first()?, *rows.last()?, *cols.first()?, *cols.last()?))
}

/// The intensity-weighted mean position (row, column) + 0.5 (pixel centres), or `None` without ink.
pub fn center_of_mass(image: &[f32], h: usize, w: usize) -> Option<(f32, f32)> {
    let (mut m, mut my, mut mx) = (0.0f64, 0.0f64, 0.0f64);
    for y in 0..h {
        for x in 0..w {
            let v = f64::from(image[y * w + x].max(0.0));
            m += v;
            my += v * (y as f64 + 0.5);
            mx += v * (x as f64 + 0.5);
        }
    }
    (m > 0.0).then(|| ((my / m) as f32, (mx / m) as f32))
}

/// Area-averaging resize (each output pixel is the mean of the input area it covers).
pub fn resize_area(image: &[f32], h: usize, w: usize, nh: usize, nw: usize) -> Vec<f32> {
    let mut out = vec![0.0; nh * nw];
    let (sy, sx) = (h as f32 / nh as f32, w as f32 / nw as f32);
    for oy in 0..nh {
        for ox in 0..nw {
            let (y0, y1) = (oy as f32 * sy, (oy + 1) as f32 * sy);
            let (x0, x1) = (ox as f32 * sx, (ox + 1) as f32 * sx);
            let (mut acc, mut area) = (0.0, 0.0);
            for y in y0 as usize..(y1.ceil() as usize).min(h) {
                let wy = (y1.min(y as f32 + 1.0) - y0.max(y as f32)).max(0.0);
                for x in x0 as usize..(x1.ceil() as usize).min(w) {
                    let wx = (x1.min(x as f32 + 1.0) - x0.max(x as f32)).max(0.0);
                    acc += image[y * w + x] * wy * wx;
                    area += wy * wx;
                }
            }
            out[oy * nw + ox] = if area > 0.0 { acc / area } else { 0.0 };
        }
    }
    out
}

/// Side of the square cells over which the classical pipeline averages each filter's response.
pub const EDGE_CELL: usize = 4;

/// Length of the classical feature vector of one (C, H, W) image: one value per filter and 4x4 cell.
pub fn edge_feature_len(shape: &[usize]) -> Option<usize> {
    match *shape {
        [_, h, w] if h >= EDGE_CELL && w >= EDGE_CELL => {
            Some(classical_filters().len() * (h / EDGE_CELL) * (w / EDGE_CELL))
        }
        _ => None,
    }
}

/// The classical pipeline's features (textbook §7, before CNNs): every classical filter applied to the
/// grey image (mean of the channels, scaled from 0..255 to 0..1, zero padding as in `filter`), its absolute
/// response averaged over 4x4 cells. A dataset of (C, H, W) images becomes one of vectors, filter-major.
/// The filtering runs as one convolution with all kernels centred in 5x5 (`filter` is its reference).
pub fn edge_features(d: &super::Dataset) -> Result<super::Dataset> {
    let (Some(len), &[c, h, w]) = (edge_feature_len(&d.feature_shape), &d.feature_shape[..]) else {
        return Err(LabError::InvalidArgument(format!(
            "edge features are computed from images of at least {EDGE_CELL}x{EDGE_CELL}, not items of shape \
             {:?}",
            d.feature_shape
        )));
    };
    let filters = classical_filters();
    let mut stacked = vec![0.0f32; filters.len() * 25];
    for (f, k) in filters.iter().enumerate() {
        let (kh, kw) = k.size;
        let (oy, ox) = (2 - (kh - 1) / 2, 2 - (kw - 1) / 2);
        for i in 0..kh {
            for j in 0..kw {
                stacked[f * 25 + (oy + i) * 5 + ox + j] = k.weights[i * kw + j];
            }
        }
    }
    let weight = Tensor::from_vec(stacked, [filters.len(), 1, 5, 5])?;
    let n = d.len();
    let mut features = Vec::with_capacity(n * len);
    const CHUNK: usize = 512;
    crate::autograd::no_grad(|| -> Result<()> {
        for start in (0..n).step_by(CHUNK) {
            let m = CHUNK.min(n - start);
            let grey: Vec<f32> = (start..start + m)
                .flat_map(|i| {
                    let item = &d.features[i * c * h * w..(i + 1) * c * h * w];
                    (0..h * w)
                        .map(move |p| (0..c).map(|ch| item[ch * h * w + p]).sum::<f32>() / (255.0 * c as f32))
                })
                .collect();
            let x = Tensor::from_vec(grey, [m, 1, h, w])?;
            let pooled = x.conv2d(&weight, (1, 1), (2, 2))?.abs().avg_pool2d(EDGE_CELL, EDGE_CELL, 0)?;
            features.extend(pooled.to_vec());
        }
        Ok(())
    })?;
    Ok(super::Dataset {
        features: features.into(),
        feature_shape: vec![len],
        targets: d.targets.clone(),
        class_names: d.class_names.clone(),
    })
}
