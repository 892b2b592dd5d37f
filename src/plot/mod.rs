//! Plots as plain data (`Figure`), built from a preset's outcomes and its last session, and drawn by
//! `draw` on any plotters backend: the page's canvas, or a PNG file natively.

mod data;
mod draw;
mod graph;
mod images;
mod legend;
#[cfg(not(target_arch = "wasm32"))]
mod png;
mod raster;
mod toy;
mod vectorize;

use serde::{Deserialize, Serialize};

pub use data::{curvature, figures};
pub use draw::{Cells, draw, draw_cells};
pub use graph::{autograd_rules, graph_figure, layout_graph};
pub use images::cell_examples;
#[cfg(not(target_arch = "wasm32"))]
pub use png::{register_font, save_png};

/// One named line of points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub label: String,
    pub points: Vec<(f32, f32)>,
}

/// Something to draw, independent of where it is drawn. Serialized to JSON for the page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Figure {
    /// Curves against a shared x axis (loss per epoch, activation functions).
    Lines {
        title: String,
        x_label: String,
        y_label: String,
        series: Vec<Series>,
        /// A reference curve drawn underneath in grey (a toy function under the paths on it).
        #[serde(default)]
        guide: Option<Series>,
    },
    /// Points with an optional fitted line (a regression).
    Scatter {
        title: String,
        x_label: String,
        y_label: String,
        points: Vec<(f32, f32)>,
        line: Vec<(f32, f32)>,
    },
    /// A class per grid cell over [x0, x1] × [y0, y1] (row-major, `cols` per row, bottom row first) with
    /// labelled points on top.
    Regions {
        title: String,
        x_label: String,
        y_label: String,
        x: (f32, f32),
        y: (f32, f32),
        cols: usize,
        cells: Vec<u8>,
        points: Vec<(f32, f32, u8)>,
        classes: Vec<String>,
    },
    /// A scalar field over [x0, x1] × [y0, y1] (row-major, bottom row first) with paths drawn over it.
    Contour {
        title: String,
        x_label: String,
        y_label: String,
        x: (f32, f32),
        y: (f32, f32),
        cols: usize,
        values: Vec<f32>,
        paths: Vec<Series>,
    },
    /// A square table of counts (a confusion matrix: row = true class, column = predicted class).
    Matrix { title: String, labels: Vec<String>, counts: Vec<u32> },
    /// Small grayscale images (values 0-1, row-major `width` × `height`) with a caption each.
    Images {
        title: String,
        width: usize,
        height: usize,
        /// Each `width` x `height` values (grey, 0 = white .. 1 = black) or three times that (red, green
        /// and blue planes, 0 = dark .. 1 = full).
        images: Vec<Vec<f32>>,
        captions: Vec<String>,
        /// Images per row (0: as square a grid as fits).
        #[serde(default)]
        columns: usize,
    },
    /// A computation graph laid out in layers (leaves in layer 0, each op one layer after its deepest
    /// input): boxes with the op, shape, value and gradient, and arrows from inputs to outputs.
    /// Nodes come in topological order (inputs first); backward visits them in reverse. `shown`: how many
    /// nodes backward has reached, counted from the loss (their gradients are drawn, the newest marked);
    /// `None` shows every gradient.
    Graph {
        title: String,
        nodes: Vec<GraphBox>,
        edges: Vec<(usize, usize)>,
        #[serde(default)]
        shown: Option<usize>,
    },
    /// Grouped bars: one group per label, one bar per series.
    Bars { title: String, y_label: String, labels: Vec<String>, series: Vec<(String, Vec<f32>)> },
}

impl Figure {
    pub fn title(&self) -> &str {
        match self {
            Figure::Lines { title, .. }
            | Figure::Scatter { title, .. }
            | Figure::Regions { title, .. }
            | Figure::Contour { title, .. }
            | Figure::Matrix { title, .. }
            | Figure::Images { title, .. }
            | Figure::Graph { title, .. }
            | Figure::Bars { title, .. } => title,
        }
    }
}

/// One node of a drawn graph: where it sits and what it says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GraphBox {
    pub label: String,
    /// The node's value ("= 0.5000", or "mean …" for a tensor).
    pub detail: String,
    /// ∂L/∂node once backward has filled it ("∂L = 3.0000").
    #[serde(default)]
    pub grad: Option<String>,
    pub layer: usize,
    pub slot: usize,
    pub leaf: bool,
}

/// The colour-blind-safe palette of Okabe and Ito (2008), in the order series use it.
pub const PALETTE: [(u8, u8, u8); 8] = [
    (0, 114, 178),
    (230, 159, 0),
    (0, 158, 115),
    (204, 121, 167),
    (86, 180, 233),
    (213, 94, 0),
    (240, 228, 66),
    (0, 0, 0),
];
