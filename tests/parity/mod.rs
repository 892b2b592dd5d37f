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

/// The fast exp (a polynomial in SIMD128 on wasm32) against the scalar `f32::exp` over its whole range, in
/// steps of 1/1024 from −110 to 100 and at the edges: within 4 ulp where the result is a normal float;
/// elsewhere 0 or a subnormal (both below 1.2e-38), +∞ past the top, and NaN, ±∞ and −0 as the scalar.
pub fn exp_sweep() {
    let mut x: Vec<f32> = (-110 * 1024..100 * 1024).map(|i| i as f32 / 1024.0).collect();
    x.extend([
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        -0.0,
        88.722_83,
        88.722_84,
        -87.336_54,
        -87.336_55,
    ]);
    x.extend([f32::MIN_POSITIVE, -f32::MIN_POSITIVE, 1e-7, -1e-7, 0.346_573_6, -0.346_573_6]);
    let (mut fast, mut reference) = (vec![0.0; x.len()], vec![0.0; x.len()]);
    cpu::unary(UnaryOp::Exp, &x, &mut fast);
    cpu::unary_ref(UnaryOp::Exp, &x, &mut reference);
    for ((&x, &f), &r) in x.iter().zip(&fast).zip(&reference) {
        let ok = if r.is_nan() {
            f.is_nan()
        } else if r.is_infinite() || r == 0.0 {
            f == r
        } else if r >= f32::MIN_POSITIVE {
            (f.to_bits() as i64 - r.to_bits() as i64).abs() <= 4
        } else {
            (0.0..f32::MIN_POSITIVE).contains(&f)
        };
        assert!(ok, "exp({x}): fast {f:e} vs reference {r:e}");
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
        for (outer, n, inner) in
            [(1, 1, 1), (3, 7, 1), (1, 1000, 1), (4, 5, 6), (2, 33, 17), (0, 3, 2), (6, 10, 1)]
        {
            let mut x = random(&mut rng, outer * n * inner);
            if n == 10 {
                // Whole numbers in [-3, 3]: rows with ties, where argmax must take the first maximum.
                x.iter_mut().for_each(|v| *v = v.round());
            }
            if x.len() > 20 {
                // A NaN and an infinity inside rows: max propagates NaN, argmax takes the first NaN.
                (x[5], x[17]) = (f32::NAN, f32::INFINITY);
            }
            let (mut fast, mut reference) = (vec![0.0; outer * inner], vec![0.0; outer * inner]);
            cpu::reduce(op, &x, outer, n, inner, &mut fast);
            cpu::reduce_ref(op, &x, outer, n, inner, &mut reference);
            assert_close(&fast, &reference, &format!("{op:?} ({outer}, {n}, {inner})"));
        }
    }
}

/// Every CPU product kernel against the reference (`probe::product_checks`: the packed GEMM at the edges
/// of every loop, the narrow kernels at the edges of their blocks with dense and indexed rows), one
/// assertion per kernel and shape; the page's tests run the same checks in the relaxed-SIMD module.
pub fn product_parity() {
    let checks = cvjourney::probe::product_checks();
    for kernel in [
        "matmul",
        "matmul, a stored transposed",
        "matmul, b stored transposed",
        "matmul, both stored transposed",
        "matmul_a_bt",
        "matmul_a_bt, indexed rows",
        "matmul_at_b",
        "matmul_at_b, indexed rows",
        "linear_cross_entropy",
        "linear_cross_entropy, indexed rows",
    ] {
        assert!(checks.iter().any(|c| c.kernel == kernel), "no {kernel} check");
    }
    for c in &checks {
        assert!(c.ok, "{} {:?}: {:?} (worst {} of the bound)", c.kernel, c.shape, c.first_miss, c.worst);
    }
}

