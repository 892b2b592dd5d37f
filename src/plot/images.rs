//! Figures about a classifier's test predictions and what it learned: the confusion matrix, galleries of
//! test images (the first ones, the mistakes), the first layer's filters and its feature maps. Gallery
//! images are one channel (grey) or three (colour, channel after channel), as the data has them.

use super::Figure;
use crate::autograd;
use crate::data::{Batcher, Targets, image};
use crate::error::{LabError, Result};
use crate::nn::Module;
use crate::train::Session;

/// (true class, predicted class) for every test item (training items when there is no test split).
fn predictions(session: &Session) -> Result<Vec<(usize, usize)>> {
    let data = if session.test.is_empty() { &session.train } else { &session.test };
    if !matches!(data.targets, Targets::Classes { .. }) {
        return Err(LabError::InvalidArgument("a confusion matrix needs classes".into()));
    }
    session.model.eval();
    let out = autograd::no_grad(|| {
        let batcher = Batcher { batch_size: 2048, shuffle: false, drop_last: false, seed: 0 };
        let mut pairs = Vec::with_capacity(data.len());
        for batch in batcher.epoch(data, 0)? {
            let batch = batch?;
            let predicted = session.predicted_classes(&session.model.forward(&batch.x)?)?;
            pairs.extend(batch.labels.iter().copied().zip(predicted));
        }
        Ok(pairs)
    });
    session.model.train();
    out
}

fn class_names(session: &Session) -> Vec<String> {
    session.train.class_names.clone()
}

/// Counts of (true, predicted) over the test split.
pub fn confusion(session: &Session) -> Result<Figure> {
    let labels = class_names(session);
    let k = labels.len();
    let mut counts = vec![0u32; k * k];
    for (t, p) in predictions(session)? {
        if t < k && p < k {
            counts[t * k + p] += 1;
        }
    }
    Ok(Figure::Matrix {
        title: "Confusion matrix (rows: true class, columns: predicted)".into(),
        labels,
        counts,
    })
}

/// Item `i` of image data as a gallery shows it: grey (the first channel) unless it has three colour
/// channels, rescaled to 0-1 over the whole image (so colours keep their balance).
fn picture(data: &crate::data::Dataset, i: usize) -> Result<(Vec<f32>, usize, usize)> {
    let [c, h, w] = data.feature_shape[..] else {
        return Err(LabError::InvalidArgument("a gallery needs image data".into()));
    };
    let len = data.feature_len();
    let keep = if c == 3 { 3 * h * w } else { h * w };
    Ok((rescale(&data.features[i * len..i * len + keep]), w, h))
}

/// Up to `max` test items chosen by `pick(true class, predicted class)` as a gallery captioned by
/// `caption(true, predicted)`, shown as the model saw them (normalised values rescaled per image).
fn gallery(
    session: &Session,
    title: &str,
    max: usize,
    pick: impl Fn(usize, usize) -> bool,
    caption: impl Fn(&str, &str) -> String,
) -> Result<Figure> {
    let data = if session.test.is_empty() { &session.train } else { &session.test };
    let names = class_names(session);
    let name = |c: usize| names.get(c).cloned().unwrap_or_else(|| c.to_string());
    let (mut images, mut captions, mut size) = (Vec::new(), Vec::new(), (0, 0));
    for (i, (t, p)) in predictions(session)?.into_iter().enumerate() {
        if images.len() == max {
            break;
        }
        if pick(t, p) {
            let (img, w, h) = picture(data, i)?;
            (size, _) = ((w, h), images.push(img));
            captions.push(caption(&name(t), &name(p)));
        }
    }
    Ok(Figure::Images { title: title.into(), width: size.0, height: size.1, images, captions, columns: 0 })
}

/// Up to `max` misclassified test images, captioned "true → predicted".
pub fn mistakes(session: &Session, max: usize) -> Result<Figure> {
    let title = "Test images the model gets wrong (true → predicted)";
    gallery(session, title, max, |t, p| t != p, |t, p| format!("{t} → {p}"))
}

