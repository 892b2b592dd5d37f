//! The GPU side of the tensor engine: one `Runtime` per thread (the worker's, or the CLI's), holding the
//! device, a pipeline cache, a buffer pool, and the commands recorded since the last submit.
//!
//! Ops do not touch the queue. Each records a `Cmd` (a dispatch, an upload or a copy); `flush` encodes them
//! all into one command buffer with one arena buffer for every op's parameters and uploaded bytes, and
//! submits once. So a training step is one submit, and nothing waits for the GPU until a value is read
//! (`read`, awaited in the browser). Buffers come from a pool keyed by size: a training step asks for the
//! same sizes every time, so after the first step it allocates nothing. Reusing a buffer while earlier
//! recorded commands still use it is safe because every write to a pooled buffer is itself a recorded
//! command, executed in recording order.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeSet, HashMap};
use std::rc::Rc;

use futures_channel::oneshot;

use super::GpuContext;
use super::timing::{Queries, TimedSubmit};
use crate::error::{LabError, Result};

/// A WGSL source and its name (the pipeline cache key, with the entry point).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shader {
    pub name: &'static str,
    pub source: &'static str,
}

/// The threads per workgroup of every 1-D kernel (`@workgroup_size(256)` in the WGSL sources).
pub const WORKGROUP: u32 = 256;
/// WebGPU's guaranteed minimum for workgroups per grid dimension.
const MAX_GROUPS_PER_DIM: u32 = 65_535;
/// Submit on our own after this many recorded commands, so a loop that never reads stays bounded.
const MAX_PENDING: usize = 4096;
/// Uploads of at least this many bytes go to the queue directly rather than through the arena.
const DIRECT_WRITE_BYTES: usize = 1 << 20;
/// Keep at most this many idle bytes in the pool; beyond it released buffers are destroyed.
const POOL_CAP_BYTES: u64 = 1 << 30;
/// Bind groups kept for reuse; past this many the cache starts again (a training step needs about 40).
const MAX_BIND_GROUPS: usize = 4096;
/// The arena buffer's smallest size; it grows to the next power of two a submit needs.
const MIN_ARENA_BYTES: u64 = 64 << 10;
/// A submit needing more arena than this (many uploads recorded without a flush) gets a buffer of its own,
/// dropped afterwards, so that one such submit does not hold its memory for the rest of the session.
const MAX_KEPT_ARENA_BYTES: u64 = 16 << 20;

/// What a dispatch binds: kernel, entry point, its parameters' place in the arena, and its buffers. A
/// training step records the same launches on the same pooled buffers at the same arena offsets every
/// time, so its bind groups are made once and looked up afterwards.
type BindKey = (&'static str, &'static str, (u64, u64), Vec<wgpu::Buffer>);

enum Cmd {
    Dispatch {
        shader: Shader,
        entry: &'static str,
        params: (u64, u64),
        bufs: Vec<wgpu::Buffer>,
        groups: [u32; 3],
    },
    Upload {
        dst: wgpu::Buffer,
        at: u64,
        size: u64,
    },
    Copy {
        src: wgpu::Buffer,
        dst: wgpu::Buffer,
        size: u64,
    },
}

