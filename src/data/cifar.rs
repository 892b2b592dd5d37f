//! CIFAR-10's binary batches (Krizhevsky, 2009): records of 1 label byte and 3,072 pixel bytes (1,024 red,
//! 1,024 green, 1,024 blue, each a 32x32 image row by row). Several batches concatenate.

use super::{Images, LabeledImages};
use crate::error::{LabError, Result};

const KIND: &str = "CIFAR-10";
const SIDE: usize = 32;
const RECORD: usize = 1 + 3 * SIDE * SIDE;

/// Parses one or more batch files (their bytes in order) into 32x32x3 images with labels 0-9.
pub fn parse_cifar10(batches: &[&[u8]]) -> Result<LabeledImages> {
    let total: usize = batches.iter().map(|b| b.len()).sum();
    let mut labels = Vec::with_capacity(total / RECORD);
    let mut pixels = Vec::with_capacity(total / RECORD * (RECORD - 1));
    for (which, bytes) in batches.iter().enumerate() {
        if bytes.is_empty() || bytes.len() % RECORD != 0 {
            return Err(LabError::Format {
                kind: KIND,
                message: format!(
                    "batch {which} has {} bytes, not a whole number of {RECORD}-byte records",
                    bytes.len()
                ),
            });
        }
        for record in bytes.chunks_exact(RECORD) {
            labels.push(record[0]);
            pixels.extend_from_slice(&record[1..]);
        }
    }
    let images = Images { count: labels.len(), channels: 3, rows: SIDE, cols: SIDE, pixels };
    LabeledImages::new(images, labels, 10, KIND)
}
