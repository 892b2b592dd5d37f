// Twin of optim::update: one parameter's update in place, so weights and optimizer state stay on the GPU.
// p: [n, rule, lr, weight_decay (coupled, added to g), a, b, eps, c1, c2, decoupled decay (lr·wd)] with
// rule 0 = SGD, 1 = SGD + momentum a, 2 = Adagrad, 3 = RMSProp (rho a), 4 = Adam/AdamW (betas a, b;
// bias corrections c1, c2). Floats travel as their bits.
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read_write> w: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> s1: array<f32>;
@group(0) @binding(4) var<storage, read_write> s2: array<f32>;

fn f(i: u32) -> f32 {
    return bitcast<f32>(p[i]);
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(gid, groups);
    if (i >= p[0]) {
        return;
    }
    let lr = f(2u);
    let g = grad[i] + f(3u) * w[i];
    switch p[1] {
        case 0u: { w[i] -= lr * g; }
        case 1u: {
            s1[i] = f(4u) * s1[i] + lr * g;
            w[i] -= s1[i];
        }
        case 2u: {
            s1[i] += g * g;
            w[i] -= lr * g / (sqrt(s1[i]) + f(6u));
        }
        case 3u: {
            s1[i] = f(4u) * s1[i] + (1.0 - f(4u)) * g * g;
            w[i] -= lr * g / (sqrt(s1[i]) + f(6u));
        }
        default: {
            s1[i] = f(4u) * s1[i] + (1.0 - f(4u)) * g;
            s2[i] = f(5u) * s2[i] + (1.0 - f(5u)) * g * g;
            w[i] -= f(9u) * w[i] + lr * (s1[i] / f(7u)) / (sqrt(s2[i] / f(8u)) + f(6u));
        }
    }
}