/// The device plus everything the tensor engine keeps on it.
pub struct Runtime {
    pub ctx: GpuContext,
    modules: RefCell<HashMap<&'static str, wgpu::ShaderModule>>,
    pipelines: RefCell<HashMap<(&'static str, &'static str), wgpu::ComputePipeline>>,
    /// Sources compiled in place of a kernel's own (`replace_shader`), keyed by kernel name.
    overrides: RefCell<HashMap<&'static str, String>>,
    /// Idle buffers by size. Each request takes the lowest buffer id of its size, so that a training step,
    /// starting from the same idle set every time, gets the same buffers in the same places (and its bind
    /// groups are found in the cache).
    pool: RefCell<HashMap<u64, BTreeSet<wgpu::Buffer>>>,
    pooled_bytes: Cell<u64>,
    live_buffers: Cell<usize>,
    cmds: RefCell<Vec<Cmd>>,
    arena: RefCell<Vec<u8>>,
    /// The buffer the arena is written to at each submit (kept, so that bind groups can be reused).
    arena_buf: RefCell<Option<wgpu::Buffer>>,
    bind_groups: RefCell<HashMap<BindKey, wgpu::BindGroup>>,
    bind_groups_made: Cell<u64>,
    submits: Cell<u64>,
    dispatches: Cell<u64>,
    /// The kernel of every launch recorded since `start_trace`, while tracing.
    trace: RefCell<Option<Vec<String>>>,
    /// While timing launches (`start_timing`): each submit's queries, read by `take_timings`.
    pub(super) timed: RefCell<Option<Vec<TimedSubmit>>>,
    /// Milliseconds spent encoding and submitting (host time), for the step profile.
    encode_ms: Cell<f64>,
    /// The lab's own cap on one buffer, in bytes, below the device's (`set_buffer_cap`).
    buffer_cap: Cell<Option<u64>>,
    /// The first failure since the last `take_error` (an oversized buffer, a validation error, a lost device).
    error: RefCell<Option<LabError>>,
}

/// The thread's runtime. At thread exit it is leaked, not dropped: wgpu's own thread-locals may already be
/// gone by then, and dropping a device or queue would touch them (the process frees the memory anyway).
struct Slot(Option<Rc<Runtime>>);

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            std::mem::forget(rt);
        }
    }
}

thread_local! {
    static CURRENT: RefCell<Slot> = const { RefCell::new(Slot(None)) };
}

/// Makes `ctx` this thread's GPU: tensors moved to `Device::WebGpu` live on it from now on.
pub fn install(ctx: GpuContext) -> Rc<Runtime> {
    let rt = Rc::new(Runtime::new(ctx));
    let old = CURRENT.with(|c| c.borrow_mut().0.replace(rt.clone()));
    drop(old);
    rt
}

/// Forgets this thread's GPU (tensors already on it keep it alive until they are dropped).
pub fn uninstall() {
    let old = CURRENT.with(|c| c.borrow_mut().0.take());
    drop(old);
}

/// This thread's GPU, or an error a learner can read.
pub fn current() -> Result<Rc<Runtime>> {
    CURRENT.try_with(|c| c.borrow().0.clone()).ok().flatten().ok_or_else(|| {
        LabError::Device("no GPU is set up in this session (WebGPU was not found or was switched off)".into())
    })
}

/// Whether a GPU is installed on this thread.
pub fn installed() -> bool {
    CURRENT.try_with(|c| c.borrow().0.is_some()).unwrap_or(false)
}

/// Counters for tests and the soak: buffers alive (in tensors or pooled), idle pooled bytes, submits.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct RuntimeStats {
    pub live_buffers: usize,
    pub pooled_bytes: u64,
    pub submits: u64,
    pub dispatches: u64,
    /// Bind groups made (the rest of the dispatches found theirs in the cache).
    pub bind_groups_made: u64,
    /// Bytes of the arena buffer kept between submits.
    pub arena_bytes: u64,
    /// Host milliseconds spent encoding and submitting recorded commands.
    pub encode_ms: f64,
}

impl Runtime {
    fn new(ctx: GpuContext) -> Runtime {
        Runtime {
            ctx,
            modules: RefCell::default(),
            pipelines: RefCell::default(),
            overrides: RefCell::default(),
            pool: RefCell::default(),
            pooled_bytes: Cell::new(0),
            live_buffers: Cell::new(0),
            cmds: RefCell::default(),
            arena: RefCell::default(),
            arena_buf: RefCell::default(),
            bind_groups: RefCell::default(),
            bind_groups_made: Cell::new(0),
            submits: Cell::new(0),
            dispatches: Cell::new(0),
            trace: RefCell::new(None),
            timed: RefCell::new(None),
            encode_ms: Cell::new(0.0),
            buffer_cap: Cell::new(None),
            error: RefCell::new(None),
        }
    }

