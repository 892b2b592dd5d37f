//! Every differentiable op against central finite differences, and PyTorch's autograd semantics.

use cvjourney::autograd::{GradcheckOptions, gradcheck, graph};
use cvjourney::tensor::{Rng, Shape, Tensor, manual_seed};
use cvjourney::{LabError, no_grad};

type Op = fn(&[Tensor]) -> Result<Tensor, LabError>;

fn rand(shape: &[usize]) -> Tensor {
    Tensor::uniform(Shape::new(shape), -2.0, 2.0)
}

/// Values in ±[0.2, 2]: away from the kinks of relu, abs, leaky_relu, elu and the pole of log/div.
fn away_from_zero(shape: &[usize]) -> Tensor {
    let t = Tensor::uniform(Shape::new(shape), 0.2, 2.0);
    let sign = Tensor::bernoulli(Shape::new(shape), 0.5).mul_scalar(2.0).add_scalar(-1.0);
    t.mul(&sign).unwrap()
}

/// Distinct values 0.1 apart, shuffled: max/min and their ties stay farther apart than the
/// finite-difference step (a near-tie would make the numeric derivative straddle the kink).
fn distinct(shape: &[usize], offset: f32) -> Tensor {
    let n: usize = shape.iter().product();
    let mut values: Vec<f32> = (0..n).map(|i| offset + 0.1 * i as f32 - 0.05 * n as f32).collect();
    let mut rng = Rng::new(n as u64 + 99);
    for i in (1..n).rev() {
        values.swap(i, rng.below(i + 1));
    }
    Tensor::from_vec(values, Shape::new(shape)).unwrap()
}

fn check(name: &str, f: Op, inputs: &[Tensor]) {
    if let Err(e) = gradcheck(f, inputs, GradcheckOptions::default()) {
        panic!("{name}: {e}");
    }
}

#[test]
fn unary_ops_match_finite_differences() {
    manual_seed(10);
    let x = away_from_zero(&[3, 4]);
    let unary: [(&str, Op); 16] = [
        ("neg", |t| Ok(t[0].neg())),
        ("exp", |t| Ok(t[0].exp())),
        ("abs", |t| Ok(t[0].abs())),
        ("sigmoid", |t| Ok(t[0].sigmoid())),
        ("tanh", |t| Ok(t[0].tanh())),
        ("relu", |t| Ok(t[0].relu())),
        ("leaky_relu", |t| Ok(t[0].leaky_relu(0.1))),
        ("elu", |t| Ok(t[0].elu(0.7))),
        ("gelu", |t| Ok(t[0].gelu())),
        ("silu", |t| Ok(t[0].silu())),
        ("softplus", |t| Ok(t[0].softplus())),
        ("pow 3", |t| Ok(t[0].pow(3.0))),
        ("add_scalar", |t| Ok(t[0].add_scalar(1.5))),
        ("mul_scalar", |t| Ok(t[0].mul_scalar(-0.5))),
        ("log(abs)", |t| Ok(t[0].abs().log())),
        ("sqrt(abs)", |t| Ok(t[0].abs().sqrt())),
    ];
    for (name, f) in unary {
        check(name, f, std::slice::from_ref(&x));
    }
}

#[test]
fn binary_ops_with_broadcasting_match_finite_differences() {
    manual_seed(11);
    let shapes: [(&[usize], &[usize]); 4] =
        [(&[2, 3], &[2, 3]), (&[2, 3], &[3]), (&[2, 1, 3], &[4, 1]), (&[], &[3])];
    let ops: [(&str, Op); 6] = [
        ("add", |t| t[0].add(&t[1])),
        ("sub", |t| t[0].sub(&t[1])),
        ("mul", |t| t[0].mul(&t[1])),
        ("div", |t| t[0].div(&t[1])),
        ("maximum", |t| t[0].maximum(&t[1])),
        ("minimum", |t| t[0].minimum(&t[1])),
    ];
    for (sa, sb) in shapes {
        for (name, f) in ops {
            // Divisors away from zero; max/min inputs on interleaved grids (never within 0.05 of each other).
            let inputs = if name.starts_with("m") {
                [distinct(sa, 0.0), distinct(sb, 0.05)]
            } else {
                [rand(sa), away_from_zero(sb)]
            };
            check(&format!("{name} {sa:?} {sb:?}"), f, &inputs);
        }
    }
}

