//! Layers, initializers, losses, optimizers, schedules and model files.

use std::collections::HashMap;

use cvjourney::LabError;
use cvjourney::autograd::{GradcheckOptions, gradcheck};
use cvjourney::loss;
use cvjourney::nn::*;
use cvjourney::optim::{Clip, Optimizer, OptimizerKind, Schedule};
use cvjourney::tensor::{Tensor, manual_seed};

type F = fn(&[Tensor]) -> Result<Tensor, LabError>;

fn check(name: &str, f: F, inputs: &[Tensor]) {
    if let Err(e) = gradcheck(f, inputs, GradcheckOptions::default()) {
        panic!("{name}: {e}");
    }
}

fn t(values: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_slice(values, cvjourney::Shape::new(shape)).unwrap()
}

fn close(a: &[f32], b: &[f32], tol: f32) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tol)
}

#[test]
fn linear_computes_x_w_transpose_plus_b() {
    let l = Linear { weight: t(&[1., 2., 3., 4., 5., 6.], &[2, 3]), bias: Some(t(&[0.5, -1.], &[2])) };
    let y = l.forward(&t(&[1., 0., -1.], &[1, 3])).unwrap();
    assert_eq!(y.to_vec(), vec![1. - 3. + 0.5, 4. - 6. - 1.]);
    assert_eq!(l.describe(), "Linear(3 -> 2)");
    let names: Vec<String> =
        Sequential::default().append(l).named_parameters().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, vec!["0.weight", "0.bias"]);
}

#[test]
fn conv_padding_modes_give_the_expected_shapes() {
    manual_seed(1);
    let x = Tensor::normal([2, 3, 28, 28], 0.0, 1.0);
    let shape =
        |k, s, p| Conv2d::new(3, 8, k, s, p, Init::KaimingUniform).forward(&x).unwrap().dims().to_vec();
    assert_eq!(shape(3, 1, Padding::Same), vec![2, 8, 28, 28]);
    assert_eq!(shape(7, 1, Padding::Valid), vec![2, 8, 22, 22]);
    assert_eq!(shape(3, 2, Padding::Same), vec![2, 8, 14, 14]);
    assert_eq!(shape(1, 1, Padding::Valid), vec![2, 8, 28, 28]);
    let pooled = MaxPool2d { kernel: 2, stride: 2, padding: 0 }.forward(&x).unwrap();
    assert_eq!(Flatten.forward(&pooled).unwrap().dims(), &[2, 3 * 14 * 14]);
}

#[test]
fn batchnorm_uses_batch_statistics_in_training_and_running_ones_in_eval() {
    let bn = BatchNorm::new(2);
    // Channel 0: 1, 3 (mean 2, var 1); channel 1: 10, 30 (mean 20, var 100).
    let x = t(&[1., 10., 3., 30.], &[2, 2]);
    let y = bn.forward(&x).unwrap().to_vec();
    let s = 1.0 / (1.0f32 + 1e-5).sqrt();
    assert!(close(&y[..2], &[-s, -10.0 / (100.0f32 + 1e-5).sqrt()], 1e-5), "{y:?}");
    // Running statistics: 0.9·init + 0.1·batch, the variance unbiased (n/(n−1) = 2).
    assert!(close(&bn.running_mean.to_vec(), &[0.2, 2.0], 1e-6));
    assert!(close(&bn.running_var.to_vec(), &[0.9 + 0.1 * 2.0, 0.9 + 0.1 * 200.0], 1e-4));
    bn.eval();
    let e = bn.forward(&x).unwrap().to_vec();
    let want = (1.0 - 0.2) / (1.1f32 + 1e-5).sqrt();
    assert!((e[0] - want).abs() < 1e-5, "{e:?}");
    // BatchNorm2d: per channel over (N, H, W).
    let bn2 = BatchNorm::new(3);
    manual_seed(2);
    let y = bn2.forward(&Tensor::normal([4, 3, 5, 5], 3.0, 2.0)).unwrap();
    let per_channel = y.mean(&[0, 2, 3], false).unwrap().to_vec();
    assert!(per_channel.iter().all(|m| m.abs() < 1e-4), "{per_channel:?}");
    assert!(bn2.forward(&Tensor::zeros([4, 2, 5, 5])).is_err());
}

