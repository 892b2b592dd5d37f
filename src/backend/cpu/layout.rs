//! Layout kernels: copying with strides. Permute reads the input with permuted strides; broadcast reads it
//! with zero strides along the broadcast dimensions.

/// Reference: `out[idx] = x[idx · strides]` over every index of `out_dims` (row-major).
pub fn copy_strided_ref(x: &[f32], strides: &[usize], out_dims: &[usize], out: &mut [f32]) {
    let rank = out_dims.len();
    if rank == 0 {
        if let (Some(o), Some(&v)) = (out.first_mut(), x.first()) {
            *o = v;
        }
        return;
    }
    // The innermost dimension runs as a tight loop; the odometer walks the outer ones.
    let (inner, inner_stride) = (out_dims[rank - 1], strides[rank - 1]);
    let mut index = vec![0usize; rank - 1];
    let mut offset = 0usize;
    for row in out.chunks_exact_mut(inner.max(1)) {
        for (j, o) in row.iter_mut().enumerate() {
            *o = x[offset + j * inner_stride];
        }
        step(&mut index, &mut offset, strides, out_dims);
    }
}

/// Fast twin of [`copy_strided_ref`] (a copy: the same values exactly). Dimensions that the source also
/// holds one after the other are merged first, so a permute that keeps the last dimensions in place
/// (a convolution's (C, N, H, W) -> (N, C, H, W)) copies whole runs of H·W values as slices, and a
/// broadcast one value into a run; other strides take the reference's loop over the merged dimensions.
pub fn copy_strided(x: &[f32], strides: &[usize], out_dims: &[usize], out: &mut [f32]) {
    // (size, source stride) per dimension, size-1 dimensions dropped, neighbours merged where the outer
    // one's stride spans the inner one exactly.
    let mut dims: Vec<(usize, usize)> = Vec::with_capacity(out_dims.len());
    for (&size, &stride) in out_dims.iter().zip(strides) {
        match dims.last_mut() {
            _ if size == 1 => {}
            Some(last) if last.1 == stride * size => *last = (last.0 * size, stride),
            _ => dims.push((size, stride)),
        }
    }
    if out_dims.contains(&0) {
        return;
    }
    let Some(&(inner, inner_stride)) = dims.last() else {
        // Every dimension has size 1 (or there are none): one value.
        return copy_strided_ref(x, &[], &[], out);
    };
    let (outer_dims, outer_strides): (Vec<usize>, Vec<usize>) =
        dims[..dims.len() - 1].iter().copied().unzip();
    let mut index = vec![0usize; outer_dims.len()];
    let mut offset = 0usize;
    for row in out[..dims.iter().map(|d| d.0).product()].chunks_exact_mut(inner) {
        match inner_stride {
            1 => row.copy_from_slice(&x[offset..offset + inner]),
            0 => row.fill(x[offset]),
            s => {
                let src = &x[offset..=offset + (inner - 1) * s];
                for (o, v) in row.iter_mut().zip(src.iter().step_by(s)) {
                    *o = *v;
                }
            }
        }
        step(&mut index, &mut offset, &outer_strides, &outer_dims);
    }
}

/// Advances the odometer `index` over `dims` (the outer dimensions, last fastest) by one, keeping
/// `offset` = index · strides.
#[inline]
fn step(index: &mut [usize], offset: &mut usize, strides: &[usize], dims: &[usize]) {
    for d in (0..index.len()).rev() {
        index[d] += 1;
        *offset += strides[d];
        if index[d] < dims[d] {
            return;
        }
        *offset -= strides[d] * dims[d];
        index[d] = 0;
    }
}
