//! A packed, cache-blocked SGEMM for wasm32 SIMD128, after the GotoBLAS/BLIS scheme: B is packed into
//! KC×NR panels, A into MR×KC panels, and a 4×8 micro-kernel keeps its block of C in eight v128
//! registers (8 accumulators + 2 B vectors + 1 splat of A). A 6×8 kernel (15 live vectors) measured
//! 30-40 % slower in Chromium: V8 keeps scratch registers of its own, so it spilled. Each step is a
//! multiply-add (`lanes::madd`): a mul and an add in plain SIMD128, one relaxed (fused) madd in the
//! relaxed-SIMD module.
//! Twin of `matmul_ref` (same result up to summation order within KC blocks).

use core::arch::wasm32::*;

use super::lanes::madd;

const MR: usize = 4;
const NR: usize = 8;
/// Depth of one packed block: a KC×NR panel of B (8 KiB) stays in L1 while the micro-kernel streams A.
const KC: usize = 256;
/// Rows of A packed at once (MC×KC·4 bytes = 96 KiB, L2-resident).
const MC: usize = 96;
/// Columns of B packed at once (KC×NC·4 bytes = 512 KiB, an L2 on current x86 cores).
const NC: usize = 512;

/// a: (m, k), b: (k, n) -> out: (m, n), row-major; `out` is overwritten. `trans[0]`: a is stored as its
/// transpose (k, m); `trans[1]`: b as (n, k). Only the packing reads the operands, so a transposed one
/// costs nothing more (its panels are gathered from rows instead of columns).
pub fn sgemm(a: &[f32], b: &[f32], m: usize, k: usize, n: usize, trans: [bool; 2], out: &mut [f32]) {
    assert!(a.len() >= m * k && b.len() >= k * n && out.len() >= m * n, "sgemm: buffers too small");
    // Sized to this product, not to the block limits: a small GEMM must not pay for a 1 MiB buffer.
    let (kc_max, nc_max, mc_max) = (KC.min(k), NC.min(n), MC.min(m));
    let mut packed_b = vec![0.0f32; kc_max * nc_max.div_ceil(NR) * NR];
    let mut packed_a = vec![0.0f32; mc_max.div_ceil(MR) * MR * kc_max];
    for jc in (0..n).step_by(NC) {
        let nc = NC.min(n - jc);
        for pc in (0..k).step_by(KC) {
            let kc = KC.min(k - pc);
            pack_b(b, (k, n), trans[1], (pc, kc), (jc, nc), &mut packed_b);
            for ic in (0..m).step_by(MC) {
                let mc = MC.min(m - ic);
                pack_a(a, (m, k), trans[0], (ic, mc), (pc, kc), &mut packed_a);
                for jr in (0..nc).step_by(NR) {
                    for ir in (0..mc).step_by(MR) {
                        let bp = &packed_b[jr * kc..][..kc * NR];
                        let ap = &packed_a[ir * kc..][..kc * MR];
                        let (rows, cols) = (MR.min(mc - ir), NR.min(nc - jr));
                        let c = &mut out[(ic + ir) * n + jc + jr..];
                        // The first depth block stores, later ones accumulate: C is never zero-filled first.
                        micro_kernel(kc, ap, bp, c, n, rows, cols, pc == 0);
                    }
                }
            }
        }
    }
}

/// B[pc..pc+kc, jc..jc+nc] -> panels of NR columns, each kc rows of NR contiguous values (zero-padded).
/// B is (k, n), stored row-major, or as Bᵀ (n, k) when `t`.
fn pack_b(b: &[f32], (k, n): (usize, usize), t: bool, (pc, kc): Span, (jc, nc): Span, dst: &mut [f32]) {
    for (panel, j0) in (0..nc).step_by(NR).enumerate() {
        let cols = NR.min(nc - j0);
        let out = &mut dst[panel * kc * NR..][..kc * NR];
        if t {
            // Column j of the panel is row jc + j0 + j of Bᵀ: read along it.
            for j in 0..NR {
                if j < cols {
                    let src = &b[(jc + j0 + j) * k + pc..][..kc];
                    for (p, &v) in src.iter().enumerate() {
                        out[p * NR + j] = v;
                    }
                } else {
                    (0..kc).for_each(|p| out[p * NR + j] = 0.0);
                }
            }
            continue;
        }
        for p in 0..kc {
            let src = &b[(pc + p) * n + jc + j0..][..cols];
            let row = &mut out[p * NR..][..NR];
            row[..cols].copy_from_slice(src);
            row[cols..].fill(0.0);
        }
    }
}

