//! Matrix products. `matmul_ref` is the textbook triple loop. `matmul` is its fast twin: our own SIMD128
//! kernel on wasm32 (`gemm_simd128`, faster there than the crate, see `./lab bench`), and
//! `matrixmultiply`'s packed GEMM natively (runtime-detected AVX/FMA).

/// Reference: a: (m, k), b: (k, n) -> out: (m, n), all row-major. Accumulates in f32, in k order.
pub fn matmul_ref(a: &[f32], b: &[f32], m: usize, k: usize, n: usize, out: &mut [f32]) {
    for i in 0..m {
        for j in 0..n {
            let mut acc = 0.0f32;
            for p in 0..k {
                acc += a[i * k + p] * b[p * n + j];
            }
            out[i * n + j] = acc;
        }
    }
}

/// Products wider than this go to `matrixmultiply` on wasm32 (see `matmul`).
#[cfg(target_arch = "wasm32")]
const WIDE_N: usize = 4096;

/// Fast twin of [`matmul_ref`]. a: (m, k), b: (k, n) -> out: (m, n).
pub fn matmul(a: &[f32], b: &[f32], m: usize, k: usize, n: usize, out: &mut [f32]) {
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        out.fill(0.0);
        return;
    }
    // Measured choice (`./lab bench`): our SIMD128 kernel wins on square and MLP shapes; on very wide
    // products (im2col convolutions, n in the tens of thousands) the crate is faster, so it keeps those.
    #[cfg(target_arch = "wasm32")]
    if n <= WIDE_N {
        return super::gemm_simd128::sgemm(a, b, m, k, n, out);
    }
    matmul_crate(a, b, m, k, n, out);
}

/// The same product through the `matrixmultiply` crate: the native fast path, and the baseline our own
/// wasm32 kernel is benchmarked against. a: (m, k), b: (k, n) -> out: (m, n).
pub fn matmul_crate(a: &[f32], b: &[f32], m: usize, k: usize, n: usize, out: &mut [f32]) {
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        out.fill(0.0);
        return;
    }
    assert!(a.len() >= m * k && b.len() >= k * n && out.len() >= m * n, "matmul: buffers too small");
    // SAFETY: the pointers cover m·k, k·n and m·n elements with the row-major strides given (asserted
    // above), and `out` does not alias the inputs (distinct borrows).
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            k as isize,
            1,
            b.as_ptr(),
            n as isize,
            1,
            0.0,
            out.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

/// Products with a side of at most this many rows or columns take the unpacked kernels below, where they
/// are used (`NARROW_KERNELS`).
pub const NARROW: usize = 16;

/// Whether `Tensor::matmul_t` sends narrow transposed products to the unpacked kernels. Measured by
/// `./lab bench` (the "narrow side" table): in the browser (SIMD128) they beat transposing + our packed
/// kernel by 1.3-2.3x on W5's, W1's and W2's classifier layers; natively `matrixmultiply`'s AVX2/FMA
/// kernel stays 1.5-2x faster than these (compiled for baseline x86-64), so native builds keep it.
pub const NARROW_KERNELS: bool = cfg!(target_arch = "wasm32");

use super::lanes::{F32x4, LANES};

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

    /// Row `i` (panics past the end).
    #[inline(always)]
    pub fn row(&self, i: usize) -> &'a [f32] {
        let start = self.index.map_or(i, |index| index[i]) * self.len;
        &self.values[start..start + self.len]
    }
}

