//! The IDX format of MNIST and Fashion-MNIST (LeCun et al.): a big-endian header (magic 2049 for labels,
//! 2051 for images; then the item count and, for images, rows and columns) followed by one byte per value.

use super::gzip::maybe_gunzip;
use super::{Images, LabeledImages};
use crate::error::{LabError, Result};

const KIND: &str = "IDX";
pub const LABELS_MAGIC: u32 = 2049;
pub const IMAGES_MAGIC: u32 = 2051;

fn err(message: String) -> LabError {
    LabError::Format { kind: KIND, message }
}

/// The decoded content of one IDX file.
#[derive(Debug, Clone, PartialEq)]
pub enum Idx {
    Labels(Vec<u8>),
    Images(Images),
}

/// Big-endian u32 at `at`, or an error naming the field when the file is too short for it.
fn be_u32(bytes: &[u8], at: usize, field: &str) -> Result<u32> {
    bytes.get(at..at + 4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]])).ok_or_else(|| {
        err(format!("file ends before the {field} (needs {} bytes, has {})", at + 4, bytes.len()))
    })
}

/// Parses an IDX file, raw or gzip-compressed.
pub fn parse_idx(bytes: &[u8]) -> Result<Idx> {
    let bytes = maybe_gunzip(bytes, KIND)?;
    let magic = be_u32(&bytes, 0, "magic number")?;
    let count = be_u32(&bytes, 4, "item count")? as usize;
    match magic {
        LABELS_MAGIC => Ok(Idx::Labels(payload(&bytes, 8, count, "labels")?.to_vec())),
        IMAGES_MAGIC => {
            let rows = be_u32(&bytes, 8, "row count")? as usize;
            let cols = be_u32(&bytes, 12, "column count")? as usize;
            if rows == 0 || cols == 0 {
                return Err(err(format!("image size {rows}x{cols} is empty")));
            }
            // Checked: a forged header must not overflow the size computation.
            let values = count
                .checked_mul(rows)
                .and_then(|v| v.checked_mul(cols))
                .ok_or_else(|| err(format!("{count} images of {rows}x{cols} is an impossible size")))?;
            let pixels = payload(&bytes, 16, values, "pixels")?.to_vec();
            Ok(Idx::Images(Images { count, channels: 1, rows, cols, pixels }))
        }
        other => Err(err(format!(
            "magic {LABELS_MAGIC} (labels) or {IMAGES_MAGIC} (images) expected, found {other}"
        ))),
    }
}

/// The `len` bytes after the header, which must be exactly what the file holds (nothing is allocated from
/// the header's claims alone).
fn payload<'a>(bytes: &'a [u8], header: usize, len: usize, what: &str) -> Result<&'a [u8]> {
    let have = bytes.len() - header;
    if have != len {
        return Err(err(format!("header declares {len} bytes of {what}, the file holds {have}")));
    }
    Ok(&bytes[header..])
}

/// Parses an images file and its labels file and checks that they describe the same items.
pub fn parse_idx_pair(images: &[u8], labels: &[u8], classes: usize) -> Result<LabeledImages> {
    let Idx::Images(images) = parse_idx(images)? else {
        return Err(err(format!("the images file has the labels magic {LABELS_MAGIC}")));
    };
    let Idx::Labels(labels) = parse_idx(labels)? else {
        return Err(err(format!("the labels file has the images magic {IMAGES_MAGIC}")));
    };
    LabeledImages::new(images, labels, classes, KIND)
}
