//! CPU fast kernels vs the scalar reference (native build), plus literal values from outside references.

use crate::parity;

use cvjourney::tensor::{Rng, Tensor, manual_seed};

#[test]
fn unary_fast_equals_reference() {
    parity::unary_parity();
    parity::exp_sweep();
}

#[test]
fn binary_fast_equals_reference() {
    parity::binary_parity();
}

#[test]
fn reduce_fast_equals_reference() {
    parity::reduce_parity();
}

#[test]
fn matmul_fast_equals_reference() {
    parity::product_parity();
}

/// im2col, col2im and max pooling's fast twins (native build), also in the browser (`tests/web.rs`).
#[test]
fn window_fast_equals_reference() {
    parity::window_parity();
}

#[test]
fn layout_fast_equals_reference() {
    parity::layout_parity();
}

#[test]
fn batches_drawn_as_rows_compute_what_copies_do() {
    parity::batch_rows_parity();
}

/// Known values (numpy / closed forms): softmax of large logits stays finite; log_softmax of −1e30 too.
#[test]
fn softmax_family_is_stable_on_extreme_logits() {
    let x = Tensor::from_slice(&[1000.0, 1001.0, 1002.0], [3]).unwrap();
    let s = x.softmax(-1).unwrap().to_vec();
    // numpy: softmax([0, 1, 2]) = [0.09003057, 0.24472847, 0.66524096]
    parity::assert_close(&s, &[0.090_030_57, 0.244_728_47, 0.665_240_96], "softmax");
    let y = Tensor::from_slice(&[-1e30, 0.0, 1.0], [1, 3]).unwrap();
    let ls = y.log_softmax(1).unwrap().to_vec();
    assert!(ls.iter().all(|v| !v.is_nan()), "{ls:?}");
    // log_softmax([0, 1]) = [-1.3132616, -0.3132617]
    parity::assert_close(&ls[1..], &[-1.313_261_6, -0.313_261_7], "log_softmax");
    assert!(ls[0] < -1e29);
}

#[test]
fn activations_match_known_values() {
    let x = Tensor::from_slice(&[-1.0, 0.0, 2.0], [3]).unwrap();
    // scipy / closed forms: gelu(-1) = -0.15865525, gelu(2) = 1.9544997; silu(2) = 1.7615942;
    // softplus(-1) = 0.31326169; elu(-1) = -0.63212056.
    parity::assert_close(&x.gelu().to_vec(), &[-0.158_655_25, 0.0, 1.954_499_7], "gelu");
    parity::assert_close(&x.silu().to_vec(), &[-0.268_941_43, 0.0, 1.761_594_2], "silu");
    parity::assert_close(
        &x.softplus().to_vec(),
        &[0.313_261_7, std::f32::consts::LN_2, 2.126_928],
        "softplus",
    );
    parity::assert_close(&x.elu(1.0).to_vec(), &[-0.632_120_56, 0.0, 2.0], "elu");
    parity::assert_close(&x.sigmoid().to_vec(), &[0.268_941_43, 0.5, 0.880_797_1], "sigmoid");
    let big = Tensor::from_slice(&[-100.0, 100.0], [2]).unwrap();
    // e^-100 ≈ 3.72e-44: a tiny positive (subnormal) f32, never 0/0 = NaN or an overflow.
    for v in [big.sigmoid().to_vec(), big.softplus().to_vec()] {
        assert!(v[0] > 0.0 && v[0] < 1e-40, "{v:?}");
    }
    assert_eq!((big.sigmoid().to_vec()[1], big.softplus().to_vec()[1]), (1.0, 100.0));
}

#[test]
fn seeded_random_tensors_reproduce_and_have_known_first_values() {
    manual_seed(42);
    let a = Tensor::normal([1000], 0.0, 1.0).to_vec();
    manual_seed(42);
    assert_eq!(a, Tensor::normal([1000], 0.0, 1.0).to_vec());
    // The same constants are asserted in the browser (tests/web.rs): same seed, same numbers everywhere.
    assert_eq!(Rng::new(42).next_u32(), parity::RNG_42_FIRST);
    let mut r = Rng::new(42);
    assert_eq!(r.normal().to_bits(), parity::NORMAL_42_FIRST_BITS);
    manual_seed(7);
    let mask = Tensor::bernoulli([10_000], 0.3).to_vec();
    let share = mask.iter().sum::<f32>() / 10_000.0;
    assert!((share - 0.3).abs() < 0.02 && mask.iter().all(|&v| v == 0.0 || v == 1.0));
}

/// Broadcasts a value per middle index (a conv bias (1, C, 1, 1), a column (A, 1)): the fast path of
/// `binary` gives the reference's bits.
#[test]
fn binary_middle_broadcast_equals_reference() {
    use cvjourney::backend::cpu;
    use cvjourney::backend::ops::BinaryOp;
    let mut rng = cvjourney::tensor::Rng::new(5);
    let cases: [(&[usize], &[usize], &[usize]); 4] = [
        (&[2, 3, 4, 5], &[0, 1, 0, 0], &[3]),
        (&[6, 7], &[1, 0], &[6]),
        (&[2, 3, 4, 5], &[0, 4, 1, 0], &[3 * 4]),
        (&[1, 3, 1, 1], &[0, 1, 0, 0], &[3]),
    ];
    for (dims, b_strides, b_dims) in cases {
        let n: usize = dims.iter().product();
        let a: Vec<f32> = (0..n).map(|_| rng.uniform() - 0.5).collect();
        let b: Vec<f32> = (0..b_dims.iter().product::<usize>()).map(|_| rng.uniform() - 0.5).collect();
        let mut a_strides = vec![1; dims.len()];
        for d in (0..dims.len() - 1).rev() {
            a_strides[d] = a_strides[d + 1] * dims[d + 1];
        }
        for op in [BinaryOp::Add, BinaryOp::Mul, BinaryOp::Sub, BinaryOp::Div] {
            let (mut fast, mut reference) = (vec![0.0; n], vec![0.0; n]);
            cpu::binary(op, &a, &a_strides, &b, b_strides, dims, &mut fast);
            cpu::binary_ref(op, &a, &a_strides, &b, b_strides, dims, &mut reference);
            assert!(fast.iter().zip(&reference).all(|(x, y)| x.to_bits() == y.to_bits()), "{dims:?} {op:?}");
        }
    }
}

/// Reshapes and detached copies share the host values (a Flatten no longer copies the batch) but keep
/// value semantics: assigning to one holder copies first, so the others keep what they had.
#[test]
fn reshape_and_detach_share_values_but_copy_on_assign() {
    let x = Tensor::from_vec((0..6).map(|v| v as f32).collect(), [2, 3]).unwrap();
    let flat = x.reshape(&[6]).unwrap();
    let snapshot = x.detach();
    x.assign(&[9.0; 6]).unwrap();
    assert_eq!(x.to_vec(), vec![9.0; 6]);
    assert_eq!(flat.to_vec(), vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    assert_eq!(snapshot.to_vec(), vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    flat.assign(&[1.0; 6]).unwrap();
    assert_eq!((x.to_vec()[0], snapshot.to_vec()[0], flat.to_vec()[0]), (9.0, 0.0, 1.0));
    // Gradients still flow through a reshape of a shared vector.
    let w = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], [2, 2]).unwrap().requires_grad_(true);
    w.reshape(&[4]).unwrap().mul_scalar(3.0).sum(&[], false).unwrap().backward().unwrap();
    assert_eq!(w.grad().unwrap().to_vec(), vec![3.0; 4]);
}
