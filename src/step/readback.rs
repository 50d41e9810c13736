//! Asynchronous metric readback: every N steps the rows of the GPU's history ring written
//! since the last copy, and the step state, are copied into one of a few staging buffers in
//! the step's own encoder and mapped; rows are collected on later steps without ever waiting
//! for the GPU (unless every buffer is in flight). Copying only the new rows keeps a flush
//! after every step cheap however long the ring is.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use crate::distributed::Exchange;
use crate::gpu::Kernel;
use crate::{Error, Gpu, Result, Tensor};

/// Staging buffers in flight at once.
const RING: usize = 3;

/// One step's logged metrics, as a trainer hands them to its user.
pub(crate) trait Row: Clone {
    /// The row of 1-based step `step` whose metric slots hold `values`.
    fn from_slots(step: u64, values: &[f32]) -> Self;
    fn step(&self) -> u64;
    /// The metric slots' values, in slot order.
    fn slots(&self) -> Vec<f32>;
}

/// A row of any number of slots, for trainers whose rows stay inside the library.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Logged {
    pub(crate) step: u64,
    pub(crate) values: Vec<f32>,
}

impl Row for Logged {
    fn from_slots(step: u64, values: &[f32]) -> Self {
        Logged {
            step,
            values: values.to_vec(),
        }
    }

    fn step(&self) -> u64 {
        self.step
    }

    fn slots(&self) -> Vec<f32> {
        self.values.clone()
    }
}

const IDLE: u8 = 0;
const PENDING: u8 = 1;
const READY: u8 = 2;
const FAILED: u8 = 3;

struct Slot {
    buffer: wgpu::Buffer,
    status: Arc<AtomicU8>,
    /// The ring rows copied into it, as (first row, rows): the new rows wrap at most once.
    copied: [(usize, usize); 2],
}

pub(crate) struct Readback<M> {
    /// What each metric slot holds, for divergence errors.
    names: &'static [&'static str],
    slots: Vec<Slot>,
    /// Order in which slots were submitted.
    queue: std::collections::VecDeque<usize>,
    next: usize,
    history_bytes: u64,
    rows: usize,
    last_step: u64,
    /// Iterations whose rows have been copied out (or were logged before a resume).
    copied: u64,
    pub(crate) collected: Vec<M>,
}

