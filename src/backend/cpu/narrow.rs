//! Products with a narrow side, one operand stored transposed: a classifier layer's forward pass x Wᵀ
//! (`matmul_a_bt`, W as stored) and its weight gradient gᵀ x (`matmul_at_b`, the batch summed over).
//! Twins of `matmul_ref` on the transposed-back operand. Nothing wide is packed or transposed: packing a
//! 5000 x 784 batch costs more than the product. The wide operand's rows may be picked from a dataset
//! through an index (`Rows`: a shuffled batch read where it lies).
//!
//! The inner loops read through raw pointers, without a bounds check per load (W5 in Chromium a few per
//! cent faster at best, within noise: `bench/results/w5-narrow-pointers-2026-12-03.md`). Every pointer is derived from a slice
//! whose length the entry points assert, and the loops stay inside those lengths; native tests run the
//! same loops (`F32x4` is an array there).

use super::lanes::{F32x4, LANES};

/// Products with a side of at most this many rows or columns take the unpacked kernels below, where they
/// are used (`NARROW_KERNELS`).
pub const NARROW: usize = 16;

/// Whether `Tensor::matmul_t` sends narrow transposed products to the unpacked kernels. Measured by
/// `./lab bench` (the "narrow side" table): in the browser (SIMD128) they beat our packed kernel (which
/// packs the transposed operand as stored) 1.5-3x on W5's, W1's and W2's classifier layers; natively `matrixmultiply`'s AVX2/FMA kernel stays
/// faster than these (compiled for baseline x86-64), so native builds keep it.
pub const NARROW_KERNELS: bool = cfg!(target_arch = "wasm32");

/// The rows of a row-major matrix, `len` values each: stored one after another, or picked from a larger
/// matrix through an index (a batch drawn from a dataset, read where it lies).
#[derive(Clone, Copy)]
pub struct Rows<'a> {
    values: &'a [f32],
    index: Option<&'a [usize]>,
    len: usize,
}

impl<'a> Rows<'a> {
    /// `values` as consecutive rows of `len`.
    pub fn dense(values: &'a [f32], len: usize) -> Self {
        Rows { values, index: None, len }
    }

    /// Rows `index` of `values` (consecutive rows of `len`), in that order.
    pub fn indexed(values: &'a [f32], index: &'a [usize], len: usize) -> Self {
        Rows { values, index: Some(index), len }
    }

    /// How many rows there are.
    pub fn count(&self) -> usize {
        match self.index {
            Some(index) => index.len(),
            None => self.values.len().checked_div(self.len).unwrap_or(0),
        }
    }

    /// Every row, one after another: a copy (what the general path needs of a drawn batch).
    pub fn to_vec(&self) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.count() * self.len);
        for i in 0..self.count() {
            out.extend_from_slice(self.row(i));
        }
        out
    }

    /// Values per row.
    pub fn row_len(&self) -> usize {
        self.len
    }

    /// The rows as one slice, when they are stored one after another.
    pub fn as_slice(&self) -> Option<&'a [f32]> {
        self.index.is_none().then_some(self.values)
    }

    /// Rows start..end of these (panics past the end).
    pub fn range(&self, start: usize, end: usize) -> Rows<'a> {
        match self.index {
            Some(index) => Rows { index: Some(&index[start..end]), ..*self },
            None => Rows { values: &self.values[start * self.len..end * self.len], ..*self },
        }
    }

    /// Row `i` (panics past the end, or when an index points past `values`).
    #[inline(always)]
    pub fn row(&self, i: usize) -> &'a [f32] {
        let start = self.index.map_or(i, |index| index[i]) * self.len;
        &self.values[start..start + self.len]
    }
}

/// Columns of out per block of [`matmul_a_bt`] (a classifier's 10 outputs are two blocks).
const A_BT_COLS: usize = 5;

