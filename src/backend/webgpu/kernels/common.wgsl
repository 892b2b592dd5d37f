// Shared helpers, prepended to every kernel source (see ops.rs). Index of this invocation in a 1-D launch
// folded into 2-D by `grid_for`: x runs fastest, 256 threads per workgroup.
fn flat_index(gid: vec3<u32>, groups: vec3<u32>) -> u32 {
    return gid.y * groups.x * 256u + gid.x;
}

// WGSL lets an implementation assume no NaN, so NaN is made and tested through its bits. The bits live
// in private variables: a constant expression that evaluates to NaN or infinity is a compile error in
// Chromium's Tint ("value nan cannot be represented as 'f32'").
var<private> NAN_BITS: u32 = 0x7fc00000u;
var<private> INF_BITS: u32 = 0x7f800000u;

fn nan() -> f32 {
    return bitcast<f32>(NAN_BITS);
}

fn is_nan(x: f32) -> bool {
    return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}

fn inf() -> f32 {
    return bitcast<f32>(INF_BITS);
}

// max(x, 0) with NaN kept, as the reference's ReLU (WGSL's max leaves NaN to the implementation).
fn relu_keep_nan(x: f32) -> f32 {
    return select(max(x, 0.0), x, is_nan(x));
}
