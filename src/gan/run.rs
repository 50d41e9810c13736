//! What a GAN trainer keeps once its iteration is recorded, and everything it does with it
//! that does not depend on what the iteration feeds G and D: replay it, collect the
//! metrics, draw from the fixed latent vectors, save and resume. Every GAN trainer derefs
//! to it, so these methods are the trainers' own.

use std::path::Path;

use crate::distributed::{self, ExchangeCost};
use crate::gan::ema::{Ema, EMA_NETWORK};
use crate::io::checkpoint::{self, Checkpoint, Extras};
use crate::metrics::{QualityPoint, StepMetrics};
use crate::nn::Network;
use crate::step::Replayer;
use crate::tape::Tape;
use crate::{Error, Gpu, Result, Tensor};

/// A GAN's recorded iteration being trained: [`Trainer`](crate::Trainer) and
/// [`ConditionalTrainer`](crate::gan::conditional::ConditionalTrainer) dereference to it.
pub struct GanRun {
    pub(crate) gpu: Gpu,
    pub(crate) replayer: Replayer<StepMetrics>,
    pub(crate) g: Network,
    pub(crate) d: Network,
    /// The moving average of G's weights, when kept.
    pub(crate) ema: Option<Ema>,
    /// The sampling generator on the fixed latent input.
    pub(crate) sampler: Tape,
    /// Training state besides the networks that checkpoints keep (replay buffers), by name.
    pub(crate) tensors: Vec<(&'static str, Tensor)>,
    pub(crate) quality: Vec<QualityPoint>,
    /// Text that checkpoints keep, by key.
    pub(crate) notes: Vec<(String, String)>,
}

impl GanRun {
    /// Runs one training iteration: one encoder, one submission. Every `readback_every`
    /// steps the logged metrics are copied out and collected asynchronously; a NaN or Inf in
    /// them is returned as [`Error::Diverged`] naming the step.
    pub fn step(&mut self) -> Result<()> {
        self.replayer.step()
    }

    /// Runs one training step with a timestamp around every dispatch and returns the GPU time
    /// per kernel entry point (summed over its dispatches), slowest first, in milliseconds.
    /// `None` when the device cannot time inside passes. Blocking: for benchmarks only.
    pub fn profile(&mut self) -> Result<Option<Vec<(&'static str, f64)>>> {
        self.replayer.profile()
    }

    /// Waits for the GPU and collects the metrics of every step run so far.
    pub fn flush(&mut self) -> Result<()> {
        self.replayer.flush()
    }

    /// As [`GanRun::flush`] without blocking: in a browser, await it at least every few
    /// readbacks (`readback_every` steps each), so the page's event loop can complete them.
    pub async fn flush_async(&mut self) -> Result<()> {
        self.replayer.flush_async().await
    }

    /// Saves G, D, both optimisers' state, the step counter and the metrics history
    /// (atomically), with the moving average of G's weights (as network
    /// [`EMA_NETWORK`](crate::gan::EMA_NETWORK), weights only) and the replay buffer when the
    /// configuration keeps them. Flushes first, so a diverged state is refused rather than
    /// saved.
    pub fn save(&mut self, path: &Path) -> Result<()> {
        self.replayer.flush()?;
        let weights: Vec<(&str, &Network)> = self
            .ema
            .iter()
            .map(|e| (EMA_NETWORK, e.network()))
            .collect();
        let tensors: Vec<(&str, &Tensor)> = self.tensors.iter().map(|(n, t)| (*n, t)).collect();
        checkpoint::save_with(
            &self.gpu,
            path,
            &[("G", &self.g), ("D", &self.d)],
            Extras {
                weights: &weights,
                tensors: &tensors,
                notes: &self.notes,
            },
            Some(self.replayer.state()),
            self.replayer.collected(),
            &self.quality,
        )
    }

    /// Continues from a checkpoint written by [`GanRun::save`] for the same models and
    /// configuration: parameters, moments and the step counter are restored, so the noise,
    /// the labels, the data order and Adam's bias correction pick up exactly where they were;
    /// the metrics history is restored too, so [`GanRun::history`] covers the whole run.
    ///
    /// The weight average is restored too, or restarted from G when the checkpoint has none;
    /// a replay buffer must be in the checkpoint (its fill level follows from the step).
    pub fn resume(&mut self, path: &Path) -> Result<()> {
        let ckpt = Checkpoint::open(path)?;
        for (name, _) in &self.tensors {
            if !ckpt.has_tensor(name)? {
                return Err(Error::Data {
                    path: path.to_path_buf(),
                    message: format!(
                        "has no {name} buffer (it was written without replay); resume it with \
                         replay_fraction 0, or start afresh"
                    ),
                });
            }
        }
        ckpt.load_network(&self.gpu, "G", &self.g, true)?;
        ckpt.load_network(&self.gpu, "D", &self.d, true)?;
        if let Some(ema) = &self.ema {
            ema.restore(&self.gpu, &ckpt)?;
        }
        for (name, t) in &self.tensors {
            ckpt.load_tensor(&self.gpu, name, t)?;
        }
        let state = ckpt.state()?.ok_or_else(|| Error::Data {
            path: path.to_path_buf(),
            message: "has no step counter; it holds networks only and cannot resume training"
                .into(),
        })?;
        self.replayer.restore(state, ckpt.history()?)?;
        let steps = self.replayer.steps();
        self.quality = ckpt.quality()?;
        self.quality.retain(|q| q.step <= steps);
        Ok(())
    }