#[test]
fn layernorm_dropout_noise_and_residual_blocks() {
    let ln = LayerNorm::new(4);
    let y = ln.forward(&t(&[1., 2., 3., 4., 10., 10., 10., 10.], &[2, 4])).unwrap().to_vec();
    assert!(close(&y[4..], &[0.0; 4], 1e-6) && (y[0] + y[3]).abs() < 1e-6 && y[3] > 1.3);
    let d = Dropout::new(0.5);
    let x = Tensor::ones([1000]);
    assert!(d.forward(&x).unwrap().to_vec().iter().all(|&v| v == 0.0 || v == 2.0));
    d.eval();
    assert_eq!(d.forward(&x).unwrap().to_vec(), x.to_vec());
    let noise = GaussianNoise::new(0.1);
    assert_ne!(noise.forward(&x).unwrap().to_vec(), x.to_vec());
    noise.eval();
    assert_eq!(noise.forward(&x).unwrap().to_vec(), x.to_vec());

    manual_seed(3);
    let x = Tensor::normal([2, 4, 8, 8], 0.0, 1.0);
    let body = || {
        Sequential::default()
            .append(Conv2d::new(4, 8, 3, 2, Padding::Same, Init::KaimingNormal))
            .append(Activation::ReLU)
    };
    let add = Residual {
        body: body(),
        shortcut: Some(Conv2d::new(4, 8, 1, 2, Padding::Valid, Init::KaimingNormal)),
        join: Join::Add,
    };
    assert_eq!(add.forward(&x).unwrap().dims(), &[2, 8, 4, 4]);
    let cat = Residual {
        body: body(),
        shortcut: Some(Conv2d::new(4, 4, 1, 2, Padding::Valid, Init::KaimingNormal)),
        join: Join::Concat,
    };
    assert_eq!(cat.forward(&x).unwrap().dims(), &[2, 12, 4, 4]);
    assert_eq!(add.named_parameters().len(), 4);
}

#[test]
fn gradients_flow_correctly_through_every_layer_type() {
    manual_seed(4);
    let linear: F = |t| Linear { weight: t[1].clone(), bias: Some(t[2].clone()) }.forward(&t[0]);
    check(
        "Linear",
        linear,
        &[Tensor::normal([3, 4], 0.0, 1.0), Tensor::normal([2, 4], 0.0, 1.0), Tensor::normal([2], 0.0, 1.0)],
    );
    let conv: F = |t| {
        let c = Conv2d { weight: t[1].clone(), bias: Some(t[2].clone()), stride: 1, padding: Padding::Same };
        c.forward(&t[0])
    };
    check(
        "Conv2d",
        conv,
        &[
            Tensor::normal([1, 2, 4, 4], 0.0, 1.0),
            Tensor::normal([3, 2, 3, 3], 0.0, 0.5),
            Tensor::normal([1, 3, 1, 1], 0.0, 1.0),
        ],
    );
    let bn: F = |t| {
        let mut b = BatchNorm::new(3);
        (b.weight, b.bias) = (t[1].clone(), t[2].clone());
        b.forward(&t[0])
    };
    check(
        "BatchNorm",
        bn,
        &[Tensor::normal([4, 3], 0.0, 1.0), Tensor::normal([3], 1.0, 0.2), Tensor::normal([3], 0.0, 1.0)],
    );
    let bn2d: F = |t| BatchNorm::new(2).forward(&t[0]);
    check("BatchNorm2d", bn2d, &[Tensor::normal([2, 2, 3, 3], 0.0, 1.0)]);
    let ln: F = |t| LayerNorm::new(5).forward(&t[0]);
    check("LayerNorm", ln, &[Tensor::normal([3, 5], 0.0, 1.0)]);
    let activations: [(&str, F); 5] = [
        ("Sigmoid", |t| Activation::Sigmoid.forward(&t[0])),
        ("Tanh", |t| Activation::Tanh.forward(&t[0])),
        ("GELU", |t| Activation::GELU.forward(&t[0])),
        ("Swish", |t| Activation::Swish.forward(&t[0])),
        ("ELU", |t| Activation::ELU(1.0).forward(&t[0])),
    ];
    for (name, f) in activations {
        check(name, f, &[Tensor::normal([2, 3], 0.0, 1.0)]);
    }
    let residual: F = |t| {
        let body = Sequential::default()
            .append(Linear { weight: t[1].clone(), bias: None })
            .append(Activation::Tanh);
        Residual { body, shortcut: None, join: Join::Add }.forward(&t[0])
    };
    check("Residual", residual, &[Tensor::normal([2, 3], 0.0, 1.0), Tensor::normal([3, 3], 0.0, 1.0)]);
}

