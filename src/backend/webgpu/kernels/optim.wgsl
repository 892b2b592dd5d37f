// Twin of optim::update: parameters' updates in place, so weights and optimizer state stay on the GPU; up to
// four parameters per launch (Optimizer::step records one launch per four, where the device binds enough
// buffers: 17 for four). p: [n_max, rule, lr, weight_decay (coupled, added to g), a, b, eps, c1, c2,
// decoupled decay (lr·wd), n0, n1, n2, n3] with rule 0 = SGD, 1 = SGD + momentum a, 2 = Adagrad,
// 3 = RMSProp (rho a), 4 = Adam/AdamW (betas a, b; bias corrections c1, c2). Floats travel as their bits.
// Slot s binds its weight, gradient and state at 1 + 4s .. 4 + 4s; entry `stepK` updates slots 0..K-1,
// thread i element i of each slot longer than i. A state slot a rule does not use (SGD's, the second of
// momentum) may be a single word: it is neither read nor written.
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read_write> w0: array<f32>;
@group(0) @binding(2) var<storage, read> g0: array<f32>;
@group(0) @binding(3) var<storage, read_write> m0: array<f32>;
@group(0) @binding(4) var<storage, read_write> v0: array<f32>;
@group(0) @binding(5) var<storage, read_write> w1: array<f32>;
@group(0) @binding(6) var<storage, read> g1: array<f32>;
@group(0) @binding(7) var<storage, read_write> m1: array<f32>;
@group(0) @binding(8) var<storage, read_write> v1: array<f32>;
@group(0) @binding(9) var<storage, read_write> w2: array<f32>;
@group(0) @binding(10) var<storage, read> g2: array<f32>;
@group(0) @binding(11) var<storage, read_write> m2: array<f32>;
@group(0) @binding(12) var<storage, read_write> v2: array<f32>;
@group(0) @binding(13) var<storage, read_write> w3: array<f32>;
@group(0) @binding(14) var<storage, read> g3: array<f32>;
@group(0) @binding(15) var<storage, read_write> m3: array<f32>;
@group(0) @binding(16) var<storage, read_write> v3: array<f32>;

fn f(i: u32) -> f32 {
    return bitcast<f32>(p[i]);
}

struct Updated {
    w: f32,
    s1: f32,
    s2: f32,
}

// One element's update: weight w, gradient grad, state s1, s2 -> the new three (same arithmetic, in the same
// order, as optim::update).
fn rule(w: f32, grad: f32, s1: f32, s2: f32) -> Updated {
    let lr = f(2u);
    let g = grad + f(3u) * w;
    switch p[1] {
        case 0u: {
            return Updated(w - lr * g, s1, s2);
        }
        case 1u: {
            let m = f(4u) * s1 + lr * g;
            return Updated(w - m, m, s2);
        }
        case 2u: {
            let v = s1 + g * g;
            return Updated(w - lr * g / (sqrt(v) + f(6u)), v, s2);
        }
        case 3u: {
            let v = f(4u) * s1 + (1.0 - f(4u)) * g * g;
            return Updated(w - lr * g / (sqrt(v) + f(6u)), v, s2);
        }
        default: {
            let m = f(4u) * s1 + (1.0 - f(4u)) * g;
            let v = f(5u) * s2 + (1.0 - f(5u)) * g * g;
            return Updated(w - (f(9u) * w + lr * (m / f(7u)) / (sqrt(v / f(8u)) + f(6u))), m, v);
        }
    }
}

fn uses_s1() -> bool {
    return p[1] != 0u;
}

fn uses_s2() -> bool {
    return p[1] >= 4u;
}

fn slot0(i: u32) {
    if (i >= p[10u]) {
        return;
    }
    var s1 = 0.0;
    var s2 = 0.0;
    if (uses_s1()) { s1 = m0[i]; }
    if (uses_s2()) { s2 = v0[i]; }
    let r = rule(w0[i], g0[i], s1, s2);
    w0[i] = r.w;
    if (uses_s1()) { m0[i] = r.s1; }
    if (uses_s2()) { v0[i] = r.s2; }
}

fn slot1(i: u32) {
    if (i >= p[11u]) {
        return;
    }
    var s1 = 0.0;
    var s2 = 0.0;
    if (uses_s1()) { s1 = m1[i]; }
    if (uses_s2()) { s2 = v1[i]; }
    let r = rule(w1[i], g1[i], s1, s2);
    w1[i] = r.w;
    if (uses_s1()) { m1[i] = r.s1; }
    if (uses_s2()) { v1[i] = r.s2; }
}

fn slot2(i: u32) {
    if (i >= p[12u]) {
        return;
    }
    var s1 = 0.0;
    var s2 = 0.0;
    if (uses_s1()) { s1 = m2[i]; }
    if (uses_s2()) { s2 = v2[i]; }
    let r = rule(w2[i], g2[i], s1, s2);
    w2[i] = r.w;
    if (uses_s1()) { m2[i] = r.s1; }
    if (uses_s2()) { v2[i] = r.s2; }
}

fn slot3(i: u32) {
    if (i >= p[13u]) {
        return;
    }
    var s1 = 0.0;
    var s2 = 0.0;
    if (uses_s1()) { s1 = m3[i]; }
    if (uses_s2()) { s2 = v3[i]; }
    let r = rule(w3[i], g3[i], s1, s2);
    w3[i] = r.w;
    if (uses_s1()) { m3[i] = r.s1; }
    if (uses_s2()) { v3[i] = r.s2; }
}

@compute @workgroup_size(256)
fn step1(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(gid, groups);
    slot0(i);
}

@compute @workgroup_size(256)
fn step2(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(gid, groups);
    slot0(i);
    slot1(i);
}

@compute @workgroup_size(256)
fn step3(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(gid, groups);
    slot0(i);
    slot1(i);
    slot2(i);
}

@compute @workgroup_size(256)
fn step4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(gid, groups);
    slot0(i);
    slot1(i);
    slot2(i);
    slot3(i);
}
