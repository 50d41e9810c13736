//! The host side of a data-parallel step: where the recorded kernels stop so that tensors can
//! be averaged over the ranks, and the one-time broadcast that makes every rank start from
//! rank 0's state.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Collective;
use crate::tensor::read_bytes;
use crate::{Error, Gpu, Result, Tensor};

/// A point in a recorded step, before kernel `at`, where `tensors` are averaged over the
/// ranks (a network's gradients before its optimiser, the metric slots before they are
/// logged).
pub(crate) struct Reduction {
    pub(crate) at: usize,
    pub(crate) tensors: Vec<Tensor>,
}

/// One reduction's staging buffer and its place in the host buffer.
struct Point {
    at: usize,
    tensors: Vec<Tensor>,
    staging: wgpu::Buffer,
    floats: usize,
    /// Set by the mapping's callback: 1 mapped, 2 failed (0 while pending).
    mapped: Arc<AtomicU8>,
}

/// The reductions of a recorded step with everything they need made once: a staging buffer
/// per point and one host buffer, so a step allocates nothing of its own.
pub(crate) struct Exchange {
    group: Arc<dyn Collective>,
    points: Vec<Point>,
    host: Vec<f32>,
    /// What rank 0 sends every rank before the first step: parameters, optimiser moments,
    /// the step state.
    replicated: Vec<Tensor>,
    replicate_pending: bool,
    /// Host time at the reduction points copying out of the staging buffers and back into
    /// the tensors, and scaling.
    pub(crate) copying: Duration,
    /// Host time in the sums over the ranks (waiting for the slowest rank included).
    pub(crate) summing: Duration,
    /// Steps that went through the reductions.
    pub(crate) steps: u64,
}

impl Exchange {
    pub(crate) fn new(
        gpu: &Gpu,
        group: Arc<dyn Collective>,
        reductions: Vec<Reduction>,
        replicated: Vec<Tensor>,
    ) -> Exchange {
        let points: Vec<Point> = reductions
            .into_iter()
            .map(|r| {
                let floats = r.tensors.iter().map(Tensor::len).sum::<usize>();
                let staging = gpu.device().create_buffer(&wgpu::BufferDescriptor {
                    label: Some("all-reduce staging"),
                    size: (floats * 4) as u64,
                    usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                });
                Point {
                    at: r.at,
                    tensors: r.tensors,
                    staging,
                    floats,
                    mapped: Arc::new(AtomicU8::new(0)),
                }
            })
            .collect();
        let largest = points.iter().map(|p| p.floats).max().unwrap_or(0);
        Exchange {
            group,
            points,
            host: vec![0.0; largest],
            replicated,
            replicate_pending: true,
            copying: Duration::ZERO,
            summing: Duration::ZERO,
            steps: 0,
        }
    }

    /// Bytes each rank sends into the sums of one step.
    pub(crate) fn bytes_per_step(&self) -> u64 {
        self.points.iter().map(|p| p.floats as u64 * 4).sum()
    }

    /// Reductions in a step.
    pub(crate) fn count(&self) -> usize {
        self.points.len()
    }

    /// The kernel index where the step stops for reduction `i` (in order).
    pub(crate) fn cut(&self, i: usize) -> usize {
        self.points[i].at
    }

    /// Makes the next step start from rank 0's state again (after a checkpoint is loaded).
    pub(crate) fn replicate_again(&mut self) {
        self.replicate_pending = true;
    }

    /// Before the first step (and after a restore): every replicated tensor takes rank 0's
    /// values. Blocking; once per run.
    pub(crate) fn replicate_if_pending(&mut self, gpu: &Gpu) -> Result<()> {
        if !self.replicate_pending {
            return Ok(());
        }
        for t in &self.replicated {
            let mut bytes = read_bytes(gpu, t.buffer(), t.byte_offset(), t.byte_len())?;
            self.group.broadcast(&mut bytes)?;
            gpu.queue()
                .write_buffer(t.buffer(), t.byte_offset(), &bytes);
        }
        self.replicate_pending = false;
        Ok(())
    }

    /// Reduction `i`: submits `encoder` (the step so far) with the copies into the point's
    /// staging buffer, waits for it, averages the values over the ranks and writes them back.
    /// Returns a fresh encoder for the rest of the step.
    pub(crate) fn reduce(
        &mut self,
        gpu: &Gpu,
        i: usize,
        mut encoder: wgpu::CommandEncoder,
    ) -> Result<wgpu::CommandEncoder> {
        if i == 0 {
            self.steps += 1;
        }
        let p = &self.points[i];
        let mut offset = 0;
        for t in &p.tensors {
            encoder.copy_buffer_to_buffer(
                t.buffer(),
                t.byte_offset(),
                &p.staging,
                offset,
                t.byte_len(),
            );
            offset += t.byte_len();
        }
        gpu.queue().submit([encoder.finish()]);
        let slice = p.staging.slice(..);
        p.mapped.store(0, Ordering::Release);
        let status = p.mapped.clone();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            status.store(if r.is_ok() { 1 } else { 2 }, Ordering::Release);
        });
        // Waiting for the queue runs the callback, or another thread polling the same
        // device does, a moment later: wait for that too.
        gpu.wait()?;
        let waited = Instant::now();
        while p.mapped.load(Ordering::Acquire) == 0 && waited.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(1));
        }
        let mapped = |e: String| Error::Gpu {
            context: "copying gradients out for the all-reduce".into(),
            message: e,
        };
        if p.mapped.load(Ordering::Acquire) != 1 {
            return Err(mapped("the staging buffer was not mapped".into()));
        }
        let started = Instant::now();
        let host = &mut self.host[..p.floats];
        {
            let view = slice
                .get_mapped_range()
                .map_err(|e| mapped(e.to_string()))?;
            host.copy_from_slice(bytemuck::cast_slice(&view));
        }
        p.staging.unmap();
        let summed = Instant::now();
        self.group.sum(host)?;
        let sum_time = summed.elapsed();
        self.summing += sum_time;
        let scale = 1.0 / self.group.ranks() as f32;
        for v in host.iter_mut() {
            *v *= scale;
        }
        let mut start = 0;
        for t in &p.tensors {
            let part = &host[start..start + t.len()];
            gpu.queue()
                .write_buffer(t.buffer(), t.byte_offset(), bytemuck::cast_slice(part));
            start += t.len();
        }
        self.copying += started.elapsed().saturating_sub(sum_time);
        Ok(gpu
            .device()
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("step after an all-reduce"),
            }))
    }
}