#[test]
fn losses_give_known_values_and_correct_gradients() {
    let logits = t(&[1., 2., 3.], &[1, 3]);
    // log(e¹ + e² + e³) − 3 = 0.40760596
    let ce = loss::cross_entropy(&logits, &[2]).unwrap().item().unwrap();
    assert!((ce - 0.407_605_96).abs() < 1e-6, "{ce}");
    let one_hot = loss::cross_entropy_one_hot(&logits, &t(&[0., 0., 1.], &[1, 3])).unwrap().item().unwrap();
    assert!((one_hot - ce).abs() < 1e-6);
    assert_eq!(loss::mse(&t(&[1., 2.], &[2]), &t(&[0., 4.], &[2])).unwrap().item().unwrap(), 2.5);
    // Hinge: scores (3, 1, 4), true class 0: max(0, 1 − 3 + 1) + max(0, 4 − 3 + 1) = 0 + 2.
    assert_eq!(loss::hinge(&t(&[3., 1., 4.], &[1, 3]), &[0]).unwrap().item().unwrap(), 2.0);
    // BCE on logits equals BCE on sigmoid(logits), and stays finite where the sigmoid saturates.
    let z = t(&[-2., 0.5, 3.], &[3]);
    let y = t(&[0., 1., 1.], &[3]);
    let a = loss::binary_cross_entropy_with_logits(&z, &y).unwrap().item().unwrap();
    let b = loss::binary_cross_entropy(&z.sigmoid(), &y).unwrap().item().unwrap();
    assert!((a - b).abs() < 1e-5, "{a} {b}");
    let huge =
        loss::binary_cross_entropy_with_logits(&t(&[-200.], &[1]), &t(&[1.], &[1])).unwrap().item().unwrap();
    assert!((huge - 200.0).abs() < 1e-3, "{huge}");
    assert!(loss::cross_entropy(&logits, &[3]).is_err());
    assert!(loss::cross_entropy(&logits, &[0, 1]).is_err());
    let l2 = loss::l2_penalty(&[t(&[3., 4.], &[2])], 0.1).unwrap().item().unwrap();
    assert!((l2 - 1.25).abs() < 1e-6);

    manual_seed(5);
    check("cross_entropy", |t| loss::cross_entropy(&t[0], &[2, 0, 1]), &[Tensor::normal([3, 4], 0.0, 1.0)]);
    check("hinge", |t| loss::hinge(&t[0], &[1, 0]), &[t_spread()]);
    let bce: F = |t| loss::binary_cross_entropy_with_logits(&t[0], &Tensor::from_slice(&[0., 1., 1.], [3])?);
    check("bce with logits", bce, &[Tensor::normal([3], 0.0, 1.0)]);
    let mse: F = |t| loss::mse(&t[0], &t[1]);
    check("mse", mse, &[Tensor::normal([2, 2], 0.0, 1.0), Tensor::normal([2, 2], 0.0, 1.0)]);
}