/// The window kernels' fast twins (`im2col`, `col2im`, the 2x2 max pool) against their references, bit
/// for bit: strides 1-3, padding up to past the kernel, kernels wider than the input (all padding), odd
/// sizes, ties and a NaN for the pool (whose other windows fall through to the reference).
pub fn window_parity() {
    use cvjourney::backend::ops::Window;
    let same_bits =
        |a: &[f32], b: &[f32]| a.len() == b.len() && a.iter().zip(b).all(|(p, q)| p.to_bits() == q.to_bits());
    let mut rng = Rng::new(11);
    for (n, c, h, w) in [(2, 3, 5, 7), (1, 1, 1, 1), (3, 2, 8, 8), (1, 4, 2, 9), (2, 1, 28, 28)] {
        let dims = [n, c, h, w];
        let x = random(&mut rng, n * c * h * w);
        for (kernel, stride, padding) in [
            ((3, 3), (1, 1), (1, 1)),
            ((3, 3), (1, 1), (0, 0)),
            ((5, 3), (2, 1), (2, 1)),
            ((2, 2), (2, 2), (0, 0)),
            ((3, 3), (3, 2), (4, 2)),
            ((1, 4), (1, 3), (0, 3)),
            ((9, 9), (1, 1), (4, 4)),
        ] {
            let win = Window { kernel, stride, padding };
            let Some((oh, ow)) = win.output_size(h, w) else { continue };
            let len = c * kernel.0 * kernel.1 * n * oh * ow;
            let (mut fast, mut reference) = (vec![f32::NAN; len], vec![0.0; len]);
            cpu::im2col(&x, dims, win, &mut fast);
            cpu::im2col_ref(&x, dims, win, &mut reference);
            assert!(same_bits(&fast, &reference), "im2col {dims:?} {win:?}");
            let g = random(&mut rng, len);
            let (mut fast, mut reference) = (vec![f32::NAN; x.len()], vec![0.0; x.len()]);
            cpu::col2im(&g, dims, win, &mut fast);
            cpu::col2im_ref(&g, dims, win, &mut reference);
            assert!(same_bits(&fast, &reference), "col2im {dims:?} {win:?}");
        }
    }
    for (h, w) in [(4, 4), (5, 7), (28, 28), (1, 3), (2, 2)] {
        let dims = [2, 3, h, w];
        let mut x: Vec<f32> = (0..2 * 3 * h * w).map(|_| (rng.uniform() * 4.0).floor()).collect();
        if x.len() > 5 {
            x[5] = f32::NAN;
        }
        for win in [
            Window { kernel: (2, 2), stride: (2, 2), padding: (0, 0) },
            Window { kernel: (3, 3), stride: (1, 1), padding: (1, 1) },
        ] {
            let Some((oh, ow)) = win.output_size(h, w) else { continue };
            let len = 2 * 3 * oh * ow;
            let (mut a, mut ia, mut b, mut ib) = (vec![0.0; len], vec![0; len], vec![0.0; len], vec![0; len]);
            cpu::max_pool2d(&x, dims, win, &mut a, &mut ia);
            cpu::max_pool2d_ref(&x, dims, win, &mut b, &mut ib);
            assert_eq!(ia, ib, "max pool argmax {h}x{w} {win:?}");
            assert!(same_bits(&a, &b), "max pool {h}x{w} {win:?}");
        }
    }
}

/// The strided copy's fast twin (permutes and broadcasts) against the reference, value for value: every
/// permutation of 4-D shapes with sizes 1, 0 and odd sizes, and broadcasts of each dimension.
pub fn layout_parity() {
    let mut rng = Rng::new(12);
    let perms4: Vec<[usize; 4]> = (0..256)
        .map(|i| [i % 4, i / 4 % 4, i / 16 % 4, i / 64])
        .filter(|p| (0..4).all(|d| p.contains(&d)))
        .collect();
    assert_eq!(perms4.len(), 24);
    for dims in [[2, 3, 4, 5], [1, 3, 1, 7], [4, 1, 6, 1], [2, 0, 3, 1], [1, 1, 1, 1], [3, 16, 14, 14]] {
        let x = random(&mut rng, dims.iter().product());
        let strides = Shape::new(&dims).strides();
        let mut cases: Vec<(Vec<f32>, Vec<usize>, Vec<usize>)> = perms4
            .iter()
            .map(|p| {
                (x.clone(), p.iter().map(|&d| dims[d]).collect(), p.iter().map(|&d| strides[d]).collect())
            })
            .collect();
        // Broadcasts: dimension d of size 1 in the source stretched to 3 (stride 0).
        for d in 0..4 {
            let mut out_dims = dims.to_vec();
            let mut src = dims.to_vec();
            src[d] = 1;
            out_dims[d] = 3;
            let mut s = Shape::new(&src).strides();
            s[d] = 0;
            cases.push((random(&mut rng, src.iter().product()), out_dims, s));
        }
        for (x, out_dims, s) in cases {
            let len = out_dims.iter().product();
            let (mut fast, mut reference) = (vec![f32::NAN; len], vec![0.0; len]);
            cpu::copy_strided(&x, &s, &out_dims, &mut fast);
            cpu::copy_strided_ref(&x, &s, &out_dims, &mut reference);
            assert!(
                fast.iter().zip(&reference).all(|(a, b)| a.to_bits() == b.to_bits()),
                "copy_strided {dims:?} -> {out_dims:?} strides {s:?}"
            );
        }
    }
    let (mut one, mut want) = ([0.0f32], [0.0f32]);
    cpu::copy_strided(&[2.5], &[], &[], &mut one);
    cpu::copy_strided_ref(&[2.5], &[], &[], &mut want);
    assert_eq!(one, want);
}

