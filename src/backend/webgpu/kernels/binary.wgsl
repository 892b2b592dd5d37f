// Twin of backend::cpu::binary_ref with NumPy broadcasting. p: [n, op, rank, contiguous, dims[8],
// a_strides[8], b_strides[8]]; a stride of 0 repeats a broadcast dimension.
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

fn apply(op: u32, x: f32, y: f32) -> f32 {
    switch op {
        case 0u: { return x + y; }
        case 1u: { return x - y; }
        case 2u: { return x * y; }
        case 3u: { return x / y; }
        case 4u: { return select(max(x, y), nan(), is_nan(x) || is_nan(y)); }
        case 5u: { return select(min(x, y), nan(), is_nan(x) || is_nan(y)); }
        case 6u: { return select(0.0, 1.0, x == y); }
        case 7u: { return select(0.0, 1.0, x != y); }
        case 8u: { return select(0.0, 1.0, x < y); }
        case 9u: { return select(0.0, 1.0, x <= y); }
        case 10u: { return select(0.0, 1.0, x > y); }
        case 11u: { return select(0.0, 1.0, x >= y); }
        default: { return nan(); }
    }
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(gid, groups);
    if (i >= p[0]) {
        return;
    }
    if (p[3] == 1u) {
        out[i] = apply(p[1], a[i], b[i]);
        return;
    }
    var rest = i;
    var ia = 0u;
    var ib = 0u;
    for (var d = i32(p[2]) - 1; d >= 0; d--) {
        let size = p[4u + u32(d)];
        let c = rest % size;
        rest = rest / size;
        ia += c * p[12u + u32(d)];
        ib += c * p[20u + u32(d)];
    }
    out[i] = apply(p[1], a[ia], b[ib]);
}
