//! Presets: the experiments a visitor runs with one click. A preset is one run (a `SessionConfig`) or a
//! study (several labelled runs compared on one plot), plus words, the plots it wants, a success check and
//! the textbook's own numbers.

use serde::Serialize;

use crate::data::Normalization;
use crate::nn::{Activation, Init};
use crate::optim::{OptimizerKind, Schedule};
use crate::train::{
    DatasetSpec, EpochMetrics, Features, LossKind, ModelSpec, Pool, SessionConfig, conv_output_size,
};

/// One runnable experiment.
#[derive(Debug, Clone, Serialize)]
pub struct Preset {
    pub id: &'static str,
    pub chapter: u8,
    pub title: &'static str,
    /// A paragraph written for the lab.
    pub summary: &'static str,
    /// The run, or the first run of a study.
    pub config: SessionConfig,
    /// Empty for a single run; otherwise the study's runs, each with a label for the legend.
    pub variants: Vec<Variant>,
    pub plots: Vec<PlotKind>,
    /// What the finished run(s) must show for the preset to count as working.
    #[serde(skip)]
    pub check: Check,
    /// What the textbook reports for this experiment, in words (`cvjourney reproduce` prints it).
    pub textbook: &'static str,
}

/// One run of a study.
#[derive(Debug, Clone, Serialize)]
pub struct Variant {
    pub label: String,
    pub config: SessionConfig,
}

/// The plots a preset wants; `plot::figure` turns each into drawable data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PlotKind {
    /// Train and test loss per epoch (every run of a study overlaid).
    Loss,
    /// Test accuracy per epoch.
    Accuracy,
    /// Scatter of one feature against the target with the fitted line.
    RegressionFit,
    /// The MSE surface over (w, b) with the path gradient descent took.
    LossContour,
    /// Predicted class over the plane of two features, with the data on top.
    DecisionRegions,
    /// Sigmoid and tanh with their derivatives.
    Activations,
    /// Loss along one weight and its second derivative: MSE on a sigmoid vs binary cross-entropy.
    Curvature,
    /// Per-layer activation spread and share of dead units.
    LayerStats,
    /// A toy function's surface (curve or contour) with each run's path, and x per step.
    ToyPath,
    /// Test-set confusion matrix of the current model.
    Confusion,
    /// Test images the current model gets wrong, with what it said.
    Mistakes,
    /// Chapter 1's "why vectorize": one epoch's gradient in scalar loops, through the tensor engine sample
    /// by sample, and as one batched matrix product, timed on the visitor's machine.
    Vectorize,
    /// Per-layer histograms: each activation layer's outputs, and each weight's last gradient.
    Histograms,
    /// The first test images with their class and what the model says (colour for colour data).
    Samples,
    /// The first convolution's activated maps for a few test images, each row an image and its maps.
    FeatureMaps,
    /// The first convolution's filters as images.
    Filters,
    /// A few test images and each classical edge filter's response to them (runs on edge features).
    EdgeFilters,
    /// The computation graph of the run's loss (a toy function's, or the model's on two training items)
    /// at its current point, with values and gradients.
    Graph,
    /// Chapter 7's rules (backward, accumulation, zero_grad, no_grad, freezing, VJP) on (a·x + b − y)².
    AutogradRules,
}

/// What one finished run (or a run stopped by the divergence guard) produced.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub label: String,
    pub history: Vec<EpochMetrics>,
    /// The divergence guard's message (or another error) when the run stopped early.
    pub error: Option<String>,
    /// Every parameter after each step, when the preset's plots asked for the path.
    pub trace: Option<Vec<Vec<f32>>>,
    /// Per-layer statistics before training, when a study's plots compare layers.
    pub initial_layers: Option<Vec<crate::train::LayerStats>>,
}

impl Preset {
    /// Readies a new session for this preset's plots: the parameter path for path plots, the untrained
    /// per-layer statistics for a study that compares layers.
    pub fn prepare(&self, session: &mut crate::train::Session) -> crate::error::Result<()> {
        if self.plots.iter().any(|k| matches!(k, PlotKind::LossContour | PlotKind::ToyPath)) {
            session.trace_parameters()?;
        }
        if !self.variants.is_empty() && self.plots.contains(&PlotKind::LayerStats) {
            session.record_initial_layers(500)?;
        }
        Ok(())
    }
}

impl RunOutcome {
    fn last(&self) -> Result<&EpochMetrics, String> {
        match (&self.error, self.history.last()) {
            (Some(e), _) => Err(format!("{}: {e}", self.label)),
            (None, Some(m)) => Ok(m),
            (None, None) => Err(format!("{}: no epoch finished", self.label)),
        }
    }

