// Twin of backend::cpu::unary_ref: out[i] = op(x[i]); `times`: out[i] = g[i] · op(x[i]) (an activation's
// backward pass in one launch). p: [n, op code, parameter bits] (codes in ops.rs).
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read> g: array<f32>;

fn sigmoid(v: f32) -> f32 {
    if (v >= 0.0) {
        return 1.0 / (1.0 + exp(-v));
    }
    let e = exp(v);
    return e / (1.0 + e);
}

// Abramowitz & Stegun 7.1.26: |error| <= 1.5e-7 (WGSL has no erf).
fn erf(v: f32) -> f32 {
    let a = abs(v);
    let t = 1.0 / (1.0 + 0.3275911 * a);
    let poly = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t;
    let y = 1.0 - poly * exp(-a * a);
    return select(y, -y, v < 0.0);
}

fn expm1(v: f32) -> f32 {
    if (abs(v) < 1e-3) {
        return v + 0.5 * v * v + v * v * v / 6.0;
    }
    return exp(v) - 1.0;
}

// log(1 + v) without losing v when it is tiny (Goldberg's trick).
fn log1p(v: f32) -> f32 {
    let u = 1.0 + v;
    if (u == 1.0) {
        return v;
    }
    return log(u) * v / (u - 1.0);
}

fn normal_cdf(v: f32) -> f32 {
    return 0.5 * (1.0 + erf(v * 0.70710678));
}

fn normal_pdf(v: f32) -> f32 {
    return 0.3989423 * exp(-0.5 * v * v);
}

// libm::powf's cases that WGSL's pow leaves undefined: negative bases with integer exponents, zero.
fn pow_scalar(v: f32, e: f32) -> f32 {
    if (e == 0.0) {
        return 1.0;
    }
    if (v == 0.0) {
        return select(0.0, inf(), e < 0.0);
    }
    if (v < 0.0) {
        if (floor(e) != e) {
            return nan();
        }
        let r = pow(-v, e);
        return select(r, -r, abs(e) % 2.0 == 1.0);
    }
    return pow(v, e);
}

fn apply(op: u32, v: f32, a: f32) -> f32 {
    switch op {
        case 0u: { return -v; }
        case 1u: { return exp(v); }
        case 2u: {
            if (v < 0.0) { return nan(); }
            if (v == 0.0) { return -inf(); }
            return log(v);
        }
        case 3u: { return select(sqrt(v), nan(), v < 0.0); }
        case 4u: { return abs(v); }
        case 5u: { return select(select(0.0, -1.0, v < 0.0), 1.0, v > 0.0); }
        case 6u: { return sigmoid(v); }
        case 7u: { return tanh(clamp(v, -15.0, 15.0)); }
        case 8u: { return select(v, 0.0, v <= 0.0); }
        case 9u: { return select(0.0, 1.0, v > 0.0); }
        case 10u: { return select(a * v, v, v > 0.0); }
        case 11u: { return select(a, 1.0, v > 0.0); }
        case 12u: { return select(a * expm1(v), v, v > 0.0); }
        case 13u: { return select(a * exp(v), 1.0, v > 0.0); }
        case 14u: { return v * normal_cdf(v); }
        case 15u: { return normal_cdf(v) + v * normal_pdf(v); }
        case 16u: { return v * sigmoid(v); }
        case 17u: {
            let s = sigmoid(v);
            return s * (1.0 + v * (1.0 - s));
        }
        case 18u: { return max(v, 0.0) + log1p(exp(-abs(v))); }
        case 19u: { return pow_scalar(v, a); }
        case 20u: { return v + a; }
        case 21u: { return v * a; }
        default: { return nan(); }
    }
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(gid, groups);
    if (i >= p[0]) {
        return;
    }
    out[i] = unary_at(x[i]);
}

@compute @workgroup_size(256)
fn times(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(gid, groups);
    if (i >= p[0]) {
        return;
    }
    out[i] = g[i] * unary_at(x[i]);
}

// NaN in, NaN out, as in the reference, except where it gives a number: sign, step, leaky ReLU's
// derivative (comparisons with NaN are false) and x^0 = 1.
fn unary_at(v: f32) -> f32 {
    let op = p[1];
    let a = bitcast<f32>(p[2]);
    let keeps_nan = op != 5u && op != 9u && op != 11u && !(op == 19u && a == 0.0);
    return select(apply(op, v, a), v, keeps_nan && is_nan(v));
}
