//! The recorded graph as data, for the Autograd chapter to draw: one node per tensor (op name, shape,
//! value and gradient summaries) and one edge per input -> output link.

use serde::Serialize;

use super::topological_order;
use crate::tensor::Tensor;

/// Min, max and mean of a tensor's values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Summary {
    pub min: f32,
    pub max: f32,
    pub mean: f32,
}

impl Summary {
    fn of(t: &Tensor) -> Summary {
        let data = t.data();
        let (mut min, mut max, mut sum) = (f32::INFINITY, f32::NEG_INFINITY, 0.0f64);
        for &v in data.iter() {
            min = min.min(v);
            max = max.max(v);
            sum += f64::from(v);
        }
        Summary { min, max, mean: (sum / data.len().max(1) as f64) as f32 }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphNode {
    pub id: usize,
    /// The op that produced it (`grad_fn`), or "leaf".
    pub op: &'static str,
    pub shape: Vec<usize>,
    pub requires_grad: bool,
    pub value: Summary,
    /// Present once `backward` has filled the gradient (leaves, and non-leaves with `retain_grad`).
    pub grad: Option<Summary>,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct GraphEdge {
    pub from: usize,
    pub to: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Graph {
    /// Inputs before outputs.
    pub nodes: Vec<GraphNode>,
    pub edges: Vec<GraphEdge>,
}

/// The graph that produced `root`, through the inputs that require gradients.
pub fn graph(root: &Tensor) -> Graph {
    let order = topological_order(root);
    let nodes = order
        .iter()
        .map(|t| GraphNode {
            id: t.id(),
            op: t.grad_fn().unwrap_or("leaf"),
            shape: t.dims().to_vec(),
            requires_grad: t.requires_grad(),
            value: Summary::of(t),
            grad: t.grad().map(|g| Summary::of(&g)),
        })
        .collect();
    let edges = order
        .iter()
        .filter_map(|t| t.op().map(|op| (t, op)))
        .flat_map(|(t, op)| {
            op.inputs()
                .into_iter()
                .filter(|i| i.requires_grad())
                .map(|i| GraphEdge { from: i.id(), to: t.id() })
                .collect::<Vec<_>>()
        })
        .collect();
    Graph { nodes, edges }
}

/// Runs `root.backward()` keeping every intermediate node's gradient (`retain_grad`), and returns the graph
/// with a gradient on every node: what chapter 7 steps through node by node.
pub fn backward_traced(root: &Tensor) -> crate::error::Result<Graph> {
    for t in topological_order(root) {
        if t.op().is_some() {
            t.retain_grad();
        }
    }
    root.backward()?;
    Ok(graph(root))
}
