//! Synthetic 2-D classification sets, generated from a seed (the lab's own RNG, so every target makes the
//! same points): the XOR table and its noisy cloud, AND/OR tables, concentric rings ("donut"), spirals,
//! Gaussian blobs.

use crate::tensor::Rng;

/// Labelled points in the plane: `x` is (n, 2) row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Points {
    pub x: Vec<f32>,
    pub labels: Vec<usize>,
    pub classes: usize,
}

impl Points {
    fn with_capacity(n: usize, classes: usize) -> Points {
        Points { x: Vec::with_capacity(2 * n), labels: Vec::with_capacity(n), classes }
    }

    fn push(&mut self, x: f32, y: f32, label: usize) {
        self.x.extend([x, y]);
        self.labels.push(label);
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// A two-input truth table: the four corners of the unit square and `f(a, b)` as the class.
fn truth_table(f: impl Fn(bool, bool) -> bool) -> Points {
    let mut p = Points::with_capacity(4, 2);
    for (a, b) in [(false, false), (false, true), (true, false), (true, true)] {
        p.push(f32::from(u8::from(a)), f32::from(u8::from(b)), usize::from(f(a, b)));
    }
    p
}

/// XOR: no straight line separates its two classes (textbook §5).
pub fn xor() -> Points {
    truth_table(|a, b| a != b)
}

pub fn and() -> Points {
    truth_table(|a, b| a && b)
}

pub fn or() -> Points {
    truth_table(|a, b| a || b)
}

/// `n_per_corner` noisy copies of each XOR corner (Gaussian noise of std `noise`).
pub fn xor_cloud(n_per_corner: usize, noise: f32, seed: u64) -> Points {
    let mut rng = Rng::new(seed);
    let table = xor();
    let mut p = Points::with_capacity(4 * n_per_corner, 2);
    for _ in 0..n_per_corner {
        for (corner, &label) in table.x.chunks_exact(2).zip(&table.labels) {
            p.push(corner[0] + noise * rng.normal(), corner[1] + noise * rng.normal(), label);
        }
    }
    p
}

/// `rings` concentric rings of radius 1, 2, 3, ... with radial noise; the class is the ring (textbook §5's
/// "donut", where a linear model fails and an MLP succeeds).
pub fn rings(n_per_ring: usize, rings: usize, noise: f32, seed: u64) -> Points {
    let mut rng = Rng::new(seed);
    let mut p = Points::with_capacity(n_per_ring * rings, rings);
    for _ in 0..n_per_ring {
        for ring in 0..rings {
            let angle = rng.uniform_range(0.0, std::f32::consts::TAU);
            let r = (ring + 1) as f32 + noise * rng.normal();
            p.push(r * libm::cosf(angle), r * libm::sinf(angle), ring);
        }
    }
    p
}

/// `classes` interleaved spiral arms of `n_per_class` points each (the classic cs231n set).
pub fn spirals(n_per_class: usize, classes: usize, noise: f32, seed: u64) -> Points {
    let mut rng = Rng::new(seed);
    let mut p = Points::with_capacity(n_per_class * classes, classes);
    for i in 0..n_per_class {
        let r = i as f32 / n_per_class.max(1) as f32;
        for c in 0..classes {
            let turn = 4.0 * r + c as f32 * std::f32::consts::TAU / classes as f32 + noise * rng.normal();
            p.push(r * libm::cosf(turn), r * libm::sinf(turn), c);
        }
    }
    p
}

/// Gaussian blobs of std `std` around `centers`, `n_per_class` points each; class = center index.
pub fn blobs(n_per_class: usize, centers: &[(f32, f32)], std: f32, seed: u64) -> Points {
    let mut rng = Rng::new(seed);
    let mut p = Points::with_capacity(n_per_class * centers.len(), centers.len());
    for _ in 0..n_per_class {
        for (c, &(cx, cy)) in centers.iter().enumerate() {
            p.push(cx + std * rng.normal(), cy + std * rng.normal(), c);
        }
    }
    p
}
