//! Layout kernels: copying with strides. Permute reads the input with permuted strides; broadcast reads it
//! with zero strides along the broadcast dimensions.

/// Reference: `out[idx] = x[idx · strides]` over every index of `out_dims` (row-major).
pub fn copy_strided(x: &[f32], strides: &[usize], out_dims: &[usize], out: &mut [f32]) {
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
        for d in (0..rank - 1).rev() {
            index[d] += 1;
            offset += strides[d];
            if index[d] < out_dims[d] {
                break;
            }
            offset -= strides[d] * out_dims[d];
            index[d] = 0;
        }
    }
}
