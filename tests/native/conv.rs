//! Convolution, pooling, indexing and dropout: values against direct loops and known numbers, gradients
//! against finite differences.

use cvjourney::LabError;
use cvjourney::autograd::{GradcheckOptions, gradcheck};
use cvjourney::backend::ops::Window;
use cvjourney::tensor::{Rng, Shape, Tensor, manual_seed};

type Op = fn(&[Tensor]) -> Result<Tensor, LabError>;

fn check(name: &str, f: Op, inputs: &[Tensor]) {
    if let Err(e) = gradcheck(f, inputs, GradcheckOptions::default()) {
        panic!("{name}: {e}");
    }
}

fn rand(shape: &[usize]) -> Tensor {
    Tensor::uniform(Shape::new(shape), -1.0, 1.0)
}

/// Distinct, shuffled values 0.1 apart (no near-ties for max pooling's finite differences).
fn distinct(shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    let mut v: Vec<f32> = (0..n).map(|i| 0.1 * i as f32 - 0.05 * n as f32).collect();
    let mut rng = Rng::new(5);
    for i in (1..n).rev() {
        v.swap(i, rng.below(i + 1));
    }
    Tensor::from_vec(v, Shape::new(shape)).unwrap()
}

/// The definition, seven loops deep: the reference conv2d is checked against.
fn conv2d_direct(x: &Tensor, w: &Tensor, stride: usize, pad: usize) -> Vec<f32> {
    let [n, c, h, wd]: [usize; 4] = x.dims().try_into().unwrap();
    let [o, _, kh, kw]: [usize; 4] = w.dims().try_into().unwrap();
    let (oh, ow) = ((h + 2 * pad - kh) / stride + 1, (wd + 2 * pad - kw) / stride + 1);
    let (xv, wv) = (x.to_vec(), w.to_vec());
    let mut out = vec![0.0f32; n * o * oh * ow];
    for (ni, oi, oy, ox) in itertools(n, o, oh, ow) {
        let mut acc = 0.0;
        for ci in 0..c {
            for ki in 0..kh {
                for kj in 0..kw {
                    let (iy, ix) = (
                        (oy * stride + ki) as isize - pad as isize,
                        (ox * stride + kj) as isize - pad as isize,
                    );
                    if iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < wd {
                        let xi = ((ni * c + ci) * h + iy as usize) * wd + ix as usize;
                        acc += xv[xi] * wv[((oi * c + ci) * kh + ki) * kw + kj];
                    }
                }
            }
        }
        out[((ni * o + oi) * oh + oy) * ow + ox] = acc;
    }
    out
}

fn itertools(a: usize, b: usize, c: usize, d: usize) -> impl Iterator<Item = (usize, usize, usize, usize)> {
    (0..a).flat_map(move |i| {
        (0..b).flat_map(move |j| (0..c).flat_map(move |k| (0..d).map(move |l| (i, j, k, l))))
    })
}

#[test]
fn conv2d_equals_the_direct_definition() {
    manual_seed(20);
    // (x shape, w shape, stride, padding): odd sizes, 1x1, 7x7, multi-channel, stride 2, "same" padding.
    let cases: [([usize; 4], [usize; 4], usize, usize); 6] = [
        ([1, 1, 5, 5], [1, 1, 3, 3], 1, 0),
        ([2, 3, 7, 6], [4, 3, 3, 3], 1, 1),
        ([2, 3, 9, 9], [5, 3, 3, 3], 2, 1),
        ([3, 4, 6, 6], [2, 4, 1, 1], 1, 0),
        ([1, 1, 28, 28], [6, 1, 7, 7], 1, 0),
        ([2, 2, 8, 8], [3, 2, 5, 5], 3, 2),
    ];
    for (xs, ws, s, p) in cases {
        let (x, w) = (rand(&xs), rand(&ws));
        let got = x.conv2d(&w, (s, s), (p, p)).unwrap();
        let want = conv2d_direct(&x, &w, s, p);
        assert_eq!(got.numel(), want.len());
        for (i, (g, e)) in got.to_vec().iter().zip(&want).enumerate() {
            assert!((g - e).abs() <= 1e-5 * e.abs().max(1.0), "{xs:?} * {ws:?}: element {i}: {g} vs {e}");
        }
    }
}