    pub fn stats(&self) -> RuntimeStats {
        RuntimeStats {
            live_buffers: self.live_buffers.get(),
            pooled_bytes: self.pooled_bytes.get(),
            submits: self.submits.get(),
            dispatches: self.dispatches.get(),
            bind_groups_made: self.bind_groups_made.get(),
            arena_bytes: self.arena_buf.borrow().as_ref().map_or(0, wgpu::Buffer::size),
            encode_ms: self.encode_ms.get(),
        }
    }

    /// From now on notes the kernel ("shader/entry") of every launch recorded, until `take_trace`: how the
    /// step profile and the launch-count tests see what a training step launches.
    pub fn start_trace(&self) {
        *self.trace.borrow_mut() = Some(Vec::new());
    }

    /// The launches recorded since `start_trace`, in order, and tracing stopped (empty if it was not on).
    pub fn take_trace(&self) -> Vec<String> {
        self.trace.borrow_mut().take().unwrap_or_default()
    }

    /// Caps one buffer at `bytes` (below the device's own limit), or lifts the cap: a memory budget for
    /// the lab, and the way tests force an out-of-memory mid-run.
    pub fn set_buffer_cap(&self, bytes: Option<u64>) {
        self.buffer_cap.set(bytes);
    }

    /// From now on compiles `source` in place of the kernel named `name` (its cached pipelines are
    /// dropped). This is how tests force a shader compile error mid-run, as a browser whose shader compiler
    /// rejects one of our kernels would; the failure surfaces at the next flush like any GPU error.
    pub fn replace_shader(&self, name: &'static str, source: &str) {
        self.modules.borrow_mut().remove(name);
        self.pipelines.borrow_mut().retain(|(shader, _), _| *shader != name);
        self.bind_groups.borrow_mut().retain(|(shader, ..), _| *shader != name);
        self.overrides.borrow_mut().insert(name, source.to_string());
    }

    /// Records the first failure; later ones are usually its consequences.
    pub fn fail(&self, e: LabError) {
        let mut slot = self.error.borrow_mut();
        if slot.is_none() {
            *slot = Some(tidy(e));
        }
    }

    /// The first failure since the last call, including errors the device reported on its own.
    pub fn take_error(&self) -> Option<LabError> {
        for message in self.ctx.take_uncaptured_errors() {
            self.fail(LabError::Gpu { op: "device", message });
        }
        self.error.borrow_mut().take()
    }