#[test]
fn reductions_and_layout_match_finite_differences() {
    let x = distinct(&[2, 3, 4], 0.0);
    let ops: [(&str, Op); 12] = [
        ("sum all", |t| t[0].sum(&[], false)),
        ("sum axis 1 keepdim", |t| t[0].sum(&[1], true)),
        ("sum axes 0,2", |t| t[0].sum(&[0, -1], false)),
        ("mean axis -1", |t| t[0].mean(&[-1], false)),
        ("max axis 1", |t| t[0].max(1, false)),
        ("max axis 2 keepdim", |t| t[0].max(2, true)),
        ("reshape", |t| t[0].reshape(&[4, -1])),
        ("permute", |t| t[0].permute(&[2, 0, 1])),
        ("transpose", |t| t[0].transpose(0, -1)),
        ("expand", |t| t[0].sum(&[1], true)?.expand(&Shape::new(&[2, 3, 4]))),
        ("softmax", |t| t[0].softmax(1)),
        ("log_softmax", |t| t[0].log_softmax(-1)),
    ];
    for (name, f) in ops {
        check(name, f, std::slice::from_ref(&x));
    }
}

#[test]
fn matmul_and_where_match_finite_differences() {
    manual_seed(13);
    check("matmul 2-D", |t| t[0].matmul(&t[1]), &[rand(&[3, 4]), rand(&[4, 2])]);
    check("matmul batched", |t| t[0].matmul(&t[1]), &[rand(&[2, 3, 4]), rand(&[2, 4, 5])]);
    check("matmul broadcast batch", |t| t[0].matmul(&t[1]), &[rand(&[2, 3, 4]), rand(&[4, 5])]);
    check("matmul a^T b", |t| t[0].matmul_t(&t[1], true, false), &[rand(&[4, 3]), rand(&[4, 2])]);
    check("matmul a b^T", |t| t[0].matmul_t(&t[1], false, true), &[rand(&[3, 4]), rand(&[2, 4])]);
    check(
        "matmul a^T b^T batched",
        |t| t[0].matmul_t(&t[1], true, true),
        &[rand(&[2, 4, 3]), rand(&[2, 5, 4])],
    );
    check(
        "matmul a^T b, broadcast",
        |t| t[0].matmul_t(&t[1], true, false),
        &[rand(&[2, 4, 3]), rand(&[4, 5])],
    );
    check(
        "matmul a b^T, broadcast",
        |t| t[0].matmul_t(&t[1], false, true),
        &[rand(&[3, 4]), rand(&[2, 5, 4])],
    );
    let cond = Tensor::from_slice(&[1.0, 0.0, 0.0, 1.0, 1.0, 0.0], [2, 3]).unwrap();
    let f: Op =
        |t| Tensor::where_(&Tensor::from_slice(&[1.0, 0.0, 0.0, 1.0, 1.0, 0.0], [2, 3])?, &t[0], &t[1]);
    check("where", f, &[rand(&[2, 3]), rand(&[3])]);
    // The unselected side's infinity never reaches the result.
    let inf = Tensor::full([2, 3], f32::INFINITY);
    let picked = Tensor::where_(&cond, &Tensor::ones([2, 3]), &inf).unwrap().to_vec();
    assert_eq!(picked, vec![1.0, f32::INFINITY, f32::INFINITY, 1.0, 1.0, f32::INFINITY]);
}

#[test]
fn a_small_mlp_matches_finite_differences() {
    manual_seed(14);
    // x: (5, 4) -> Linear(4, 6) -> tanh -> Linear(6, 3) -> log_softmax -> mean.
    let f: Op = |t| {
        let h = t[0].matmul(&t[1])?.add(&t[2])?.tanh();
        h.matmul(&t[3])?.log_softmax(-1)?.mean(&[], false)
    };
    check("mlp", f, &[rand(&[5, 4]), rand(&[4, 6]), rand(&[6]), rand(&[6, 3])]);
}

/// The textbook's first example (seed §8): y = a·x + b, L = (a·x + b − t)², at a = 2, x = 3, b = 1, t = 5.
#[test]
fn linear_example_gives_the_hand_computed_gradients() {
    let leaf = |v: f32| Tensor::scalar(v).requires_grad_(true);
    let (a, x, b) = (leaf(2.0), leaf(3.0), leaf(1.0));
    let t = Tensor::scalar(5.0);
    let y = a.mul(&x).unwrap().add(&b).unwrap();
    let loss = y.sub(&t).unwrap().pow(2.0);
    assert_eq!(loss.item().unwrap(), 4.0);
    assert_eq!(loss.grad_fn(), Some("pow"));
    loss.backward().unwrap();
    // dL/dy = 2(y − t) = 4; dL/da = 4·x = 12, dL/dx = 4·a = 8, dL/db = 4.
    let g = |t: &Tensor| t.grad().unwrap().item().unwrap();
    assert_eq!((g(&a), g(&x), g(&b)), (12.0, 8.0, 4.0));
    assert!(y.grad().is_none(), "non-leaves keep no gradient unless retain_grad");

    let nodes = graph(&loss);
    // a, x, b (leaves), mul, add, sub, pow; t needs no gradient and is not drawn.
    let ops: Vec<&str> = nodes.nodes.iter().map(|n| n.op).collect();
    assert_eq!(ops.len(), 7, "{ops:?}");
    assert_eq!(ops.iter().filter(|&&o| o == "leaf").count(), 3);
    assert_eq!(nodes.nodes.last().unwrap().op, "pow");
    assert_eq!(nodes.edges.len(), 6);
    assert!(nodes.nodes.iter().filter(|n| n.op == "leaf").all(|n| n.grad.is_some()));
}

