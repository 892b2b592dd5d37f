//! Fast CPU kernels against their scalar references, on random shapes (odd sizes, size 1, broadcasts).
//! Shared by the native tests (`tests/kernels.rs`) and the browser tests (`tests/web.rs`), so the SIMD128
//! twins are checked in Chromium and the native twins natively with one body of code.

pub mod device;

use cvjourney::backend::cpu;
use cvjourney::backend::ops::{BinaryOp, ReduceOp, UnaryOp};
use cvjourney::tensor::{Rng, Shape};

/// |fast − reference| ≤ 1e-5 · max(1, |reference|), or both NaN.
pub fn assert_close(fast: &[f32], reference: &[f32], what: &str) {
    assert_eq!(fast.len(), reference.len(), "{what}: lengths");
    for (i, (&f, &r)) in fast.iter().zip(reference).enumerate() {
        let ok = (f.is_nan() && r.is_nan()) || f == r || (f - r).abs() <= 1e-5 * r.abs().max(1.0);
        assert!(ok, "{what}: element {i}: fast {f} vs reference {r}");
    }
}

fn random(rng: &mut Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.uniform_range(-3.0, 3.0)).collect()
}

pub const UNARY: [UnaryOp; 22] = [
    UnaryOp::Neg,
    UnaryOp::Exp,
    UnaryOp::Log,
    UnaryOp::Sqrt,
    UnaryOp::Abs,
    UnaryOp::Sign,
    UnaryOp::Sigmoid,
    UnaryOp::Tanh,
    UnaryOp::Relu,
    UnaryOp::Step,
    UnaryOp::LeakyRelu(0.01),
    UnaryOp::LeakyReluDeriv(0.01),
    UnaryOp::Elu(1.0),
    UnaryOp::EluDeriv(1.0),
    UnaryOp::Gelu,
    UnaryOp::GeluDeriv,
    UnaryOp::Silu,
    UnaryOp::SiluDeriv,
    UnaryOp::Softplus,
    UnaryOp::PowScalar(3.0),
    UnaryOp::AddScalar(0.5),
    UnaryOp::MulScalar(-2.0),
];

pub fn unary_parity() {
    let mut rng = Rng::new(1);
    for op in UNARY {
        for n in [0, 1, 3, 4, 7, 64, 1001] {
            let mut x = random(&mut rng, n);
            if n > 3 {
                x[0] = f32::NAN;
                x[1] = -0.0;
                x[2] = f32::INFINITY;
            }
            let (mut fast, mut reference) = (vec![0.0; n], vec![0.0; n]);
            cpu::unary(op, &x, &mut fast);
            cpu::unary_ref(op, &x, &mut reference);
            assert_close(&fast, &reference, &format!("{op:?}, n = {n}"));
        }
    }
}

pub const BINARY: [BinaryOp; 12] = [
    BinaryOp::Add,
    BinaryOp::Sub,
    BinaryOp::Mul,
    BinaryOp::Div,
    BinaryOp::Maximum,
    BinaryOp::Minimum,
    BinaryOp::Eq,
    BinaryOp::Ne,
    BinaryOp::Lt,
    BinaryOp::Le,
    BinaryOp::Gt,
    BinaryOp::Ge,
];

pub fn binary_parity() {
    let mut rng = Rng::new(2);
    let cases: [(&[usize], &[usize]); 8] = [
        (&[7], &[7]),
        (&[1001], &[1001]),
        (&[5, 3], &[3]),
        (&[5, 3], &[5, 1]),
        (&[2, 1, 4], &[3, 1]),
        (&[], &[4, 2]),
        (&[1], &[9]),
        (&[3, 1, 5], &[1, 6, 5]),
    ];
    for op in BINARY {
        for (sa, sb) in cases {
            let (sa, sb) = (Shape::new(sa), Shape::new(sb));
            let out = sa.broadcast(&sb, "test").unwrap();
            let a = random(&mut rng, sa.numel());
            let mut b = random(&mut rng, sb.numel());
            if let Some(v) = b.first_mut() {
                *v = a[0]; // one tie, for the comparisons and max/min
            }
            let (ta, tb) = (sa.broadcast_strides(&out), sb.broadcast_strides(&out));
            let (mut fast, mut reference) = (vec![0.0; out.numel()], vec![0.0; out.numel()]);
            cpu::binary(op, &a, &ta, &b, &tb, out.dims(), &mut fast);
            cpu::binary_ref(op, &a, &ta, &b, &tb, out.dims(), &mut reference);
            assert_close(&fast, &reference, &format!("{op:?} {sa} with {sb}"));
        }
    }
}