/// Polls until `pending` is false: another thread polling the same device may be the one
/// that runs a map callback, a moment after our own wait returned.
#[cfg(not(target_arch = "wasm32"))]
fn wait_for_maps(gpu: &Gpu, poll: &wgpu::PollType, pending: impl Fn() -> bool) -> Result<()> {
    let started = std::time::Instant::now();
    while pending() {
        if started.elapsed() > std::time::Duration::from_secs(60) {
            return Err(Error::Gpu {
                context: "mapping metrics".into(),
                message: "the staging buffer was not mapped within 60 s".into(),
            });
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
        gpu.device().poll(poll.clone()).map_err(|e| Error::Gpu {
            context: "polling for metrics".into(),
            message: e.to_string(),
        })?;
    }
    Ok(())
}

/// In a browser the maps complete only when the page's event loop runs, so a step that finds
/// every staging buffer in flight cannot wait for one.
#[cfg(target_arch = "wasm32")]
fn wait_for_maps(_: &Gpu, _: &wgpu::PollType, _: impl Fn() -> bool) -> Result<()> {
    Err(Error::Gpu {
        context: "mapping metrics".into(),
        message: format!(
            "all {RING} metric buffers are still mapping: let the page's event loop run (await \
             a frame or a readback) at least every {RING} readbacks"
        ),
    })
}

impl<M: Row> Readback<M> {
    /// Staging for a history ring of `rows` rows of the step and `names.len()` slots.
    pub(crate) fn new(gpu: &Gpu, rows: usize, names: &'static [&'static str]) -> Readback<M> {
        let history_bytes = (rows * (names.len() + 1) * 4) as u64;
        let slots = (0..RING)
            .map(|_| Slot {
                buffer: gpu.device().create_buffer(&wgpu::BufferDescriptor {
                    label: Some("metrics staging"),
                    size: history_bytes + 16,
                    usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                }),
                status: Arc::new(AtomicU8::new(IDLE)),
                copied: [(0, 0); 2],
            })
            .collect();
        Readback {
            names,
            slots,
            queue: Default::default(),
            next: 0,
            history_bytes,
            rows,
            last_step: 0,
            copied: 0,
            collected: Vec::new(),
        }
    }

    /// Records the copies into `encoder` of the rows of iterations run since the last copy,
    /// `iterations` having run in all; returns the slot to map after submission.
    /// Waits for (and collects) the oldest readback if every slot is still in flight.
    pub fn record(
        &mut self,
        gpu: &Gpu,
        encoder: &mut wgpu::CommandEncoder,
        (history, state): (&Tensor, &Tensor),
        iterations: u64,
    ) -> Result<usize> {
        let slot = self.next;
        if self.slots[slot].status.load(Ordering::Acquire) != IDLE {
            self.collect(gpu, true)?;
        }
        // Iteration t sits in row t mod rows; the new ones wrap around the ring at most once.
        let rows = self.rows as u64;
        let new = iterations.saturating_sub(self.copied).min(rows) as usize;
        let first = ((iterations - new as u64) % rows) as usize;
        let head = new.min(self.rows - first);
        let copied = [(first, head), (0, new - head)];
        let row_bytes = self.history_bytes / rows;
        let buf = &self.slots[slot].buffer;
        for (row, count) in copied {
            if count > 0 {
                let at = row as u64 * row_bytes;
                encoder.copy_buffer_to_buffer(
                    history.buffer(),
                    history.byte_offset() + at,
                    buf,
                    at,
                    count as u64 * row_bytes,
                );
            }
        }
        encoder.copy_buffer_to_buffer(
            state.buffer(),
            state.byte_offset(),
            buf,
            self.history_bytes,
            16,
        );
        self.slots[slot].copied = copied;
        self.copied = iterations;
        self.next = (slot + 1) % RING;
        Ok(slot)
    }

    /// Starts mapping a slot whose copies have been submitted.
    pub fn map(&mut self, slot: usize) {
        let status = self.slots[slot].status.clone();
        status.store(PENDING, Ordering::Release);
        self.slots[slot]
            .buffer
            .slice(..)
            .map_async(wgpu::MapMode::Read, move |r| {
                status.store(if r.is_ok() { READY } else { FAILED }, Ordering::Release);
            });
        self.queue.push_back(slot);
    }

    /// Collects finished readbacks in order; with `wait`, blocks until all in flight are done.
    /// Returns the 1-based step of the first non-finite metric if the GPU flagged one.
    pub fn collect(&mut self, gpu: &Gpu, wait: bool) -> Result<Option<u64>> {
        let poll = if wait {
            wgpu::PollType::wait_indefinitely()
        } else {
            wgpu::PollType::Poll
        };
        gpu.device().poll(poll.clone()).map_err(|e| Error::Gpu {
            context: "polling for metrics".into(),
            message: e.to_string(),
        })?;
        if wait && self.in_flight() {
            wait_for_maps(gpu, &poll, || self.in_flight())?;
        }
        let mut diverged = None;
        while let Some(&slot) = self.queue.front() {
            let s = &self.slots[slot];
            match s.status.load(Ordering::Acquire) {
                READY => {}
                FAILED => {
                    return Err(Error::Gpu {
                        context: "mapping metrics".into(),
                        message: "the staging buffer could not be mapped".into(),
                    })
                }
                _ => break,
            }
            self.queue.pop_front();
            let row_len = self.names.len() + 1;
            // The copied rows with their ring indices, and the step state.
            let (rows, state): (Vec<(usize, Vec<u32>)>, Vec<u32>) = {
                let view = s
                    .buffer
                    .slice(..)
                    .get_mapped_range()
                    .map_err(|e| Error::Gpu {
                        context: "reading metrics".into(),
                        message: e.to_string(),
                    })?;
                let words: &[u32] = bytemuck::cast_slice(&view);
                let rows = s
                    .copied
                    .iter()
                    .flat_map(|&(first, count)| first..first + count)
                    .map(|i| (i, words[i * row_len..(i + 1) * row_len].to_vec()))
                    .collect();
                (rows, words[self.rows * row_len..].to_vec())
            };
            s.buffer.unmap();
            s.status.store(IDLE, Ordering::Release);
            let flagged = self.absorb(&rows, &state);
            diverged = diverged.or(flagged);
        }
        Ok(diverged)
    }

    fn absorb(&mut self, copied: &[(usize, Vec<u32>)], state: &[u32]) -> Option<u64> {
        let done = state[0] as u64;
        let rows_in_ring = self.rows;
        let mut rows: Vec<M> = copied
            .iter()
            // Iteration t is written to row t mod rows; a row never written yet reads as
            // iteration 0 and must not pass for step 1.
            .filter(|(i, r)| r[0] as usize % rows_in_ring == *i)
            .map(|(_, r)| {
                let values: &[f32] = bytemuck::cast_slice(&r[1..]);
                M::from_slots(r[0] as u64 + 1, values)
            })
            .filter(|m| m.step() > self.last_step && m.step() <= done)
            .collect();
        rows.sort_by_key(M::step);
        if let Some(last) = rows.last() {
            self.last_step = last.step();
        }
        self.collected.extend(rows);
        (state[1] != 0).then_some(state[1] as u64)
    }

    /// Encodes `kernels` in one compute pass and submits them: one training iteration (or,
    /// data-parallel, one pass per stretch between the `exchange`'s reductions).
    /// `step` is the iteration count after this one; every `every`-th iteration the history
    /// ring is copied out too. Collects finished readbacks without waiting; a NaN or Inf the
    /// GPU flagged is [`Error::Diverged`] naming its step.
    #[allow(clippy::too_many_arguments)]
    pub fn submit_step(
        &mut self,
        gpu: &Gpu,
        label: &str,
        (kernels, runs): (&[Kernel], &dyn Fn(usize) -> bool),
        exchange: Option<&mut Exchange>,
        (history, state): (&Tensor, &Tensor),
        step: u64,
        every: u64,
    ) -> Result<()> {
        let mut encoder = gpu
            .device()
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(label) });
        // Kernels `runs` turns down this step (a lazy penalty's) are left out.
        let encode = |encoder: &mut wgpu::CommandEncoder, part: std::ops::Range<usize>| {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some(label),
                timestamp_writes: None,
            });
            for i in part {
                if runs(i) {
                    kernels[i].encode(&mut pass)?;
                }
            }
            Ok(())
        };
        let mut start = 0;
        if let Some(exchange) = exchange {
            for i in 0..exchange.count() {
                let at = exchange.cut(i);
                encode(&mut encoder, start..at)?;
                encoder = exchange.reduce(gpu, i, encoder)?;
                start = at;
            }
        }
        encode(&mut encoder, start..kernels.len())?;
        let slot = if step.is_multiple_of(every) {
            Some(self.record(gpu, &mut encoder, (history, state), step)?)
        } else {
            None
        };
        gpu.queue().submit([encoder.finish()]);
        if let Some(slot) = slot {
            self.map(slot);
        }
        let flagged = self.collect(gpu, false)?;
        self.check(flagged)
    }

    /// Copies the history ring's new rows now (`iterations` having run), waits for the GPU
    /// and collects every step run so far.
    pub fn flush(
        &mut self,
        gpu: &Gpu,
        (history, state): (&Tensor, &Tensor),
        iterations: u64,
    ) -> Result<()> {
        let mut encoder = gpu.device().create_command_encoder(&Default::default());
        let slot = self.record(gpu, &mut encoder, (history, state), iterations)?;
        gpu.queue().submit([encoder.finish()]);
        self.map(slot);
        let flagged = self.collect(gpu, true)?;
        self.check(flagged)
    }

    /// As [`Readback::flush`] without blocking: the way to flush in a browser, where the maps
    /// complete only while the page's event loop runs.
    pub async fn flush_async(
        &mut self,
        gpu: &Gpu,
        (history, state): (&Tensor, &Tensor),
        iterations: u64,
    ) -> Result<()> {
        self.settle(gpu, state).await?;
        let mut encoder = gpu.device().create_command_encoder(&Default::default());
        let slot = self.record(gpu, &mut encoder, (history, state), iterations)?;
        gpu.queue().submit([encoder.finish()]);
        self.map(slot);
        self.settle(gpu, state).await?;
        let flagged = self.collect(gpu, true)?;
        self.check(flagged)
    }

    /// Awaits readbacks of the step state until no map is in flight: each completes after
    /// the work submitted before it, and the maps were submitted before it.
    async fn settle(&self, gpu: &Gpu, state: &Tensor) -> Result<()> {
        for _ in 0..=RING {
            if !self.in_flight() {
                break;
            }
            crate::tensor::read_bytes_async(gpu, state.buffer(), state.byte_offset(), 16).await?;
        }
        Ok(())
    }

    /// Whether a staging buffer is still being mapped.
    fn in_flight(&self) -> bool {
        self.queue
            .iter()
            .any(|&slot| self.slots[slot].status.load(Ordering::Acquire) == PENDING)
    }

    fn check(&self, flagged: Option<u64>) -> Result<()> {
        match flagged {
            Some(step) => {
                let (what, value) = self.describe(step);
                Err(Error::Diverged { step, what, value })
            }
            None => Ok(()),
        }
    }

    /// Restarts the history at `step` (after resuming from a checkpoint) with the rows
    /// logged before it.
    pub fn skip_to(&mut self, step: u64, earlier: Vec<M>) {
        self.last_step = step;
        self.copied = step;
        self.collected = earlier;
        self.collected.retain(|m| m.step() <= step);
    }

    /// Names the first non-finite value logged at `step`.
    pub fn describe(&self, step: u64) -> (String, f32) {
        if let Some(m) = self.collected.iter().find(|m| m.step() == step) {
            let vals = m.slots();
            if let Some(i) = vals.iter().position(|v| !v.is_finite()) {
                return (self.names[i].to_string(), vals[i]);
            }
        }
        ("a loss".to_string(), f32::NAN)
    }
}