/// The fused head (`loss::linear_cross_entropy`) against the layer and the loss it replaces: the loss and
/// every gradient, with x a dense tensor that needs its gradient and a batch drawn from a dataset (read in
/// place), across several of the kernel's blocks of rows, with and without a bias, and under a seed that is
/// not 1 (the backward pass scales the gradients made with the loss).
#[test]
fn fused_head_equals_linear_then_cross_entropy() {
    manual_seed(21);
    let base = std::rc::Rc::new(Tensor::uniform([400, 784], -1.0, 1.0).to_vec());
    let order: Vec<usize> = (0..130).map(|i| (i * 37) % 400).collect();
    let targets: Vec<usize> = (0..130).map(|i| (i * 7) % 10).collect();
    for (drawn, bias, seed) in [(true, true, 1.0), (false, true, 1.0), (false, false, 1.0), (true, true, 3.0)]
    {
        let mut layer = Linear::new(784, 10, Init::XavierUniform { fan_avg: true }, bias);
        // A bias away from its zero initialisation, so that leaving it out would show.
        layer.bias = layer.bias.map(|_| Tensor::uniform([10], -1.0, 1.0).requires_grad_(true));
        let x = || {
            let x = Tensor::from_rows(&base, &order, &[784]).unwrap();
            if drawn { x } else { x.detach().requires_grad_(true) }
        };
        let run = |fused: bool| {
            layer.parameters().iter().for_each(|p| p.zero_grad());
            let x = x();
            let loss = if fused {
                loss::linear_cross_entropy(&x, &layer.weight, layer.bias.as_ref(), &targets).unwrap()
            } else {
                loss::cross_entropy(&layer.forward(&x).unwrap(), &targets).unwrap()
            };
            loss.mul_scalar(seed).backward().unwrap();
            let mut grads: Vec<Vec<f32>> =
                layer.parameters().iter().map(|p| p.grad().unwrap().to_vec()).collect();
            grads.extend(x.grad().map(|g| g.to_vec()));
            (loss.item().unwrap(), grads)
        };
        let ((want_loss, want), (got_loss, got)) = (run(false), run(true));
        let what = format!("drawn {drawn}, bias {bias}, seed {seed}");
        assert!(
            (got_loss - want_loss).abs() <= 1e-5 * want_loss.abs(),
            "{what}: loss {got_loss} vs {want_loss}"
        );
        assert_eq!(got.len(), want.len(), "{what}: gradients");
        assert_eq!(got.len(), 1 + usize::from(bias) + usize::from(!drawn), "{what}: gradients");
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            let scale = w.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            let worst = g.iter().zip(w).fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
            assert!(worst <= 1e-5 * scale, "{what}: gradient {i} off by {worst} (largest {scale})");
        }
    }
}

#[test]
fn fused_head_gradients_match_finite_differences() {
    manual_seed(22);
    let f: F = |t| loss::linear_cross_entropy(&t[0], &t[1], Some(&t[2]), &[2, 0, 1, 2, 1]);
    let inputs =
        [Tensor::normal([5, 4], 0.0, 1.0), Tensor::normal([3, 4], 0.0, 1.0), Tensor::normal([3], 0.0, 1.0)];
    check("linear_cross_entropy", f, &inputs);
    let no_bias: F = |t| loss::linear_cross_entropy(&t[0], &t[1], None, &[1, 1, 0]);
    check(
        "linear_cross_entropy, no bias",
        no_bias,
        &[Tensor::normal([3, 6], 0.0, 1.0), Tensor::normal([2, 6], 0.0, 1.0)],
    );
}

#[test]
fn fused_head_rejects_bad_targets_and_shapes() {
    // w needs its gradient, so these take the fused op (without one it is the composite).
    let (x, w, b) = (Tensor::zeros([2, 3]), Tensor::zeros([4, 3]).requires_grad_(true), Tensor::zeros([4]));
    let message = |r: Result<Tensor, LabError>| r.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        message(loss::linear_cross_entropy(&x, &w, Some(&b), &[0, 4]))
            .contains("target 4 is not one of the 4")
    );
    assert!(message(loss::linear_cross_entropy(&x, &w, Some(&b), &[0])).contains("2 rows for 1 targets"));
    assert!(
        message(loss::linear_cross_entropy(&x, &Tensor::zeros([4, 2]), None, &[0, 1]))
            .contains("linear_cross_entropy")
    );
    assert!(loss::linear_cross_entropy(&x, &w, Some(&Tensor::zeros([3])), &[0, 1]).is_err());
    // Non-finite inputs give a non-finite loss (the trainer's divergence guard reports it), not a panic.
    let nan = Tensor::from_vec(vec![f32::NAN, 0.0, 0.0, 1.0, 2.0, 3.0], [2, 3]).unwrap();
    assert!(loss::linear_cross_entropy(&nan, &w, Some(&b), &[0, 1]).unwrap().item().unwrap().is_nan());
}