/// A[ic..ic+mc, pc..pc+kc] -> panels of MR rows, each kc steps of MR contiguous values (zero-padded).
/// A is (m, k), stored row-major, or as Aᵀ (k, m) when `t`.
fn pack_a(a: &[f32], (m, k): (usize, usize), t: bool, (ic, mc): Span, (pc, kc): Span, dst: &mut [f32]) {
    for (panel, i0) in (0..mc).step_by(MR).enumerate() {
        let rows = MR.min(mc - i0);
        let out = &mut dst[panel * kc * MR..][..kc * MR];
        for p in 0..kc {
            let step = &mut out[p * MR..][..MR];
            if t {
                // Step p of the panel is part of row pc + p of Aᵀ.
                step[..rows].copy_from_slice(&a[(pc + p) * m + ic + i0..][..rows]);
                step[rows..].fill(0.0);
                continue;
            }
            for r in 0..MR {
                step[r] = if r < rows { a[(ic + i0 + r) * k + pc + p] } else { 0.0 };
            }
        }
    }
}

/// A range of rows or columns: (start, length).
type Span = (usize, usize);

/// C[0..rows, 0..cols] (+)= Ã·B̃ for one MR×NR block: `first` overwrites C, otherwise it accumulates.
/// Full blocks go straight from registers to C.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn micro_kernel(
    kc: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    ldc: usize,
    rows: usize,
    cols: usize,
    first: bool,
) {
    debug_assert!(a.len() >= kc * MR && b.len() >= kc * NR);
    let z = f32x4_splat(0.0);
    let mut acc = [[z; 2]; MR];
    let (ap, bp) = (a.as_ptr(), b.as_ptr());
    for p in 0..kc {
        // SAFETY: p < kc, and the packed panels hold kc·NR (B) and kc·MR (A) values (asserted above).
        unsafe {
            let b0 = v128_load(bp.add(p * NR) as *const v128);
            let b1 = v128_load(bp.add(p * NR + 4) as *const v128);
            for (r, row) in acc.iter_mut().enumerate() {
                let ar = v128_load32_splat(ap.add(p * MR + r) as *const u32);
                row[0] = madd(ar, b0, row[0]);
                row[1] = madd(ar, b1, row[1]);
            }
        }
    }
    if rows == MR && cols == NR {
        for (r, row) in acc.iter().enumerate() {
            // SAFETY: a full block: rows r < MR and columns 0..NR of C lie inside `c` (row stride ldc).
            unsafe {
                let dst = c.as_mut_ptr().add(r * ldc);
                let dst4 = dst.add(4);
                if first {
                    v128_store(dst as *mut v128, row[0]);
                    v128_store(dst4 as *mut v128, row[1]);
                } else {
                    v128_store(dst as *mut v128, f32x4_add(v128_load(dst as *const v128), row[0]));
                    v128_store(dst4 as *mut v128, f32x4_add(v128_load(dst4 as *const v128), row[1]));
                }
            }
        }
        return;
    }
    let mut tile = [0.0f32; MR * NR];
    for (r, row) in acc.iter().enumerate() {
        // SAFETY: `tile` holds MR·NR floats; row r writes its 8 at r·NR.
        unsafe {
            v128_store(tile.as_mut_ptr().add(r * NR) as *mut v128, row[0]);
            v128_store(tile.as_mut_ptr().add(r * NR + 4) as *mut v128, row[1]);
        }
    }
    for r in 0..rows {
        for j in 0..cols {
            let v = tile[r * NR + j];
            c[r * ldc + j] = if first { v } else { c[r * ldc + j] + v };
        }
    }
}
