//! The progressive trainer: one recorded iteration per phase of the schedule. When a phase
//! ends it records the next phase's networks, carries the trained values over by layer
//! name and continues at the same step; within a phase nothing is recorded, since the
//! fade-in's α is read from the GPU step counter.

use std::ops::{Deref, DerefMut};
use std::path::Path;

use super::networks::ProGan;
use super::real;
use super::schedule::{Phase, Schedule};
use crate::gan::run::GanRun;
use crate::gan::sample::generate_at;
use crate::gan::trainer::Staging;
use crate::gan::{noise, StepTensors, Trainer, TrainerConfig};
use crate::io::checkpoint::Checkpoint;
use crate::step::{Recorder, StepState};
use crate::{Dataset, Error, Gpu, Result, Tensor};

/// Trains a [`ProGan`] on full-size images by the [`Schedule`]; it dereferences to the
/// current phase's [`GanRun`] (metrics, samples, checkpoints).
pub struct ProgressiveTrainer {
    gpu: Gpu,
    spec: ProGan,
    schedule: Schedule,
    config: TrainerConfig,
    data: Dataset,
    phase: Phase,
    trainer: Trainer,
}

impl ProgressiveTrainer {
    /// Records the first stage. `data` holds images of the full size.
    pub fn new(
        gpu: &Gpu,
        spec: ProGan,
        schedule: Schedule,
        data: &Dataset,
        config: TrainerConfig,
    ) -> Result<ProgressiveTrainer> {
        spec.validate()?;
        schedule.validate()?;
        let full = spec.final_side();
        if data.shape() != [1, full, full] {
            return Err(Error::shape(
                "progressive trainer",
                format!(
                    "the networks grow to [1, {full}, {full}] but the data holds {:?}",
                    data.shape()
                ),
            ));
        }
        if schedule.grown_after(spec.stages()) > u32::MAX as u64 {
            return Err(Error::Config(
                "the schedule runs past the step counter's 2³² steps".into(),
            ));
        }
        let phase = schedule.phase_at(spec.stages(), 0);
        let trainer = record(gpu, &spec, &schedule, data, &config, phase)?;
        Ok(ProgressiveTrainer {
            gpu: gpu.clone(),
            spec,
            schedule,
            config,
            data: data.clone(),
            phase,
            trainer,
        })
    }

    /// Runs one iteration, first growing the networks when a phase has ended.
    pub fn step(&mut self) -> Result<()> {
        let next = self.phase_at(self.trainer.steps());
        if next != self.phase {
            self.grow(next)?;
        }
        self.trainer.step()
    }

    /// Continues from a checkpoint written by this trainer with the same sizes, schedule and
    /// configuration, in whatever phase it was written (mid-fade too).
    pub fn resume(&mut self, path: &Path) -> Result<()> {
        let done = match Checkpoint::open(path)?.state()? {
            Some(s) => s.iterations as u64,
            None => 0,
        };
        // The networks in the checkpoint are those of the phase that ran its last step.
        let phase = self.phase_at(done.saturating_sub(1));
        if phase != self.phase {
            let notes = self.trainer.notes.clone();
            self.trainer = self.record(phase)?;
            self.trainer.notes = notes;
            self.phase = phase;
        }
        self.trainer.resume(path)
    }

    /// The phase the last step ran in (the first before any step).
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The schedule.
    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    /// The networks' sizes.
    pub fn spec(&self) -> &ProGan {
        &self.spec
    }

    /// The image side the networks work at now.
    pub fn side(&self) -> usize {
        self.spec.side(self.phase.stage)
    }

    /// The fade-in's α after the steps run so far: 1 outside a fade.
    pub fn alpha(&self) -> f32 {
        match self.phase.ramp(&self.schedule) {
            Some(r) => r.alpha(self.trainer.steps() as u32),
            None => 1.0,
        }
    }

    /// `n` samples (`[n, 1, side, side]`, the current side) of the sampling generator as it
    /// stands, fade included, from latent vectors drawn with `seed`. Blocking.
    pub fn draw(&self, n: usize, seed: u64) -> Result<Vec<f32>> {
        let z = noise(self.config.noise, n * self.spec.nz, seed);
        let g = self.trainer.sampling_generator();
        let at = self.trainer.steps() as u32;
        generate_at(&self.gpu, g, &z, self.config.batch, at)
    }

    /// What D was shown in the last step (the real batch as gathered and at the stage's
    /// resolution, faded); for inspection and tests.
    pub fn step_tensors(&self) -> &StepTensors {
        self.trainer.step_tensors()
    }

    fn phase_at(&self, t: u64) -> Phase {
        self.schedule.phase_at(self.spec.stages(), t)
    }

    fn record(&self, phase: Phase) -> Result<Trainer> {
        let (spec, schedule) = (&self.spec, &self.schedule);
        record(&self.gpu, spec, schedule, &self.data, &self.config, phase)
    }

    /// Records `next`'s networks and continues in them where the current ones stand.
    fn grow(&mut self, next: Phase) -> Result<()> {
        let gpu = &self.gpu.clone();
        self.trainer.flush()?;
        let words = self.trainer.replayer.state().read_u32(gpu)?;
        let state = StepState::from_words(&words)
            .ok_or_else(|| Error::Config("the step state is not four words".into()))?;
        let mut grown = self.record(next)?;
        // A new stage starts its optimisers afresh, as the paper's implementation does; the
        // end of a fade-in only drops the faded-out branch, so the moments carry on.
        let moments = next.stage == self.phase.stage;
        let old = &self.trainer;
        grown.g.carry_from(gpu, &old.g, moments)?;
        grown.d.carry_from(gpu, &old.d, moments)?;
        if let (Some(new), Some(old)) = (&grown.ema, &old.ema) {
            new.network().carry_from(gpu, old.network(), false)?;
        }
        grown.replayer.restore(state, old.history().to_vec())?;
        grown.quality = old.quality.clone();
        grown.notes = old.notes.clone();
        self.trainer = grown;
        self.phase = next;
        Ok(())
    }
}

/// One phase's networks and iteration.
fn record(
    gpu: &Gpu,
    spec: &ProGan,
    schedule: &Schedule,
    data: &Dataset,
    config: &TrainerConfig,
    phase: Phase,
) -> Result<Trainer> {
    let ramp = phase.ramp(schedule);
    let (k, side) = (phase.stage, spec.side(phase.stage));
    let view = move |rec: &mut Recorder, real: &Tensor| real::at_stage(rec, real, side, ramp);
    let staging = Staging {
        real_shape: vec![1, side, side],
        view: &view,
        optimisers_from: phase.stage_start as u32,
    };
    let (g, d) = (spec.generator(k, ramp)?, spec.discriminator(k, ramp)?);
    Trainer::staged(gpu, g, d, data, config.clone(), &staging)
}

impl Deref for ProgressiveTrainer {
    type Target = GanRun;

    fn deref(&self) -> &GanRun {
        &self.trainer
    }
}

impl DerefMut for ProgressiveTrainer {
    fn deref_mut(&mut self) -> &mut GanRun {
        &mut self.trainer
    }
}