/// Scores whose hinge margins stay away from the kink at 0 (|margin| ≥ 0.3).
fn t_spread() -> Tensor {
    t(&[0.1, 2.0, -1.0, 3.0, 0.5, 1.9], &[2, 3])
}

/// One parameter w = 1 on f(w) = w² (gradient 2w), lr 0.1, two steps; the expected values are worked out
/// by hand in the comments.
#[test]
fn each_optimizer_takes_the_hand_computed_steps() {
    let run = |kind: OptimizerKind| {
        let w = t(&[1.0], &[1]).requires_grad_(true);
        let mut opt = Optimizer::new(kind, vec![w.clone()], 0.1).unwrap();
        let mut seen = Vec::new();
        for _ in 0..2 {
            opt.zero_grad();
            w.pow(2.0).sum(&[], false).unwrap().backward().unwrap();
            opt.step().unwrap();
            seen.push(w.to_vec()[0]);
        }
        seen
    };
    // SGD: 1 − 0.1·2 = 0.8; 0.8 − 0.1·1.6 = 0.64.
    assert!(close(&run(OptimizerKind::Sgd { momentum: 0.0 }), &[0.8, 0.64], 1e-6));
    // Momentum 0.9: v = 0.2, w = 0.8; v = 0.9·0.2 + 0.1·1.6 = 0.34, w = 0.46.
    assert!(close(&run(OptimizerKind::Sgd { momentum: 0.9 }), &[0.8, 0.46], 1e-6));
    // Adagrad: G = 4, w = 1 − 0.1·2/2 = 0.9; G = 4 + 1.8² = 7.24, w = 0.9 − 0.18/√7.24 = 0.833104.
    assert!(close(&run(OptimizerKind::Adagrad { eps: 1e-10 }), &[0.9, 0.833_104], 1e-5));
    // RMSProp ρ = 0.9: E = 0.4, w = 1 − 0.2/√0.4 = 0.683772;
    // g = 1.367544, E = 0.36 + 0.1·1.870177 = 0.547018, w = 0.683772 − 0.1367544/√0.547018 = 0.498872.
    assert!(close(&run(OptimizerKind::RmsProp { rho: 0.9, eps: 1e-10 }), &[0.683_772, 0.498_872], 1e-5));
    // Adam: the bias-corrected first step moves by exactly lr: 0.9; the second by lr again (m̂/√v̂ = 1 when
    // successive gradients keep their sign and shrink slowly) to within 1e-2: 0.8 ± 0.01.
    let adam = run(OptimizerKind::Adam { betas: (0.9, 0.999), eps: 1e-8 });
    assert!((adam[0] - 0.9).abs() < 1e-6 && (adam[1] - 0.8).abs() < 1e-2, "{adam:?}");
    // AdamW with weight decay 0.1: w −= lr·wd·w first: 1 − 0.01 − 0.1 = 0.89.
    let w = t(&[1.0], &[1]).requires_grad_(true);
    let mut opt =
        Optimizer::new(OptimizerKind::AdamW { betas: (0.9, 0.999), eps: 1e-8 }, vec![w.clone()], 0.1)
            .unwrap()
            .with_weight_decay(0.1);
    w.pow(2.0).sum(&[], false).unwrap().backward().unwrap();
    opt.step().unwrap();
    assert!((w.to_vec()[0] - 0.89).abs() < 1e-6);
    assert_eq!(opt.state().len(), 2, "first and second moments are inspectable");
}

