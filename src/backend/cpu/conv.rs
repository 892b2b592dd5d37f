//! Window kernels for convolution (im2col / col2im, so the arithmetic is one GEMM) and pooling.
//! Layout: x is (N, C, H, W) row-major. Each `_ref` kernel is the textbook loop; `im2col`, `col2im` and
//! `max_pool2d` are its fast twins (the same values, bit for bit). Most of a convolution's time goes to
//! the GEMM (`matmul`).

use crate::backend::ops::Window;

/// Input coordinate of output position `o`, kernel offset `k`; `None` inside the zero padding.
#[inline]
fn source(o: usize, k: usize, stride: usize, pad: usize, size: usize) -> Option<usize> {
    (o * stride + k).checked_sub(pad).filter(|&i| i < size)
}

/// x: (N, C, H, W) -> cols: (C·KH·KW, N·OH·OW). Row (c, ki, kj), column (n, oy, ox); padding reads 0.
pub fn im2col_ref(x: &[f32], dims: [usize; 4], win: Window, cols: &mut [f32]) {
    let [n, c, h, w] = dims;
    let Some((oh, ow)) = win.output_size(h, w) else { return };
    let ((kh, kw), (sh, sw), (ph, pw)) = (win.kernel, win.stride, win.padding);
    let width = n * oh * ow;
    for ci in 0..c {
        for ki in 0..kh {
            for kj in 0..kw {
                let row = &mut cols[((ci * kh + ki) * kw + kj) * width..][..width];
                for ni in 0..n {
                    let plane = &x[(ni * c + ci) * h * w..][..h * w];
                    for oy in 0..oh {
                        let dst = &mut row[(ni * oh + oy) * ow..][..ow];
                        let Some(iy) = source(oy, ki, sh, ph, h) else {
                            dst.fill(0.0);
                            continue;
                        };
                        for (ox, d) in dst.iter_mut().enumerate() {
                            *d = source(ox, kj, sw, pw, w).map_or(0.0, |ix| plane[iy * w + ix]);
                        }
                    }
                }
            }
        }
    }
}