/// out (m, n) = a (m, k) · bᵀ, with b stored (n, k) row-major: a Linear layer's forward pass (x Wᵀ with W
/// as stored). Every output is a dot product along k, contiguous in both operands. b (small: n <= NARROW)
/// is first interleaved into panels of up to 5 rows, LANES values of each in turn, so that one pointer
/// with constant offsets walks a block's columns. Summation order: LANES interleaved partial sums over k,
/// then the tail. (Broadcasting each value of a against a padded copy of bᵀ, 4 rows of out in
/// registers, measured no faster on W5's shape and slower on W1's.)
pub fn matmul_a_bt(a: Rows<'_>, b: &[f32], m: usize, k: usize, n: usize, out: &mut [f32]) {
    assert!(b.len() >= n * k, "matmul_a_bt: buffers too small");
    Bt::new(&b[..n * k], n, k).times(a, m, out);
}

/// b (n, k), row-major, interleaved once for [`matmul_a_bt`]: a fused head (`head.rs`) multiplies block
/// after block of rows by the same weights.
pub struct Bt<'b> {
    b: &'b [f32],
    panels: Vec<f32>,
    n: usize,
    k: usize,
}

impl<'b> Bt<'b> {
    /// b's n rows of k values, interleaved into panels.
    pub fn new(b: &'b [f32], n: usize, k: usize) -> Self {
        assert!(b.len() == n * k, "matmul_a_bt: b is not {n} x {k}");
        let panels = interleave_columns(b, n, k, k - k % LANES);
        Bt { b, panels, n, k }
    }

    /// out (m, n) = a (m, k) · bᵀ.
    pub fn times(&self, a: Rows<'_>, m: usize, out: &mut [f32]) {
        let (b, n, k) = (self.b, self.n, self.k);
        assert!(a.len == k && out.len() >= m * n, "matmul_a_bt: buffers too small");
        if k == 0 {
            out[..m * n].fill(0.0);
            return;
        }
        assert!(a.count() >= m, "matmul_a_bt: a has not {m} rows");
        let body = k - k % LANES;
        let panels = &self.panels;
        // Blocks of 2 rows x up to 5 columns: 10 accumulators, two rows of a and one vector of b in 13
        // registers (V8 keeps xmm15 for itself). Each pair of a's rows stays in L1 for all of its blocks.
        let mut i = 0;
        while i < m {
            let two = m - i >= 2;
            let mut j = 0;
            while j < n {
                let cols = (n - j).min(A_BT_COLS);
                let panel = &panels[j * body..(j + cols) * body];
                macro_rules! block {
                    ($r:literal) => {{
                        let rows: [&[f32]; $r] = std::array::from_fn(|r| a.row(i + r));
                        let cols_b: &[f32] = &b[j * k..(j + cols) * k];
                        match cols {
                            5 => dot_block::<$r, 5>(rows, panel, cols_b, k, &mut out[i * n + j..], n),
                            4 => dot_block::<$r, 4>(rows, panel, cols_b, k, &mut out[i * n + j..], n),
                            3 => dot_block::<$r, 3>(rows, panel, cols_b, k, &mut out[i * n + j..], n),
                            2 => dot_block::<$r, 2>(rows, panel, cols_b, k, &mut out[i * n + j..], n),
                            _ => dot_block::<$r, 1>(rows, panel, cols_b, k, &mut out[i * n + j..], n),
                        }
                    }};
                }
                if two {
                    block!(2)
                } else {
                    block!(1)
                }
                j += cols;
            }
            i += if two { 2 } else { 1 };
        }
    }
}

/// b (n, k) as panels of up to A_BT_COLS rows: panel j (rows j..j+C) starts at j·body and holds, for each
/// LANES-wide chunk t of the first `body` columns, the chunk of each of its C rows in turn.
fn interleave_columns(b: &[f32], n: usize, k: usize, body: usize) -> Vec<f32> {
    let mut panels = vec![0.0f32; n * body];
    let mut j = 0;
    while j < n {
        let cols = (n - j).min(A_BT_COLS);
        let panel = &mut panels[j * body..(j + cols) * body];
        for (t, chunk) in panel.chunks_exact_mut(cols * LANES).enumerate() {
            for (c, dst) in chunk.chunks_exact_mut(LANES).enumerate() {
                dst.copy_from_slice(&b[(j + c) * k + t * LANES..][..LANES]);
            }
        }
        j += cols;
    }
    panels
}

