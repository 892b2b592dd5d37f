//! Pixel images inside figures: heat maps (decision regions, loss contours) and image galleries are
//! computed here, pixel by pixel, and handed to the backend in one `blit_bitmap` call: one `putImageData`
//! on the page's canvas instead of a rectangle per cell, so a redraw stays a few milliseconds however
//! fine the grid.

use plotters::coord::Shift;
use plotters::element::{Drawable, PointCollection};
use plotters::prelude::*;
use plotters_backend::{BackendCoord, DrawingErrorKind};

/// An RGB image (3 bytes a pixel, rows top to bottom) drawn unscaled with its top-left corner at `at`.
pub(super) struct Raster {
    at: BackendCoord,
    size: (u32, u32),
    rgb: Vec<u8>,
}

impl Raster {
    /// A `width` x `height` image whose pixel (column, row) has colour `paint(column, row)`.
    pub(super) fn paint(
        at: BackendCoord,
        (width, height): (u32, u32),
        paint: impl Fn(u32, u32) -> RGBColor,
    ) -> Self {
        let mut rgb = Vec::with_capacity(width as usize * height as usize * 3);
        for row in 0..height {
            for col in 0..width {
                let RGBColor(r, g, b) = paint(col, row);
                rgb.extend_from_slice(&[r, g, b]);
            }
        }
        Self { at, size: (width, height), rgb }
    }

    /// Fills the plotting area of a chart whose ranges are `x` and `y` with a grid of coloured cells:
    /// the pixel whose centre is at (x, y) in data coordinates (y grows upwards, as on the chart's axis)
    /// takes the colour of cell `row_of(y) * cols + col_of(x)`, white where there is none. The cell of
    /// each pixel column and row is worked out once, and a pixel row in the same cell row as the
    /// one above is copied whole.
    pub(super) fn cells<DB: DrawingBackend>(
        plot: &DrawingArea<DB, Shift>,
        (x, y): ((f32, f32), (f32, f32)),
        (col_of, row_of): (impl Fn(f32) -> usize, impl Fn(f32) -> usize),
        cols: usize,
        colours: &[RGBColor],
    ) -> Self {
        let (w, h) = plot.dim_in_pixel();
        let col: Vec<usize> =
            (0..w).map(|c| col_of(x.0 + (c as f32 + 0.5) / w.max(1) as f32 * (x.1 - x.0))).collect();
        let mut rgb = Vec::with_capacity(w as usize * h as usize * 3);
        let mut previous = None;
        for r in 0..h {
            let row = row_of(y.1 - (r as f32 + 0.5) / h.max(1) as f32 * (y.1 - y.0));
            // A pixel row in the same cell row as the one above is a copy of it.
            if previous == Some(row) {
                rgb.extend_from_within(rgb.len() - col.len() * 3..);
                continue;
            }
            previous = Some(row);
            for &c in &col {
                let cell =
                    if c < cols { row.checked_mul(cols).and_then(|i| colours.get(i + c)) } else { None };
                let &RGBColor(r, g, b) = cell.unwrap_or(&WHITE);
                rgb.extend_from_slice(&[r, g, b]);
            }
        }
        Self { at: (0, 0), size: (w, h), rgb }
    }

    /// A `2·half + 1` pixel square marker centred on the pixel where data point `p` falls (in the same
    /// data ranges `cells` was given), filled with `fill` and edged with a one-pixel `edge`; the parts
    /// outside the image are left out. Hundreds of points cost no canvas calls this way.
    pub(super) fn mark(
        &mut self,
        (x, y): ((f32, f32), (f32, f32)),
        p: (f32, f32),
        half: i32,
        (fill, edge): (RGBColor, RGBColor),
    ) {
        let (w, h) = (self.size.0 as i32, self.size.1 as i32);
        let cx = ((p.0 - x.0) / (x.1 - x.0) * w as f32).floor();
        let cy = ((y.1 - p.1) / (y.1 - y.0) * h as f32).floor();
        if !(cx.is_finite() && cy.is_finite()) || cx < -(half as f32) || cy < -(half as f32) {
            return;
        }
        let (cx, cy) = (cx.min(w as f32 + half as f32) as i32, cy.min(h as f32 + half as f32) as i32);
        for row in (cy - half).max(0)..(cy + half + 1).min(h) {
            for col in (cx - half).max(0)..(cx + half + 1).min(w) {
                let border = (row - cy).abs() == half || (col - cx).abs() == half;
                let RGBColor(r, g, b) = if border { edge } else { fill };
                let i = (row as usize * w as usize + col as usize) * 3;
                self.rgb[i..i + 3].copy_from_slice(&[r, g, b]);
            }
        }
    }

