//! Figures about a classifier's test predictions and what it learned: the confusion matrix, a gallery of
//! mistakes, the first layer's filters.

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

/// Up to `max` misclassified test images, captioned "true → predicted", shown as the model saw them
/// (normalised values rescaled to 0-1 per image).
pub fn mistakes(session: &Session, max: usize) -> Result<Figure> {
    let data = if session.test.is_empty() { &session.train } else { &session.test };
    let [_, h, w] = data.feature_shape[..] else {
        return Err(LabError::InvalidArgument("a gallery needs image data".into()));
    };
    let names = class_names(session);
    let name = |c: usize| names.get(c).cloned().unwrap_or_else(|| c.to_string());
    let len = data.feature_len();
    let (mut images, mut captions) = (Vec::new(), Vec::new());
    for (i, (t, p)) in predictions(session)?.into_iter().enumerate() {
        if t != p {
            // The first channel of item i.
            images.push(rescale(&data.features[i * len..i * len + h * w]));
            captions.push(format!("{} → {}", name(t), name(p)));
            if images.len() == max {
                break;
            }
        }
    }
    Ok(Figure::Images {
        title: "Test images the model gets wrong (true → predicted)".into(),
        width: w,
        height: h,
        images,
        captions,
        columns: 0,
    })
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
