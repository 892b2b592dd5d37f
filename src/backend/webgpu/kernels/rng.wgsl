// Dropout's mask from a counter-based generator, so it is made where the tensor lives: out[i] = scale when
// u(seed, i) < keep, else 0, with u the top 24 bits of pcg_hash(seed ^ pcg_hash(i)) over 2^24. Twin of
// tensor::rng::hash_uniform (bit for bit: integer hashing, an exact 24-bit conversion).
// p: [n, seed, keep bits, scale bits].
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

// Jarzynski & Olano, "Hash Functions for GPU Rendering" (JCGT 2020): the PCG hash.
fn pcg_hash(v: u32) -> u32 {
    let state = v * 747796405u + 2891336453u;
    let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
    return (word >> 22u) ^ word;
}

@compute @workgroup_size(256)
fn bernoulli(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(gid, groups);
    if (i >= p[0]) {
        return;
    }
    let u = f32(pcg_hash(p[1] ^ pcg_hash(i)) >> 8u) * (1.0 / 16777216.0);
    out[i] = select(0.0, bitcast<f32>(p[3]), u < bitcast<f32>(p[2]));
}
