//! What a GAN trainer keeps once its iteration is recorded, and everything it does with it
//! that does not depend on what the iteration feeds G and D: replay it with one submission
//! per step, collect the metrics, draw from the fixed latent vectors, save and resume.

use std::path::Path;

use crate::gan::ema::{Ema, EMA_NETWORK};
use crate::gan::readback::{Readback, StepMetrics};
use crate::gpu::Kernel;
use crate::io::checkpoint::{self, Checkpoint, Extras};
use crate::io::metrics_log::QualityPoint;
use crate::nn::Network;
use crate::tape::Tape;
use crate::{Error, Gpu, Result, Tensor};

pub(crate) struct GanRunner {
    pub(crate) gpu: Gpu,
    pub(crate) g: Network,
    pub(crate) d: Network,
    /// The moving average of G's weights, when kept.
    pub(crate) ema: Option<Ema>,
    pub(crate) kernels: Vec<Kernel>,
    /// What a failed submission is called in errors.
    pub(crate) what: &'static str,
    pub(crate) state: Tensor,
    pub(crate) history: Tensor,
    pub(crate) readback: Readback,
    pub(crate) readback_every: u64,
    pub(crate) steps: u64,
    /// The sampling generator on the fixed latent input.
    pub(crate) sampler: Tape,
    pub(crate) quality: Vec<QualityPoint>,
    /// Kept alive for the kernels that bind them.
    pub(crate) _tapes: Vec<Tape>,
}

impl GanRunner {
    /// One iteration: one encoder, one submission; every `readback_every` steps the metrics
    /// are copied out and collected asynchronously, a NaN or Inf among them an error.
    pub(crate) fn step(&mut self) -> Result<()> {
        self.steps += 1;
        self.readback.submit_step(
            &self.gpu,
            self.what,
            &self.kernels,
            &self.history,
            &self.state,
            self.steps,
            self.readback_every,
        )
    }

    /// Waits for the GPU and collects the metrics of every step run so far.
    pub(crate) fn flush(&mut self) -> Result<()> {
        self.readback.flush(&self.gpu, &self.history, &self.state)
    }

    /// Saves G, D (with their optimiser state), the weight average, `tensors`, the step
    /// counter, the metrics history and the quality log, after a flush so that a diverged
    /// state is refused rather than saved.
    pub(crate) fn save(&mut self, path: &Path, tensors: &[(&str, &Tensor)]) -> Result<()> {
        self.flush()?;
        let weights: Vec<(&str, &Network)> = self
            .ema
            .iter()
            .map(|e| (EMA_NETWORK, e.network()))
            .collect();
        checkpoint::save_with(
            &self.gpu,
            path,
            &[("G", &self.g), ("D", &self.d)],
            Extras {
                weights: &weights,
                tensors,
            },
            Some(&self.state),
            self.readback.collected.as_slice(),
            &self.quality,
        )
    }

    /// Restores what [`GanRunner::save`] wrote into `ckpt` (opened from `path`): the weight
    /// average restarts from G when the checkpoint has none.
    pub(crate) fn resume(
        &mut self,
        path: &Path,
        ckpt: &Checkpoint,
        tensors: &[(&str, &Tensor)],
    ) -> Result<()> {
        ckpt.load_network(&self.gpu, "G", &self.g, true)?;
        ckpt.load_network(&self.gpu, "D", &self.d, true)?;
        if let Some(ema) = &self.ema {
            ema.restore(&self.gpu, ckpt)?;
        }
        for (name, t) in tensors {
            ckpt.load_tensor(&self.gpu, name, t)?;
        }
        let state = ckpt.state()?.ok_or_else(|| Error::Data {
            path: path.to_path_buf(),
            message: "has no step counter; it holds networks only and cannot resume training"
                .into(),
        })?;
        self.state.write(&self.gpu, bytemuck::cast_slice(&state))?;
        self.steps = state[0] as u64;
        self.readback.skip_to(self.steps, ckpt.history()?);
        self.quality = ckpt.quality()?;
        self.quality.retain(|q| q.step <= self.steps);
        Ok(())
    }

    /// The most recent metrics that have reached the CPU.
    pub(crate) fn metrics(&self) -> Option<&StepMetrics> {
        self.readback.collected.last()
    }

    /// Every step's metrics that have reached the CPU, in order.
    pub(crate) fn history(&self) -> &[StepMetrics] {
        &self.readback.collected
    }

    /// Runs the sampler on the fixed input without reading back.
    pub(crate) fn generate(&self) -> Result<&Tensor> {
        self.gpu
            .run(&self.sampler.forward().iter().collect::<Vec<_>>())?;
        Ok(self.sampler.output())
    }

    /// Runs the sampler and reads its samples (blocking).
    pub(crate) fn samples(&self) -> Result<Vec<f32>> {
        self.generate()?.read(&self.gpu)
    }

    pub(crate) fn ema_generator(&self) -> Option<&Network> {
        self.ema.as_ref().map(Ema::network)
    }

    pub(crate) fn sampling_generator(&self) -> &Network {
        self.ema_generator().unwrap_or(&self.g)
    }
}