    /// A buffer for `words` 4-byte values, from the pool when one of that size is idle. A request past the
    /// adapter's limits is recorded as an error (returned by the next `flush`) and gets a tiny stand-in, so
    /// op signatures stay infallible and the failure still surfaces before any number is shown.
    pub fn alloc(self: &Rc<Self>, words: usize) -> GpuBuf {
        let bytes = (words.max(1) * 4) as u64;
        let max = self.max_buffer_bytes();
        let bytes = if bytes > max {
            self.fail(LabError::OutOfMemory(format!(
                "a tensor of {words} values needs {bytes} bytes; this GPU binds at most {max} bytes per buffer"
            )));
            4
        } else {
            bytes
        };
        let reused = self.pool.borrow_mut().get_mut(&bytes).and_then(BTreeSet::pop_first);
        let buffer = match reused {
            Some(b) => {
                self.pooled_bytes.set(self.pooled_bytes.get() - bytes);
                b
            }
            None => self.ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("tensor"),
                size: bytes,
                usage: wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::COPY_SRC
                    | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }),
        };
        self.live_buffers.set(self.live_buffers.get() + 1);
        GpuBuf { buffer: Some(buffer), words, rt: self.clone() }
    }

    /// The largest buffer `alloc` gives: the device's binding limit, or the lab's cap below it.
    pub fn max_buffer_bytes(&self) -> u64 {
        let max = self.ctx.limits.max_storage_buffer_binding_size.min(self.ctx.limits.max_buffer_size);
        self.buffer_cap.get().map_or(max, |cap| cap.min(max))
    }

    fn release(&self, buffer: wgpu::Buffer) {
        self.live_buffers.set(self.live_buffers.get().saturating_sub(1));
        let bytes = buffer.size();
        if self.pooled_bytes.get() + bytes > POOL_CAP_BYTES {
            // Dropped: wgpu frees it once recorded commands no longer need it, and no cached bind group
            // may keep it alive.
            self.bind_groups.borrow_mut().clear();
            return;
        }
        self.pooled_bytes.set(self.pooled_bytes.get() + bytes);
        self.pool.borrow_mut().entry(bytes).or_default().insert(buffer);
    }

    /// Appends bytes to the arena at the storage-offset alignment; returns (offset, length).
    fn stage(&self, bytes: &[u8]) -> (u64, u64) {
        let align = self.ctx.limits.min_storage_buffer_offset_alignment.max(4) as usize;
        let mut arena = self.arena.borrow_mut();
        let at = arena.len().next_multiple_of(align);
        arena.resize(at, 0);
        arena.extend_from_slice(bytes);
        (at as u64, bytes.len() as u64)
    }

    /// A new buffer holding `values` (written when the recorded commands run).
    pub fn upload(self: &Rc<Self>, values: &[f32]) -> GpuBuf {
        let buf = self.alloc(values.len());
        self.write(&buf, bytemuck::cast_slice(values));
        buf
    }

    /// A new buffer of 32-bit indices (for gather, scatter and pooling).
    pub fn upload_u32(self: &Rc<Self>, values: &[u32]) -> GpuBuf {
        let buf = self.alloc(values.len());
        self.write(&buf, bytemuck::cast_slice(values));
        buf
    }

    /// Overwrites `buf` with `bytes` at this point of the recorded sequence.
    pub fn write(&self, buf: &GpuBuf, bytes: &[u8]) {
        if bytes.is_empty() || bytes.len() as u64 > buf.raw().size() {
            return;
        }
        if bytes.len() >= DIRECT_WRITE_BYTES {
            // A large upload (a training batch): submit what is recorded so far, so the write lands after
            // it in queue order as it would in the recording, then hand the bytes to the queue directly: one
            // copy instead of two (the arena, then a freshly mapped buffer).
            self.submit(None);
            self.ctx.queue.write_buffer(buf.raw(), 0, bytes);
            return;
        }
        let (at, size) = self.stage(bytes);
        self.push(Cmd::Upload { dst: buf.raw().clone(), at, size });
    }

    /// Copies all of `src` into `dst` (same size) at this point of the recorded sequence.
    pub fn copy(&self, src: &GpuBuf, dst: &GpuBuf) {
        let size = src.raw().size().min(dst.raw().size());
        self.push(Cmd::Copy { src: src.raw().clone(), dst: dst.raw().clone(), size });
    }

    /// Records one kernel launch: `params` (32-bit words) bound at 0, then `bufs` at 1, 2, ...
    pub fn dispatch(
        &self,
        shader: Shader,
        entry: &'static str,
        params: &[u32],
        bufs: &[&GpuBuf],
        groups: [u32; 3],
    ) {
        if groups.contains(&0) {
            return;
        }
        if let Some(trace) = self.trace.borrow_mut().as_mut() {
            trace.push(kernel_name(shader, entry));
        }
        let params = self.stage(bytemuck::cast_slice(if params.is_empty() { &[0u32] } else { params }));
        let bufs = bufs.iter().map(|b| b.raw().clone()).collect();
        self.push(Cmd::Dispatch { shader, entry, params, bufs, groups });
    }

    /// A 1-D launch over `n` items (folded into 2-D past WebGPU's per-dimension limit).
    pub fn dispatch_1d(
        &self,
        shader: Shader,
        entry: &'static str,
        params: &[u32],
        bufs: &[&GpuBuf],
        n: usize,
    ) {
        let (x, y) = grid_for(n as u64);
        self.dispatch(shader, entry, params, bufs, [x, y, 1]);
    }

    fn push(&self, cmd: Cmd) {
        let full = {
            let mut cmds = self.cmds.borrow_mut();
            cmds.push(cmd);
            cmds.len() >= MAX_PENDING
        };
        if full {
            self.submit(None);
        }
    }

    fn pipeline(&self, shader: Shader, entry: &'static str) -> wgpu::ComputePipeline {
        if let Some(p) = self.pipelines.borrow().get(&(shader.name, entry)) {
            return p.clone();
        }
        let module = self
            .modules
            .borrow_mut()
            .entry(shader.name)
            .or_insert_with(|| {
                let overrides = self.overrides.borrow();
                let source = overrides.get(shader.name).map_or(shader.source, String::as_str);
                self.ctx.device.create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some(shader.name),
                    source: wgpu::ShaderSource::Wgsl(source.into()),
                })
            })
            .clone();
        let pipeline = self.ctx.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(entry),
            layout: None,
            module: &module,
            entry_point: Some(entry),
            compilation_options: Default::default(),
            cache: None,
        });
        self.pipelines.borrow_mut().insert((shader.name, entry), pipeline.clone());
        pipeline
    }

    /// Encodes every recorded command into one command buffer and submits it; `then` adds a final copy
    /// (used by `read`). Errors found so far are returned, and cleared.
    pub fn flush(&self) -> Result<()> {
        self.submit(None);
        match self.take_error() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn submit(&self, then: Option<(&wgpu::Buffer, &wgpu::Buffer, u64)>) {
        let cmds = hoist_uploads(std::mem::take(&mut *self.cmds.borrow_mut()));
        let arena = std::mem::take(&mut *self.arena.borrow_mut());
        if cmds.is_empty() && then.is_none() {
            return;
        }
        let started = web_time::Instant::now();
        let device = &self.ctx.device;
        let arena_buf = self.arena_buffer(arena);
        let mut encoder = device.create_command_encoder(&Default::default());
        // Timing (a profiling mode): each dispatch in a pass of its own that writes two timestamps.
        let mut timing = self.timed.borrow().is_some().then(|| {
            let launches = cmds.iter().filter(|c| matches!(c, Cmd::Dispatch { .. })).count();
            (Queries::new(device, launches), Vec::new())
        });
        // Consecutive dispatches share one compute pass (wgpu orders them by their buffer uses); a copy
        // ends the pass, since copies are recorded on the encoder.
        let mut pass: Option<wgpu::ComputePass<'static>> = None;
        for cmd in cmds {
            match cmd {
                Cmd::Upload { dst, at, size } => {
                    pass = None;
                    if let Some(src) = &arena_buf {
                        encoder.copy_buffer_to_buffer(src, at, &dst, 0, size);
                    }
                }
                Cmd::Copy { src, dst, size } => {
                    pass = None;
                    encoder.copy_buffer_to_buffer(&src, 0, &dst, 0, size);
                }
                Cmd::Dispatch { shader, entry, params, bufs, groups } => {
                    let Some(arena_buf) = &arena_buf else { continue };
                    let pipeline = self.pipeline(shader, entry);
                    let bind_group =
                        self.bind_group(&pipeline, arena_buf, (shader.name, entry, params, bufs));
                    if let Some((queries, labels)) = &mut timing {
                        drop(pass.take()); // a pass must end before the next begins
                        let timestamp_writes = queries.writes(labels.len());
                        labels.push((kernel_name(shader, entry), groups));
                        let desc = wgpu::ComputePassDescriptor { label: None, timestamp_writes };
                        pass = Some(encoder.begin_compute_pass(&desc).forget_lifetime());
                    }
                    let pass = pass.get_or_insert_with(|| {
                        encoder.begin_compute_pass(&Default::default()).forget_lifetime()
                    });
                    pass.set_pipeline(&pipeline);
                    pass.set_bind_group(0, &bind_group, &[]);
                    pass.dispatch_workgroups(groups[0], groups[1], groups[2]);
                    self.dispatches.set(self.dispatches.get() + 1);
                }
            }
        }
        drop(pass);
        if let Some((queries, labels)) = timing {
            let timed = queries.finish(&mut encoder, labels);
            if let Some(submits) = self.timed.borrow_mut().as_mut() {
                submits.push(timed);
            }
        }
        if let Some((src, dst, size)) = then {
            encoder.copy_buffer_to_buffer(src, 0, dst, 0, size);
        }
        self.ctx.queue.submit([encoder.finish()]);
        self.submits.set(self.submits.get() + 1);
        self.encode_ms.set(self.encode_ms.get() + started.elapsed().as_secs_f64() * 1e3);
    }

    /// The buffer holding every recorded op's parameters and uploaded values, written through the queue
    /// (so it lands before this submit's commands and after the previous submit's, which read the old
    /// contents). Kept from submit to submit, and grown when a submit needs more, so that the bind groups
    /// pointing into it stay valid. On a lost device the write fails like any other GPU call: reported
    /// through the device's error scope, never a panic.
    fn arena_buffer(&self, mut arena: Vec<u8>) -> Option<wgpu::Buffer> {
        if arena.is_empty() {
            return None;
        }
        arena.resize(arena.len().next_multiple_of(wgpu::COPY_BUFFER_ALIGNMENT as usize), 0);
        let needed = arena.len() as u64;
        let make = |size: u64| {
            self.ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("arena"),
                size,
                usage: wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::COPY_SRC
                    | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        };
        let buf = if needed > MAX_KEPT_ARENA_BYTES {
            make(needed) // this submit's only (`bind_group` does not cache what points into it)
        } else {
            let mut slot = self.arena_buf.borrow_mut();
            if slot.as_ref().is_none_or(|b| b.size() < needed) {
                *slot = Some(make(needed.next_power_of_two().max(MIN_ARENA_BYTES)));
                // Every cached bind group points into the old buffer.
                self.bind_groups.borrow_mut().clear();
            }
            slot.clone()?
        };
        self.ctx.queue.write_buffer(&buf, 0, &arena);
        Some(buf)
    }

    /// The bind group for one dispatch: its parameters (a range of the arena) at binding 0, its buffers at
    /// 1, 2, ... Made once per distinct key, then taken from the cache.
    fn bind_group(
        &self,
        pipeline: &wgpu::ComputePipeline,
        arena: &wgpu::Buffer,
        key: BindKey,
    ) -> wgpu::BindGroup {
        if let Some(group) = self.bind_groups.borrow().get(&key) {
            return group.clone();
        }
        let (_, entry, (offset, size), bufs) = &key;
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: arena,
                offset: *offset,
                size: wgpu::BufferSize::new(*size),
            }),
        }];
        entries.extend(
            bufs.iter().enumerate().map(|(i, b)| wgpu::BindGroupEntry {
                binding: i as u32 + 1,
                resource: b.as_entire_binding(),
            }),
        );
        let group = self.ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(entry),
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        });
        self.bind_groups_made.set(self.bind_groups_made.get() + 1);
        if self.arena_buf.borrow().as_ref() != Some(arena) {
            return group; // a one-off arena: caching would keep it alive
        }
        let mut cache = self.bind_groups.borrow_mut();
        if cache.len() >= MAX_BIND_GROUPS {
            cache.clear();
        }
        cache.insert(key, group.clone());
        group
    }

    /// Submits everything recorded and reads `buf` back. Natively this waits on `device.poll`; in the
    /// browser it awaits the mapping promise, so the page never blocks.
    pub async fn read(&self, buf: &GpuBuf) -> Result<Vec<f32>> {
        let bytes = (buf.words * 4) as u64;
        if bytes == 0 {
            self.flush()?;
            return Ok(Vec::new());
        }
        let staging = self.ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: bytes,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        self.submit(Some((buf.raw(), &staging, bytes)));
        if let Some(e) = self.take_error() {
            return Err(e);
        }
        let out = read_mapped(&self.ctx, &staging).await.map_err(tidy)?;
        if let Some(e) = self.take_error() {
            return Err(e);
        }
        Ok(out)
    }

    /// Submits everything recorded and resolves once the GPU has finished it (benchmarks): natively a wait on
    /// the device; in the browser the awaited readback of one value copied after all earlier work.
    pub async fn sync(self: &Rc<Self>) -> Result<()> {
        #[cfg(not(target_arch = "wasm32"))]
        return self.wait_idle();
        #[cfg(target_arch = "wasm32")]
        {
            let probe = self.alloc(1);
            self.read(&probe).await.map(drop)
        }
    }

    /// Submits everything recorded and waits until the GPU has finished it (native benchmarks only).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn wait_idle(&self) -> Result<()> {
        self.flush()?;
        self.ctx
            .device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| LabError::Gpu { op: "wait", message: e.to_string() })?;
        self.take_error().map_or(Ok(()), Err)
    }

    /// `read` for native code, which may wait: after `device.poll` the mapping has completed.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn read_blocking(&self, buf: &GpuBuf) -> Result<Vec<f32>> {
        use std::future::Future;
        use std::task::{Context, Poll, Waker};
        let mut fut = std::pin::pin!(self.read(buf));
        match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(r) => r,
            Poll::Pending => Err(LabError::Device("the GPU did not finish a readback".into())),
        }
    }
}

