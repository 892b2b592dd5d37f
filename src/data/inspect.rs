//! `cvjourney data inspect`: detect a file's format, parse it with the same code the browser uses, and
//! summarise it.

use serde::Serialize;

use super::{Idx, LabeledImages, gzip, parse_cifar10, parse_csv, parse_idx, parse_mnist_csv};
use crate::error::{LabError, Result};

/// What a file holds, in numbers a person can check.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// "IDX images", "IDX labels", "MNIST CSV", "CIFAR-10", "CSV table".
    pub kind: String,
    /// Items: images, labels or table rows.
    pub items: usize,
    /// Shape of one item (e.g. [1, 28, 28]) or, for tables, the column names' count.
    pub item_shape: Vec<usize>,
    /// Column names, for tables.
    pub columns: Vec<String>,
    /// Items per class, for labelled data.
    pub class_counts: Vec<usize>,
    /// Smallest and largest value.
    pub min: f32,
    pub max: f32,
}

/// Detects the format from the content (and, for CIFAR-10's headerless records, the name) and parses it.
pub fn inspect(name: &str, bytes: &[u8]) -> Result<Summary> {
    if bytes.is_empty() {
        return Err(LabError::Format { kind: "file", message: format!("'{name}' is empty") });
    }
    let head = gzip::maybe_gunzip(bytes, "file")?;
    let magic = head.get(..4).map(|m| u32::from_be_bytes([m[0], m[1], m[2], m[3]]));
    if matches!(magic, Some(super::LABELS_MAGIC | super::IMAGES_MAGIC)) {
        return Ok(match parse_idx(bytes)? {
            Idx::Labels(l) => {
                let max = l.iter().copied().max().unwrap_or(0);
                let mut counts = vec![0; usize::from(max) + 1];
                l.iter().for_each(|&v| counts[usize::from(v)] += 1);
                let min = l.iter().copied().min().unwrap_or(0);
                summary("IDX labels", l.len(), vec![], vec![], counts, f32::from(min), f32::from(max))
            }
            Idx::Images(im) => {
                let (min, max) = byte_range(&im.pixels);
                summary("IDX images", im.count, vec![1, im.rows, im.cols], vec![], vec![], min, max)
            }
        });
    }
    if name.ends_with(".bin") {
        return Ok(labelled("CIFAR-10", &parse_cifar10(&[bytes])?));
    }
    let first_line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let starts_numeric = first_line.first().is_some_and(|b| b.is_ascii_digit());
    if starts_numeric && first_line.iter().filter(|&&b| b == b',').count() == 784 {
        return Ok(labelled("MNIST CSV", &parse_mnist_csv(bytes)?));
    }
    let t = parse_csv(bytes)?;
    let (min, max) =
        t.values.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    Ok(summary("CSV table", t.rows, vec![t.columns.len()], t.columns, vec![], min, max))
}

fn labelled(kind: &str, d: &LabeledImages) -> Summary {
    let (min, max) = byte_range(&d.images.pixels);
    let shape = vec![d.images.channels, d.images.rows, d.images.cols];
    summary(kind, d.images.count, shape, vec![], d.class_counts(), min, max)
}

fn byte_range(bytes: &[u8]) -> (f32, f32) {
    let min = bytes.iter().copied().min().unwrap_or(0);
    let max = bytes.iter().copied().max().unwrap_or(0);
    (f32::from(min), f32::from(max))
}

fn summary(
    kind: &str,
    items: usize,
    item_shape: Vec<usize>,
    columns: Vec<String>,
    class_counts: Vec<usize>,
    min: f32,
    max: f32,
) -> Summary {
    Summary { kind: kind.into(), items, item_shape, columns, class_counts, min, max }
}
