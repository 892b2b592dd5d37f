//! Transparent gzip: files may arrive compressed (`*.gz`) or raw; the magic bytes decide. The decompressed
//! size is capped, so a gzip bomb is an error, not an out-of-memory crash.

use std::borrow::Cow;
use std::io::Read;

use crate::error::{LabError, Result};

/// Largest decompressed payload accepted (the biggest real file, Fashion-MNIST's training images, is 45 MiB).
pub const MAX_DECOMPRESSED: usize = 128 << 20;

/// Whether `bytes` start with the gzip magic (1f 8b).
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// The bytes themselves, or their decompression when they are gzip. `kind` names the format in errors.
pub fn maybe_gunzip<'a>(bytes: &'a [u8], kind: &'static str) -> Result<Cow<'a, [u8]>> {
    if !is_gzip(bytes) {
        return Ok(Cow::Borrowed(bytes));
    }
    let mut out = Vec::new();
    let mut decoder = flate2::read::MultiGzDecoder::new(bytes).take(MAX_DECOMPRESSED as u64 + 1);
    decoder
        .read_to_end(&mut out)
        .map_err(|e| LabError::Format { kind, message: format!("gzip data is corrupt: {e}") })?;
    if out.len() > MAX_DECOMPRESSED {
        return Err(LabError::Format {
            kind,
            message: format!("decompresses to more than {} MiB, the lab's limit", MAX_DECOMPRESSED >> 20),
        });
    }
    Ok(Cow::Owned(out))
}
