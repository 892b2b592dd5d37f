//! Numeric CSV tables with a header row (Advertising: TV, Radio, Newspaper, Sales; Iris: four measurements
//! and Species). Parsed by the `csv` crate (quoting, line endings); every cell must be a finite number.

use super::gzip::maybe_gunzip;
use super::mnist_csv::clip;
use crate::error::{LabError, Result};

const KIND: &str = "CSV";

fn err(message: String) -> LabError {
    LabError::Format { kind: KIND, message }
}

/// A numeric table: named columns, values row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: usize,
    pub values: Vec<f32>,
}

impl Table {
    /// Index of a column by name (exact, then case-insensitive).
    pub fn column_index(&self, name: &str) -> Result<usize> {
        self.columns
            .iter()
            .position(|c| c == name)
            .or_else(|| self.columns.iter().position(|c| c.eq_ignore_ascii_case(name)))
            .ok_or_else(|| {
                err(format!("no column named '{}'; the columns are {:?}", clip(name), self.columns))
            })
    }

    /// The chosen columns, row-major: (rows, names.len()).
    pub fn select(&self, names: &[&str]) -> Result<Vec<f32>> {
        let idx = names.iter().map(|n| self.column_index(n)).collect::<Result<Vec<_>>>()?;
        let width = self.columns.len();
        Ok((0..self.rows)
            .flat_map(|r| idx.iter().map(move |&c| (r, c)))
            .map(|(r, c)| self.values[r * width + c])
            .collect())
    }

    /// One column's values.
    pub fn column(&self, name: &str) -> Result<Vec<f32>> {
        self.select(&[name])
    }
}

/// Parses a CSV file whose first row names the columns and whose other rows are numbers. Raw or gzip.
pub fn parse_csv(bytes: &[u8]) -> Result<Table> {
    let bytes = maybe_gunzip(bytes, KIND)?;
    let mut reader =
        ::csv::ReaderBuilder::new().has_headers(true).trim(::csv::Trim::All).from_reader(&bytes[..]);
    let columns: Vec<String> = reader
        .headers()
        .map_err(|e| err(format!("the header row cannot be read: {e}")))?
        .iter()
        .map(str::to_string)
        .collect();
    if columns.is_empty() || columns.iter().all(String::is_empty) {
        return Err(err("the file is empty (no header row)".into()));
    }
    let mut values = Vec::new();
    let mut rows = 0;
    for (i, record) in reader.records().enumerate() {
        // The csv crate reports rows with a different number of fields as errors (ragged rows).
        let record = record.map_err(|e| err(format!("row {}: {e}", i + 2)))?;
        for (c, cell) in record.iter().enumerate() {
            let v: f32 = cell.parse().ok().filter(|v: &f32| v.is_finite()).ok_or_else(|| {
                err(format!(
                    "row {}, column '{}': '{}' is not a finite number",
                    i + 2,
                    columns[c],
                    clip(cell)
                ))
            })?;
            values.push(v);
        }
        rows += 1;
    }
    if rows == 0 {
        return Err(err(format!("no data rows under the header {columns:?}")));
    }
    Ok(Table { columns, rows, values })
}