    /// Text for checkpoints to keep from now on (e.g. the settings of the run, to compare
    /// when it is resumed); [`Checkpoint::notes`](crate::io::checkpoint::Checkpoint::notes)
    /// reads it back.
    pub fn set_notes(&mut self, notes: Vec<(String, String)>) {
        self.notes = notes;
    }

    /// Steps run so far.
    pub fn steps(&self) -> u64 {
        self.replayer.steps()
    }

    /// The most recent metrics that have reached the CPU.
    pub fn metrics(&self) -> Option<&StepMetrics> {
        self.replayer.collected().last()
    }

    /// Every step's metrics that have reached the CPU, in order.
    pub fn history(&self) -> &[StepMetrics] {
        self.replayer.collected()
    }

    /// Logs a sample-quality measurement, kept with the history (and in checkpoints).
    pub fn add_quality(&mut self, point: QualityPoint) {
        self.quality.push(point);
    }

    /// The sample-quality measurements logged so far, in order.
    pub fn quality(&self) -> &[QualityPoint] {
        &self.quality
    }

    /// Runs the generator (the weight average when kept) on the fixed latent input without
    /// reading back, and returns its samples tensor on the GPU, for binding in a host
    /// program's own passes.
    pub fn generate(&self) -> Result<&Tensor> {
        self.gpu
            .run(&self.sampler.forward().iter().collect::<Vec<_>>())?;
        Ok(self.sampler.output())
    }

    /// Generates from the fixed latent input (generate mode: batch statistics, nothing
    /// updated) and returns the samples, row-major `[n, ...]`, with the moving average of G's
    /// weights when the configuration keeps one (`g_ema`), else with G. A conditional GAN's
    /// are one row of `sample_count` per class. Blocks: for pictures, not for the training
    /// loop.
    pub fn samples(&self) -> Result<Vec<f32>> {
        self.generate()?.read(&self.gpu)
    }

    /// As [`GanRun::samples`] without blocking: the way to draw samples in a browser.
    pub async fn samples_async(&self) -> Result<Vec<f32>> {
        self.generate()?.read_async(&self.gpu).await
    }

    /// The samples tensor on the GPU (valid after [`GanRun::samples`] or
    /// [`GanRun::generate`]).
    pub fn samples_tensor(&self) -> &Tensor {
        self.sampler.output()
    }

    /// The generator being trained.
    pub fn generator(&self) -> &Network {
        &self.g
    }

    /// The moving average of G's weights (`g_ema`), if kept: the same model with its own
    /// weights (batch-norm running statistics shared with G). It is what [`GanRun::samples`]
    /// draws from and what checkpoints hold as [`EMA_NETWORK`](crate::gan::EMA_NETWORK).
    pub fn ema_generator(&self) -> Option<&Network> {
        self.ema.as_ref().map(Ema::network)
    }

    /// The generator to sample and evaluate: the weight average when kept, else G.
    pub fn sampling_generator(&self) -> &Network {
        self.ema_generator().unwrap_or(&self.g)
    }

    /// The discriminator.
    pub fn discriminator(&self) -> &Network {
        &self.d
    }

    /// Number of dispatches in one iteration.
    pub fn dispatches(&self) -> usize {
        self.replayer.kernels().len()
    }

    /// Data-parallel: what averaging over the ranks costs per step; `None` alone.
    pub fn exchange_cost(&self) -> Option<ExchangeCost> {
        self.replayer.exchange_cost()
    }

    /// Data-parallel: checks that every rank holds rank 0's parameters of G and D (and of
    /// G's average), bit for bit. Collective: every rank must call it. Alone, nothing to check.
    pub fn check_ranks_agree(&self) -> Result<()> {
        let nets = [
            Some(&self.g),
            Some(&self.d),
            self.ema.as_ref().map(|e| e.network()),
        ];
        let nets: Vec<&Network> = nets.into_iter().flatten().collect();
        distributed::check_networks_agree(&self.gpu, &nets)
    }
}
