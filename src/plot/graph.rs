//! Chapter 7's pictures: a recorded graph laid out in layers, with every node's value and the gradient
//! backward() left on it. The graph is a toy run's loss at its current point, or the model being trained
//! applied to two training items.

use std::collections::HashMap;

use super::{Figure, GraphBox};
use crate::autograd::{Graph, Summary};
use crate::data::make_batch;
use crate::error::{LabError, Result};
use crate::nn::Module;
use crate::tensor::Tensor;
use crate::train::{DatasetSpec, Session, ToyModel};

fn say(s: &Summary, shape: &[usize]) -> String {
    if shape.iter().product::<usize>() <= 1 {
        format!("{:.4}", s.mean)
    } else {
        format!("mean {:.4}", s.mean)
    }
}

/// Boxes for a recorded graph. An op sits one layer after its deepest input; a leaf sits just before the
/// first op that reads it (so a network's weights appear next to their layer, not all in one column).
/// Leaves named in `names` (by node id) are labelled with the name, other nodes with their op.
pub fn layout_graph(title: String, graph: &Graph, names: &HashMap<usize, String>) -> Figure {
    let inputs = |id: usize| graph.edges.iter().filter(move |e| e.to == id).map(|e| e.from);
    let mut layer: HashMap<usize, usize> = HashMap::new();
    for n in &graph.nodes {
        let deepest = inputs(n.id).filter_map(|i| layer.get(&i)).max();
        layer.insert(n.id, deepest.map_or(0, |d| d + 1));
    }
    for n in graph.nodes.iter().filter(|n| n.op == "leaf") {
        let first_use = graph.edges.iter().filter(|e| e.from == n.id).filter_map(|e| layer.get(&e.to)).min();
        if let Some(&l) = first_use {
            layer.insert(n.id, l.saturating_sub(1));
        }
    }
    let mut filled: HashMap<usize, usize> = HashMap::new();
    let index: HashMap<usize, usize> = graph.nodes.iter().enumerate().map(|(i, n)| (n.id, i)).collect();
    let nodes = graph
        .nodes
        .iter()
        .map(|n| {
            let l = layer[&n.id];
            let slot = filled.entry(l).or_default();
            *slot += 1;
            let name = names.get(&n.id).cloned().unwrap_or_else(|| n.op.to_string());
            GraphBox {
                label: format!("{name} {:?}", n.shape),
                detail: format!("= {}", say(&n.value, &n.shape)),
                grad: n.grad.as_ref().map(|g| format!("∂L = {}", say(g, &n.shape))),
                layer: l,
                slot: *slot - 1,
                leaf: n.op == "leaf",
            }
        })
        .collect();
    let edges = graph.edges.iter().filter_map(|e| Some((*index.get(&e.from)?, *index.get(&e.to)?))).collect();
    Figure::Graph { title, nodes, edges, shown: None }
}

/// The graph of the session's loss at its current parameters: a toy function's, or the model's on two
/// training items (the data x and the labels are not drawn: they need no gradient).
pub fn graph_figure(session: &Session) -> Result<Figure> {
    if let DatasetSpec::Toy { function, .. } = &session.config.dataset {
        let point: Vec<f32> = session.model.parameters().iter().flat_map(|p| p.to_vec()).collect();
        let (graph, names) = ToyModel::new(*function, &point)?.fresh_graph()?;
        let names = names.into_iter().collect();
        return Ok(layout_graph(format!("The graph of L = {}", function.formula()), &graph, &names));
    }
    session.not_trees("drawn as a graph")?;
    let items = session.train.len().min(2);
    if items == 0 {
        return Err(LabError::InvalidArgument("the graph needs a training item to run the model on".into()));
    }
    let batch = session.on_device(make_batch(&session.train, &(0..items).collect::<Vec<_>>())?)?;
    // Evaluation mode: no dropout mask or noise drawn, BatchNorm's running statistics (the graph is the
    // same shape either way, and training's random streams are left alone).
    session.model.eval();
    // The last step's gradients are still on the parameters (its update is done): backward would add to them.
    session.model.parameters().iter().for_each(Tensor::zero_grad);
    let traced = session
        .model
        .forward(&batch.x)
        .and_then(|out| session.loss(&out, &batch))
        .and_then(|loss| crate::autograd::backward_traced(&loss));
    session.model.train();
    // The next training step starts from zero anyway; clear them so nothing reads this pass's gradients.
    session.model.parameters().iter().for_each(Tensor::zero_grad);
    let graph = traced?;
    let names = session.model.named_parameters().into_iter().map(|(n, t)| (t.id(), n)).collect();
    let title = format!("The graph of the loss on {items} training items, after backward()");
    Ok(layout_graph(title, &graph, &names))
}