#[test]
fn sobel_filter_gives_the_known_edge_response() {
    // A vertical step edge (0 | 1); the Sobel x-kernel responds 4 on the edge and 0 on flat ground.
    let img: Vec<f32> = (0..5).flat_map(|_| [0.0, 0.0, 1.0, 1.0, 1.0]).collect();
    let x = Tensor::from_vec(img, [1, 1, 5, 5]).unwrap();
    let sobel = Tensor::from_slice(&[-1.0, 0.0, 1.0, -2.0, 0.0, 2.0, -1.0, 0.0, 1.0], [1, 1, 3, 3]).unwrap();
    let y = x.conv2d(&sobel, (1, 1), (0, 0)).unwrap();
    assert_eq!(y.dims(), &[1, 1, 3, 3]);
    assert_eq!(y.to_vec(), vec![4.0, 4.0, 0.0, 4.0, 4.0, 0.0, 4.0, 4.0, 0.0]);
}

#[test]
fn output_sizes_follow_the_textbook_formula() {
    let win = |k, s, p| Window { kernel: (k, k), stride: (s, s), padding: (p, p) };
    assert_eq!(win(3, 1, 0).output_size(28, 28), Some((26, 26)));
    assert_eq!(win(3, 1, 1).output_size(28, 28), Some((28, 28)), "same padding");
    assert_eq!(win(2, 2, 0).output_size(7, 7), Some((3, 3)), "floor");
    assert_eq!(win(7, 1, 0).output_size(28, 28), Some((22, 22)));
    assert_eq!(win(5, 1, 0).output_size(3, 3), None, "kernel larger than the input");
    let e = Tensor::zeros([1, 1, 3, 3]).conv2d(&Tensor::zeros([1, 1, 5, 5]), (1, 1), (0, 0)).unwrap_err();
    assert!(e.to_string().contains("does not fit a 3x3 input"), "{e}");
    let e = Tensor::zeros([1, 2, 5, 5]).conv2d(&Tensor::zeros([1, 3, 3, 3]), (1, 1), (0, 0)).unwrap_err();
    assert_eq!(e.to_string(), "conv2d: shapes [1, 2, 5, 5] and [1, 3, 3, 3] do not match");
    assert!(Tensor::zeros([1, 1, 4, 4]).max_pool2d(2, 2, 2).is_err(), "padding above half the kernel");
    // Five 2x2 poolings take 28 -> 14 -> 7 -> 3 -> 1 -> nothing (textbook §7: why VGG16 fails on 28x28).
    let mut t = Tensor::zeros([1, 1, 28, 28]);
    for _ in 0..4 {
        t = t.max_pool2d(2, 2, 0).unwrap();
    }
    assert_eq!(t.dims(), &[1, 1, 1, 1]);
    assert!(t.max_pool2d(2, 2, 0).is_err());
}

#[test]
fn conv_and_pool_gradients_match_finite_differences() {
    manual_seed(21);
    let conv: Op = |t| t[0].conv2d(&t[1], (2, 2), (1, 1));
    check("conv2d stride 2 pad 1", conv, &[rand(&[2, 2, 5, 5]), rand(&[3, 2, 3, 3])]);
    let conv1x1: Op = |t| t[0].conv2d(&t[1], (1, 1), (0, 0));
    check("conv2d 1x1", conv1x1, &[rand(&[1, 3, 3, 4]), rand(&[2, 3, 1, 1])]);
    check("max_pool2d", |t| t[0].max_pool2d(2, 2, 0), &[distinct(&[1, 2, 4, 5])]);
    check("max_pool2d overlapping, padded", |t| t[0].max_pool2d(3, 2, 1), &[distinct(&[2, 1, 5, 5])]);
    check("avg_pool2d padded", |t| t[0].avg_pool2d(3, 2, 1), &[rand(&[2, 2, 5, 4])]);
}

