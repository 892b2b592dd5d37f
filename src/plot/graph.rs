//! Chapter 7's picture: the recorded graph of a toy loss, laid out in layers, with every node's value and
//! the gradients backward() left on the leaves.

use std::collections::HashMap;

use super::{Figure, GraphBox};
use crate::autograd::Summary;
use crate::error::{LabError, Result};
use crate::nn::Module;
use crate::train::{DatasetSpec, Session, ToyModel};

fn say(s: &Summary, shape: &[usize]) -> String {
    if shape.iter().product::<usize>() <= 1 {
        format!("{:.4}", s.mean)
    } else {
        format!("mean {:.4}", s.mean)
    }
}

/// The graph of the session's toy loss at its current parameters.
pub fn graph_figure(session: &Session) -> Result<Figure> {
    let DatasetSpec::Toy { function, .. } = &session.config.dataset else {
        return Err(LabError::InvalidArgument("the graph is drawn for the toy examples of chapter 7".into()));
    };
    let point: Vec<f32> = session.model.parameters().iter().flat_map(|p| p.to_vec()).collect();
    let (graph, names) = ToyModel::new(*function, &point)?.fresh_graph()?;
    let names: HashMap<usize, String> = names.into_iter().collect();
    // Layer = 1 + the deepest input's layer; leaves are layer 0. Nodes come inputs first.
    let mut layer: HashMap<usize, usize> = HashMap::new();
    for n in &graph.nodes {
        let deepest = graph.edges.iter().filter(|e| e.to == n.id).filter_map(|e| layer.get(&e.from)).max();
        layer.insert(n.id, deepest.map_or(0, |d| d + 1));
    }
    let mut filled: HashMap<usize, usize> = HashMap::new();
    let mut index: HashMap<usize, usize> = HashMap::new();
    let nodes = graph
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            index.insert(n.id, i);
            let l = layer[&n.id];
            let slot = filled.entry(l).or_default();
            *slot += 1;
            let name = names.get(&n.id).cloned().unwrap_or_else(|| n.op.to_string());
            let mut detail = format!("= {}", say(&n.value, &n.shape));
            if let Some(g) = &n.grad {
                detail.push_str(&format!("  ∂L = {}", say(g, &n.shape)));
            }
            GraphBox {
                label: format!("{name} {:?}", n.shape),
                detail,
                layer: l,
                slot: *slot - 1,
                leaf: n.op == "leaf",
            }
        })
        .collect();
    let edges = graph.edges.iter().filter_map(|e| Some((*index.get(&e.from)?, *index.get(&e.to)?))).collect();
    Ok(Figure::Graph { title: format!("The graph of L = {}", function.formula()), nodes, edges })
}
