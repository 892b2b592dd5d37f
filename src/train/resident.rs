//! A GPU run's data sets kept on the GPU: uploaded once when the run moves there, so that each batch is
//! drawn by one `index_select` launch from the indices alone instead of being gathered on the host and its
//! pixels uploaded every step (400 KB a step for a batch of 128 Fashion-MNIST images). Sets too large for
//! one GPU buffer, or past `MAX_RESIDENT_BYTES`, keep the per-step upload.

use std::rc::Rc;

use super::Session;
use crate::data::{Batch, Dataset, batch_targets, make_batch};
use crate::error::Result;
use crate::tensor::{Device, Shape, Tensor};

/// The most bytes of one data set kept on the GPU (Fashion-MNIST's 60,000 training images are 188 MB,
/// 10,000 CIFAR-10 images 123 MB).
pub const MAX_RESIDENT_BYTES: u64 = 256 << 20;

impl Session {
    /// Uploads the training and test features to the GPU once (each that fits), for `batch` to draw from.
    pub(super) fn make_resident(&mut self) -> Result<()> {
        if self.device == Device::Cpu {
            return Ok(());
        }
        let rt = crate::backend::webgpu::current()?;
        let max = rt.max_buffer_bytes().min(MAX_RESIDENT_BYTES);
        for data in [&self.train, &self.test] {
            let bytes = (data.features.len() * 4) as u64;
            let held = self.resident.iter().any(|(f, _)| Rc::ptr_eq(f, &data.features));
            if held || data.is_empty() || bytes > max {
                continue;
            }
            let mut shape = vec![data.len()];
            shape.extend_from_slice(&data.feature_shape);
            // Uploaded from the features where they lie: no second host copy (in the page it would stay in
            // the module's memory, which never shrinks).
            let x = Tensor::make(rt.upload(&data.features), Shape::new(&shape), None);
            self.resident.push((data.features.clone(), x));
        }
        Ok(())
    }

    /// Bytes of data-set features this run keeps on the GPU (0 on the CPU).
    pub fn resident_bytes(&self) -> u64 {
        self.resident.iter().map(|(f, _)| (f.len() * 4) as u64).sum()
    }

    /// The items at `idx` of `data` as a batch on the session's device: x drawn on the GPU from the resident
    /// copy where there is one, else gathered here and uploaded; y uploaded only where the loss reads it
    /// (`Session::loss_reads_y`: class indices travel as `labels`), one upload fewer per step.
    pub(super) fn batch(&self, data: &Dataset, idx: &[usize]) -> Result<Batch> {
        if self.device == Device::Cpu {
            return make_batch(data, idx);
        }
        let x = match self.resident.iter().find(|(f, _)| Rc::ptr_eq(f, &data.features)) {
            Some((_, x)) => x.index_select(0, idx)?,
            None => Tensor::from_rows(&data.features, idx, &data.feature_shape)?.into_device(self.device)?,
        };
        let (y, labels) = batch_targets(data, idx)?;
        let y = if self.loss_reads_y(&labels) { y.into_device(self.device)? } else { y };
        Ok(Batch { x, y, labels })
    }
}
