// `a` where cond != 0 else `b`, all three broadcast. p: [n, rank, 0, 0, dims[8], a_strides[8],
// b_strides[8], cond_strides[8]].
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> cond: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(gid, groups);
    if (i >= p[0]) {
        return;
    }
    var rest = i;
    var ia = 0u;
    var ib = 0u;
    var ic = 0u;
    for (var d = i32(p[1]) - 1; d >= 0; d--) {
        let size = p[4u + u32(d)];
        let c = rest % size;
        rest = rest / size;
        ia += c * p[12u + u32(d)];
        ib += c * p[20u + u32(d)];
        ic += c * p[28u + u32(d)];
    }
    out[i] = select(b[ib], a[ia], cond[ic] != 0.0);
}
