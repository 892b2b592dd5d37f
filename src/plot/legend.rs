//! Figure legends: a white box of swatches and names in a corner of the plotting area.
//!
//! plotters has its own (`configure_series_labels`), but it sizes the names with the font directly, which
//! on the web means adding a `<span>` to the page and forcing a layout of the whole document for each
//! name, twice a legend, every redraw. This one measures through the drawing backend, which on the page
//! is the canvas's `measureText` (see `web::canvas`).

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// How an entry's swatch looks: the line, the dot or the bar of its series.
#[derive(Clone, Copy)]
pub(super) enum Swatch {
    Line(u32),
    Dot,
    Bar,
}

/// Where the box goes along the right edge of the plotting area.
#[derive(Clone, Copy)]
pub(super) enum Corner {
    Top,
    Middle,
    Bottom,
}

const FONT: (&str, u32) = ("sans-serif", 12);
const SWATCH_W: i32 = 18;
const PAD: i32 = 6;
const EDGE: i32 = 8;

/// Draws `entries` (name, colour, swatch) on `plot`, a chart's plotting area with pixel coordinates.
pub(super) fn legend<DB: DrawingBackend>(
    plot: &DrawingArea<DB, Shift>,
    entries: &[(String, RGBColor, Swatch)],
    corner: Corner,
) -> Result<(), String> {
    if entries.is_empty() {
        return Ok(());
    }
    let fail = |e: DrawingAreaErrorKind<DB::ErrorType>| format!("drawing failed: {e:?}");
    let style = TextStyle::from(FONT.into_font()).color(&BLACK);
    let mut text_w = 0i32;
    let mut line_h = 0i32;
    for (name, ..) in entries {
        let (w, h) = plot.estimate_text_size(name, &style).map_err(fail)?;
        text_w = text_w.max(w as i32);
        line_h = line_h.max(h as i32);
    }
    let line_h = line_h.max(FONT.1 as i32) + 4;
    let (box_w, box_h) = (PAD * 3 + SWATCH_W + text_w, PAD * 2 + line_h * entries.len() as i32);
    let (w, h) = plot.dim_in_pixel();
    let x0 = (w as i32 - box_w - EDGE).max(0);
    let y0 = match corner {
        Corner::Top => EDGE,
        Corner::Middle => (h as i32 - box_h) / 2,
        Corner::Bottom => h as i32 - box_h - EDGE,
    }
    .max(0);
    plot.draw(&Rectangle::new([(x0, y0), (x0 + box_w, y0 + box_h)], WHITE.mix(0.85).filled()))
        .map_err(fail)?;
    plot.draw(&Rectangle::new([(x0, y0), (x0 + box_w, y0 + box_h)], BLACK.mix(0.3))).map_err(fail)?;
    for (i, (name, c, swatch)) in entries.iter().enumerate() {
        let mid = y0 + PAD + line_h * i as i32 + line_h / 2;
        let sx = x0 + PAD;
        match *swatch {
            Swatch::Line(width) => {
                plot.draw(&PathElement::new(vec![(sx, mid), (sx + SWATCH_W, mid)], c.stroke_width(width)))
            }
            Swatch::Dot => plot.draw(&Circle::new((sx + SWATCH_W / 2, mid), 4, c.filled())),
            Swatch::Bar => plot.draw(&Rectangle::new([(sx + 4, mid - 4), (sx + 14, mid + 4)], c.filled())),
        }
        .map_err(fail)?;
        let anchor = style.pos(Pos::new(HPos::Left, VPos::Center));
        plot.draw(&Text::new(name.clone(), (sx + SWATCH_W + PAD, mid), anchor)).map_err(fail)?;
    }
    Ok(())
}
