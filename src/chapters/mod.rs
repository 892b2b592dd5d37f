//! The chapters of the lab, in the textbook's order (`shared/CURRICULUM.md`). Each chapter module
//! configures experiments (presets, a success check, plots); it never implements math.

mod better;
mod cnn;
mod graphs;
mod init_optim;
mod linear;
mod logistic;
mod mlp;
mod preset;
mod runner;
mod softmax;
mod starter;

use serde::Serialize;

pub use preset::{Check, PlotKind, Preset, RunOutcome, ToyExpect, Variant};
pub use runner::{Progress, run_preset, run_preset_on};
pub use starter::{Starter, starters};

/// One chapter as the chapter picker lists it.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ChapterInfo {
    /// 1-based position in the journey.
    pub number: u8,
    /// Stable id for URLs and the CLI.
    pub id: &'static str,
    pub title: &'static str,
    /// What the chapter is about, in a few sentences written for the lab.
    pub intro: &'static str,
    /// The chapter's key equations, in plain Unicode.
    pub equations: &'static [&'static str],
}

/// The eight chapters, from fitting a line to training better CNNs.
pub const CHAPTERS: [ChapterInfo; 8] = [
    ChapterInfo {
        number: 1,
        id: "linear",
        title: "Linear regression: a line through advertising data",
        intro: "Two hundred advertising campaigns, each with its TV, radio and newspaper budget and the sales \
                that followed. A linear model predicts sales as a weighted sum of the budgets. Gradient descent \
                finds the weights by repeatedly stepping against the slope of the mean squared error; how many \
                campaigns each step looks at decides how noisy and how fast the descent is.",
        equations: &[
            "ŷ = w·x + b",
            "L = (1/N) Σ (ŷᵢ − yᵢ)²",
            "∂L/∂w = (2/N) Σ (ŷᵢ − yᵢ)·xᵢ",
            "w ← w − η·∂L/∂w",
        ],
    },
    ChapterInfo {
        number: 2,
        id: "logistic",
        title: "Logistic regression: telling two iris species apart",
        intro: "To classify, squash the linear score into a probability with the sigmoid. Squared error on \
                that probability makes a loss with flat, curving stretches where descent stalls; the binary \
                cross-entropy is convex in the weights, so every downhill step is progress.",
        equations: &[
            "p = σ(z) = 1 / (1 + e^(−z)),  z = w·x + b",
            "σ′(z) = σ(z)(1 − σ(z))",
            "L = −(1/N) Σ [y log p + (1 − y) log(1 − p)]",
            "∂L/∂z = p − y",
        ],
    },
    ChapterInfo {
        number: 3,
        id: "softmax",
        title: "Softmax regression: three species, one model",
        intro: "With more than two classes the model gives one score per class and softmax turns the scores \
                into probabilities that sum to one. Cross-entropy against the one-hot truth has the same \
                friendly gradient as before: prediction minus truth.",
        equations: &["ŷₖ = e^(zₖ) / Σⱼ e^(zⱼ)", "L = −(1/N) Σᵢ Σₖ yᵢₖ log ŷᵢₖ", "∂L/∂Z = (Ŷ − Y) / N"],
    },
    ChapterInfo {
        number: 4,
        id: "mlp",
        title: "Multilayer perceptrons: XOR, rings and Fashion-MNIST",
        intro: "A linear model draws straight borders, which is not enough for XOR or concentric rings. Hidden \
                layers with a non-linear activation bend the space first. On Fashion-MNIST's 28×28 clothes \
                pictures the same idea, plus sensible input scaling, takes accuracy from the seventies into \
                the high eighties. Backpropagation carries the error back layer by layer.",
        equations: &[
            "Z⁽ˡ⁾ = A⁽ˡ⁻¹⁾W⁽ˡ⁾ + b⁽ˡ⁾,  A⁽ˡ⁾ = φ(Z⁽ˡ⁾)",
            "∂L/∂Z⁽ˡ⁾ = ∂L/∂A⁽ˡ⁾ ∘ φ′(Z⁽ˡ⁾)",
            "∂L/∂W⁽ˡ⁾ = A⁽ˡ⁻¹⁾ᵀ · ∂L/∂Z⁽ˡ⁾",
            "ReLU(z) = max(0, z)",
        ],
    },
    ChapterInfo {
        number: 5,
        id: "init-optim",
        title: "Training deep MLPs: initialization and optimizers",
        intro: "How the first weights are drawn decides whether signals survive a deep network, and the update \
                rule decides how the descent copes with ravines, plateaus and saddles.",
        equations: &[
            "Xavier: W ~ U(±√(3/n))",
            "He: W ~ N(0, 2/n)",
            "Adam: m ← β₁m + (1 − β₁)g,  v ← β₂v + (1 − β₂)g²",
        ],
    },
    ChapterInfo {
        number: 6,
        id: "cnn",
        title: "Convolutional networks: filters that are learned",
        intro: "A dense layer gives every pixel its own weight for every unit and forgets which pixels are \
                neighbours. A convolution slides one small filter over the whole image, so a pattern is \
                recognised wherever it appears and the weights are shared. Pooling shrinks the maps, padding \
                keeps the border, and stacked 3x3 layers see ever larger neighbourhoods.",
        equations: &[
            "out = ⌊(S − K + 2P) / stride⌋ + 1",
            "y[c_o, i, j] = b[c_o] + Σ_c Σ_u Σ_v w[c_o, c, u, v] · x[c, i·s + u, j·s + v]",
            "kernel: c_in × k × k per output channel",
        ],
    },
    ChapterInfo {
        number: 7,
        id: "autograd",
        title: "Autograd: how every gradient is computed",
        intro: "Every operation on a tensor that requires a gradient is recorded: its inputs and how to pass \
                a gradient back through it. backward() walks that record from the loss to the leaves, \
                multiplying local derivatives by the chain rule, and adds the result into each leaf's .grad \
                (so gradients accumulate until zero_grad). Under no_grad nothing is recorded.",
        equations: &[
            "y = a·x + b,  L = (y − t)²",
            "∂L/∂a = 2(y − t)·x",
            "∂L/∂b = 2(y − t)",
            "∂L/∂x = Σ ∂L/∂y · ∂y/∂x",
        ],
    },
    ChapterInfo {
        number: 8,
        id: "better-cnn",
        title: "Better CNNs: normalization, dropout and skips",
        intro: "Batch normalization, dropout, weight decay and skip connections, each a switch on the same model.",
        equations: &["x̂ = (x − μ_B) / √(σ²_B + ε),  y = γx̂ + β"],
    },
];

/// Every preset of the chapters built so far, in curriculum order.
pub fn presets() -> Vec<Preset> {
    let mut all = linear::presets();
    all.extend(logistic::presets());
    all.extend(softmax::presets());
    all.extend(mlp::presets());
    all.extend(init_optim::presets());
    all.extend(cnn::presets());
    all.extend(graphs::presets());
    all.extend(better::presets());
    all
}

/// The preset with this id.
pub fn preset(id: &str) -> Option<Preset> {
    presets().into_iter().find(|p| p.id == id)
}

/// The chapter with this number or id ("4" or "mlp").
pub fn chapter(key: &str) -> Option<ChapterInfo> {
    CHAPTERS.iter().copied().find(|c| c.id == key || c.number.to_string() == key)
}

#[cfg(test)]
mod tests {
    use super::CHAPTERS;

    #[test]
    fn chapters_are_numbered_in_order_with_unique_ids() {
        for (i, c) in CHAPTERS.iter().enumerate() {
            assert_eq!(usize::from(c.number), i + 1);
            assert!(CHAPTERS.iter().filter(|d| d.id == c.id).count() == 1, "duplicate id {}", c.id);
        }
    }
}