/// A launch's name in traces and timelines: "shader/entry".
fn kernel_name(shader: Shader, entry: &str) -> String {
    format!("{}/{entry}", shader.name)
}

/// The commands with every upload that can go first moved ahead of the rest, in order: one whose buffer no
/// earlier command of the submit touches, so that nothing reads or writes it before the upload would have
/// run anyway. An upload between two launches (a batch's labels, recorded mid-forward) ends the compute
/// pass and adds a transfer barrier: 5-10 µs of an H200's time between dependent launches (the step
/// timelines, `bench --workloads --gpu --timeline`).
// A wgpu::Buffer hashes and compares by identity (as the bind-group cache's keys do); its interior state
// never enters the hash.
#[allow(clippy::mutable_key_type)]
fn hoist_uploads(cmds: Vec<Cmd>) -> Vec<Cmd> {
    let mut touched = std::collections::HashSet::new();
    let (mut first, mut rest) = (Vec::new(), Vec::with_capacity(cmds.len()));
    for cmd in cmds {
        match &cmd {
            Cmd::Upload { dst, .. } if !touched.contains(dst) => {
                first.push(cmd);
                continue;
            }
            Cmd::Upload { dst, .. } => {
                touched.insert(dst.clone());
            }
            Cmd::Copy { src, dst, .. } => {
                touched.insert(src.clone());
                touched.insert(dst.clone());
            }
            Cmd::Dispatch { bufs, .. } => touched.extend(bufs.iter().cloned()),
        }
        rest.push(cmd);
    }
    first.extend(rest);
    first
}

