// Twin of backend::cpu::copy_strided, generalised: dst[dst_off + idx·dst_strides] = src[src_off +
// idx·src_strides] over every index of dims. p: [n, rank, src_off, dst_off, dims[8], src_strides[8],
// dst_strides[8]]. Permute, expand, slice and concat are all this one kernel.
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(gid, groups);
    if (i >= p[0]) {
        return;
    }
    var rest = i;
    var s = p[2];
    var t = p[3];
    for (var d = i32(p[1]) - 1; d >= 0; d--) {
        let size = p[4u + u32(d)];
        let c = rest % size;
        rest = rest / size;
        s += c * p[12u + u32(d)];
        t += c * p[20u + u32(d)];
    }
    dst[t] = src[s];
}