/// Chapter 7's rules of autograd, each shown on the graph of L = (a·x + b − y)² at the session's current
/// (a, b) and computed by the lab's own autograd: backward fills the leaves' gradients; a second backward
/// adds to them; zero_grad clears them; nothing is recorded under no_grad; a frozen leaf gets no gradient;
/// a vector output needs an explicit output gradient (a vector-Jacobian product).
pub fn autograd_rules(session: &Session) -> Result<Vec<Figure>> {
    let DatasetSpec::Toy { function: function @ crate::train::ToyFunction::AffineSquare { x, y }, .. } =
        session.config.dataset
    else {
        return Err(LabError::InvalidArgument("the rules are shown on chapter 7's (a·x + b − y)²".into()));
    };
    let point: Vec<f32> = session.model.parameters().iter().flat_map(|p| p.to_vec()).collect();
    let &[a0, b0] = &point[..] else {
        return Err(LabError::InvalidArgument("(a·x + b − y)² has two parameters".into()));
    };
    let leaf =
        |v: f32, grad: bool| -> Result<Tensor> { Ok(Tensor::from_slice(&[v], [1])?.requires_grad_(grad)) };
    let named = |a: &Tensor, b: &Tensor| -> HashMap<usize, String> {
        [(a.id(), "a".to_string()), (b.id(), "b".to_string())].into_iter().collect()
    };
    let grad = |t: &Tensor| t.grad().map(|g| g.to_vec()[0]);
    let show = |g: Option<f32>| g.map_or("None".to_string(), |g| format!("{g:.4}"));
    // Fresh leaves at (a, b) (a trained or frozen), the loss recorded on them, backward with every
    // node's gradient kept.
    let traced = |a_trains: bool| -> Result<(Tensor, Tensor, Tensor, crate::autograd::Graph)> {
        let (a, b) = (leaf(a0, a_trains)?, leaf(b0, true)?);
        let loss = function.value_of(&[a.clone(), b.clone()])?;
        let g = crate::autograd::backward_traced(&loss)?;
        Ok((a, b, loss, g))
    };
    let r = a0 * x + b0 - y;
    let mut figures = Vec::new();

    // 1. backward() on the two leaves.
    let (a, b, loss, g) = traced(true)?;
    figures.push(layout_graph(
        format!(
            "1. backward(): a.grad = 2(ax+b−y)·x = {}, b.grad = 2(ax+b−y) = {}",
            show(grad(&a)),
            show(grad(&b))
        ),
        &g,
        &named(&a, &b),
    ));
    // 2. A second backward() adds to .grad.
    loss.backward()?;
    figures.push(layout_graph(
        format!(
            "2. backward() again, no zero_grad: a.grad adds up to {} = 2 × {:.4}",
            show(grad(&a)),
            2.0 * r * x
        ),
        &crate::autograd::graph(&loss),
        &named(&a, &b),
    ));
    // 3. zero_grad() clears it.
    a.zero_grad();
    b.zero_grad();
    figures.push(layout_graph(
        format!("3. zero_grad(): a.grad = {}, b.grad = {}", show(grad(&a)), show(grad(&b))),
        &crate::autograd::graph(&loss),
        &named(&a, &b),
    ));
    // 4. no_grad records nothing.
    let (a, b) = (leaf(a0, true)?, leaf(b0, true)?);
    let quiet = crate::autograd::no_grad(|| function.value_of(&[a.clone(), b.clone()]))?;
    let refused = if quiet.backward().is_err() { "backward() refuses" } else { "backward() ran" };
    figures.push(layout_graph(
        format!(
            "4. no_grad: L = {:.4}, grad_fn = {}, nothing recorded; {refused}",
            quiet.item()?,
            quiet.grad_fn().unwrap_or("None")
        ),
        &crate::autograd::graph(&quiet),
        &HashMap::new(),
    ));
    // 5. A frozen leaf (requires_grad = false) is a constant: only b is trained.
    let (a, b, _, g) = traced(false)?;
    figures.push(layout_graph(
        format!(
            "5. a frozen (requires_grad False): a.grad = {}, b.grad = {}",
            show(grad(&a)),
            show(grad(&b))
        ),
        &g,
        &named(&a, &b),
    ));
    // 6. A vector output: backward needs v, and gives vᵀJ.
    let (a, b) = (leaf(a0, true)?, leaf(b0, true)?);
    let xs = Tensor::from_slice(&[1.0, 2.0, 3.0], [3])?;
    let v = Tensor::from_slice(&[1.0, 0.5, 0.25], [3])?;
    let out = xs.mul(&a)?.add(&b)?;
    let refused = out.backward().is_err();
    let g = {
        out.retain_grad();
        out.backward_with(&v)?;
        crate::autograd::graph(&out)
    };
    figures.push(layout_graph(
        format!(
            "6. ŷ = a·[1,2,3] + b{}: backward(v = [1,.5,.25]) → a.grad = {}, b.grad = {}",
            if refused { " (a vector)" } else { "" },
            show(grad(&a)),
            show(grad(&b))
        ),
        &g,
        &named(&a, &b),
    ));
    Ok(figures)
}