/// Maps a `MAP_READ` buffer and copies its floats out. Natively this blocks on `device.poll`; in the browser
/// it awaits the mapping promise, so the page never blocks. (Shared with the standalone `add` kernel.)
pub(super) async fn read_mapped(ctx: &GpuContext, staging: &wgpu::Buffer) -> Result<Vec<f32>> {
    let (tx, rx) = oneshot::channel();
    staging.map_async(wgpu::MapMode::Read, .., move |r| {
        let _ = tx.send(r);
    });
    #[cfg(not(target_arch = "wasm32"))]
    ctx.device
        .poll(wgpu::PollType::wait_indefinitely())
        .map_err(|e| LabError::Gpu { op: "readback", message: e.to_string() })?;
    #[cfg(target_arch = "wasm32")]
    let _ = ctx;
    let mapped =
        rx.await.map_err(|_| LabError::Device("the GPU was lost before the result came back".into()))?;
    mapped.map_err(|e| LabError::Gpu { op: "readback", message: e.to_string() })?;
    let out = {
        let view = staging
            .get_mapped_range(..)
            .map_err(|e| LabError::Gpu { op: "readback", message: e.to_string() })?;
        // The mapped bytes need not be 4-aligned for a cast, so read them element by element.
        bytemuck::pod_collect_to_vec::<u8, f32>(&view)
    };
    staging.unmap();
    Ok(out)
}

