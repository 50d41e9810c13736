//! A recorded step replayed with one encoder and one submission per step; the history ring
//! of logged metrics reaches the CPU asynchronously every so many steps.

use crate::distributed::{Exchange, ExchangeCost};
use crate::gpu::Kernel;
use crate::step::readback::{Readback, Row};
use crate::step::StepState;
use crate::tape::Tape;
use crate::{Gpu, Result, Tensor};

/// What a [`Recorder`](crate::step::Recorder) hands over: the step's kernels, and what they
/// bind that must outlive them.
pub(crate) struct Replayer<M> {
    gpu: Gpu,
    /// What a failed submission is called in errors.
    what: &'static str,
    kernels: Vec<Kernel>,
    /// From the step after `.0` on, these kernels (the optimisers at lowered rates) instead.
    lowered: Option<(u64, Vec<Kernel>)>,
    /// Kernels (by index, in either list) that run only in iterations 0, `.0`, 2·`.0`, ….
    periodic: Vec<(u64, std::ops::Range<usize>)>,
    state: Tensor,
    /// A ring of `every` rows: the step, then the metric slots.
    history: Tensor,
    readback: Readback<M>,
    every: u64,
    steps: u64,
    /// Data-parallel: where the step stops to average over the ranks.
    exchange: Option<Exchange>,
    /// Kept alive for the kernels that bind them.
    _tapes: Vec<Tape>,
}

/// The parts of a finished recording, in the order [`Replayer::new`] takes them.
pub(crate) struct Recorded {
    pub(crate) kernels: Vec<Kernel>,
    pub(crate) lowered: Option<(u64, Vec<Kernel>)>,
    pub(crate) periodic: Vec<(u64, std::ops::Range<usize>)>,
    pub(crate) tapes: Vec<Tape>,
    pub(crate) state: Tensor,
    pub(crate) history: Tensor,
    pub(crate) exchange: Option<Exchange>,
}

