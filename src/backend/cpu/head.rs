//! A classifier's last layer and its loss in one pass over the batch: logits z = x Wᵀ + b, the mean
//! cross-entropy of softmax(z) against class indices, and the loss's gradients dz, dW and db. The fast twin
//! works block by block of rows, so each block of x is read from memory once and serves both products
//! (z = x Wᵀ, then dW += dzᵀ x) while it is still in cache; the unfused step reads the whole batch twice,
//! and a 5000 x 784 batch (15.7 MB) does not stay in cache between the two (the idea of Liger-Kernel's
//! fused linear cross-entropy, Hsu et al. 2024, arXiv:2410.10989, there to save memory).
//!
//! Shapes: x (n, k) as `Rows`, w (c, k), b (c), targets n class indices below c (checked by the caller)
//! -> loss (the mean over n), dz (n, c), dw (c, k), db (c), all of the mean loss.

use super::narrow::{Bt, NARROW, NARROW_KERNELS, Rows, matmul_at_b_add};
use super::{matmul_ref, matmul_t, unary};
use crate::backend::ops::UnaryOp;

/// The loss of a fused head and its gradients (of the mean over the batch).
#[derive(Debug, Clone, PartialEq)]
pub struct Head {
    pub loss: f32,
    /// ∂loss/∂z (n, c): (softmax(z) − onehot(y)) / n.
    pub dz: Vec<f32>,
    /// ∂loss/∂W (c, k) = dzᵀ x.
    pub dw: Vec<f32>,
    /// ∂loss/∂b (c): dz summed over the batch.
    pub db: Vec<f32>,
}

/// Reference: the whole batch's logits by `matmul_ref` (x times a transposed copy of W), the softmax row by
/// row with the scalar `f32::exp`, then dW = dzᵀ x by `matmul_ref` on a transposed copy of dz.
pub fn linear_cross_entropy_ref(
    x: Rows<'_>,
    w: &[f32],
    b: Option<&[f32]>,
    targets: &[usize],
    c: usize,
) -> Head {
    let (n, k) = (targets.len(), x.row_len());
    assert!(c > 0 && w.len() == c * k, "linear_cross_entropy_ref: w is not {c} x {k}");
    let xs = x.range(0, n).to_vec();
    let mut z = vec![0.0; n * c];
    matmul_ref(&xs, &transpose(w, c, k), n, k, c, &mut z);
    add_bias(&mut z, b, c);
    let loss = softmax_gradient(&mut z, targets, c, n, |v| v.iter_mut().for_each(|e| *e = e.exp()));
    let mut dw = vec![0.0; c * k];
    matmul_ref(&transpose(&z, n, c), &xs, c, n, k, &mut dw);
    let db = column_sums(&z, c);
    Head { loss: (loss / n as f64) as f32, dz: z, dw, db }
}

/// Fast twin of [`linear_cross_entropy_ref`]: blocks of `BLOCK_BYTES` of x; each block's logits, its
/// softmax (SIMD exp on wasm32) and its share of dW before the next block is read. Sums dW block by block
/// (in a different order from the reference: equal up to rounding).
pub fn linear_cross_entropy(x: Rows<'_>, w: &[f32], b: Option<&[f32]>, targets: &[usize], c: usize) -> Head {
    let (n, k) = (targets.len(), x.row_len());
    assert!(c > 0 && x.count() >= n && w.len() == c * k, "linear_cross_entropy: x or w too small");
    let products = Products::new(w, c, k);
    let rows_per = block_rows(BLOCK_BYTES[usize::from(products.bt.is_none())], k);
    let (mut z, mut dw) = (vec![0.0; n * c], vec![0.0; c * k]);
    let mut loss = 0.0;
    let mut scratch = Vec::new();
    for start in (0..n).step_by(rows_per) {
        let end = (start + rows_per).min(n);
        let (rows, zb) = (x.range(start, end), &mut z[start * c..end * c]);
        products.forward(rows, zb, &mut scratch);
        add_bias(zb, b, c);
        loss += softmax_gradient(zb, &targets[start..end], c, n, |v| {
            let e = v.to_vec();
            unary(UnaryOp::Exp, &e, v);
        });
        products.backward_add(zb, rows, &mut dw, &mut scratch);
    }
    let db = column_sums(&z, c);
    Head { loss: (loss / n as f64) as f32, dz: z, dw, db }
}

