//! GPU timestamps of each kernel launch, for the step timeline (`cvjourney bench --workloads --gpu --timeline`): where a training
//! step's GPU time goes, launch by launch, measured by the GPU itself rather than inferred from host waits.
//!
//! While timing is on (`Runtime::start_timing`), every dispatch of a submit runs in a compute pass of its
//! own whose beginning and end write a timestamp (WebGPU's `timestamp-query`, asked for natively where the
//! adapter has it). A pass's time therefore includes the barrier wgpu records before the dispatch (waiting
//! for the launch it depends on to drain); the gap between one pass's end and the next one's beginning is
//! the GPU's own launch overhead. Timing is a profiling mode: it adds a query set and two small buffers per
//! submit, and is never on in training.

use super::runtime::Runtime;
use crate::error::{LabError, Result};

/// The most launches of one submit that get timestamps (two queries each, within wgpu's 4,096 per set).
pub const MAX_TIMED: usize = 2048;

/// One timed launch: its kernel ("shader/entry"), workgroup grid, start (µs after the submit's first
/// launch began) and duration in µs.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct KernelTime {
    pub kernel: String,
    pub groups: [u32; 3],
    pub start_us: f64,
    pub us: f64,
}

/// The queries of one submit, resolved into `readback` once its passes have run.
pub(super) struct TimedSubmit {
    pub(super) labels: Vec<(String, [u32; 3])>,
    pub(super) readback: wgpu::Buffer,
}

/// The query set and buffers for `launches` timed passes (at most `MAX_TIMED`).
pub(super) struct Queries {
    pub(super) set: wgpu::QuerySet,
    resolve: wgpu::Buffer,
    readback: wgpu::Buffer,
    count: u32,
}

impl Queries {
    pub(super) fn new(device: &wgpu::Device, launches: usize) -> Queries {
        let count = (2 * launches.clamp(1, MAX_TIMED)) as u32;
        let set = device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("kernel timestamps"),
            ty: wgpu::QueryType::Timestamp,
            count,
        });
        let bytes = u64::from(count) * 8;
        let buffer = |label, usage| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: bytes,
                usage,
                mapped_at_creation: false,
            })
        };
        let resolve = buffer("timestamps", wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC);
        let readback =
            buffer("timestamps readback", wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST);
        Queries { set, resolve, readback, count }
    }

    /// The timestamp writes of launch `i`'s pass, or none past the set's size.
    pub(super) fn writes(&self, i: usize) -> Option<wgpu::ComputePassTimestampWrites<'_>> {
        let at = 2 * i as u32;
        (at + 1 < self.count).then_some(wgpu::ComputePassTimestampWrites {
            query_set: &self.set,
            beginning_of_pass_write_index: Some(at),
            end_of_pass_write_index: Some(at + 1),
        })
    }

    /// Records the resolve and the copy to the mappable buffer after the submit's passes.
    pub(super) fn finish(
        self,
        encoder: &mut wgpu::CommandEncoder,
        labels: Vec<(String, [u32; 3])>,
    ) -> TimedSubmit {
        let used = (2 * labels.len().min(MAX_TIMED)) as u32;
        if used > 0 {
            encoder.resolve_query_set(&self.set, 0..used, &self.resolve, 0);
            encoder.copy_buffer_to_buffer(&self.resolve, 0, &self.readback, 0, u64::from(used) * 8);
        }
        TimedSubmit { labels, readback: self.readback }
    }
}

impl Runtime {
    /// Whether this device can time launches (natively, where the adapter has timestamp queries).
    pub fn can_time(&self) -> bool {
        self.ctx.device.features().contains(wgpu::Features::TIMESTAMP_QUERY)
    }

    /// From now on every submit times each of its launches, until `take_timings`. An error where the device
    /// has no timestamp queries.
    pub fn start_timing(&self) -> Result<()> {
        if !self.can_time() {
            return Err(LabError::Device("this GPU gives no timestamps (timestamp-query is missing)".into()));
        }
        *self.timed.borrow_mut() = Some(Vec::new());
        Ok(())
    }

    /// Submits what is recorded, waits for the GPU, and returns every launch timed since `start_timing`,
    /// submit after submit (each submit's starts counted from its own first launch); timing stops.
    pub async fn take_timings(&self) -> Result<Vec<KernelTime>> {
        self.flush()?;
        let submits = self.timed.borrow_mut().take().unwrap_or_default();
        let period_ns = f64::from(self.ctx.queue.get_timestamp_period());
        let mut out = Vec::new();
        for TimedSubmit { labels, readback } in submits {
            if labels.is_empty() {
                continue;
            }
            let words: Vec<u32> = super::runtime::read_mapped(&self.ctx, &readback)
                .await?
                .iter()
                .map(|v| v.to_bits())
                .collect();
            let ticks: Vec<u64> =
                words.chunks_exact(2).map(|w| u64::from(w[0]) | (u64::from(w[1]) << 32)).collect();
            let first = ticks.first().copied().unwrap_or(0);
            let us = |t: u64| t.saturating_sub(first) as f64 * period_ns / 1e3;
            for ((kernel, groups), pair) in labels.into_iter().zip(ticks.chunks_exact(2)) {
                let (start_us, end_us) = (us(pair[0]), us(pair[1]));
                out.push(KernelTime { kernel, groups, start_us, us: (end_us - start_us).max(0.0) });
            }
        }
        Ok(out)
    }
}
