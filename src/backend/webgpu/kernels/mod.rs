//! WGSL kernels, each the twin of a scalar reference kernel in `backend::cpu` with the same name.

use wgpu::util::DeviceExt;

use super::GpuContext;
use super::runtime::{grid_for, read_mapped};
use crate::error::{LabError, Result};

const ADD_WGSL: &str = include_str!("add.wgsl");

/// `a + b` on the GPU, read back to the host: twin of [`crate::backend::cpu::add_ref`].
/// a, b: (n,) -> (n,)
pub async fn add(ctx: &GpuContext, a: &[f32], b: &[f32]) -> Result<Vec<f32>> {
    if a.len() != b.len() {
        return Err(LabError::Shape { op: "add", left: vec![a.len()], right: vec![b.len()] });
    }
    if a.is_empty() {
        return Ok(Vec::new());
    }
    let bytes = (a.len() * 4) as u64;
    let max = ctx.adapter.max_storage_buffer_bytes;
    if bytes > max {
        return Err(LabError::InvalidArgument(format!(
            "add: {} floats need {bytes} bytes, more than this GPU's {max}-byte storage buffer limit",
            a.len()
        )));
    }
    let device = &ctx.device;
    let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
    let oom = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);

    let storage = |label, data: &[f32]| {
        device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: bytemuck::cast_slice(data),
            usage: wgpu::BufferUsages::STORAGE,
        })
    };
    let (buf_a, buf_b) = (storage("add.a", a), storage("add.b", b));
    let buf_out = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("add.out"),
        size: bytes,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    });
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("add.wgsl"),
        source: wgpu::ShaderSource::Wgsl(ADD_WGSL.into()),
    });
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some("add"),
        layout: None,
        module: &module,
        entry_point: Some("main"),
        compilation_options: Default::default(),
        cache: None,
    });
    let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("add"),
        layout: &pipeline.get_bind_group_layout(0),
        entries: &[
            wgpu::BindGroupEntry { binding: 0, resource: buf_a.as_entire_binding() },
            wgpu::BindGroupEntry { binding: 1, resource: buf_b.as_entire_binding() },
            wgpu::BindGroupEntry { binding: 2, resource: buf_out.as_entire_binding() },
        ],
    });
    let mut encoder = device.create_command_encoder(&Default::default());
    {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        pass.set_pipeline(&pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        let (x, y) = grid_for(a.len() as u64);
        pass.dispatch_workgroups(x, y, 1);
    }
    let staging = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("add.readback"),
        size: bytes,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    encoder.copy_buffer_to_buffer(&buf_out, 0, &staging, 0, bytes);
    ctx.queue.submit([encoder.finish()]);

    if let Some(e) = oom.pop().await {
        return Err(LabError::Gpu { op: "add", message: format!("out of GPU memory: {e}") });
    }
    if let Some(e) = scope.pop().await {
        return Err(LabError::Gpu { op: "add", message: e.to_string() });
    }
    read_mapped(ctx, &staging).await
}