/// The adjoint of [`im2col_ref`]: cols (C·KH·KW, N·OH·OW) -> x (N, C, H, W), overlapping windows summed.
pub fn col2im_ref(cols: &[f32], dims: [usize; 4], win: Window, x: &mut [f32]) {
    let [n, c, h, w] = dims;
    x.fill(0.0);
    let Some((oh, ow)) = win.output_size(h, w) else { return };
    let ((kh, kw), (sh, sw), (ph, pw)) = (win.kernel, win.stride, win.padding);
    let width = n * oh * ow;
    for ci in 0..c {
        for ki in 0..kh {
            for kj in 0..kw {
                let row = &cols[((ci * kh + ki) * kw + kj) * width..][..width];
                for ni in 0..n {
                    let plane = &mut x[(ni * c + ci) * h * w..][..h * w];
                    for oy in 0..oh {
                        let Some(iy) = source(oy, ki, sh, ph, h) else { continue };
                        for ox in 0..ow {
                            if let Some(ix) = source(ox, kj, sw, pw, w) {
                                plane[iy * w + ix] += row[(ni * oh + oy) * ow + ox];
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The output positions `o` in 0..len whose input coordinate `o·stride + k − pad` lies in 0..size: one
/// range (the rest of 0..len reads the zero padding). Empty when no position does.
#[inline]
fn inside(len: usize, k: usize, stride: usize, pad: usize, size: usize) -> std::ops::Range<usize> {
    let lo = pad.saturating_sub(k).div_ceil(stride).min(len);
    let hi = (size + pad).checked_sub(k).map_or(0, |span| span.div_ceil(stride)).clamp(lo, len);
    lo..hi
}

/// Fast twin of [`im2col_ref`]: the same columns, each output row's run of in-bounds positions copied at
/// once (one slice copy at stride 1) and its padding zero-filled, without a bounds test per value.
pub fn im2col(x: &[f32], dims: [usize; 4], win: Window, cols: &mut [f32]) {
    let [n, c, h, w] = dims;
    let Some((oh, ow)) = win.output_size(h, w) else { return };
    let ((kh, kw), (sh, sw), (ph, pw)) = (win.kernel, win.stride, win.padding);
    let width = n * oh * ow;
    for ci in 0..c {
        for ki in 0..kh {
            for kj in 0..kw {
                let row = &mut cols[((ci * kh + ki) * kw + kj) * width..][..width];
                let run = inside(ow, kj, sw, pw, w);
                for ni in 0..n {
                    let plane = &x[(ni * c + ci) * h * w..][..h * w];
                    for oy in 0..oh {
                        let dst = &mut row[(ni * oh + oy) * ow..][..ow];
                        let Some(iy) = source(oy, ki, sh, ph, h) else {
                            dst.fill(0.0);
                            continue;
                        };
                        dst[..run.start].fill(0.0);
                        dst[run.end..].fill(0.0);
                        if run.is_empty() {
                            continue;
                        }
                        // The first in-bounds position reads column run.start·sw + kj − pw of row iy.
                        let src = &plane[iy * w + run.start * sw + kj - pw..];
                        let dst = &mut dst[run.clone()];
                        if sw == 1 {
                            dst.copy_from_slice(&src[..dst.len()]);
                        } else {
                            for (d, s) in dst.iter_mut().zip(src.iter().step_by(sw)) {
                                *d = *s;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Fast twin of [`col2im_ref`]: the same sums in the same order (each x value receives its windows'
/// contributions in the reference's order, so the result is identical), over each row's in-bounds run.
pub fn col2im(cols: &[f32], dims: [usize; 4], win: Window, x: &mut [f32]) {
    let [n, c, h, w] = dims;
    x.fill(0.0);
    let Some((oh, ow)) = win.output_size(h, w) else { return };
    let ((kh, kw), (sh, sw), (ph, pw)) = (win.kernel, win.stride, win.padding);
    let width = n * oh * ow;
    for ci in 0..c {
        for ki in 0..kh {
            for kj in 0..kw {
                let row = &cols[((ci * kh + ki) * kw + kj) * width..][..width];
                let run = inside(ow, kj, sw, pw, w);
                if run.is_empty() {
                    continue;
                }
                for ni in 0..n {
                    let plane = &mut x[(ni * c + ci) * h * w..][..h * w];
                    for oy in 0..oh {
                        let Some(iy) = source(oy, ki, sh, ph, h) else { continue };
                        let src = &row[(ni * oh + oy) * ow..][run.clone()];
                        let dst = &mut plane[iy * w + run.start * sw + kj - pw..];
                        if sw == 1 {
                            for (d, s) in dst[..src.len()].iter_mut().zip(src) {
                                *d += *s;
                            }
                        } else {
                            for (d, s) in dst.iter_mut().step_by(sw).zip(src) {
                                *d += *s;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Max pooling. x: (N, C, H, W) -> out: (N, C, OH, OW), with `argmax` the flat index in x of each maximum
/// (the first one on ties, scanning rows then columns). Padding never wins.
pub fn max_pool2d_ref(x: &[f32], dims: [usize; 4], win: Window, out: &mut [f32], argmax: &mut [usize]) {
    let [n, c, h, w] = dims;
    let Some((oh, ow)) = win.output_size(h, w) else { return };
    let ((kh, kw), (sh, sw), (ph, pw)) = (win.kernel, win.stride, win.padding);
    for plane in 0..n * c {
        for oy in 0..oh {
            for ox in 0..ow {
                let (mut best, mut at) = (f32::NEG_INFINITY, usize::MAX);
                for ki in 0..kh {
                    let Some(iy) = source(oy, ki, sh, ph, h) else { continue };
                    for kj in 0..kw {
                        let Some(ix) = source(ox, kj, sw, pw, w) else { continue };
                        let i = plane * h * w + iy * w + ix;
                        if at == usize::MAX || x[i] > best || (x[i].is_nan() && !best.is_nan()) {
                            (best, at) = (x[i], i);
                        }
                    }
                }
                let o = (plane * oh + oy) * ow + ox;
                (out[o], argmax[o]) = (best, at);
            }
        }
    }
}

/// Twin of `max_pool2d_ref` for the common 2x2 window with stride 2 and no padding: the same comparisons in
/// the same order (so the same values and the same argmax), without the general window bookkeeping.
pub fn max_pool2d(x: &[f32], dims: [usize; 4], win: Window, out: &mut [f32], argmax: &mut [usize]) {
    if win.kernel != (2, 2) || win.stride != (2, 2) || win.padding != (0, 0) {
        return max_pool2d_ref(x, dims, win, out, argmax);
    }
    let [n, c, h, w] = dims;
    let (oh, ow) = (h / 2, w / 2);
    for plane in 0..n * c {
        let base = plane * h * w;
        for oy in 0..oh {
            let row = base + 2 * oy * w;
            let o_row = (plane * oh + oy) * ow;
            for ox in 0..ow {
                let candidates = [row + 2 * ox, row + 2 * ox + 1, row + w + 2 * ox, row + w + 2 * ox + 1];
                let (mut best, mut at) = (x[candidates[0]], candidates[0]);
                for &i in &candidates[1..] {
                    if x[i] > best || (x[i].is_nan() && !best.is_nan()) {
                        (best, at) = (x[i], i);
                    }
                }
                (out[o_row + ox], argmax[o_row + ox]) = (best, at);
            }
        }
    }
}

/// Average pooling counting the padding as zeros (PyTorch's `count_include_pad=True`): each window's sum
/// is divided by KH·KW. x: (N, C, H, W) -> out: (N, C, OH, OW).
pub fn avg_pool2d_ref(x: &[f32], dims: [usize; 4], win: Window, out: &mut [f32]) {
    let [n, c, h, w] = dims;
    let Some((oh, ow)) = win.output_size(h, w) else { return };
    let ((kh, kw), (sh, sw), (ph, pw)) = (win.kernel, win.stride, win.padding);
    let scale = 1.0 / (kh * kw) as f32;
    for plane in 0..n * c {
        for oy in 0..oh {
            for ox in 0..ow {
                let mut sum = 0.0;
                for ki in 0..kh {
                    let Some(iy) = source(oy, ki, sh, ph, h) else { continue };
                    for kj in 0..kw {
                        if let Some(ix) = source(ox, kj, sw, pw, w) {
                            sum += x[plane * h * w + iy * w + ix];
                        }
                    }
                }
                out[(plane * oh + oy) * ow + ox] = sum * scale;
            }
        }
    }
}

/// The adjoint of [`avg_pool2d_ref`]: g (N, C, OH, OW) -> dx (N, C, H, W).
pub fn avg_pool2d_backward_ref(g: &[f32], dims: [usize; 4], win: Window, dx: &mut [f32]) {
    let [n, c, h, w] = dims;
    dx.fill(0.0);
    let Some((oh, ow)) = win.output_size(h, w) else { return };
    let ((kh, kw), (sh, sw), (ph, pw)) = (win.kernel, win.stride, win.padding);
    let scale = 1.0 / (kh * kw) as f32;
    for plane in 0..n * c {
        for oy in 0..oh {
            for ox in 0..ow {
                let share = g[(plane * oh + oy) * ow + ox] * scale;
                for ki in 0..kh {
                    let Some(iy) = source(oy, ki, sh, ph, h) else { continue };
                    for kj in 0..kw {
                        if let Some(ix) = source(ox, kj, sw, pw, w) {
                            dx[plane * h * w + iy * w + ix] += share;
                        }
                    }
                }
            }
        }
    }
}