impl<M: Row> Replayer<M> {
    /// Replays `recorded`, whose history ring holds `every` rows of `names.len()` slots.
    pub(crate) fn new(
        gpu: &Gpu,
        recorded: Recorded,
        every: usize,
        names: &'static [&'static str],
        what: &'static str,
    ) -> Replayer<M> {
        Replayer {
            gpu: gpu.clone(),
            what,
            kernels: recorded.kernels,
            lowered: recorded.lowered,
            periodic: recorded.periodic,
            state: recorded.state,
            history: recorded.history,
            readback: Readback::new(gpu, every, names),
            every: every as u64,
            steps: 0,
            exchange: recorded.exchange,
            _tapes: recorded.tapes,
        }
    }

    /// One step: one encoder, one submission (data-parallel: one more per reduction); every
    /// `every` steps the metrics are copied out and collected later without waiting, a NaN
    /// or Inf among them an error.
    pub(crate) fn step(&mut self) -> Result<()> {
        if let Some(exchange) = &mut self.exchange {
            exchange.replicate_if_pending(&self.gpu)?;
        }
        let iteration = self.steps;
        self.steps += 1;
        let kernels = match &self.lowered {
            Some((at, lowered)) if self.steps > *at => lowered,
            _ => &self.kernels,
        };
        let periodic = &self.periodic;
        let runs = |i: usize| {
            periodic
                .iter()
                .all(|(every, r)| !r.contains(&i) || iteration.is_multiple_of(*every))
        };
        self.readback.submit_step(
            &self.gpu,
            self.what,
            (kernels, &runs),
            self.exchange.as_mut(),
            (&self.history, &self.state),
            self.steps,
            self.every,
        )
    }

    /// Data-parallel: what the reductions cost so far. `None` alone.
    pub(crate) fn exchange_cost(&self) -> Option<ExchangeCost> {
        self.exchange.as_ref().map(|e| ExchangeCost {
            bytes_per_step: e.bytes_per_step(),
            copying: e.copying,
            summing: e.summing,
            steps: e.steps,
        })
    }

    /// Waits for the GPU and collects the metrics of every step run so far.
    pub(crate) fn flush(&mut self) -> Result<()> {
        self.readback
            .flush(&self.gpu, (&self.history, &self.state), self.steps)
    }

    /// As [`Replayer::flush`] without blocking (in a browser).
    pub(crate) async fn flush_async(&mut self) -> Result<()> {
        self.readback
            .flush_async(&self.gpu, (&self.history, &self.state), self.steps)
            .await
    }

    /// Steps run so far.
    pub(crate) fn steps(&self) -> u64 {
        self.steps
    }

    /// Every step's metrics that have reached the CPU, in order.
    pub(crate) fn collected(&self) -> &[M] {
        &self.readback.collected
    }

    /// The mean of every metric slot over the last `n` steps, after a flush (blocking).
    pub(crate) fn recent(&mut self, n: usize) -> Result<Vec<f64>> {
        self.flush()?;
        let rows = self.collected();
        let last = &rows[rows.len().saturating_sub(n)..];
        let mut mean = Vec::new();
        for row in last {
            let slots = row.slots();
            mean.resize(slots.len(), 0.0);
            for (m, v) in mean.iter_mut().zip(slots) {
                *m += v as f64 / last.len() as f64;
            }
        }
        Ok(mean)
    }

    /// The kernels the next step runs.
    pub(crate) fn kernels(&self) -> &[Kernel] {
        match &self.lowered {
            Some((at, lowered)) if self.steps >= *at => lowered,
            _ => &self.kernels,
        }
    }

    /// The step state the kernels read.
    pub(crate) fn state(&self) -> &Tensor {
        &self.state
    }

    /// Continues at `state` (from a checkpoint) with the rows logged before it.
    pub(crate) fn restore(&mut self, state: StepState, earlier: Vec<M>) -> Result<()> {
        state.write(&self.gpu, &self.state)?;
        self.steps = state.iterations as u64;
        if let Some(exchange) = &mut self.exchange {
            exchange.replicate_again();
        }
        self.readback.skip_to(self.steps, earlier);
        Ok(())
    }

    /// Runs one step with a timestamp around every dispatch and returns the GPU time per
    /// kernel entry point (summed over its dispatches), slowest first, in milliseconds.
    /// `None` when the device cannot time inside passes. Blocking: for benchmarks only.
    pub(crate) fn profile(&mut self) -> Result<Option<Vec<(&'static str, f64)>>> {
        if !self.gpu.can_profile() {
            return Ok(None);
        }
        // Every dispatch on its own, a chained one (a lowered convolution's layout pass and
        // product) under its own entry point.
        let kernels: Vec<Kernel> = self
            .kernels()
            .iter()
            .flat_map(|k| k.parts().cloned())
            .collect();
        let device = self.gpu.device();
        let count = kernels.len() as u32 + 1;
        let set = device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("profile"),
            ty: wgpu::QueryType::Timestamp,
            count,
        });
        let resolved = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("profile"),
            size: count as u64 * 8,
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let mut encoder = device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            pass.write_timestamp(&set, 0);
            for (i, k) in kernels.iter().enumerate() {
                k.encode_alone(&mut pass)?;
                pass.write_timestamp(&set, i as u32 + 1);
            }
        }
        encoder.resolve_query_set(&set, 0..count, &resolved, 0);
        self.gpu.queue().submit([encoder.finish()]);
        self.steps += 1;
        let bytes = crate::tensor::read_bytes(&self.gpu, &resolved, 0, count as u64 * 8)?;
        let ticks: &[u64] = bytemuck::cast_slice(&bytes);
        let period = self.gpu.queue().get_timestamp_period() as f64;
        let mut by_label: Vec<(&'static str, f64)> = Vec::new();
        for (i, k) in kernels.iter().enumerate() {
            let ms = ticks[i + 1].saturating_sub(ticks[i]) as f64 * period / 1e6;
            match by_label.iter_mut().find(|(l, _)| *l == k.label()) {
                Some(e) => e.1 += ms,
                None => by_label.push((k.label(), ms)),
            }
        }
        by_label.sort_by(|a, b| b.1.total_cmp(&a.1));
        self.flush()?;
        Ok(Some(by_label))
    }
}