#[test]
fn max_pool_ties_send_the_gradient_to_the_first_maximum() {
    let x = Tensor::ones([1, 1, 2, 4]).requires_grad_(true);
    x.max_pool2d(2, 2, 0).unwrap().sum(&[], false).unwrap().backward().unwrap();
    assert_eq!(x.grad().unwrap().to_vec(), vec![1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
    assert_eq!(x.max_pool2d(2, 2, 0).unwrap().grad_fn(), Some("max_pool2d"));
}

#[test]
fn indexing_ops_give_known_values_and_gradients() {
    manual_seed(22);
    let x = Tensor::arange(0.0, 12.0, 1.0).unwrap().reshape(&[3, 4]).unwrap();
    assert_eq!(x.slice(1, 1, 3).unwrap().to_vec(), vec![1.0, 2.0, 5.0, 6.0, 9.0, 10.0]);
    assert_eq!(x.index_select(0, &[2, 0, 2]).unwrap().to_vec()[..4], [8.0, 9.0, 10.0, 11.0]);
    let cat = Tensor::concat(&[&x, &x.slice(0, 0, 1).unwrap()], 0).unwrap();
    assert_eq!(cat.dims(), &[4, 4]);
    let st = Tensor::stack(&[&x, &x], 1).unwrap();
    assert_eq!(st.dims(), &[3, 2, 4]);
    let idx = Tensor::from_slice(&[3.0, 0.0, 1.0], [3, 1]).unwrap();
    assert_eq!(x.gather(1, &idx).unwrap().to_vec(), vec![3.0, 4.0, 9.0]);
    assert_eq!(Tensor::one_hot(&[2, 0], 3).unwrap().to_vec(), vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
    assert!(Tensor::one_hot(&[3], 3).is_err());
    assert!(x.gather(1, &Tensor::from_slice(&[4.0, 0.0, 0.0], [3, 1]).unwrap()).is_err());
    assert!(x.slice(0, 2, 5).is_err());

    check("slice", |t| t[0].slice(1, 1, 3), &[rand(&[3, 4])]);
    check("concat", |t| Tensor::concat(&[&t[0], &t[1]], 1), &[rand(&[2, 3]), rand(&[2, 2])]);
    check("stack", |t| Tensor::stack(&[&t[0], &t[1]], 0), &[rand(&[2, 3]), rand(&[2, 3])]);
    check("index_select with repeats", |t| t[0].index_select(0, &[1, 1, 0]), &[rand(&[2, 3])]);
    let gather: Op = |t| t[0].gather(1, &Tensor::from_slice(&[2.0, 2.0, 0.0, 1.0], [2, 2])?);
    check("gather", gather, &[rand(&[2, 3])]);
}

#[test]
fn dropout_is_inverted_and_off_in_eval() {
    manual_seed(23);
    let x = Tensor::ones([20_000]).requires_grad_(true);
    let y = x.dropout(0.25, true).unwrap();
    let v = y.to_vec();
    let kept = v.iter().filter(|&&e| e != 0.0).count() as f32 / v.len() as f32;
    assert!((kept - 0.75).abs() < 0.02, "kept {kept}");
    assert!(v.iter().all(|&e| e == 0.0 || (e - 1.0 / 0.75).abs() < 1e-6), "survivors scaled by 1/(1-p)");
    y.sum(&[], false).unwrap().backward().unwrap();
    assert_eq!(x.grad().unwrap().to_vec(), v, "the gradient is the same mask");
    assert_eq!(x.dropout(0.25, false).unwrap().to_vec(), vec![1.0; 20_000]);
    assert!(x.dropout(1.0, true).is_err());
}
