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

/// Lanes per accumulator: one SIMD128 (or SSE) register; LLVM vectorizes the `[f32; LANES]` arithmetic.
const LANES: usize = 4;

/// out (m, n) = a (m, k) · bᵀ, with b stored (n, k) row-major: a Linear layer's forward pass (x Wᵀ with W
/// as stored). Every output is a dot product along k, contiguous in both operands, so nothing is packed
/// or transposed; meant for narrow n (a classifier's 10 outputs), where packing the m x k operand costs
/// more than the product. Summation order: LANES interleaved partial sums over k, then the tail.
pub fn matmul_a_bt(a: &[f32], b: &[f32], m: usize, k: usize, n: usize, out: &mut [f32]) {
    assert!(a.len() >= m * k && b.len() >= n * k && out.len() >= m * n, "matmul_a_bt: buffers too small");
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
    a: &[f32],
    b: &[f32],
    k: usize,
    n: usize,
    i: usize,
    j: usize,
    out: &mut [f32],
) {
    let rows: [&[f32]; R] = std::array::from_fn(|r| &a[(i + r) * k..(i + r + 1) * k]);
    let cols: [&[f32]; C] = std::array::from_fn(|c| &b[(j + c) * k..(j + c + 1) * k]);
    let mut acc = [[[0.0f32; LANES]; C]; R];
    let body = k - k % LANES;
    for p in (0..body).step_by(LANES) {
        let x: [[f32; LANES]; R] = std::array::from_fn(|r| rows[r][p..p + LANES].try_into().expect("LANES"));
        let w: [[f32; LANES]; C] = std::array::from_fn(|c| cols[c][p..p + LANES].try_into().expect("LANES"));
        for r in 0..R {
            for c in 0..C {
                for l in 0..LANES {
                    acc[r][c][l] += x[r][l] * w[c][l];
                }
            }
        }
    }
    for r in 0..R {
        for c in 0..C {
            let lanes = &acc[r][c];
            let mut sum = (lanes[0] + lanes[2]) + (lanes[1] + lanes[3]);
            for p in body..k {
                sum += rows[r][p] * cols[c][p];
            }
            out[(i + r) * n + j + c] = sum;
        }
    }
}

/// Rows of b swept per block in [`matmul_at_b`]: a column strip of this many rows (one 64-byte line each,
/// 16 KB) stays in L1 while every block of out's rows and the strip beside it use its lines.
const AT_B_ROWS: usize = 256;

/// out (m, n) = aᵀ · b, with a stored (k, m) and b (k, n) row-major: a weight gradient (gᵀ x, the batch
/// summed over) without transposing g or packing x. out[j, :] accumulates a[p, j] · b[p, :] over p, up to
/// eight rows of out at a time in registers, for narrow m (a classifier's 10 outputs).
pub fn matmul_at_b(a: &[f32], b: &[f32], m: usize, k: usize, n: usize, out: &mut [f32]) {
    assert!(a.len() >= k * m && b.len() >= k * n && out.len() >= m * n, "matmul_at_b: buffers too small");
    out[..m * n].fill(0.0);
    const W: usize = 2 * LANES;
    let (wide, body) = (n - n % W, n - n % LANES);
    for p0 in (0..k).step_by(AT_B_ROWS) {
        let ps = p0..(p0 + AT_B_ROWS).min(k);
        // A strip of b's columns (AT_B_ROWS rows, in L1) serves every block of out's rows before the next:
        // up to 5 rows of out at a time (10 outputs: two blocks of 5) over two LANES-wide vectors of
        // columns, 10 accumulators, two loads of b and one broadcast of a in 13 registers.
        for c in (0..wide).step_by(W) {
            column_strip::<W>(a, b, m, n, ps.clone(), c, out);
        }
        for c in (wide..body).step_by(LANES) {
            column_strip::<LANES>(a, b, m, n, ps.clone(), c, out);
        }
        for c in body..n {
            for j in 0..m {
                let sum: f32 = ps.clone().map(|p| a[p * m + j] * b[p * n + c]).sum();
                out[j * n + c] += sum;
            }
        }
    }
}

/// Columns c..c+W of out, rows `ps` of the product, for every block of at most 5 of out's rows.
#[inline(always)]
fn column_strip<const W: usize>(
    a: &[f32],
    b: &[f32],
    m: usize,
    n: usize,
    ps: std::ops::Range<usize>,
    c: usize,
    out: &mut [f32],
) {
    let mut j = 0;
    while j < m {
        let rows = (m - j).min(5);
        match rows {
            5 => axpy_columns::<5, W>(a, b, m, n, ps.clone(), j, c, out),
            4 => axpy_columns::<4, W>(a, b, m, n, ps.clone(), j, c, out),
            3 => axpy_columns::<3, W>(a, b, m, n, ps.clone(), j, c, out),
            2 => axpy_columns::<2, W>(a, b, m, n, ps.clone(), j, c, out),
            _ => axpy_columns::<1, W>(a, b, m, n, ps.clone(), j, c, out),
        }
        j += rows;
    }
}

/// out[j..j+R, c..c+W] += Σ over rows p in `ps` of a[p, j..j+R]ᵀ · b[p, c..c+W], in registers.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn axpy_columns<const R: usize, const W: usize>(
    a: &[f32],
    b: &[f32],
    m: usize,
    n: usize,
    ps: std::ops::Range<usize>,
    j: usize,
    c: usize,
    out: &mut [f32],
) {
    let mut acc = [[0.0f32; W]; R];
    for p in ps {
        let x: [f32; W] = b[p * n + c..p * n + c + W].try_into().expect("W wide");
        let g: [f32; R] = a[p * m + j..p * m + j + R].try_into().expect("R wide");
        for r in 0..R {
            for l in 0..W {
                acc[r][l] += g[r] * x[l];
            }
        }
    }
    for (r, acc) in acc.iter().enumerate() {
        let o = &mut out[(j + r) * n + c..(j + r) * n + c + W];
        for l in 0..W {
            o[l] += acc[l];
        }
    }
}
