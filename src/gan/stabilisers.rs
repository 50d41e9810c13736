//! What may stand between the batches and D (Salimans et al. 2016, Sønderby et al. 2017,
//! Shrivastava et al. 2017): smoothed or flipped targets, Gaussian instance noise, and fakes
//! replayed from earlier steps. Every trainer records them the same way.

use crate::distributed::Shard;
use crate::gan::streams;
use crate::gan::TrainerConfig;
use crate::ops::stabilise::{self, Draws, InstanceNoise, Replay};
use crate::ops::Clock;
use crate::step::Recorder;
use crate::{Gpu, Result, Tensor};

/// A replay buffer: a ring of earlier fakes per part of the fake batch.
pub(crate) struct ReplayRing {
    /// The checkpoint name of the ring.
    pub(crate) name: &'static str,
    pub(crate) ring: Tensor,
}

pub(crate) struct Stabilisers {
    /// The flipped fraction and the real target, when targets are flipped.
    flip: Option<(f32, f32)>,
    noise: Option<InstanceNoise>,
    /// Samples replayed per batch and one ring per part of the fake batch.
    replay: Option<(usize, Vec<ReplayRing>)>,
    batch: usize,
    seed: u64,
    /// A data-parallel rank draws flips and noise from streams of its own.
    shard: Shard,
    /// D's targets for the real and the fake batch.
    pub(crate) real_targets: Tensor,
    pub(crate) fake_targets: Tensor,
}

impl Stabilisers {
    /// The stabilisers `config` asks for; `parts` names the parts of a fake sample that are
    /// replayed together (the sample first, then what rides with it, e.g. its label maps)
    /// with each part's shape. `ones` and `zeros` are targets 1 and 0 of a batch.
    pub(crate) fn new(
        gpu: &Gpu,
        config: &TrainerConfig,
        parts: &[(&'static str, &[usize])],
        (ones, zeros): (&Tensor, &Tensor),
    ) -> Result<Stabilisers> {
        let b = config.batch;
        let flip = config.label_flip > 0.0;
        // D's targets: fixed unless flipped each step; G's stay 1 (one-sided smoothing).
        let (real_targets, fake_targets) = if flip {
            (
                Tensor::zeros(gpu, &[b, 1], "real targets, flipped")?,
                Tensor::zeros(gpu, &[b, 1], "fake targets, flipped")?,
            )
        } else if config.real_label != 1.0 {
            let smoothed = vec![config.real_label; b];
            (
                Tensor::from_slice(gpu, &smoothed, &[b, 1], "real targets, smoothed")?,
                zeros.clone(),
            )
        } else {
            (ones.clone(), zeros.clone())
        };
        let replay = if config.replay_fraction > 0.0 {
            let rings = parts
                .iter()
                .map(|&(name, shape)| {
                    let mut ring_shape = vec![config.replay_capacity];
                    ring_shape.extend(shape);
                    let ring = Tensor::zeros(gpu, &ring_shape, "replay buffer")?;
                    Ok(ReplayRing { name, ring })
                })
                .collect::<Result<_>>()?;
            Some((config.replayed(), rings))
        } else {
            None
        };
        Ok(Stabilisers {
            flip: flip.then_some((config.label_flip, config.real_label)),
            noise: (config.instance_noise > 0.0).then_some(InstanceNoise {
                sigma: config.instance_noise,
                anneal_steps: config.instance_noise_steps,
            }),
            replay,
            batch: b,
            seed: config.seed,
            shard: gpu.shard(),
            real_targets,
            fake_targets,
        })
    }

    /// The replay buffer's rings, none without replay.
    pub(crate) fn rings(&self) -> &[ReplayRing] {
        self.replay.as_ref().map_or(&[], |(_, rings)| rings)
    }

    /// Whether D's fake batch holds replayed fakes.
    pub(crate) fn replays(&self) -> bool {
        self.replay.is_some()
    }

    fn draws(&self, stream: u32, clock: Clock) -> Draws {
        Draws {
            seed: self.seed,
            stream: self.shard.own_stream(stream),
            clock,
        }
    }

    /// Records a D step's targets and inputs: what D reads for the real batch `real`, and
    /// for the fake batch's `parts` (as in [`Stabilisers::new`]). Replayed samples are mixed
    /// in before the fresh ones are stored, so a batch never replays itself; noise goes on
    /// the real batch and the fake sample after the mix.
    pub(crate) fn d_inputs(
        &self,
        rec: &mut Recorder,
        clock: Clock,
        real: &Tensor,
        parts: &[&Tensor],
    ) -> Result<(Tensor, Vec<Tensor>)> {
        let (gpu, state) = (&rec.gpu.clone(), &rec.state.clone());
        if let Some((fraction, real_label)) = self.flip {
            rec.push(stabilise::flip_targets(
                gpu,
                fraction,
                real_label,
                self.draws(streams::FLIP, clock),
                state,
                &self.real_targets,
                &self.fake_targets,
            )?);
        }
        let mut fakes: Vec<Tensor> = parts.iter().map(|&p| p.clone()).collect();
        if let Some((replayed, rings)) = &self.replay {
            for (fake, ReplayRing { ring, .. }) in fakes.iter_mut().zip(rings) {
                let r = Replay {
                    size: fake.len() / self.batch,
                    batch: self.batch,
                    capacity: ring.shape()[0],
                    replayed: *replayed,
                    draws: self.draws(streams::REPLAY, clock),
                };
                let mixed = Tensor::zeros(gpu, fake.shape(), "fakes with replayed samples")?;
                rec.push(stabilise::replay_mix(gpu, r, state, fake, ring, &mixed)?);
                rec.push(stabilise::replay_store(gpu, r, state, fake, ring)?);
                *fake = mixed;
            }
        }
        let mut real_in = real.clone();
        if let Some(n) = self.noise {
            let d = self.draws(streams::NOISE_REAL, clock);
            real_in = with_noise(rec, n, d, real)?;
            let d = self.draws(streams::NOISE_FAKE, clock);
            fakes[0] = with_noise(rec, n, d, &fakes[0])?;
        }
        Ok((real_in, fakes))
    }

    /// What D reads of G's fresh fakes `fresh` in G's step: D's fake sample `d_fake` unless
    /// that held replayed ones (G learns from its own fakes), then `fresh` with its own noise.
    pub(crate) fn g_input(
        &self,
        rec: &mut Recorder,
        clock: Clock,
        fresh: &Tensor,
        d_fake: &Tensor,
    ) -> Result<Tensor> {
        match (&self.replay, self.noise) {
            (None, _) => Ok(d_fake.clone()),
            (Some(_), None) => Ok(fresh.clone()),
            (Some(_), Some(n)) => {
                let d = self.draws(streams::NOISE_G, clock);
                with_noise(rec, n, d, fresh)
            }
        }
    }
}

/// `x` plus annealed instance noise, into a new tensor.
fn with_noise(
    rec: &mut Recorder,
    noise: InstanceNoise,
    draws: Draws,
    x: &Tensor,
) -> Result<Tensor> {
    let gpu = rec.gpu.clone();
    let y = Tensor::zeros(&gpu, x.shape(), "D input with instance noise")?;
    let k = stabilise::instance_noise(&gpu, noise, draws, &rec.state, x, &y)?;
    rec.push(k);
    Ok(y)
}
