//! PNG files of a preset's figures, for the CLI (`cvjourney run … --plot out.png`).

use std::path::Path;

use plotters::prelude::*;

use super::{draw, figures};
use crate::chapters::{Preset, RunOutcome};
use crate::error::{LabError, Result};
use crate::train::Session;

/// Debian's fonts-dejavu-core; plotters' ab_glyph text needs one registered font file.
const FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

/// Registers Debian's DejaVu Sans as plotters' "sans-serif" (once); PNG text needs it.
pub fn register_font() -> Result<()> {
    static DONE: std::sync::OnceLock<std::result::Result<(), String>> = std::sync::OnceLock::new();
    DONE.get_or_init(|| {
        let bytes = std::fs::read(FONT).map_err(|e| {
            format!("cannot read the font {FONT}: {e} (install the Debian package fonts-dejavu-core)")
        })?;
        // plotters keeps a reference for the life of the program.
        let leaked: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        plotters::style::register_font("sans-serif", FontStyle::Normal, leaked)
            .map_err(|_| format!("{FONT} is not a usable font"))
    })
    .clone()
    .map_err(LabError::InvalidArgument)
}

/// Every figure of `preset`, two per row, 560x380 pixels each, into one PNG file.
pub fn save_png(preset: &Preset, outcomes: &[RunOutcome], session: &Session, path: &Path) -> Result<()> {
    register_font()?;
    let figs = figures(preset, outcomes, session)?;
    if figs.is_empty() {
        return Err(LabError::InvalidArgument(format!("preset {} has no plots", preset.id)));
    }
    let cols = figs.len().min(2);
    let rows = figs.len().div_ceil(cols);
    let (w, h) = (560 * cols as u32, 380 * rows as u32);
    let root = BitMapBackend::new(path, (w, h)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| LabError::InvalidArgument(format!("{e:?}")))?;
    let fail = |e: String| LabError::InvalidArgument(format!("{}: {e}", path.display()));
    for (fig, area) in figs.iter().zip(root.split_evenly((rows, cols))) {
        draw(fig, &area).map_err(fail)?;
    }
    root.present().map_err(|e| fail(format!("{e:?}")))
}
