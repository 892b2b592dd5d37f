// gather: out[i] = src[pos[i]] (p: [n]).
// select_rows: index_select along the middle axis, src (outer, n, inner) -> dst (outer, k, inner) with
// dst[o, r, j] = src[o, pos[r], j] (p: [outer, n, k, inner]): only the k indices cross to the GPU, not a
// position per value (a training batch drawn from a resident data set).
// scatter_add without atomics: out[j] = Σ src[order[t]] for t in starts[j]..starts[j+1] (p: [n_out]), where
// order lists the sources of each destination (built on the host from the positions, which the host knows).
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
@group(0) @binding(3) var<storage, read> pos: array<u32>;
@group(0) @binding(4) var<storage, read> starts: array<u32>;

@compute @workgroup_size(256)
fn gather(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(gid, groups);
    if (i < p[0]) {
        dst[i] = src[pos[i]];
    }
}

@compute @workgroup_size(256)
fn scatter_add(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let j = flat_index(gid, groups);
    if (j >= p[0]) {
        return;
    }
    var s = 0.0;
    for (var t = starts[j]; t < starts[j + 1u]; t++) {
        s += src[pos[t]];
    }
    dst[j] = s;
}

@compute @workgroup_size(256)
fn select_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(gid, groups);
    let k = p[2];
    let inner = p[3];
    if (i >= p[0] * k * inner) {
        return;
    }
    let j = i % inner;
    let r = (i / inner) % k;
    let o = i / (inner * k);
    dst[i] = src[(o * p[1] + pos[r]) * inner + j];
}