/// f(x, y) = x² + 20y² from (−4, 1) (textbook §6): an elongated valley. At lr 0.01 plain SGD crawls along
/// x while momentum gets there far sooner; at lr 0.1 SGD diverges along y (|1 − 0.1·40| = 3 > 1) while
/// Adam, whose steps are about lr whatever the curvature, converges.
#[test]
fn momentum_and_adam_beat_plain_sgd_on_an_elongated_bowl() {
    let final_loss = |kind: OptimizerKind, lr: f32, steps: usize| -> Option<f32> {
        let p = t(&[-4.0, 1.0], &[2]).requires_grad_(true);
        let mut opt = Optimizer::new(kind, vec![p.clone()], lr).unwrap();
        let scale = t(&[1.0, 20.0], &[2]);
        let f = |p: &Tensor| p.pow(2.0).mul(&scale).unwrap().sum(&[], false).unwrap();
        for _ in 0..steps {
            opt.zero_grad();
            f(&p).backward().unwrap();
            opt.step().ok()?; // the divergence guard stops a run whose weights overflow
        }
        Some(f(&p).item().unwrap())
    };
    let sgd = final_loss(OptimizerKind::Sgd { momentum: 0.0 }, 0.01, 150).unwrap();
    let momentum = final_loss(OptimizerKind::Sgd { momentum: 0.9 }, 0.01, 150).unwrap();
    assert!(momentum < sgd / 10.0, "momentum {momentum} vs sgd {sgd}");
    let sgd_fast = final_loss(OptimizerKind::Sgd { momentum: 0.0 }, 0.1, 300);
    assert!(sgd_fast.is_none_or(|l| l > 1e6), "SGD at lr 0.1 should diverge, got {sgd_fast:?}");
    let adam = final_loss(OptimizerKind::Adam { betas: (0.9, 0.999), eps: 1e-8 }, 0.1, 300).unwrap();
    assert!(adam < 0.05, "Adam at lr 0.1 should converge, got {adam}");
}

#[test]
fn clipping_schedules_and_bad_learning_rates() {
    let w = t(&[0.0, 0.0], &[2]).requires_grad_(true);
    let mut opt = Optimizer::new(OptimizerKind::Sgd { momentum: 0.0 }, vec![w.clone()], 1.0)
        .unwrap()
        .with_clip(Clip::Norm(1.0));
    w.mul(&t(&[3.0, 4.0], &[2])).unwrap().sum(&[], false).unwrap().backward().unwrap();
    opt.step().unwrap();
    assert!(close(&w.to_vec(), &[-0.6, -0.8], 1e-6), "gradient (3, 4) clipped to norm 1");
    let mut opt = Optimizer::new(OptimizerKind::Sgd { momentum: 0.0 }, vec![w.clone()], 1.0)
        .unwrap()
        .with_clip(Clip::Value(0.5));
    opt.zero_grad();
    w.mul(&t(&[3.0, -0.1], &[2])).unwrap().sum(&[], false).unwrap().backward().unwrap();
    opt.step().unwrap();
    assert!(close(&w.to_vec(), &[-1.1, -0.7], 1e-6), "{:?}", w.to_vec());
    assert!(Optimizer::new(OptimizerKind::Sgd { momentum: 0.0 }, vec![], -1.0).is_err());
    assert!(Optimizer::new(OptimizerKind::Sgd { momentum: 0.0 }, vec![], f32::NAN).is_err());

    assert_eq!(Schedule::StepDecay { every: 10, factor: 0.5 }.lr_at(0.1, 25), 0.025);
    assert!((Schedule::Exponential { lambda: 0.5, k: 10.0 }.lr_at(0.1, 20) - 0.025).abs() < 1e-7);
    let cosine = Schedule::Cosine { total: 100, min_lr: 0.0 };
    assert!((cosine.lr_at(0.1, 50) - 0.05).abs() < 1e-6 && cosine.lr_at(0.1, 100).abs() < 1e-7);
    assert_eq!(Schedule::Constant.lr_at(0.3, 99), 0.3);
}

