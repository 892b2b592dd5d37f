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
/// as stored), for narrow n (a classifier's 10 outputs). a's rows may be picked from a dataset (`Rows`).
/// bᵀ is copied once into k rows of n values padded to whole vectors (37 KB for 784 x 10); a is read as
/// stored, never packed: each of its values is broadcast against a row of bᵀ, R rows of out at a time
/// held in registers. (Dot products along k, the earlier form, ran at half the speed in Chromium: five
/// rows of b streamed beside the two of a.) Summation order: k order, like [`matmul_ref`].
pub fn matmul_a_bt(a: Rows<'_>, b: &[f32], m: usize, k: usize, n: usize, out: &mut [f32]) {
    assert!(a.len == k && b.len() >= n * k && out.len() >= m * n, "matmul_a_bt: buffers too small");
    if k == 0 {
        out[..m * n].fill(0.0);
        return;
    }
    assert!(a.count() >= m, "matmul_a_bt: a has not {m} rows");
    assert!(n <= NARROW, "matmul_a_bt: n = {n} is wider than {NARROW}");
    // Up to 12 accumulators, the budget V8 keeps in registers (see gemm_simd128's note on spills).
    match n.div_ceil(LANES) {
        0 => {}
        1 => broadcast_rows::<8, 1>(a, b, m, k, n, out),
        2 => broadcast_rows::<6, 2>(a, b, m, k, n, out),
        3 => broadcast_rows::<4, 3>(a, b, m, k, n, out),
        _ => broadcast_rows::<3, 4>(a, b, m, k, n, out),
    }
}

/// [`matmul_a_bt`] with n ≤ V·LANES: rows of out in blocks of R, V vectors each.
fn broadcast_rows<const R: usize, const V: usize>(
    a: Rows<'_>,
    b: &[f32],
    m: usize,
    k: usize,
    n: usize,
    out: &mut [f32],
) {
    let w = V * LANES;
    let mut bt = vec![0.0f32; k * w];
    for (c, row) in b.chunks_exact(k).take(n).enumerate() {
        for (p, &v) in row.iter().enumerate() {
            bt[p * w + c] = v;
        }
    }
    let whole = m - m % R;
    for i in (0..whole).step_by(R) {
        broadcast_block::<R, V>(a, &bt, k, n, i, out);
    }
    // The last m % R rows (fewer than R), one at a time.
    for i in whole..m {
        broadcast_block::<1, V>(a, &bt, k, n, i, out);
    }
}

/// out[i..i+R, ..n] = a[i..i+R, :] · bt, with bt (k, V·LANES) the padded transpose of b.
#[inline(always)]
fn broadcast_block<const R: usize, const V: usize>(
    a: Rows<'_>,
    bt: &[f32],
    k: usize,
    n: usize,
    i: usize,
    out: &mut [f32],
) {
    let rows: [&[f32]; R] = std::array::from_fn(|r| a.row(i + r));
    let mut acc = [[F32x4::splat(0.0); V]; R];
    for (p, bt_row) in bt.chunks_exact(V * LANES).take(k).enumerate() {
        let w: [F32x4; V] = std::array::from_fn(|v| F32x4::load(&bt_row[v * LANES..]));
        for r in 0..R {
            let x = F32x4::splat(rows[r][p]);
            for v in 0..V {
                acc[r][v] = acc[r][v].mul_add(x, w[v]);
            }
        }
    }
    for (r, acc) in acc.iter().enumerate() {
        let mut row = [0.0f32; NARROW];
        for (v, acc) in acc.iter().enumerate() {
            acc.store(&mut row[v * LANES..]);
        }
        out[(i + r) * n..(i + r + 1) * n].copy_from_slice(&row[..n]);
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