/// Up to `max` test images of class `truth` that the model calls `predicted` (a confusion-matrix cell).
pub fn cell_examples(session: &Session, truth: usize, predicted: usize, max: usize) -> Result<Figure> {
    let names = class_names(session);
    let name = |c: usize| names.get(c).cloned().unwrap_or_else(|| c.to_string());
    let title = if truth == predicted {
        format!("{}: test images the model gets right", name(truth))
    } else {
        format!("{} taken for {}: test images", name(truth), name(predicted))
    };
    gallery(session, &title, max, |t, p| t == truth && p == predicted, |t, p| format!("{t} → {p}"))
}

/// The first `max` test images, captioned with their class, and "→ predicted" where the model is wrong.
pub fn samples(session: &Session, max: usize) -> Result<Figure> {
    let title = "The first test images (class, and → the model's answer where it is wrong)";
    let caption = |t: &str, p: &str| if t == p { t.to_string() } else { format!("{t} → {p}") };
    gallery(session, title, max, |_, _| true, caption)
}

/// The first convolution's activated outputs (the layer after it: ReLU, or BatchNorm) for the first
/// `items` test images: each row an image and its first `maps` channels, each map scaled to 0-1 by its own
/// peak. `None` for a model without convolutions.
pub fn feature_maps(session: &Session, items: usize, maps: usize) -> Result<Option<Figure>> {
    let layers = &session.model.layers;
    let Some(first) = layers.iter().position(|l| l.describe().starts_with("Conv2d")) else {
        return Ok(None);
    };
    let data = if session.test.is_empty() { &session.train } else { &session.test };
    let n = data.len().min(items);
    if n == 0 {
        return Ok(None);
    }
    let dims: Vec<usize> = std::iter::once(n).chain(data.feature_shape.iter().copied()).collect();
    let device = session.model.parameters().first().map_or(crate::tensor::Device::Cpu, |p| p.device());
    let x = crate::tensor::Tensor::from_vec(
        data.features[..n * data.feature_len()].to_vec(),
        crate::tensor::Shape::new(&dims),
    )?
    .to_device(device)?;
    session.model.eval();
    let upto = (first + 2).min(layers.len());
    let out = autograd::no_grad(|| layers[..upto].iter().try_fold(x, |x, layer| layer.forward(&x)));
    session.model.train();
    let out = out?;
    let [_, c, h, w] = out.dims()[..] else { return Ok(None) };
    let values = out.to_vec();
    let shown = c.min(maps);
    let (mut images, mut captions) = (Vec::new(), Vec::new());
    for i in 0..n {
        images.push(picture(data, i)?.0);
        captions.push("input".to_string());
        for m in 0..shown {
            let plane = &values[(i * c + m) * h * w..(i * c + m + 1) * h * w];
            let peak = plane.iter().fold(0.0f32, |a, v| a.max(v.abs())).max(1e-12);
            images.push(plane.iter().map(|v| v.max(0.0) / peak).collect());
            captions.push(format!("map {}", m + 1));
        }
    }
    let [_, ih, iw] = data.feature_shape[..] else { return Ok(None) };
    // The input and the maps share a grid: the maps' size when the convolution keeps it, else the larger.
    let (side_w, side_h) = (w.max(iw), h.max(ih));
    let fit = |img: Vec<f32>, (fw, fh): (usize, usize)| pad_to(img, (fw, fh), (side_w, side_h));
    let images = images
        .into_iter()
        .enumerate()
        .map(|(k, img)| if k % (1 + shown) == 0 { fit(img, (iw, ih)) } else { fit(img, (w, h)) })
        .collect();
    Ok(Some(Figure::Images {
        title: format!("Feature maps of the first convolution (after its activation; {shown} of {c})"),
        width: side_w,
        height: side_h,
        images,
        captions,
        columns: 1 + shown,
    }))
}

