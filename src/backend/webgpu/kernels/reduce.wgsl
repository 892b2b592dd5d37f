// Twin of backend::cpu::reduce_ref: x (outer, n, inner) -> out (outer, inner). p: [outer, n, inner, op]
// with op 0 = sum, 1 = max (NaN propagates), 2 = argmax (first maximum; a NaN counts as the maximum), and
// 3 = sum then ReLU (`rows` only: a split-K product's slices added for a Linear followed by ReLU).
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

// Does (v, j) win over the current best (b, k)? Larger wins, a NaN beats a number, ties go to the lower index.
fn beats(v: f32, j: u32, b: f32, k: u32) -> bool {
    if (is_nan(b)) {
        return is_nan(v) && j < k;
    }
    return is_nan(v) || v > b || (v == b && j < k);
}

// One thread per output, in the reference's order (sums are bit-identical to it).
@compute @workgroup_size(256)
fn rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(gid, groups);
    let outer = p[0];
    let n = p[1];
    let inner = p[2];
    if (i >= outer * inner) {
        return;
    }
    let base = (i / inner) * n * inner + i % inner;
    if (p[3] == 0u || p[3] == 3u) {
        var s = 0.0;
        for (var j = 0u; j < n; j++) {
            s += x[base + j * inner];
        }
        out[i] = select(s, relu_keep_nan(s), p[3] == 3u);
        return;
    }
    var best = x[base];
    var at = 0u;
    for (var j = 1u; j < n; j++) {
        let v = x[base + j * inner];
        if (beats(v, j, best, at)) {
            best = v;
            at = j;
        }
    }
    out[i] = select(best, f32(at), p[3] == 2u);
}

var<workgroup> part_v: array<f32, 256>;
var<workgroup> part_i: array<u32, 256>;

// One workgroup per output for long rows: each thread folds a strided share, then a tree in workgroup memory.
@compute @workgroup_size(256)
fn tree(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let o = wid.y * groups.x + wid.x;
    let outer = p[0];
    let n = p[1];
    let inner = p[2];
    let live = o < outer * inner;
    let base = (o / max(inner, 1u)) * n * inner + o % max(inner, 1u);
    var acc = select(0.0, -inf(), p[3] != 0u);
    var at = 0xffffffffu;
    if (live) {
        for (var j = lid; j < n; j += 256u) {
            let v = x[base + j * inner];
            if (p[3] == 0u) {
                acc += v;
            } else if (at == 0xffffffffu || beats(v, j, acc, at)) {
                acc = v;
                at = j;
            }
        }
    }
    part_v[lid] = acc;
    part_i[lid] = at;
    workgroupBarrier();
    for (var half = 128u; half > 0u; half >>= 1u) {
        if (lid < half) {
            let v = part_v[lid + half];
            let j = part_i[lid + half];
            if (p[3] == 0u) {
                part_v[lid] += v;
            } else if (j != 0xffffffffu && (part_i[lid] == 0xffffffffu || beats(v, j, part_v[lid], part_i[lid]))) {
                part_v[lid] = v;
                part_i[lid] = j;
            }
        }
        workgroupBarrier();
    }
    if (lid == 0u && live) {
        out[o] = select(part_v[0], f32(part_i[0]), p[3] == 2u);
    }
}