/// A batch drawn from a dataset as rows read in place (`Tensor::from_rows`) computes what the same values
/// copied into a tensor compute: a Linear layer's x Wᵀ after a Flatten, and its weight gradient, equal
/// bit for bit. Where the narrow products take such rows (`cpu::NARROW_KERNELS`, wasm32) the batch is
/// never copied out; elsewhere the general product copies it. Values, reshapes and `assign` behave as for
/// any tensor, and a row outside the dataset is refused.
pub fn batch_rows_parity() {
    use cvjourney::tensor::Tensor;
    use std::rc::Rc;
    let mut rng = Rng::new(9);
    let (items, item, picked) = (23, [1, 3, 5], [4, 17, 0, 22, 9, 4, 13, 1, 20, 6, 11]);
    let len: usize = item.iter().product();
    let base = Rc::new((0..items * len).map(|_| rng.uniform_range(-1.0, 1.0)).collect::<Vec<f32>>());
    let copied: Vec<f32> = picked.iter().flat_map(|&i| base[i * len..(i + 1) * len].to_vec()).collect();
    let w: Vec<f32> = (0..10 * len).map(|_| rng.uniform_range(-1.0, 1.0)).collect();
    let r: Vec<f32> = (0..picked.len() * 10).map(|_| rng.uniform_range(-1.0, 1.0)).collect();
    let run = |x: &Tensor| {
        let w = Tensor::from_vec(w.clone(), [10, len]).unwrap().requires_grad_(true);
        let flat = x.reshape(&[-1, len as isize]).unwrap();
        let y = flat.matmul_t(&w, false, true).unwrap();
        let r = Tensor::from_vec(r.clone(), [picked.len(), 10]).unwrap();
        y.mul(&r).unwrap().sum(&[], false).unwrap().backward().unwrap();
        (y.to_vec(), w.grad().unwrap().to_vec())
    };
    let original = base.to_vec();
    let rows = Tensor::from_rows(&base, &picked, &item).unwrap();
    assert_eq!(rows.dims(), &[picked.len(), 1, 3, 5]);
    let dense = Tensor::from_vec(copied.clone(), [picked.len(), 1, 3, 5]).unwrap();
    let (from_rows, from_copy) = (run(&rows), run(&dense));
    assert!(from_rows == from_copy, "rows read in place: {from_rows:?}\ncopied: {from_copy:?}");
    assert_eq!(rows.rows_in_place(), cpu::NARROW_KERNELS, "the batch was copied out (or not) unexpectedly");
    assert_eq!(rows.to_vec(), copied);
    let reshaped = rows.reshape(&[-1]).unwrap();
    rows.assign(&vec![0.5; copied.len()]).unwrap();
    assert!(!rows.rows_in_place() && rows.to_vec().iter().all(|&v| v == 0.5));
    assert_eq!(reshaped.to_vec(), copied, "assign reached a reshape that shared the rows");
    assert!(base.iter().zip(&original).all(|(a, b)| a == b), "assign wrote into the dataset");
    assert!(Tensor::from_rows(&base, &[items], &item).is_err(), "a row past the dataset was accepted");
}

/// First outputs of `Rng::new(42)`, pinned so native and wasm32 are held to the same stream.
pub const RNG_42_FIRST: u32 = 1_898_997_482;
pub const NORMAL_42_FIRST_BITS: u32 = 1_038_219_708;