pub fn reduce_parity() {
    let mut rng = Rng::new(3);
    for op in [ReduceOp::Sum, ReduceOp::Max, ReduceOp::ArgMax] {
        for (outer, n, inner) in [(1, 1, 1), (3, 7, 1), (1, 1000, 1), (4, 5, 6), (2, 33, 17), (0, 3, 2)] {
            let x = random(&mut rng, outer * n * inner);
            let (mut fast, mut reference) = (vec![0.0; outer * inner], vec![0.0; outer * inner]);
            cpu::reduce(op, &x, outer, n, inner, &mut fast);
            cpu::reduce_ref(op, &x, outer, n, inner, &mut reference);
            assert_close(&fast, &reference, &format!("{op:?} ({outer}, {n}, {inner})"));
        }
    }
}

pub fn matmul_parity() {
    let mut rng = Rng::new(4);
    // Edge blocks of every loop of the packed kernel: k past KC (256), m past MC (96), n past NC (1024).
    let shapes = [
        (1, 1, 1),
        (3, 5, 2),
        (17, 33, 9),
        (64, 64, 64),
        (1, 300, 7),
        (128, 7, 130),
        (4, 0, 3),
        (7, 520, 1030),
    ];
    for (m, k, n) in shapes {
        let a: Vec<f32> = (0..m * k).map(|_| rng.uniform_range(-1.0, 1.0)).collect();
        let b: Vec<f32> = (0..k * n).map(|_| rng.uniform_range(-1.0, 1.0)).collect();
        let (mut fast, mut reference) = (vec![f32::NAN; m * n], vec![0.0; m * n]);
        cpu::matmul(&a, &b, m, k, n, &mut fast);
        cpu::matmul_ref(&a, &b, m, k, n, &mut reference);
        within_dot_bound("matmul", &a, &b, [m, k, n], &fast, &reference);
    }
}

/// `got` equals the reference product of a (m, k) and b (k, n) up to summation order (blocked,
/// vectorised): the classic bound for a dot product of length k in f32, |error| ≤ k·ε·Σ|a||b| for each
/// output (twice, as both results carry error).
fn within_dot_bound(name: &str, a: &[f32], b: &[f32], [m, k, n]: [usize; 3], got: &[f32], reference: &[f32]) {
    for i in 0..m {
        for j in 0..n {
            let magnitude: f32 = (0..k).map(|p| (a[i * k + p] * b[p * n + j]).abs()).sum();
            let bound = 2.0 * k as f32 * f32::EPSILON * magnitude + f32::MIN_POSITIVE;
            let (f, r) = (got[i * n + j], reference[i * n + j]);
            assert!((f - r).abs() <= bound, "{name} {m}x{k}x{n} at ({i}, {j}): {f} vs reference {r}");
        }
    }
}

/// The unpacked kernels for products with a narrow side (`cpu::matmul_a_bt`: a · bᵀ with b stored (n, k);
/// `cpu::matmul_at_b`: aᵀ · b with a stored (k, m)) against the reference on the transposed-back operand,
/// at the edges of their blocks: k and n around LANES (4), m around 2 and 8, k past the 256-row sweep.
pub fn narrow_matmul_parity() {
    let mut rng = Rng::new(5);
    let shapes =
        [(1, 1, 1), (2, 4, 4), (3, 5, 7), (5, 3, 10), (10, 257, 13), (16, 784, 10), (9, 600, 6), (4, 0, 3)];
    let transpose = |v: &[f32], rows: usize, cols: usize| -> Vec<f32> {
        (0..cols).flat_map(|c| (0..rows).map(move |r| v[r * cols + c])).collect()
    };
    for (x, y, z) in shapes {
        for (m, k, n) in [(x, y, z), (z, y, x)] {
            let a: Vec<f32> = (0..m * k).map(|_| rng.uniform_range(-1.0, 1.0)).collect();
            let b: Vec<f32> = (0..k * n).map(|_| rng.uniform_range(-1.0, 1.0)).collect();
            let mut reference = vec![0.0; m * n];
            cpu::matmul_ref(&a, &b, m, k, n, &mut reference);
            let (mut abt, mut atb) = (vec![f32::NAN; m * n], vec![f32::NAN; m * n]);
            cpu::matmul_a_bt(&a, &transpose(&b, k, n), m, k, n, &mut abt);
            cpu::matmul_at_b(&transpose(&a, m, k), &b, m, k, n, &mut atb);
            for (name, got) in [("matmul_a_bt", &abt), ("matmul_at_b", &atb)] {
                within_dot_bound(name, &a, &b, [m, k, n], got, &reference);
            }
        }
    }
}

/// First outputs of `Rng::new(42)`, pinned so native and wasm32 are held to the same stream.
pub const RNG_42_FIRST: u32 = 1_898_997_482;
pub const NORMAL_42_FIRST_BITS: u32 = 1_038_219_708;
