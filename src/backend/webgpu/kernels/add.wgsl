// out[i] = a[i] + b[i]: twin of backend::cpu::add_ref.
// a, b, out: (n,) f32, n = arrayLength(&out). The grid may be 2-D when n needs more than 65,535 workgroups,
// so the flat index folds the y coordinate back in.

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

const WG: u32 = 256u;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = gid.x + gid.y * groups.x * WG;
    if (i < arrayLength(&out)) {
        out[i] = a[i] + b[i];
    }
}
