//! A recorded training step replayed with one submission each: from step `drop_at` on, a
//! second recording of the same kernels with lowered learning rates runs instead, and the
//! last steps' metrics stay on the GPU until someone asks. The classifier's and the
//! semi-supervised GAN's trainers run on it.

use crate::gpu::Kernel;
use crate::{Error, Gpu, Result, Tensor};

pub(crate) struct RecordedStep {
    gpu: Gpu,
    kernels: Vec<Kernel>,
    dropped: Vec<Kernel>,
    drop_at: Option<u64>,
    /// `ops::data::record`'s step counter and history ring of `window` rows.
    state: Tensor,
    history: Tensor,
    window: usize,
    steps: u64,
}

impl RecordedStep {
    /// `kernels` and `dropped` each end by recording their metrics into `history` (rows of
    /// the step and the metric slots) and advancing `state`.
    pub(crate) fn new(
        gpu: &Gpu,
        (kernels, dropped): (Vec<Kernel>, Vec<Kernel>),
        drop_at: Option<u64>,
        state: Tensor,
        history: Tensor,
        window: usize,
    ) -> RecordedStep {
        RecordedStep {
            gpu: gpu.clone(),
            kernels,
            dropped,
            drop_at,
            state,
            history,
            window,
            steps: 0,
        }
    }

    /// One step: one encoder, one submission, no readback.
    pub(crate) fn step(&mut self) -> Result<()> {
        let kernels = match self.drop_at {
            Some(at) if self.steps >= at => &self.dropped,
            _ => &self.kernels,
        };
        self.gpu.run(&kernels.iter().collect::<Vec<_>>())?;
        self.steps += 1;
        Ok(())
    }

    pub(crate) fn steps(&self) -> u64 {
        self.steps
    }

    /// The mean of every metric slot over the last `window` steps (a blocking readback). A
    /// non-finite metric is [`Error::Diverged`] naming `what` and the step.
    pub(crate) fn recent(&self, what: &str) -> Result<Vec<f64>> {
        let state = self.state.read_u32(&self.gpu)?;
        if state[1] != 0 {
            return Err(Error::Diverged {
                step: state[1] as u64,
                what: what.into(),
                value: f32::NAN,
            });
        }
        let rows = self.history.read(&self.gpu)?;
        let slots = rows.len() / self.window - 1;
        let n = (self.steps as usize).min(self.window);
        let mut mean = vec![0.0f64; slots];
        for row in rows.chunks_exact(slots + 1).take(n) {
            for (m, &v) in mean.iter_mut().zip(&row[1..]) {
                *m += v as f64 / n as f64;
            }
        }
        Ok(mean)
    }
}
