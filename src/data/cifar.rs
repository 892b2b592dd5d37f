//! CIFAR-10's binary batches (Krizhevsky, 2009): records of 1 label byte and 3,072 pixel bytes (1,024 red,
//! 1,024 green, 1,024 blue, each a 32x32 image row by row). Several batches concatenate.

use super::{Images, LabeledImages};
use crate::error::{LabError, Result};

const KIND: &str = "CIFAR-10";
const SIDE: usize = 32;
/// Bytes per record: a label and 3x32x32 pixels.
pub const RECORD: usize = 1 + 3 * SIDE * SIDE;

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

/// One batch file in CIFAR-10's binary format with generated pictures, for tests and benchmarks on machines
/// without CIFAR-10 (it is in no package registry). `learnable`: each class is a bright band of three rows
/// of its own over a level per channel, with noise, so a model can learn it; otherwise pixels and labels
/// are random and a model can only memorise them.
pub fn synthetic_batch(records: usize, learnable: bool, seed: u64) -> Vec<u8> {
    let mut rng = crate::tensor::Rng::new(seed);
    let mut bytes = Vec::with_capacity(records * RECORD);
    for i in 0..records {
        let label = if learnable { (i % 10) as u8 } else { (rng.uniform() * 10.0).min(9.0) as u8 };
        bytes.push(label);
        let band = 3 * usize::from(label)..3 * usize::from(label) + 3;
        for c in 0..3u8 {
            bytes.extend((0..SIDE * SIDE).map(|p| {
                if !learnable {
                    return (rng.uniform() * 255.0) as u8;
                }
                let bright = if band.contains(&(p / SIDE)) { 150.0 } else { 0.0 };
                (20.0 * f32::from(c) + bright + 30.0 * rng.uniform()) as u8
            }));
        }
    }
    bytes
}