/// The same error with its wgpu text in one line.
fn tidy(e: LabError) -> LabError {
    match e {
        LabError::Gpu { op, message } => LabError::Gpu { op, message: one_line(&message) },
        LabError::Device(message) => LabError::Device(one_line(&message)),
        other => other,
    }
}

/// wgpu's error reports span lines (a cause chain, then a source excerpt with box-drawing marks); the lab
/// shows them in one status line, so keep the text lines and join them.
fn one_line(message: &str) -> String {
    let skip = |l: &str| {
        l.is_empty()
            || l == "Caused by:"
            || l.starts_with(['│', '┌', '└', '^', '='])
            || l.split_once('│').is_some_and(|(n, _)| n.trim().chars().all(|c| c.is_ascii_digit()))
    };
    message.lines().map(str::trim).filter(|l| !skip(l)).collect::<Vec<_>>().join(": ")
}

/// Workgroups to cover `n` items: a 1-D grid, folded into 2-D past WebGPU's per-dimension limit.
pub fn grid_for(n: u64) -> (u32, u32) {
    let groups = n.div_ceil(u64::from(WORKGROUP));
    if groups == 0 {
        return (0, 0);
    }
    let x = groups.min(u64::from(MAX_GROUPS_PER_DIM));
    let y = groups.div_ceil(x);
    (x as u32, y as u32)
}