    fn accuracy(&self) -> Result<f32, String> {
        self.last()?.test_accuracy.ok_or(format!("{}: no accuracy (a regression run?)", self.label))
    }
}

/// A success check on the outcomes of a preset's runs (one run, or a study's runs in order).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Check {
    /// Every run's final test accuracy is at least this.
    TestAccuracyAtLeast(f32),
    /// For presets whose point is a failure (a linear model on rings).
    TestAccuracyAtMost(f32),
    TestLossBelow(f32),
    /// Run `noisy`'s test loss moves more from epoch to epoch (mean |Δ| over the second half) than run
    /// `smooth`'s: the zig-zag of per-sample SGD.
    Noisier {
        noisy: usize,
        smooth: usize,
    },
    /// The final accuracies of runs `from..` never fall (within `slack`), and the last reaches `min`.
    AccuracyRises {
        from: usize,
        slack: f32,
        min: f32,
    },
    /// Run `better`'s final accuracy is at least run `worse`'s.
    BetterThan {
        better: usize,
        worse: usize,
    },
    /// A toy run per entry (in run order) behaves as described.
    Toy(&'static [ToyExpect]),
    /// Every run but `model` is a baseline that reaches `min` test accuracy (well above chance), and run
    /// `model` beats each of them.
    Baseline {
        model: usize,
        min: f32,
    },
    /// Every run overfits: its final training loss is below its final test loss by at least `gap`, and
    /// its test loss has turned up (the last epoch's is above the lowest).
    Overfits {
        gap: f32,
    },
    /// Run `better` ends at a lower loss than run `worse` by at least `margin`.
    LowerLoss {
        better: usize,
        worse: usize,
        margin: f32,
    },
}

/// How a toy run's first coordinate moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToyExpect {
    /// Settles without ever changing direction.
    Smooth,
    /// Changes direction at most steps (overshoots the minimum back and forth) yet settles.
    Oscillates,
    /// Runs away: the guard stops it, or it ends ten times farther out than it started.
    Diverges,
    /// Settles, whatever the path.
    Converges,
    /// Never changes direction and never blows up, settled or not (a small learning rate still crawling).
    Monotone,
    /// Changes direction at least once without blowing up (it zig-zags), settled or not.
    Zigzag,
}

impl ToyExpect {
    fn verify(self, run: &RunOutcome) -> Result<String, String> {
        let xs: Vec<f32> = run.trace.as_deref().unwrap_or_default().iter().map(|p| p[0]).collect();
        let (Some(&first), Some(&last)) = (xs.first(), xs.last()) else {
            return Err(format!("{}: the run recorded no path", run.label));
        };
        let steps: Vec<f32> = xs.windows(2).map(|w| w[1] - w[0]).collect();
        let turns = steps.windows(2).filter(|d| d[0] * d[1] < 0.0).count();
        let tail = steps.iter().rev().take(3).fold(0f32, |m, d| m.max(d.abs()));
        let settled = run.error.is_none() && tail <= 1e-3 * (1.0 + last.abs());
        let ran_away =
            run.error.is_some() || !last.is_finite() || (last - first).abs() > 10.0 * (1.0 + first.abs());
        let says = format!(
            "{}: x from {first} to {last}, {turns} turns in {} steps{}",
            run.label,
            steps.len(),
            run.error.as_ref().map_or(String::new(), |e| format!(", stopped: {e}"))
        );
        let ok = match self {
            ToyExpect::Smooth => settled && turns == 0,
            ToyExpect::Oscillates => settled && turns * 2 >= steps.len().min(20),
            ToyExpect::Diverges => ran_away,
            ToyExpect::Converges => settled,
            ToyExpect::Monotone => run.error.is_none() && !ran_away && turns == 0,
            ToyExpect::Zigzag => run.error.is_none() && !ran_away && turns > 0,
        };
        if ok { Ok(says) } else { Err(format!("expected {self:?}: {says}")) }
    }
}

