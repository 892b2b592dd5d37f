//! The drawing pad's half of the facade: turning a drawing into a model input (each step returned for the
//! page to show) and classifying it with a starter model read from a file (`PadModel`) or with the model
//! being trained (`Trainer::classifyAsync`, in trainer.rs).

use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::data::image::{DrawingSteps, prepare_drawing};
use crate::train::Classifier;

fn js_error(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

/// The pad's ink (0..1) in the datasets' raw pixel scale (0..255), which the models were trained on.
pub(super) fn ink_to_pixels(input: &[f32]) -> Vec<f32> {
    input.iter().map(|v| v * 255.0).collect()
}

/// A drawing (one ink value per pixel in [0, 1], row-major, `width` x `height`) made into a 28x28 input:
/// `{ crop, scaled, input }` (see `prepare_drawing`), or `null` when there is no ink yet. `side` is the
/// longer side the ink is scaled to: 20 for digits, 28 for clothes (`PadModel.side`).
#[wasm_bindgen(js_name = prepareDrawing)]
pub fn prepare(pixels: &[f32], width: usize, height: usize, side: usize) -> Result<JsValue, JsError> {
    if pixels.len() != width * height {
        return Err(JsError::new(&format!(
            "prepareDrawing: {} values for a {width}x{height} pad",
            pixels.len()
        )));
    }
    let steps: Option<DrawingSteps> = prepare_drawing(pixels, height, width, side);
    Ok(steps.serialize(&serde_wasm_bindgen::Serializer::json_compatible())?)
}

/// A model file (`.safetensors` as `cvjourney model starters` or the lab's export writes it), validated and
/// ready to classify single drawings.
#[wasm_bindgen]
pub struct PadModel {
    inner: Classifier,
}

#[wasm_bindgen]
impl PadModel {
    /// Reads and validates a model file; a malformed or hostile file is an error saying what is wrong.
    #[wasm_bindgen(constructor)]
    pub fn new(bytes: &[u8]) -> Result<PadModel, JsError> {
        Ok(PadModel { inner: Classifier::from_bytes(bytes).map_err(js_error)? })
    }

    /// The class names, in output order.
    pub fn classes(&self) -> Vec<String> {
        self.inner.classes.clone()
    }

    /// The longer side a drawing's ink is scaled to for this model (20 for digits, 28 for clothes).
    pub fn side(&self) -> usize {
        self.inner.drawing_side()
    }

    /// Class probabilities for a prepared 28x28 input (ink in [0, 1], as `prepareDrawing` gives it).
    pub fn predict(&self, input: &[f32]) -> Result<Vec<f32>, JsError> {
        self.inner.predict(&ink_to_pixels(input)).map_err(js_error)
    }

    /// A prepared input after the model's own normalization (e.g. z-scores): what its first layer receives.
    pub fn normalized(&self, input: &[f32]) -> Result<Vec<f32>, JsError> {
        self.inner.normalized(&ink_to_pixels(input)).map_err(js_error)
    }

    /// The first convolution's feature maps for a prepared input: `[{ rows, cols, values }]` (empty for a
    /// model without convolutions).
    #[wasm_bindgen(js_name = featureMaps)]
    pub fn feature_maps(&self, input: &[f32]) -> Result<JsValue, JsError> {
        let maps = self.inner.feature_maps(&ink_to_pixels(input)).map_err(js_error)?;
        Ok(maps.serialize(&serde_wasm_bindgen::Serializer::json_compatible())?)
    }

    /// |∂(top class)/∂(pixel)| scaled to [0, 1]: where the model looked.
    pub fn saliency(&self, input: &[f32]) -> Result<Vec<f32>, JsError> {
        self.inner.saliency(&ink_to_pixels(input)).map_err(js_error)
    }
}
