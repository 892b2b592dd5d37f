//! Chapter 1, linear regression on the Advertising table (textbook §2).

use super::preset::{Check, PlotKind, Preset, base, strings, vary};
use crate::train::{DatasetSpec, LossKind, SessionConfig};

fn ads(features: &[&str]) -> DatasetSpec {
    DatasetSpec::Advertising { features: strings(features) }
}

pub(super) fn presets() -> Vec<Preset> {
    let tv = SessionConfig { batch_size: 1, epochs: 30, lr: 0.01, ..base(ads(&["TV"]), LossKind::Mse) };
    // 160 training rows after the 20 % test split: a batch of 160 is the full batch.
    let study =
        SessionConfig { epochs: 500, lr: 0.01, ..base(ads(&["TV", "Radio", "Newspaper"]), LossKind::Mse) };
    vec![
        Preset {
            id: "ch1-tv-sgd",
            chapter: 1,
            title: "TV budget to sales, one sample at a time",
            summary: "Fit sales = w·TV + b by stochastic gradient descent: after every single campaign the \
                      line moves a little, so the loss curve zig-zags on its way down.",
            config: tv,
            variants: vec![],
            plots: vec![PlotKind::RegressionFit, PlotKind::Loss, PlotKind::LossContour],
            check: Check::TestLossBelow(15.0),
            textbook: "Sales grow with the TV budget; one line through the cloud leaves a visible spread around it.",
        },
        Preset {
            id: "ch1-three-features",
            chapter: 1,
            title: "All three budgets, vectorised",
            summary: "TV, radio and newspaper budgets together with a bias column, one matrix product per \
                      batch: the same gradient descent, written the way fast code is written. The second plot \
                      times one epoch's gradient three ways on your machine: scalar loops, the tensor engine \
                      called once per sample, and one matrix product for all rows. In Python the loops \
                      themselves are slow; compiled, as here, a loop over 160 rows is not. What costs is a \
                      library call per sample, and the batched product saves exactly that.",
            config: SessionConfig {
                batch_size: 50,
                epochs: 200,
                ..base(ads(&["TV", "Radio", "Newspaper"]), LossKind::Mse)
            },
            variants: vec![],
            plots: vec![PlotKind::Loss, PlotKind::Vectorize],
            check: Check::TestLossBelow(5.0),
            textbook: "With all three budgets the squared error falls to about 3 (sales in thousands of units).",
        },
        Preset {
            id: "ch1-batch-sizes",
            chapter: 1,
            title: "One sample, fifty, or all: three ways to take a step",
            summary: "The same model trained for 500 epochs three times: updating after every campaign, after \
                      every 50, or once per pass over all of them. Small batches take many noisy steps; the \
                      full batch takes few smooth ones. Compare the curves and the wall time.",
            config: study.clone(),
            variants: vec![
                vary(&study, "stochastic (batch 1)", |c| c.batch_size = 1),
                vary(&study, "mini-batch (50)", |c| c.batch_size = 50),
                vary(&study, "full batch (160)", |c| c.batch_size = 160),
            ],
            plots: vec![PlotKind::Loss],
            check: Check::Noisier { noisy: 0, smooth: 1 },
            textbook: "500 epochs in numpy: stochastic 0.8 s, mini-batch 0.1 s; the stochastic curve \
                       zig-zags, the mini-batch one is smooth.",
        },
    ]
}