impl Check {
    /// `Ok` with a sentence, or `Err` with what was expected and what came out.
    pub fn verify(self, runs: &[RunOutcome]) -> Result<String, String> {
        let run = |i: usize| runs.get(i).ok_or(format!("the check needs run {i}; there are {}", runs.len()));
        match self {
            Check::TestAccuracyAtLeast(min) => {
                for r in runs {
                    let a = r.accuracy()?;
                    if a < min {
                        return Err(format!("{}: test accuracy {a:.3} is below {min}", r.label));
                    }
                }
                Ok(format!("test accuracy >= {min}"))
            }
            Check::TestAccuracyAtMost(max) => {
                for r in runs {
                    let a = r.accuracy()?;
                    if a > max {
                        return Err(format!("{}: test accuracy {a:.3} is above {max}", r.label));
                    }
                }
                Ok(format!("test accuracy <= {max}"))
            }
            Check::TestLossBelow(max) => {
                for r in runs {
                    let l = r.last()?.test_loss;
                    if l >= max {
                        return Err(format!("{}: test loss {l} is not below {max}", r.label));
                    }
                }
                Ok(format!("test loss < {max}"))
            }
            Check::Noisier { noisy, smooth } => {
                let (a, b) = (jitter(run(noisy)?)?, jitter(run(smooth)?)?);
                let says = format!(
                    "mean |Δ test loss| {a:.4} ({}) vs {b:.4} ({})",
                    runs[noisy].label, runs[smooth].label
                );
                if a > b { Ok(says) } else { Err(format!("expected the first to be larger: {says}")) }
            }
            Check::AccuracyRises { from, slack, min } => {
                let acc = runs.iter().skip(from).map(RunOutcome::accuracy).collect::<Result<Vec<_>, _>>()?;
                let listed = runs.iter().skip(from).zip(&acc).map(|(r, a)| format!("{} {a:.3}", r.label));
                let listed = listed.collect::<Vec<_>>().join(" < ");
                if acc.windows(2).any(|w| w[1] + slack < w[0]) {
                    return Err(format!("accuracy does not rise: {listed}"));
                }
                match acc.last() {
                    Some(&a) if a >= min => Ok(listed),
                    _ => Err(format!("the last run should reach {min}: {listed}")),
                }
            }
            Check::Toy(expected) => {
                if expected.len() != runs.len() {
                    return Err(format!("{} expectations for {} runs", expected.len(), runs.len()));
                }
                let said =
                    expected.iter().zip(runs).map(|(e, r)| e.verify(r)).collect::<Result<Vec<_>, _>>()?;
                Ok(said.join("; "))
            }
            Check::LowerLoss { better, worse, margin } => {
                let (a, b) = (run(better)?.last()?.test_loss, run(worse)?.last()?.test_loss);
                let says = format!("{} ends at {a:.4}, {} at {b:.4}", runs[better].label, runs[worse].label);
                if a + margin <= b {
                    Ok(says)
                } else {
                    Err(format!("expected the first lower by {margin}: {says}"))
                }
            }
            Check::Overfits { gap } => {
                let mut said = Vec::new();
                for r in runs {
                    let last = r.last()?;
                    let lowest = r.history.iter().map(|m| m.test_loss).fold(f32::INFINITY, f32::min);
                    let says = format!(
                        "{}: train loss {:.3}, test loss {:.3} (lowest {lowest:.3})",
                        r.label, last.train_loss, last.test_loss
                    );
                    if last.train_loss + gap > last.test_loss || last.test_loss <= lowest {
                        return Err(format!("expected a gap of {gap} and a rising test loss: {says}"));
                    }
                    said.push(says);
                }
                Ok(said.join("; "))
            }
            Check::Baseline { model, min } => {
                let best = run(model)?.accuracy()?;
                let accuracies = runs.iter().map(RunOutcome::accuracy).collect::<Result<Vec<_>, _>>()?;
                let says = runs.iter().zip(&accuracies).map(|(r, a)| format!("{} {a:.3}", r.label));
                let says = says.collect::<Vec<_>>().join(", ");
                let baselines =
                    || accuracies.iter().enumerate().filter(|&(i, _)| i != model).map(|(_, &a)| a);
                if runs.len() >= 2 && baselines().all(|a| a >= min && a < best) {
                    Ok(says)
                } else {
                    Err(format!(
                        "expected every baseline at least {min} and {} above them: {says}",
                        runs[model].label
                    ))
                }
            }
            Check::BetterThan { better, worse } => {
                let (a, b) = (run(better)?.accuracy()?, run(worse)?.accuracy()?);
                let says = format!("{} {a:.3} vs {} {b:.3}", runs[better].label, runs[worse].label);
                if a >= b {
                    Ok(says)
                } else {
                    Err(format!("expected the first to be at least the second: {says}"))
                }
            }
        }
    }
}