#[test]
fn initializer_statistics_match_their_formulas() {
    manual_seed(6);
    for n in [784usize, 256] {
        for init in [
            Init::XavierUniform { fan_avg: false },
            Init::XavierNormal { fan_avg: false },
            Init::XavierUniformSigmoid { fan_avg: false },
            Init::XavierNormalSigmoid { fan_avg: false },
            Init::KaimingUniform,
            Init::KaimingNormal,
            Init::XavierUniform { fan_avg: true },
        ] {
            let w = init.sample([n, 128], n, 128).to_vec();
            let mean = w.iter().sum::<f32>() / w.len() as f32;
            let var = w.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / w.len() as f32;
            let want = init.variance(n, 128);
            assert!((var / want - 1.0).abs() < 0.03, "{init:?} n = {n}: variance {var} vs {want}");
            assert!(mean.abs() < 0.01 * want.sqrt() * 10.0, "{init:?}: mean {mean}");
        }
    }
    assert_eq!(Init::Zeros.sample([3], 3, 3).to_vec(), vec![0.0; 3]);
    let u = Init::KaimingUniform.sample([10_000], 6, 1).to_vec();
    assert!(u.iter().all(|v| v.abs() <= 1.0), "He uniform bound √(6/6) = 1");
}

#[test]
fn save_and_load_restore_identical_outputs() {
    manual_seed(7);
    let build = || {
        Sequential::default()
            .append(Conv2d::new(1, 4, 3, 1, Padding::Same, Init::KaimingUniform))
            .append(BatchNorm::new(4))
            .append(Activation::ReLU)
            .append(Flatten)
            .append(Linear::new(4 * 5 * 5, 3, Init::XavierUniform { fan_avg: false }, true))
    };
    let a = build();
    let x = Tensor::normal([2, 1, 5, 5], 0.0, 1.0);
    a.forward(&x).unwrap(); // moves BatchNorm's running statistics away from their start
    a.eval();
    let want = a.forward(&x).unwrap().to_vec();
    let meta = HashMap::from([("config".to_string(), "{\"chapter\":6}".to_string())]);
    let bytes = save_state(&a, meta).unwrap();

    let b = build();
    b.eval();
    assert_ne!(b.forward(&x).unwrap().to_vec(), want);
    let meta = load_state(&b, &bytes).unwrap();
    assert_eq!(b.forward(&x).unwrap().to_vec(), want);
    assert_eq!(meta["config"], "{\"chapter\":6}");

    let other = Sequential::default().append(Linear::new(3, 3, Init::Zeros, true));
    assert!(load_state(&other, &bytes).unwrap_err().to_string().starts_with("safetensors file:"));
    assert!(load_state(&b, &bytes[..bytes.len() / 2]).is_err());
    assert!(load_state(&b, b"not a model").is_err());
}

/// A checkpoint holds the optimizer's moments and step count: training resumes exactly where it stopped.
#[test]
fn checkpoints_resume_training_exactly() {
    let build = || {
        manual_seed(8);
        Sequential::default().append(Linear::new(3, 2, Init::XavierNormal { fan_avg: false }, true))
    };
    let x = t(&[1., 2., 3., -1., 0., 2.], &[2, 3]);
    let adam = OptimizerKind::Adam { betas: (0.9, 0.999), eps: 1e-8 };
    let train = |m: &Sequential, opt: &mut Optimizer, steps: usize| {
        for _ in 0..steps {
            opt.zero_grad();
            loss::cross_entropy(&m.forward(&x).unwrap(), &[1, 0]).unwrap().backward().unwrap();
            opt.step().unwrap();
        }
    };
    let a = build();
    let mut opt_a = Optimizer::new(adam, a.parameters(), 0.05).unwrap();
    train(&a, &mut opt_a, 3);
    let bytes = save_checkpoint(&a, &opt_a, HashMap::new()).unwrap();
    train(&a, &mut opt_a, 2);

    let b = build();
    let mut opt_b = Optimizer::new(adam, b.parameters(), 0.05).unwrap();
    load_checkpoint(&b, &mut opt_b, &bytes).unwrap();
    assert_eq!(opt_b.steps(), 3);
    train(&b, &mut opt_b, 2);
    assert_eq!(b.forward(&x).unwrap().to_vec(), a.forward(&x).unwrap().to_vec());
    // A plain model file has no optimizer state: loading it as a checkpoint says so.
    let plain = save_state(&a, HashMap::new()).unwrap();
    assert!(load_checkpoint(&b, &mut opt_b, &plain).unwrap_err().to_string().contains("optimizer state"));
}
