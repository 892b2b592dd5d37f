//! The lab's one seeded random generator: PCG32 (O'Neill, 2014), with normals by Box-Muller computed through
//! the pure-Rust `libm`, so the same seed gives bit-identical numbers natively and in every browser.

use std::cell::RefCell;

/// PCG-XSH-RR 64/32: 64-bit state, 32-bit output. Small, fast, and statistically sound for training.
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
    inc: u64,
}

const MULTIPLIER: u64 = 6364136223846793005;

impl Rng {
    /// A generator for `seed` (stream fixed; different seeds give independent-looking sequences).
    pub fn new(seed: u64) -> Rng {
        let mut rng = Rng { state: 0, inc: (0xda3e_39cb_94b9_5bdb << 1) | 1 };
        rng.next_u32();
        rng.state = rng.state.wrapping_add(seed);
        rng.next_u32();
        rng
    }

    pub fn next_u32(&mut self) -> u32 {
        let old = self.state;
        self.state = old.wrapping_mul(MULTIPLIER).wrapping_add(self.inc);
        let xorshifted = (((old >> 18) ^ old) >> 27) as u32;
        let rot = (old >> 59) as u32;
        xorshifted.rotate_right(rot)
    }

    /// Uniform in [0, 1) with 24 bits of precision (every value exactly representable in f32).
    pub fn uniform(&mut self) -> f32 {
        (self.next_u32() >> 8) as f32 * (1.0 / (1u32 << 24) as f32)
    }

    /// Uniform in [lo, hi).
    pub fn uniform_range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.uniform()
    }

    /// Standard normal N(0, 1) by Box-Muller, in f64 through `libm` for cross-target determinism.
    pub fn normal(&mut self) -> f32 {
        // u1 in (0, 1]: never 0, so the logarithm is finite.
        let u1 = (f64::from(self.next_u32()) + 1.0) / 4_294_967_296.0;
        let u2 = f64::from(self.next_u32()) / 4_294_967_296.0;
        let r = libm::sqrt(-2.0 * libm::log(u1));
        (r * libm::cos(2.0 * std::f64::consts::PI * u2)) as f32
    }

    /// 1 with probability `p`, else 0.
    pub fn bernoulli(&mut self, p: f32) -> f32 {
        if self.uniform() < p { 1.0 } else { 0.0 }
    }

    /// A uniformly random index below `n` (Lemire's method without bias for the sizes we use).
    pub fn below(&mut self, n: usize) -> usize {
        ((u64::from(self.next_u32()) * n as u64) >> 32) as usize
    }
}

thread_local! {
    static GLOBAL: RefCell<Rng> = RefCell::new(Rng::new(0));
}

/// Reseeds the crate's global generator, like `torch.manual_seed`.
pub fn manual_seed(seed: u64) {
    GLOBAL.with(|g| *g.borrow_mut() = Rng::new(seed));
}

/// Runs `f` with the global generator.
pub fn with_rng<T>(f: impl FnOnce(&mut Rng) -> T) -> T {
    GLOBAL.with(|g| f(&mut g.borrow_mut()))
}

/// The PCG hash (Jarzynski & Olano, JCGT 2020): a 32-bit mix for counter-based random numbers.
fn pcg_hash(v: u32) -> u32 {
    let state = v.wrapping_mul(747_796_405).wrapping_add(2_891_336_453);
    let word = ((state >> ((state >> 28) + 4)) ^ state).wrapping_mul(277_803_737);
    (word >> 22) ^ word
}

/// A uniform number in [0, 1) from (seed, index) alone, with 24 bits of resolution: the same on every
/// backend, so the GPU can make random masks where its tensors live (twin of `kernels/rng.wgsl`).
pub fn hash_uniform(seed: u32, i: u32) -> f32 {
    (pcg_hash(seed ^ pcg_hash(i)) >> 8) as f32 * (1.0 / 16_777_216.0)
}

/// Dropout's mask on the host: `scale` where hash_uniform(seed, i) < keep, else 0.
pub fn dropout_mask(n: usize, seed: u32, keep: f32, scale: f32) -> Vec<f32> {
    (0..n).map(|i| if hash_uniform(seed, i as u32) < keep { scale } else { 0.0 }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_numbers_and_known_values() {
        let (mut a, mut b) = (Rng::new(42), Rng::new(42));
        let xs: Vec<u32> = (0..5).map(|_| a.next_u32()).collect();
        assert_eq!(xs, (0..5).map(|_| b.next_u32()).collect::<Vec<_>>());
        assert_ne!(xs, (0..5).map(|_| Rng::new(43).next_u32()).collect::<Vec<_>>());
    }

    #[test]
    fn moments_are_right() {
        let mut r = Rng::new(7);
        let n = 200_000;
        let u: Vec<f32> = (0..n).map(|_| r.uniform()).collect();
        let z: Vec<f32> = (0..n).map(|_| r.normal()).collect();
        let mean = |v: &[f32]| v.iter().map(|&x| f64::from(x)).sum::<f64>() / v.len() as f64;
        let var = |v: &[f32]| {
            let m = mean(v);
            v.iter().map(|&x| (f64::from(x) - m).powi(2)).sum::<f64>() / v.len() as f64
        };
        assert!((mean(&u) - 0.5).abs() < 0.005 && (var(&u) - 1.0 / 12.0).abs() < 0.002);
        assert!(mean(&z).abs() < 0.01 && (var(&z) - 1.0).abs() < 0.02);
        assert!(u.iter().all(|&x| (0.0..1.0).contains(&x)));
    }
}