/// An image (grey, or three colour planes) centred on a larger blank canvas of `to` (0 = white / black).
fn pad_to(img: Vec<f32>, (w, h): (usize, usize), (tw, th): (usize, usize)) -> Vec<f32> {
    if (w, h) == (tw, th) {
        return img;
    }
    let planes = img.len() / (w * h).max(1);
    let (dx, dy) = ((tw - w) / 2, (th - h) / 2);
    let mut out = vec![0.0; planes * tw * th];
    for p in 0..planes {
        for r in 0..h {
            let from = p * w * h + r * w;
            let to = p * tw * th + (r + dy) * tw + dx;
            out[to..to + w].copy_from_slice(&img[from..from + w]);
        }
    }
    out
}

/// The first convolution's kernels (first input channel of each filter), each rescaled to 0-1.
pub fn filters(session: &Session) -> Option<Figure> {
    let (_, w) =
        session.model.named_parameters().into_iter().find(|(n, t)| n.ends_with("weight") && t.rank() == 4)?;
    let [c_out, c_in, kh, kw] = w.dims()[..] else { return None };
    let values = w.to_vec();
    let images =
        (0..c_out).map(|o| rescale(&values[o * c_in * kh * kw..o * c_in * kh * kw + kh * kw])).collect();
    let captions = (0..c_out).map(|o| format!("filter {}", o + 1)).collect();
    Some(Figure::Images {
        title: format!("First-layer filters ({kh}x{kw})"),
        width: kw,
        height: kh,
        images,
        captions,
        columns: 0,
    })
}

/// Up to `max` test images (as they were before an edge-feature run turned them into features) and what
/// the classical filters make of them: the gradient magnitude √(gx² + gy²) of Sobel, Scharr, Prewitt and
/// Roberts' cross, and the absolute Laplacian of Gaussian.
pub fn edge_filters(session: &Session, max: usize) -> Result<Figure> {
    let data = session.originals.as_ref().unwrap_or(&session.test);
    let [c, h, w] = data.feature_shape[..] else {
        return Err(LabError::InvalidArgument("the edge filters need image data".into()));
    };
    let kernels = image::classical_filters();
    let named = |name: &str| kernels.iter().find(|k| k.name == name).expect("a classical filter");
    let respond = |img: &[f32], names: &[&str]| -> Result<Vec<f32>> {
        let maps = names.iter().map(|n| image::filter(img, h, w, named(n))).collect::<Result<Vec<_>>>()?;
        Ok((0..h * w).map(|p| maps.iter().map(|m| m[p] * m[p]).sum::<f32>().sqrt()).collect())
    };
    let pairs: [(&str, &[&str]); 5] = [
        ("Sobel", &["Sobel x", "Sobel y"]),
        ("Scharr", &["Scharr x", "Scharr y"]),
        ("Prewitt", &["Prewitt x", "Prewitt y"]),
        ("Roberts", &["Roberts +45°", "Roberts -45°"]),
        ("LoG", &["Laplacian of Gaussian"]),
    ];
    let (mut images, mut captions) = (Vec::new(), Vec::new());
    for i in 0..data.len().min(max) {
        let item = &data.features[i * c * h * w..(i + 1) * c * h * w];
        let grey: Vec<f32> = (0..h * w).map(|p| (0..c).map(|ch| item[ch * h * w + p]).sum::<f32>()).collect();
        images.push(rescale(&grey));
        captions.push("image".to_string());
        for (name, parts) in pairs {
            images.push(rescale(&respond(&grey, parts)?));
            captions.push(name.to_string());
        }
    }
    Ok(Figure::Images {
        title: "Classical filters: edge strength (Sobel, Scharr, Prewitt, Roberts) and |LoG|".into(),
        width: w,
        height: h,
        images,
        captions,
        columns: 1 + pairs.len(),
    })
}

/// Maps values linearly onto 0-1 (a constant image becomes mid-grey).
fn rescale(v: &[f32]) -> Vec<f32> {
    let (lo, hi) = v.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
    if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) {
        return vec![0.5; v.len()];
    }
    v.iter().map(|&x| (x - lo) / (hi - lo)).collect()
}
