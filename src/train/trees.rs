//! Gradient-boosted trees (the `gbdt` crate) as chapter 6's second classical baseline: one forest per class,
//! each grown one-vs-rest with the logistic loss, and a model whose scores are the forests' log-odds. A run
//! grows one class's forest per step, so the page's progress and Stop work between forests; the gradient
//! machinery (optimizer, backward) is not used.

use std::cell::RefCell;
use std::rc::Rc;

use gbdt::config::Config;
use gbdt::decision_tree::{Data, DataVec};
use gbdt::gradient_boost::GBDT;
use serde::{Deserialize, Serialize};

use crate::data::{Dataset, Targets};
use crate::error::{LabError, Result};
use crate::nn::Module;
use crate::tensor::Tensor;

/// The size of each class's forest.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Trees {
    /// Boosting rounds: trees per class.
    pub rounds: usize,
    /// Depth of each tree.
    pub depth: u32,
    /// Each tree's contribution is scaled by this (the learning rate of boosting).
    pub shrinkage: f32,
}

impl Trees {
    /// The bounds a config is held to: small enough to grow in a browser tab in a minute or two.
    pub fn validate(&self) -> Result<()> {
        if !(1..=200).contains(&self.rounds) || !(1..=8).contains(&self.depth) {
            return Err(LabError::InvalidArgument(format!(
                "boosted trees: {} rounds of depth {} is outside 1-200 rounds and depth 1-8",
                self.rounds, self.depth
            )));
        }
        if !(self.shrinkage.is_finite() && self.shrinkage > 0.0 && self.shrinkage <= 1.0) {
            return Err(LabError::InvalidArgument(format!(
                "boosted trees: shrinkage {} must be in (0, 1]",
                self.shrinkage
            )));
        }
        Ok(())
    }
}

/// Training values a trees run may hold (items × features): the crate keeps its own copy per forest.
pub const MAX_TREE_VALUES: usize = 8 << 20;

/// The forests grown so far, shared by the session (which grows them) and the model (which reads them).
#[derive(Default)]
pub struct Forests {
    grown: RefCell<Vec<GBDT>>,
}

impl Forests {
    pub fn grown(&self) -> usize {
        self.grown.borrow().len()
    }

    /// Grows the next class's forest on `train` (class `k` against the rest) and returns its mean logistic
    /// loss on the training items.
    pub fn grow_next(&self, spec: &Trees, train: &Dataset) -> Result<f32> {
        let Targets::Classes { labels, classes } = &train.targets else {
            return Err(LabError::InvalidArgument(
                "boosted trees classify; this dataset has no classes".into(),
            ));
        };
        let k = self.grown();
        if k >= *classes {
            return Err(LabError::InvalidArgument("every class already has its forest".into()));
        }
        let f = train.feature_len();
        if f == 0 || train.is_empty() {
            return Err(LabError::InvalidArgument("boosted trees need training items with features".into()));
        }
        let mut config = Config::new();
        config.set_feature_size(f);
        config.set_max_depth(spec.depth);
        config.set_iterations(spec.rounds);
        config.set_shrinkage(spec.shrinkage);
        config.set_loss("LogLikelyhood");
        let mut data: DataVec = train
            .features
            .chunks_exact(f)
            .zip(labels)
            .map(|(x, &l)| Data::new_training_data(x.to_vec(), 1.0, if l == k { 1.0 } else { -1.0 }, None))
            .collect();
        let mut forest = GBDT::new(&config);
        forest.fit(&mut data);
        let p = forest.predict(&data);
        let loss = p
            .iter()
            .zip(labels)
            .map(|(&p, &l)| {
                let p = f64::from(p).clamp(1e-7, 1.0 - 1e-7);
                if l == k { -p.ln() } else { -(1.0 - p).ln() }
            })
            .sum::<f64>()
            / labels.len() as f64;
        self.grown.borrow_mut().push(forest);
        Ok(loss as f32)
    }
}

/// The model of a trees run: (N, ...) features in, (N, classes) scores out, each class's score the log-odds
/// its forest gives (0 for a class whose forest is not grown yet).
pub struct BoostedTrees {
    pub forests: Rc<Forests>,
    pub classes: usize,
    pub spec: Trees,
}

impl Module for BoostedTrees {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let n = x.dims().first().copied().unwrap_or(0);
        let f = x.numel() / n.max(1);
        let values = x.to_vec();
        let rows: DataVec =
            values.chunks_exact(f.max(1)).map(|r| Data::new_test_data(r.to_vec(), None)).collect();
        let mut scores = vec![0.0f32; n * self.classes];
        for (k, forest) in self.forests.grown.borrow().iter().enumerate().take(self.classes) {
            for (i, p) in forest.predict(&rows).into_iter().enumerate().take(n) {
                let p = p.clamp(1e-7, 1.0 - 1e-7);
                scores[i * self.classes + k] = (p / (1.0 - p)).ln();
            }
        }
        Tensor::from_vec(scores, [n, self.classes])
    }

    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        Vec::new()
    }

    fn describe(&self) -> String {
        format!(
            "Boosted trees: {} forests × {} trees of depth {} (shrinkage {})",
            self.classes, self.spec.rounds, self.spec.depth, self.spec.shrinkage
        )
    }
}