/// Bytes of x per block of the fast twin. The narrow kernels take 128 KiB, which sits in any L2 with room
/// for W and dW (each c·k·4 bytes: 31 KiB for a 784 → 10 classifier). The general GEMM packs W once per
/// call, so its blocks are larger: 512 KiB.
const BLOCK_BYTES: [usize; 2] = [128 * 1024, 512 * 1024];

/// Rows per block: `bytes` of x, a multiple of 8 (the gradient kernel's sweep), at least 8.
fn block_rows(bytes: usize, k: usize) -> usize {
    (bytes / (4 * k.max(1)) / 8 * 8).max(8)
}

/// A block's two products: the narrow kernels on x's rows where they lie (wasm32, at most `NARROW`
/// classes), else the general GEMM on the block gathered into `scratch` when it was drawn by index.
struct Products<'w> {
    w: &'w [f32],
    bt: Option<Bt<'w>>,
    c: usize,
    k: usize,
}

impl<'w> Products<'w> {
    fn new(w: &'w [f32], c: usize, k: usize) -> Self {
        let bt = (NARROW_KERNELS && c <= NARROW).then(|| Bt::new(w, c, k));
        Products { w, bt, c, k }
    }

    /// z (m, c) = rows · Wᵀ.
    fn forward(&self, rows: Rows<'_>, z: &mut [f32], scratch: &mut Vec<f32>) {
        let m = rows.count();
        match &self.bt {
            Some(bt) => bt.times(rows, m, z),
            None => matmul_t(dense(rows, scratch), self.w, m, self.k, self.c, [false, true], z),
        }
    }

    /// dw (c, k) += dzᵀ · rows, dz (m, c).
    fn backward_add(&self, dz: &[f32], rows: Rows<'_>, dw: &mut [f32], scratch: &mut Vec<f32>) {
        let m = rows.count();
        if self.bt.is_some() {
            return matmul_at_b_add(dz, rows, self.c, m, self.k, dw);
        }
        let mut part = vec![0.0; self.c * self.k];
        matmul_t(dz, dense(rows, scratch), self.c, m, self.k, [true, false], &mut part);
        dw.iter_mut().zip(&part).for_each(|(d, p)| *d += p);
    }
}

/// The rows as one slice: in place when they are consecutive, else copied into `scratch`.
fn dense<'a>(rows: Rows<'a>, scratch: &'a mut Vec<f32>) -> &'a [f32] {
    if let Some(values) = rows.as_slice() {
        return values;
    }
    scratch.clear();
    (0..rows.count()).for_each(|i| scratch.extend_from_slice(rows.row(i)));
    scratch
}

/// Turns logits z (rows of c) into the gradient of the mean loss over `n` items, (softmax(z) − onehot) / n,
/// and returns the rows' summed loss, Σ log Σ_j e^(z_j − max) − (z_y − max), with `exp` applied in place
/// to all the shifted logits at once.
fn softmax_gradient(z: &mut [f32], targets: &[usize], c: usize, n: usize, exp: impl Fn(&mut [f32])) -> f64 {
    let mut picked = Vec::with_capacity(targets.len());
    for (row, &y) in z.chunks_exact_mut(c).zip(targets) {
        let max = row.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        row.iter_mut().for_each(|v| *v -= max);
        picked.push(row[y]);
    }
    exp(z);
    let (mut loss, scale) = (0.0f64, 1.0 / n as f32);
    for ((row, &y), zy) in z.chunks_exact_mut(c).zip(targets).zip(picked) {
        let sum: f32 = row.iter().sum();
        loss += f64::from(sum.ln() - zy);
        row.iter_mut().for_each(|e| *e = *e / sum * scale);
        row[y] -= scale;
    }
    loss
}

fn add_bias(z: &mut [f32], b: Option<&[f32]>, c: usize) {
    if let Some(b) = b {
        z.chunks_exact_mut(c).for_each(|row| row.iter_mut().zip(b).for_each(|(v, b)| *v += b));
    }
}

fn column_sums(z: &[f32], c: usize) -> Vec<f32> {
    let mut sums = vec![0.0; c];
    z.chunks_exact(c).for_each(|row| sums.iter_mut().zip(row).for_each(|(s, v)| *s += v));
    sums
}

/// a (r, c) -> aᵀ (c, r), row-major.
fn transpose(a: &[f32], r: usize, c: usize) -> Vec<f32> {
    (0..c * r).map(|i| a[(i % r) * c + i / r]).collect()
}