    /// A colour image (three planes, red, green, blue, each row-major `w` x `h`, values 0 = dark .. 1 =
    /// full) blown up `scale` times.
    pub(super) fn rgb(at: BackendCoord, (w, h): (usize, usize), values: &[f32], scale: u32) -> Self {
        let scale = scale.max(1);
        let level = |plane: usize, c: u32, r: u32| {
            let v = values.get(plane * w * h + (r / scale) as usize * w + (c / scale) as usize);
            (v.copied().unwrap_or(0.0).clamp(0.0, 1.0) * 255.0).round() as u8
        };
        Self::paint(at, (w as u32 * scale, h as u32 * scale), |c, r| {
            RGBColor(level(0, c, r), level(1, c, r), level(2, c, r))
        })
    }

    /// A grayscale image (values 0 = white .. 1 = black, row-major `w` x `h`) blown up `scale` times.
    pub(super) fn gray(at: BackendCoord, (w, h): (usize, usize), values: &[f32], scale: u32) -> Self {
        let scale = scale.max(1);
        Self::paint(at, (w as u32 * scale, h as u32 * scale), |c, r| {
            let v = values.get((r / scale) as usize * w + (c / scale) as usize).copied().unwrap_or(0.0);
            let g = 255 - (v.clamp(0.0, 1.0) * 255.0).round() as u8;
            RGBColor(g, g, g)
        })
    }
}

impl<'a> PointCollection<'a, BackendCoord> for &'a Raster {
    type Point = &'a BackendCoord;
    type IntoIter = std::iter::Once<&'a BackendCoord>;

    fn point_iter(self) -> Self::IntoIter {
        std::iter::once(&self.at)
    }
}

impl<DB: DrawingBackend> Drawable<DB> for Raster {
    fn draw<I: Iterator<Item = BackendCoord>>(
        &self,
        mut points: I,
        backend: &mut DB,
        _: (u32, u32),
    ) -> Result<(), DrawingErrorKind<DB::ErrorType>> {
        match points.next() {
            Some(at) if self.size.0 > 0 && self.size.1 > 0 => backend.blit_bitmap(at, self.size, &self.rgb),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paint_fills_rows_top_to_bottom() {
        let r = Raster::paint((0, 0), (2, 3), |c, row| RGBColor(c as u8, row as u8, 7));
        assert_eq!(r.rgb.len(), 2 * 3 * 3);
        assert_eq!(&r.rgb[..6], &[0, 0, 7, 1, 0, 7]);
        assert_eq!(&r.rgb[15..], &[1, 2, 7]);
    }

    #[test]
    fn marks_are_clipped_squares_with_an_edge() {
        let mut r = Raster { at: (0, 0), size: (10, 10), rgb: vec![0; 300] };
        let ranges = ((0.0, 10.0), (0.0, 10.0));
        // Data (5.5, 4.5) is the pixel in column 5, row 5 (y grows upwards).
        r.mark(ranges, (5.5, 4.5), 2, (RGBColor(9, 9, 9), WHITE));
        let px = |r: &Raster, c: usize, row: usize| r.rgb[(row * 10 + c) * 3];
        let centre = [px(&r, 5, 5), px(&r, 4, 6), px(&r, 3, 5), px(&r, 7, 7), px(&r, 2, 5), px(&r, 8, 5)];
        assert_eq!(centre, [9, 9, 255, 255, 0, 0]);
        // Half off the edge: only the inside part is painted, and nothing panics.
        r.mark(ranges, (0.1, 9.9), 2, (RGBColor(7, 7, 7), WHITE));
        assert_eq!([px(&r, 0, 0), px(&r, 1, 1), px(&r, 2, 2)], [7, 7, 255]);
        r.mark(ranges, (f32::NAN, 1e30), 2, (RGBColor(1, 1, 1), WHITE));
        r.mark(ranges, (-1e30, 1e30), 2, (RGBColor(1, 1, 1), WHITE));
    }

    #[test]
    fn gray_scales_each_value_to_a_block() {
        let r = Raster::gray((0, 0), (2, 1), &[0.0, 1.0], 2);
        assert_eq!(r.size, (4, 2));
        let px = |c: usize, row: usize| r.rgb[(row * 4 + c) * 3];
        assert_eq!([px(0, 0), px(1, 1), px(2, 0), px(3, 1)], [255, 255, 0, 0]);
    }
}
