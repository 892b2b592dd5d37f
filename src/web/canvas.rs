//! The page's plotting backend: plotters-canvas's `CanvasBackend` with two costs taken out of every redraw.
//!
//! - Text sizes. plotters measures each label on the web by adding a `<span>` to the page and reading its
//!   `offsetHeight`, which forces a layout of the whole document, once per tick label: with a long epoch
//!   log on the page that was most of a figure's drawing time (and main-thread tasks over 100 ms on a slow
//!   machine). Here labels are measured with the canvas's own `measureText`, which never touches the page,
//!   and remembered.
//! - Pixel images. plotters' default `blit_bitmap` paints one `fillRect` per pixel; here it is one
//!   `putImageData` (heat maps and galleries are `Raster`s, see `plot::raster`).

use std::cell::RefCell;
use std::collections::HashMap;

use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind,
};
use plotters_canvas::CanvasBackend;
use wasm_bindgen::{Clamped, JsCast};
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, ImageData};

/// Remembered label sizes at most; past this the memory is cleared (tick labels change as axes move).
const MEASURED_CAP: usize = 4096;

thread_local! {
    static MEASURED: RefCell<HashMap<(String, String), (u32, u32)>> = RefCell::new(HashMap::new());
}

#[derive(Debug)]
pub struct CanvasError(String);

impl std::fmt::Display for CanvasError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CanvasError {}

fn cast<E: std::error::Error + Send + Sync + 'static>(
    e: DrawingErrorKind<E>,
) -> DrawingErrorKind<CanvasError> {
    match e {
        DrawingErrorKind::DrawingError(e) => DrawingErrorKind::DrawingError(CanvasError(e.to_string())),
        DrawingErrorKind::FontError(e) => DrawingErrorKind::FontError(e),
    }
}

fn js_error(what: &str, e: wasm_bindgen::JsValue) -> DrawingErrorKind<CanvasError> {
    DrawingErrorKind::DrawingError(CanvasError(format!("{what}: {e:?}")))
}

/// A canvas to draw figures on (see the module comment for what differs from `CanvasBackend`).
pub struct Canvas {
    inner: CanvasBackend,
    context: CanvasRenderingContext2d,
}

impl Canvas {
    /// The canvas element with this id, or `None` when there is none (or it has no 2-D context).
    pub fn new(id: &str) -> Option<Self> {
        let element = web_sys::window()?.document()?.get_element_by_id(id)?;
        let canvas: HtmlCanvasElement = element.dyn_into().ok()?;
        let context = canvas.get_context("2d").ok()??.dyn_into().ok()?;
        Some(Self { inner: CanvasBackend::with_canvas_object(canvas)?, context })
    }
}

impl DrawingBackend for Canvas {
    type ErrorType = CanvasError;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<CanvasError>> {
        self.inner.ensure_prepared().map_err(cast)
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<CanvasError>> {
        self.inner.present().map_err(cast)
    }

    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<CanvasError>> {
        self.inner.draw_pixel(point, color).map_err(cast)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<CanvasError>> {
        self.inner.draw_line(from, to, style).map_err(cast)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<CanvasError>> {
        self.inner.draw_rect(upper_left, bottom_right, style, fill).map_err(cast)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<CanvasError>> {
        self.inner.draw_path(path, style).map_err(cast)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<CanvasError>> {
        self.inner.draw_circle(center, radius, style, fill).map_err(cast)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<CanvasError>> {
        self.inner.fill_polygon(vert, style).map_err(cast)
    }

    fn draw_text<S: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &S,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<CanvasError>> {
        self.inner.draw_text(text, style, pos).map_err(cast)
    }

    /// The text's advance width and its font's ascent + descent (what the `<span>` plotters uses would
    /// measure as its height), from `measureText` in the same font string `draw_text` sets.
    fn estimate_text_size<S: BackendTextStyle>(
        &self,
        text: &str,
        style: &S,
    ) -> Result<(u32, u32), DrawingErrorKind<CanvasError>> {
        let font = format!("{} {}px {}", style.style().as_str(), style.size(), style.family().as_str());
        let key = (font, text.to_owned());
        if let Some(size) = MEASURED.with(|m| m.borrow().get(&key).copied()) {
            return Ok(size);
        }
        self.context.set_font(&key.0);
        let metrics = self.context.measure_text(text).map_err(|e| js_error("measureText", e))?;
        let height = metrics.font_bounding_box_ascent() + metrics.font_bounding_box_descent();
        // Older engines without font metrics report 0 or NaN: a line is about 1.2 font sizes.
        let height = if height.is_finite() && height > 0.0 { height } else { style.size() * 1.2 };
        let size = (metrics.width().ceil().max(0.0) as u32, height.ceil() as u32);
        MEASURED.with(|m| {
            let mut m = m.borrow_mut();
            if m.len() >= MEASURED_CAP {
                m.clear();
            }
            m.insert(key, size);
        });
        Ok(size)
    }

    /// One `putImageData` of the RGB pixels (made opaque RGBA). Like `putImageData` itself it ignores the
    /// context's transform and clip: `Raster`s are placed inside their plotting area by the figure code.
    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        (width, height): (u32, u32),
        src: &[u8],
    ) -> Result<(), DrawingErrorKind<CanvasError>> {
        let pixels = width as usize * height as usize;
        if pixels == 0 || src.len() < pixels * 3 {
            return Ok(());
        }
        let mut rgba = vec![255u8; pixels * 4];
        for (to, from) in rgba.chunks_exact_mut(4).zip(src.chunks_exact(3)) {
            to[..3].copy_from_slice(from);
        }
        let image = ImageData::new_with_u8_clamped_array_and_sh(Clamped(&rgba), width, height)
            .map_err(|e| js_error("ImageData", e))?;
        self.context
            .put_image_data(&image, f64::from(pos.0), f64::from(pos.1))
            .map_err(|e| js_error("putImageData", e))
    }
}