#[test]
fn gradients_accumulate_until_zero_grad() {
    let w = Tensor::from_slice(&[1.0, -2.0], [2]).unwrap().requires_grad_(true);
    for _ in 0..2 {
        w.mul_scalar(3.0).sum(&[], false).unwrap().backward().unwrap();
    }
    assert_eq!(w.grad().unwrap().to_vec(), vec![6.0, 6.0]);
    w.zero_grad();
    assert!(w.grad().is_none());
}

#[test]
fn no_grad_detach_and_vjp() {
    let w = Tensor::from_slice(&[1.0, 2.0, 3.0], [3]).unwrap().requires_grad_(true);
    let y = no_grad(|| w.mul_scalar(2.0));
    assert!(!y.requires_grad() && y.grad_fn().is_none() && y.is_leaf());
    assert!(y.sum(&[], false).unwrap().backward().is_err(), "nothing to differentiate");

    let d = w.detach();
    assert!(!d.requires_grad());
    // A detached factor is a constant: d(w·detach(w))/dw = detach(w).
    w.mul(&d).unwrap().sum(&[], false).unwrap().backward().unwrap();
    assert_eq!(w.grad().unwrap().to_vec(), vec![1.0, 2.0, 3.0]);

    // Vector-Jacobian product: y = w², v = [1, 0, 2] -> vᵀ·J = [2, 0, 12].
    w.zero_grad();
    let y = w.pow(2.0);
    assert!(y.backward().is_err(), "a non-scalar needs an output gradient");
    y.backward_with(&Tensor::from_slice(&[1.0, 0.0, 2.0], [3]).unwrap()).unwrap();
    assert_eq!(w.grad().unwrap().to_vec(), vec![2.0, 0.0, 12.0]);
}

#[test]
fn retain_grad_keeps_an_intermediate_gradient() {
    let x = Tensor::from_slice(&[1.0, 2.0], [2]).unwrap().requires_grad_(true);
    let h = x.mul_scalar(3.0);
    h.retain_grad();
    h.sum(&[], false).unwrap().backward().unwrap();
    assert_eq!(h.grad().unwrap().to_vec(), vec![1.0, 1.0]);
    assert_eq!(x.grad().unwrap().to_vec(), vec![3.0, 3.0]);
}

#[test]
fn shape_errors_name_the_op_and_shapes() {
    let a = Tensor::zeros([2, 3]);
    let e = a.add(&Tensor::zeros([4])).unwrap_err().to_string();
    assert_eq!(e, "add: shapes [2, 3] and [4] do not match");
    let e = a.matmul(&Tensor::zeros([2, 3])).unwrap_err().to_string();
    assert_eq!(e, "matmul: shapes [2, 3] and [2, 3] do not match");
    assert!(
        a.reshape(&[4, -1]).unwrap_err().to_string().contains("reshape: shape [2, 3] cannot become [4, -1]")
    );
    assert!(a.reshape(&[isize::MAX, isize::MAX, 0]).is_err(), "overflowing product");
    assert!(a.sum(&[2], false).unwrap_err().to_string().contains("axis 2 is out of range"));
    assert!(a.permute(&[0, 0]).unwrap_err().to_string().contains("not a permutation"));
    assert!(Tensor::from_vec(vec![1.0; 5], [2, 3]).is_err());
    assert!(Tensor::from_vec(vec![1.0; 4], [usize::MAX, 2]).is_err(), "overflowing shape");
    assert!(Tensor::zeros([0, 3]).max(0, false).is_err());
}

#[test]
fn maximum_splits_the_gradient_of_a_tie() {
    let a = Tensor::from_slice(&[1.0, 2.0], [2]).unwrap().requires_grad_(true);
    let b = Tensor::from_slice(&[1.0, 0.0], [2]).unwrap().requires_grad_(true);
    a.maximum(&b).unwrap().sum(&[], false).unwrap().backward().unwrap();
    assert_eq!(a.grad().unwrap().to_vec(), vec![0.5, 1.0]);
    assert_eq!(b.grad().unwrap().to_vec(), vec![0.5, 0.0]);
}
