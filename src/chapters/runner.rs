//! Runs a preset's runs one after another (the CLI, `reproduce` and the tests share this).

use super::{Preset, RunOutcome};
use crate::tensor::Device;
use crate::train::{DataSource, Session, StepInfo};

/// Where a multi-run preset is: which run, and the step that just finished.
pub struct Progress<'a> {
    pub run: usize,
    pub runs: usize,
    pub label: &'a str,
    pub step: &'a StepInfo,
    pub steps_per_epoch: usize,
    pub epochs: u32,
}

/// Runs every run of `preset` to the end. A run the divergence guard stops is recorded with its message
/// and the study goes on (the raw-pixel run of the normalization study is meant to misbehave). Returns the
/// outcomes and the last run's session (for plots that need a model), or the first error that stopped a
/// run before its first step (missing data, an invalid config).
pub fn run_preset(
    preset: &Preset,
    source: &dyn DataSource,
    progress: &mut dyn FnMut(Progress),
) -> crate::error::Result<(Vec<RunOutcome>, Session)> {
    run_preset_on(preset, source, Device::Cpu, progress)
}

/// `run_preset` with the models on `device` (this thread's GPU for `Device::WebGpu`); toy functions and
/// traced runs stay on the CPU (`Session::stays_on_cpu`).
pub fn run_preset_on(
    preset: &Preset,
    source: &dyn DataSource,
    device: Device,
    progress: &mut dyn FnMut(Progress),
) -> crate::error::Result<(Vec<RunOutcome>, Session)> {
    let runs = preset.runs();
    let mut outcomes = Vec::with_capacity(runs.len());
    let mut last = None;
    for (i, variant) in runs.iter().enumerate() {
        let mut session = Session::new(variant.config.clone(), source)?;
        preset.prepare(&mut session)?;
        session.to_device(device)?;
        let mut error = None;
        while !session.finished() {
            match session.step() {
                Ok(step) => progress(Progress {
                    run: i,
                    runs: runs.len(),
                    label: &variant.label,
                    step: &step,
                    steps_per_epoch: session.steps_per_epoch(),
                    epochs: session.config.epochs,
                }),
                Err(e) => {
                    error = Some(e.to_string());
                    break;
                }
            }
        }
        if error.is_none()
            && let Err(e) = session.settle()
        {
            error = Some(e.to_string());
        }
        outcomes.push(RunOutcome {
            label: variant.label.clone(),
            history: session.history.clone(),
            error,
            trace: session.trace.clone(),
            initial_layers: session.initial_layers.clone(),
        });
        last = Some(session);
    }
    Ok((outcomes, last.expect("a preset has at least one run")))
}