/// Mean absolute epoch-to-epoch change of the test loss over the second half of a run.
fn jitter(run: &RunOutcome) -> Result<f32, String> {
    run.last()?;
    let losses: Vec<f32> = run.history.iter().map(|m| m.test_loss).collect();
    let tail = &losses[losses.len() / 2..];
    if tail.len() < 2 {
        return Err(format!("{}: too few epochs to measure noise", run.label));
    }
    Ok(tail.windows(2).map(|w| (w[1] - w[0]).abs()).sum::<f32>() / (tail.len() - 1) as f32)
}

impl Preset {
    /// The runs this preset makes: its variants, or its one config.
    pub fn runs(&self) -> Vec<Variant> {
        if self.variants.is_empty() {
            vec![Variant { label: self.id.to_string(), config: self.config.clone() }]
        } else {
            self.variants.clone()
        }
    }

    /// Whether a run of this preset reads CIFAR-10, which the visitor may not have.
    pub fn needs_cifar(&self) -> bool {
        self.runs().iter().any(|v| matches!(v.config.dataset, DatasetSpec::Cifar10 { .. }))
    }

    /// The same experiment on Fashion-MNIST, for a visitor without CIFAR-10 (`None` for other presets): the
    /// same limits, and any pooling that would shrink a 28x28 map to nothing dropped (a VGG16-like net's
    /// fifth pooling: 28 → 14 → 7 → 3 → 1 → 0, where CIFAR's 32 ends at 1).
    pub fn on_fashion(&self) -> Option<Preset> {
        if !self.needs_cifar() {
            return None;
        }
        Some(self.map_runs(|c| {
            let mut c = c.clone();
            if let DatasetSpec::Cifar10 { train_limit, test_limit } = c.dataset {
                c.dataset = DatasetSpec::FashionMnist { train_limit, test_limit };
            }
            let mut side = 28usize;
            for b in &mut c.model.conv {
                side = conv_output_size(side, b.kernel, b.stride, b.pad()).unwrap_or(0);
                if b.pool != Pool::None {
                    if side < 2 {
                        b.pool = Pool::None;
                    } else {
                        side /= 2;
                    }
                }
            }
            c
        }))
    }

    /// This preset with `f` applied to its config and to every variant's.
    fn map_runs(&self, f: impl Fn(&SessionConfig) -> SessionConfig) -> Preset {
        let mut p = self.clone();
        p.config = f(&self.config);
        p.variants =
            self.variants.iter().map(|v| Variant { label: v.label.clone(), config: f(&v.config) }).collect();
        p
    }

    /// The same experiment cut down to seconds: `epochs` epochs, and Fashion-MNIST limited to its first
    /// 2,000 training and 1,000 test images. For smoke tests on every backend.
    pub fn quick(&self, epochs: u32) -> Preset {
        let shrink = |c: &SessionConfig| {
            let mut c = c.clone();
            c.epochs = c.epochs.min(epochs);
            if let DatasetSpec::FashionMnist { train_limit, test_limit }
            | DatasetSpec::Cifar10 { train_limit, test_limit } = &mut c.dataset
            {
                *train_limit = Some(train_limit.unwrap_or(2000).min(2000));
                *test_limit = Some(test_limit.unwrap_or(1000).min(1000));
            }
            c
        };
        self.map_runs(shrink)
    }
}

/// Names of columns, owned.
pub(super) fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Iris's four measurement columns.
pub(super) const IRIS: [&str; 4] = ["SepalLengthCm", "SepalWidthCm", "PetalLengthCm", "PetalWidthCm"];

/// Adam with PyTorch's defaults.
pub(super) const ADAM: OptimizerKind = OptimizerKind::Adam { betas: (0.9, 0.999), eps: 1e-8 };

/// A starting config that presets adjust.
pub(super) fn base(dataset: DatasetSpec, loss: LossKind) -> SessionConfig {
    SessionConfig {
        dataset,
        test_fraction: 0.2,
        normalization: Normalization::ZScorePerChannel,
        model: ModelSpec::mlp(vec![], Activation::Tanh, Init::XavierUniform { fan_avg: false }),
        loss,
        optimizer: OptimizerKind::Sgd { momentum: 0.0 },
        lr: 0.1,
        schedule: Schedule::Constant,
        batch_size: 16,
        epochs: 100,
        seed: 42,
        weight_decay: 0.0,
        features: Features::Pixels,
    }
}

/// A labelled copy of `base` changed by `edit`.
pub(super) fn vary(base: &SessionConfig, label: &str, edit: impl FnOnce(&mut SessionConfig)) -> Variant {
    let mut config = base.clone();
    edit(&mut config);
    Variant { label: label.to_string(), config }
}