/// out[r·ldo + c] for r < R, c < C, one block of [`matmul_a_bt`]: the dot products of `rows` (k values
/// each) with the C rows of b in `panel` (interleaved, `body` values of each) and `cols_b` (as stored, for
/// the tail past `body`). R x C partial sums of LANES in registers.
#[inline(always)]
fn dot_block<const R: usize, const C: usize>(
    rows: [&[f32]; R],
    panel: &[f32],
    cols_b: &[f32],
    k: usize,
    out: &mut [f32],
    ldo: usize,
) {
    let body = k - k % LANES;
    assert!(panel.len() == C * body && cols_b.len() == C * k && out.len() > (R - 1) * ldo + C - 1);
    assert!(rows.iter().all(|r| r.len() == k), "dot_block: rows of k values");
    let x_ptr: [*const f32; R] = std::array::from_fn(|r| rows[r].as_ptr());
    let mut w_ptr = panel.as_ptr();
    // acc[c][r]: the partial sums of out[r·ldo + c].
    let mut acc = [[F32x4::splat(0.0); R]; C];
    for p in (0..body).step_by(LANES) {
        // SAFETY: p + LANES <= body <= k, the length of every row (asserted); the panel holds C·LANES
        // values per chunk of LANES, C·body in all (asserted), and w_ptr advances by one chunk per step.
        unsafe {
            let x: [F32x4; R] = std::array::from_fn(|r| F32x4::load_ptr(x_ptr[r].add(p)));
            for (c, acc) in acc.iter_mut().enumerate() {
                let w = F32x4::load_ptr(w_ptr.add(c * LANES));
                for (acc, x) in acc.iter_mut().zip(&x) {
                    *acc = acc.mul_add(*x, w);
                }
            }
            w_ptr = w_ptr.add(C * LANES);
        }
    }
    for r in 0..R {
        for c in 0..C {
            let mut lanes = [0.0f32; LANES];
            acc[c][r].store(&mut lanes);
            let mut sum = (lanes[0] + lanes[2]) + (lanes[1] + lanes[3]);
            for p in body..k {
                sum += rows[r][p] * cols_b[c * k + p];
            }
            out[r * ldo + c] = sum;
        }
    }
}

/// Rows of b swept per block in [`matmul_at_b`]. Each row of a strip lies in its own 4 KiB page (a row of
/// x is 3 KiB): 256 rows walked the TLB for every load and ran at half the speed of 8 in Chromium, where
/// out's accumulators are reloaded every 8 rows at little cost.
const AT_B_ROWS: usize = 8;

/// Rows of out held in registers by [`matmul_at_b`]: 4 (8 accumulators) measured faster than 5 (10) on
/// W5's drawn rows in Chromium (`bench/results/w5-narrow-pointers-2026-12-03.md`).
const AT_B_OUT_ROWS: usize = 4;

/// out (m, n) = aᵀ · b, with a stored (k, m) and b (k, n) row-major: a weight gradient (gᵀ x, the batch
/// summed over) without transposing g or packing x. out[j, :] accumulates a[p, j] · b[p, :] over p, up to
/// AT_B_OUT_ROWS rows of out at a time in registers, for narrow m (a classifier's 10 outputs). b's rows
/// may be picked from a dataset (`Rows`).
pub fn matmul_at_b(a: &[f32], b: Rows<'_>, m: usize, k: usize, n: usize, out: &mut [f32]) {
    assert!(out.len() >= m * n, "matmul_at_b: buffers too small");
    out[..m * n].fill(0.0);
    matmul_at_b_add(a, b, m, k, n, out);
}