/// A pooled GPU buffer of `words` 32-bit values; back to the pool when dropped.
pub struct GpuBuf {
    buffer: Option<wgpu::Buffer>,
    words: usize,
    rt: Rc<Runtime>,
}

impl GpuBuf {
    pub fn raw(&self) -> &wgpu::Buffer {
        self.buffer.as_ref().expect("present until drop")
    }

    /// Number of 32-bit values.
    pub fn len(&self) -> usize {
        self.words
    }

    pub fn is_empty(&self) -> bool {
        self.words == 0
    }

    pub fn runtime(&self) -> &Rc<Runtime> {
        &self.rt
    }

    /// A new buffer with the same values (copied when the recorded commands run).
    pub fn clone_contents(&self) -> GpuBuf {
        let out = self.rt.alloc(self.words);
        self.rt.copy(self, &out);
        out
    }
}

impl Drop for GpuBuf {
    fn drop(&mut self) {
        if let Some(b) = self.buffer.take() {
            self.rt.release(b);
        }
    }
}

impl std::fmt::Debug for GpuBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GpuBuf({} values)", self.words)
    }
}

#[cfg(test)]
mod tests {
    use super::{grid_for, one_line};

    #[test]
    fn gpu_errors_become_one_readable_line() {
        let wgpu = "Validation Error\n\nCaused by:\n  In Device::create_shader_module, label = 'matmul'\n    \n\
                    Shader 'matmul' parsing error: expected identifier, found \"{\"\n  ┌─ wgsl:1:39\n  │\n\
                    1 │ fn main( {\n  │          ^ expected identifier\n\n";
        assert_eq!(
            one_line(wgpu),
            "Validation Error: In Device::create_shader_module, label = 'matmul': \
             Shader 'matmul' parsing error: expected identifier, found \"{\""
        );
        assert_eq!(one_line("device lost"), "device lost");
    }

    #[test]
    fn grid_covers_every_item_within_limits() {
        assert_eq!(grid_for(0), (0, 0));
        for n in [1u64, 255, 256, 257, 65_535 * 256, 65_535 * 256 + 1, 1 << 28] {
            let (x, y) = grid_for(n);
            assert!(x <= 65_535 && y <= 65_535, "n = {n}: grid {x}x{y}");
            assert!(u64::from(x) * u64::from(y) * 256 >= n, "n = {n}: grid {x}x{y} too small");
        }
    }
}