/// out (m, n) = a (m, k) · bᵀ, with b stored (n, k) row-major: a Linear layer's forward pass (x Wᵀ with W
/// as stored). Every output is a dot product along k, contiguous in both operands, so nothing is packed
/// or transposed; meant for narrow n (a classifier's 10 outputs), where packing the m x k operand costs
/// more than the product. a's rows may be picked from a dataset (`Rows`). Summation order: LANES
/// interleaved partial sums over k, then the tail. (Broadcasting each value of a against a padded copy of
/// bᵀ, 4 rows of out in registers, measured no faster on W5's shape and slower on W1's, where copying bᵀ
/// is a sixth of the product.)
pub fn matmul_a_bt(a: Rows<'_>, b: &[f32], m: usize, k: usize, n: usize, out: &mut [f32]) {
    assert!(a.len == k && b.len() >= n * k && out.len() >= m * n, "matmul_a_bt: buffers too small");
    if k == 0 {
        out[..m * n].fill(0.0);
        return;
    }
    assert!(a.count() >= m, "matmul_a_bt: a has not {m} rows");
    // Blocks of 2 rows x up to 5 columns: 10 accumulators, two rows of a and one of b in 13 registers;
    // a classifier's 10 outputs are two blocks of 5.
    let mut i = 0;
    while i < m {
        let two = m - i >= 2;
        let mut j = 0;
        while j < n {
            let cols = (n - j).min(5);
            macro_rules! block {
                ($r:literal) => {
                    match cols {
                        5 => dot_block::<$r, 5>(a, b, k, n, i, j, out),
                        4 => dot_block::<$r, 4>(a, b, k, n, i, j, out),
                        3 => dot_block::<$r, 3>(a, b, k, n, i, j, out),
                        2 => dot_block::<$r, 2>(a, b, k, n, i, j, out),
                        _ => dot_block::<$r, 1>(a, b, k, n, i, j, out),
                    }
                };
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

/// out[i..i+R, j..j+C] of [`matmul_a_bt`]: R x C dot products, each LANES partial sums held in registers.
#[inline(always)]
fn dot_block<const R: usize, const C: usize>(
    a: Rows<'_>,
    b: &[f32],
    k: usize,
    n: usize,
    i: usize,
    j: usize,
    out: &mut [f32],
) {
    let rows: [&[f32]; R] = std::array::from_fn(|r| a.row(i + r));
    let cols: [&[f32]; C] = std::array::from_fn(|c| &b[(j + c) * k..(j + c + 1) * k]);
    let mut acc = [[F32x4::splat(0.0); C]; R];
    let body = k - k % LANES;
    for p in (0..body).step_by(LANES) {
        let x: [F32x4; R] = std::array::from_fn(|r| F32x4::load(&rows[r][p..]));
        let w: [F32x4; C] = std::array::from_fn(|c| F32x4::load(&cols[c][p..]));
        for r in 0..R {
            for c in 0..C {
                acc[r][c] = acc[r][c].mul_add(x[r], w[c]);
            }
        }
    }
    for r in 0..R {
        for c in 0..C {
            let mut lanes = [0.0f32; LANES];
            acc[r][c].store(&mut lanes);
            let mut sum = (lanes[0] + lanes[2]) + (lanes[1] + lanes[3]);
            for p in body..k {
                sum += rows[r][p] * cols[c][p];
            }
            out[(i + r) * n + j + c] = sum;
        }
    }
}

/// Rows of b swept per block in [`matmul_at_b`]. Each row of a strip lies in its own 4 KiB page (a row of
/// x is 3 KiB): 256 rows walked the TLB for every load and ran at half the speed of 8 in Chromium, where
/// out's accumulators are reloaded every 8 rows at little cost.
const AT_B_ROWS: usize = 8;

/// out (m, n) = aᵀ · b, with a stored (k, m) and b (k, n) row-major: a weight gradient (gᵀ x, the batch
/// summed over) without transposing g or packing x. out[j, :] accumulates a[p, j] · b[p, :] over p, up to
/// five rows of out at a time in registers, for narrow m (a classifier's 10 outputs). b's rows may be
/// picked from a dataset (`Rows`).
pub fn matmul_at_b(a: &[f32], b: Rows<'_>, m: usize, k: usize, n: usize, out: &mut [f32]) {
    assert!(b.len == n && a.len() >= k * m && out.len() >= m * n, "matmul_at_b: buffers too small");
    out[..m * n].fill(0.0);
    if n == 0 {
        return;
    }
    assert!(b.count() >= k, "matmul_at_b: b has not {k} rows");
    const W: usize = 2 * LANES;
    let (wide, body) = (n - n % W, n - n % LANES);
    // Every row block of out is summed over AT_B_ROWS rows, then added to what earlier blocks left.
    for p0 in (0..k).step_by(AT_B_ROWS) {
        let count = AT_B_ROWS.min(k - p0);
        let mut rows = [&[][..]; AT_B_ROWS];
        for (q, row) in rows[..count].iter_mut().enumerate() {
            *row = b.row(p0 + q);
        }
        let block = Block { a: &a[p0 * m..(p0 + count) * m], rows: &rows[..count], m };
        // A strip of b's columns (AT_B_ROWS rows, in L1) serves every block of out's rows before the next:
        // up to 5 rows of out at a time (10 outputs: two blocks of 5) over two LANES-wide vectors of
        // columns, 10 accumulators, two loads of b and one broadcast of a in 13 registers.
        for c in (0..wide).step_by(W) {
            block.column_strip::<2>(n, c, out);
        }
        for c in (wide..body).step_by(LANES) {
            block.column_strip::<1>(n, c, out);
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

/// AT_B_ROWS consecutive rows of [`matmul_at_b`]'s product: a's (k, m) rows and b's matching rows.
struct Block<'a, 'b> {
    a: &'a [f32],
    rows: &'b [&'a [f32]],
    m: usize,
}

impl Block<'_, '_> {
    /// Columns c..c+V·LANES of out, for every block of at most 5 of out's rows.
    #[inline(always)]
    fn column_strip<const V: usize>(&self, n: usize, c: usize, out: &mut [f32]) {
        let mut j = 0;
        while j < self.m {
            let rows = (self.m - j).min(5);
            match rows {
                5 => self.axpy_columns::<5, V>(n, j, c, out),
                4 => self.axpy_columns::<4, V>(n, j, c, out),
                3 => self.axpy_columns::<3, V>(n, j, c, out),
                2 => self.axpy_columns::<2, V>(n, j, c, out),
                _ => self.axpy_columns::<1, V>(n, j, c, out),
            }
            j += rows;
        }
    }

    /// out[j..j+R, c..c+V·LANES] += Σ over this block's rows p of a[p, j..j+R]ᵀ · b[p, c..c+V·LANES], in
    /// registers.
    #[inline(always)]
    fn axpy_columns<const R: usize, const V: usize>(&self, n: usize, j: usize, c: usize, out: &mut [f32]) {
        let mut acc = [[F32x4::splat(0.0); V]; R];
        for (q, row) in self.rows.iter().enumerate() {
            let x: [F32x4; V] = std::array::from_fn(|v| F32x4::load(&row[c + v * LANES..]));
            let g: [f32; R] = self.a[q * self.m + j..q * self.m + j + R].try_into().expect("R wide");
            for r in 0..R {
                let g = F32x4::splat(g[r]);
                for v in 0..V {
                    acc[r][v] = acc[r][v].mul_add(g, x[v]);
                }
            }
        }
        for (r, acc) in acc.iter().enumerate() {
            for (v, acc) in acc.iter().enumerate() {
                let o = &mut out[(j + r) * n + c + v * LANES..];
                F32x4::load(o).add(*acc).store(o);
            }
        }
    }
}