/// out (m, n) += aᵀ · b: [`matmul_at_b`] added to what out holds (a fused head sums a weight gradient over
/// blocks of rows).
pub fn matmul_at_b_add(a: &[f32], b: Rows<'_>, m: usize, k: usize, n: usize, out: &mut [f32]) {
    assert!(b.len == n && a.len() >= k * m && out.len() >= m * n, "matmul_at_b: buffers too small");
    if n == 0 {
        return;
    }
    assert!(b.count() >= k, "matmul_at_b: b has not {k} rows");
    const W: usize = 2 * LANES;
    let (wide, body) = (n - n % W, n - n % LANES);
    let out = &mut out[..m * n];
    // Every row block of out is summed over AT_B_ROWS rows, then added to what earlier blocks left.
    for p0 in (0..k).step_by(AT_B_ROWS) {
        let count = AT_B_ROWS.min(k - p0);
        let mut rows = [&[][..]; AT_B_ROWS];
        for (q, row) in rows[..count].iter_mut().enumerate() {
            *row = b.row(p0 + q);
        }
        let block = Block::new(&a[p0 * m..(p0 + count) * m], &rows[..count], m, n);
        // A strip of b's columns (AT_B_ROWS rows, in L1) serves every block of out's rows before the next:
        // up to 4 rows of out at a time (10 outputs: 4, 4 and 2) over two LANES-wide vectors of columns,
        // 8 accumulators, two loads of b and one broadcast of a in 11 registers.
        for c in (0..wide).step_by(W) {
            block.column_strip::<2>(c, out);
        }
        for c in (wide..body).step_by(LANES) {
            block.column_strip::<1>(c, out);
        }
        for c in body..n {
            for j in 0..m {
                let sum: f32 =
                    block.rows.iter().enumerate().map(|(q, row)| block.a[q * m + j] * row[c]).sum();
                out[j * n + c] += sum;
            }
        }
    }
}

/// AT_B_ROWS consecutive rows of [`matmul_at_b`]'s product: a's (k, m) rows and b's matching rows (n
/// values each), for out (m, n).
struct Block<'a, 'b> {
    a: &'a [f32],
    rows: &'b [&'a [f32]],
    m: usize,
    n: usize,
}

impl<'a, 'b> Block<'a, 'b> {
    /// The block of `rows` (n values each) and a's matching rows (m values each).
    fn new(a: &'a [f32], rows: &'b [&'a [f32]], m: usize, n: usize) -> Self {
        assert!(
            a.len() == rows.len() * m && rows.iter().all(|r| r.len() == n),
            "matmul_at_b: a block's rows"
        );
        Block { a, rows, m, n }
    }

    /// Columns c..c+V·LANES of out, for every block of at most AT_B_OUT_ROWS of out's rows.
    #[inline(always)]
    fn column_strip<const V: usize>(&self, c: usize, out: &mut [f32]) {
        assert!(c + V * LANES <= self.n && out.len() == self.m * self.n, "matmul_at_b: a strip past out");
        let mut j = 0;
        while j < self.m {
            let rows = (self.m - j).min(AT_B_OUT_ROWS);
            match rows {
                4 => self.axpy_columns::<4, V>(j, c, out),
                3 => self.axpy_columns::<3, V>(j, c, out),
                2 => self.axpy_columns::<2, V>(j, c, out),
                _ => self.axpy_columns::<1, V>(j, c, out),
            }
            j += rows;
        }
    }

    /// out[j..j+R, c..c+V·LANES] += Σ over this block's rows q of a[q, j..j+R]ᵀ · b[q, c..c+V·LANES], in
    /// registers. The caller (`column_strip`) asserts the bounds the pointers rely on.
    #[inline(always)]
    fn axpy_columns<const R: usize, const V: usize>(&self, j: usize, c: usize, out: &mut [f32]) {
        debug_assert!(j + R <= self.m);
        let mut acc = [[F32x4::splat(0.0); V]; R];
        let g_ptr = self.a.as_ptr();
        for (q, row) in self.rows.iter().enumerate() {
            // SAFETY: c + V·LANES <= n, the length of every row; q·m + j + r < rows.len()·m, the length of
            // a, since j + R <= m (asserted by `new` and `column_strip`, and by the callers' loop bounds).
            unsafe {
                let x: [F32x4; V] = std::array::from_fn(|v| F32x4::load_ptr(row.as_ptr().add(c + v * LANES)));
                for (r, acc) in acc.iter_mut().enumerate() {
                    let g = F32x4::splat_ptr(g_ptr.add(q * self.m + j + r));
                    for (acc, x) in acc.iter_mut().zip(&x) {
                        *acc = acc.mul_add(g, *x);
                    }
                }
            }
        }
        for (r, acc) in acc.iter().enumerate() {
            for (v, acc) in acc.iter().enumerate() {
                let o = &mut out[(j + r) * self.n + c + v * LANES..];
                F32x4::load(o).add(*acc).store(o);
            }
        }
    }
}
