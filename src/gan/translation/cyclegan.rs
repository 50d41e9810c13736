//! CycleGAN (Zhu et al. 2017): two generators, A → B and B → A, learn from unpaired images of
//! two domains. Each is judged by a PatchGAN of its target domain (least squares by default)
//! and must survive the round trip (cycle consistency, λ·L1) and leave an image of its target
//! domain alone (identity, ½λ·L1). The step follows the paper's code: both generators' update
//! first, then both discriminators' on the real images and on fakes from a pool of earlier
//! ones. All of it is recorded once and replayed with one submission per step.

use std::path::Path;

use super::cycle_metrics::{self as slots, CycleMetrics, SLOTS};
use super::task::Domains;
use crate::gan::{generate_batched, streams, GanLoss};
use crate::gpu::Kernel;
use crate::io::checkpoint::{self, Checkpoint, Extras};
use crate::nn::{Graph, Mode, Network};
use crate::ops::data::gather;
use crate::ops::elementwise::axpby;
use crate::ops::loss::{bce_logits, hinge_generator, hinge_logits, least_squares, BceOut};
use crate::ops::loss::{l1, L1Out};
use crate::ops::stabilise::{replay_mix, replay_store, Draws, Replay};
use crate::ops::Clock;
use crate::step::{Recorder, Replayer};
use crate::tape::{ParamGrads, Tape};
use crate::{Error, Gpu, Optimizer, Result, Tensor};

/// The checkpoint names of the pools of earlier fakes D_A and D_B read.
const POOL_A: &str = "pool_a";
const POOL_B: &str = "pool_b";

/// CycleGAN's settings.
#[derive(Clone, Debug)]
pub struct CycleGanConfig {
    /// Images of each domain per step.
    pub batch: usize,
    /// Seeds the weights, the data orders and the pools' draws.
    pub seed: u64,
    /// λ, the weight of each cycle's L1 distance (the paper's 10).
    pub cycle_weight: f32,
    /// The identity loss's weight as a fraction of λ (the paper's 0.5; 0 leaves it out).
    pub identity_fraction: f32,
    /// The adversarial loss: least squares (the paper's), BCE or hinge.
    pub loss: GanLoss,
    /// Earlier fakes each pool keeps (the paper's 50).
    pub pool_capacity: usize,
    /// The fraction of each D's fake batch drawn from its pool (the paper's pool swaps an
    /// image for a stored one with probability ½).
    pub pool_fraction: f32,
    /// Both generators' optimiser.
    pub g_optimizer: Optimizer,
    /// Both discriminators' optimiser.
    pub d_optimizer: Optimizer,
    /// Metrics reach the CPU every this many steps.
    pub readback_every: usize,
}

impl CycleGanConfig {
    /// The paper's recipe at batch `batch`: λ = 10, identity ½λ, least squares, a pool of 50
    /// replaying half of each fake batch, Adam 2e-4 (β 0.5, 0.999).
    pub fn paper(batch: usize) -> CycleGanConfig {
        let adam = Optimizer::Adam {
            lr: 2e-4,
            beta1: 0.5,
            beta2: 0.999,
            eps: 1e-8,
        };
        CycleGanConfig {
            batch,
            seed: 1,
            cycle_weight: 10.0,
            identity_fraction: 0.5,
            loss: GanLoss::LeastSquares,
            pool_capacity: 50,
            pool_fraction: 0.5,
            g_optimizer: adam,
            d_optimizer: adam,
            readback_every: 10,
        }
    }

    fn validate(&self) -> Result<()> {
        let bad = |what: String| Err(Error::Config(format!("cyclegan: {what}")));
        if self.batch == 0 || self.readback_every == 0 {
            return bad("batch and readback_every must be at least 1".into());
        }
        if !(self.cycle_weight.is_finite() && self.cycle_weight >= 0.0) {
            return bad(format!(
                "the cycle weight {} must be at least 0",
                self.cycle_weight
            ));
        }
        let f = self.identity_fraction;
        if !(f.is_finite() && f >= 0.0) {
            return bad(format!("the identity fraction {f} must be at least 0"));
        }
        if !(0.0..=1.0).contains(&self.pool_fraction) {
            return bad(format!(
                "the pool fraction {} must be in [0, 1]",
                self.pool_fraction
            ));
        }
        if self.pool_capacity == 0 && self.pool_fraction > 0.0 {
            return bad("a pool that replays needs a capacity of at least 1".into());
        }
        Ok(())
    }

    /// Fakes per batch taken from the pool.
    fn replayed(&self) -> usize {
        (self.pool_fraction as f64 * self.batch as f64).round() as usize
    }
}

/// The networks, by their checkpoint names.
struct Networks {
    g_ab: Network,
    g_ba: Network,
    d_a: Network,
    d_b: Network,
}

/// What the last step read and made, as the recorded kernels bind them; for inspection and
/// tests.
#[derive(Clone)]
pub struct CycleTensors {
    /// The gathered images of domain A.
    pub a: Tensor,
    /// Of domain B.
    pub b: Tensor,
    /// G_AB(a).
    pub fake_b: Tensor,
    /// G_BA(b).
    pub fake_a: Tensor,
    /// G_BA(G_AB(a)).
    pub cycled_a: Tensor,
    /// G_AB(G_BA(b)).
    pub cycled_b: Tensor,
    /// What D_B read as fakes: `fake_b` with pooled fakes in its first samples.
    pub pooled_fake_b: Tensor,
    /// The pool of G_BA's fakes D_A reads, `[capacity, ...image]`.
    pub pool_a: Tensor,
    /// The pool of G_AB's fakes D_B reads.
    pub pool_b: Tensor,
}

/// Trains CycleGAN; see the module documentation.
pub struct CycleGan {
    config: CycleGanConfig,
    gpu: Gpu,
    replayer: Replayer<CycleMetrics>,
    nets: Networks,
    tensors: CycleTensors,
    notes: Vec<(String, String)>,
}

impl CycleGan {
    /// Checks that the networks and the domains fit together, builds the networks (G_AB and
    /// G_BA from `g`, D_A and D_B from `d`, each seeded apart) and records a whole iteration.
    /// G maps an image to an image of the same shape; D reads one image.
    pub fn new(
        gpu: &Gpu,
        g: impl Into<Graph>,
        d: impl Into<Graph>,
        domains: &Domains,
        config: CycleGanConfig,
    ) -> Result<CycleGan> {
        config.validate()?;
        let (g, d): (Graph, Graph) = (g.into(), d.into());
        let shape = domains.a.shape();
        if domains.b.shape() != shape {
            return Err(Error::shape(
                "cyclegan",
                format!(
                    "domain A holds {shape:?} images, domain B {:?}",
                    domains.b.shape()
                ),
            ));
        }
        if g.input_shape() != shape || g.output_shape()? != shape {
            return Err(Error::shape(
                "cyclegan",
                format!(
                    "G maps {:?} to {:?}; it must map the domains' {shape:?} to {shape:?}",
                    g.input_shape(),
                    g.output_shape()?
                ),
            ));
        }
        if d.input_shape() != shape {
            return Err(Error::shape(
                "cyclegan",
                format!("D reads {:?}, the domains hold {shape:?}", d.input_shape()),
            ));
        }
        let seed = config.seed;
        let nets = Networks {
            g_ab: Network::new(gpu, "G_AB", g.clone(), seed ^ 0x6_0A0B)?,
            g_ba: Network::new(gpu, "G_BA", g, seed ^ 0x6_0B0A)?,
            d_a: Network::new(gpu, "D_A", d.clone(), seed ^ 0xD_000A)?,
            d_b: Network::new(gpu, "D_B", d, seed ^ 0xD_000B)?,
        };
        let mut rec = Recorder::new(gpu, seed, SLOTS.len())?;
        let tensors = record(&mut rec, &config, domains, &nets)?;
        let replayer = rec.finish(config.readback_every, &SLOTS, "cyclegan step")?;
        Ok(CycleGan {
            config,
            gpu: gpu.clone(),
            replayer,
            nets,
            tensors,
            notes: Vec::new(),
        })
    }

    /// Runs one iteration: one encoder, one submission. A NaN or Inf in the metrics is
    /// returned as [`Error::Diverged`] naming the step.
    pub fn step(&mut self) -> Result<()> {
        self.replayer.step()
    }

    /// Waits for the GPU and collects the metrics of every step run so far.
    pub fn flush(&mut self) -> Result<()> {
        self.replayer.flush()
    }

    /// Steps run so far.
    pub fn steps(&self) -> u64 {
        self.replayer.steps()
    }

    /// Every step's metrics that have reached the CPU, in order.
    pub fn history(&self) -> &[CycleMetrics] {
        self.replayer.collected()
    }

    /// The most recent metrics that have reached the CPU.
    pub fn metrics(&self) -> Option<&CycleMetrics> {
        self.replayer.collected().last()
    }

    /// Number of dispatches in one iteration.
    pub fn dispatches(&self) -> usize {
        self.replayer.kernels().len()
    }

    /// G_AB, which turns domain A into domain B.
    pub fn g_ab(&self) -> &Network {
        &self.nets.g_ab
    }

    /// G_BA, which turns domain B into domain A.
    pub fn g_ba(&self) -> &Network {
        &self.nets.g_ba
    }

    /// The settings.
    pub fn config(&self) -> &CycleGanConfig {
        &self.config
    }

    /// What the last step read and made.
    pub fn step_tensors(&self) -> &CycleTensors {
        &self.tensors
    }

    /// Text for checkpoints to keep (the task, the settings of the run).
    pub fn set_notes(&mut self, notes: Vec<(String, String)>) {
        self.notes = notes;
    }

    /// G_AB's translation of `images` of domain A (whole images, row-major), in generate
    /// mode, a training batch at a time. Blocking.
    pub fn a_to_b(&self, images: &[f32]) -> Result<Vec<f32>> {
        generate_batched(&self.gpu, &self.nets.g_ab, images, self.config.batch)
    }

    /// G_BA's translation of `images` of domain B.
    pub fn b_to_a(&self, images: &[f32]) -> Result<Vec<f32>> {
        generate_batched(&self.gpu, &self.nets.g_ba, images, self.config.batch)
    }

    fn named(&self) -> [(&'static str, &Network); 4] {
        let n = &self.nets;
        [
            ("G_AB", &n.g_ab),
            ("G_BA", &n.g_ba),
            ("D_A", &n.d_a),
            ("D_B", &n.d_b),
        ]
    }

    /// Saves the four networks (with their optimisers' moments), the pools, the step counter,
    /// the metrics and the notes, atomically; flushes first, so a diverged state is refused.
    pub fn save(&mut self, path: &Path) -> Result<()> {
        self.replayer.flush()?;
        let t = &self.tensors;
        let pools = [(POOL_A, &t.pool_a), (POOL_B, &t.pool_b)];
        checkpoint::save_with(
            &self.gpu,
            path,
            &self.named(),
            Extras {
                tensors: &pools,
                notes: &self.notes,
                ..Extras::default()
            },
            Some(self.replayer.state()),
            self.replayer.collected(),
            &[],
        )
    }

    /// Continues from a checkpoint [`CycleGan::save`] wrote for the same networks.
    pub fn resume(&mut self, path: &Path) -> Result<()> {
        let ckpt = Checkpoint::open(path)?;
        for (name, net) in self.named() {
            ckpt.load_network(&self.gpu, name, net, true)?;
        }
        ckpt.load_tensor(&self.gpu, POOL_A, &self.tensors.pool_a)?;
        ckpt.load_tensor(&self.gpu, POOL_B, &self.tensors.pool_b)?;
        let state = ckpt.state()?.ok_or_else(|| Error::Data {
            path: path.to_path_buf(),
            message: "has no step counter; it holds networks only and cannot resume training"
                .into(),
        })?;
        self.replayer.restore(state, ckpt.rows(SLOTS.len())?)
    }
}

/// The adversarial loss of `kind` on `logits` against `targets` (`g_step`: G's loss).
fn adversarial(
    gpu: &Gpu,
    kind: GanLoss,
    g_step: bool,
    (logits, targets, grad, metrics): (&Tensor, &Tensor, &Tensor, &Tensor),
    out: BceOut,
) -> Result<Kernel> {
    match (kind, g_step) {
        (GanLoss::Bce, _) => bce_logits(gpu, logits, targets, grad, metrics, out),
        (GanLoss::LeastSquares, _) => least_squares(gpu, logits, targets, grad, metrics, out),
        (GanLoss::Hinge, false) => hinge_logits(gpu, logits, targets, grad, metrics, out),
        (GanLoss::Hinge, true) => hinge_generator(gpu, logits, grad, metrics, out),
    }
}

/// One direction of the cycle, recorded: G_XY's fake of domain Y from x, and what G_YX and
/// G_XY make of it and of y.
struct Direction {
    /// G_XY(x).
    fake: Tape,
    /// G_YX(G_XY(x)).
    cycled: Tape,
    /// G_XY(y).
    identity: Tape,
}

/// Records one iteration into `rec`: the batches gathered; both generators' step (adversarial
/// loss through the discriminators, both cycles, identity); both discriminators' step on the
/// real batches and the pooled fakes.
fn record(
    rec: &mut Recorder,
    config: &CycleGanConfig,
    domains: &Domains,
    nets: &Networks,
) -> Result<CycleTensors> {
    let (gpu, state) = (&rec.gpu.clone(), &rec.state.clone());
    let m = &rec.metrics.clone();
    let (b, clock) = (config.batch, Clock::ITERATION);
    let mut batch_shape = vec![b];
    batch_shape.extend(domains.a.shape());
    let image: usize = domains.a.shape().iter().product();
    let n = b * image;

    // Each domain in its own order: the pairs are not pairs.
    let data_clock = rec.shard().data_clock(clock);
    let batch_a = Tensor::zeros(gpu, &batch_shape, "domain A batch")?;
    let batch_b = Tensor::zeros(gpu, &batch_shape, "domain B batch")?;
    for (data, t, seed) in [
        (&domains.a, &batch_a, config.seed),
        (&domains.b, &batch_b, config.seed ^ 0xB),
    ] {
        rec.push(gather(
            gpu,
            data.gather(b, seed, data_clock),
            state,
            &data.pixels,
            t,
        )?);
    }

    // The forwards: each generator on its domain, on the other's fake, and on its target.
    let mut stream = streams::G;
    let mut tape = |rec: &mut Recorder, net: &Network, x: &Tensor| -> Result<Tape> {
        let t = net.tape(gpu, x, Mode::Train, rec.rng(stream, clock), state)?;
        stream += 1;
        rec.forward(&t);
        Ok(t)
    };
    let fake_b = tape(rec, &nets.g_ab, &batch_a)?;
    let fake_a = tape(rec, &nets.g_ba, &batch_b)?;
    let ab = Direction {
        cycled: tape(rec, &nets.g_ba, fake_b.output())?,
        identity: tape(rec, &nets.g_ab, &batch_b)?,
        fake: fake_b,
    };
    let ba = Direction {
        cycled: tape(rec, &nets.g_ab, fake_a.output())?,
        identity: tape(rec, &nets.g_ba, &batch_a)?,
        fake: fake_a,
    };

    // The generators' step. Adversarial: each fake through its D, D untouched.
    let patches_of = |d: &Network| -> Result<Vec<usize>> {
        let mut s = vec![b];
        s.extend(d.model().output_shape()?);
        Ok(s)
    };
    let logits_shape = patches_of(&nets.d_a)?;
    if patches_of(&nets.d_b)? != logits_shape {
        return Err(Error::shape(
            "cyclegan",
            "D_A and D_B must give the same logits",
        ));
    }
    let patches: usize = logits_shape.iter().product();
    let ones = Tensor::from_slice(gpu, &vec![1.0; patches], &logits_shape, "real targets")?;
    let zeros = Tensor::zeros(gpu, &logits_shape, "fake targets")?;
    let g_out = |loss_slot, prob_slot| BceOut {
        loss_slot,
        prob_slot,
        accumulate: false,
        grad_scale: 1.0 / patches as f32,
        sign: 1.0,
    };
    let mut d_stream = streams::D;
    let mut fake_grad = |rec: &mut Recorder, d: &Network, fake: &Tensor, out: BceOut| {
        let t = d.tape(gpu, fake, Mode::Train, rec.rng(d_stream, clock), state)?;
        d_stream += 1;
        rec.forward(&t);
        let grad_logits = Tensor::zeros(gpu, &logits_shape, "dD(G) for G")?;
        let io = (t.output(), &ones, &grad_logits, m);
        rec.push(adversarial(gpu, config.loss, true, io, out)?);
        let grad = Tensor::zeros(gpu, fake.shape(), "dL/dG adversarial")?;
        rec.extend(t.backward(gpu, &grad_logits, ParamGrads::Skip, Some(&grad))?);
        rec.keep(t);
        Ok::<_, Error>(grad)
    };
    let fb = ab.fake.output().clone();
    let fa = ba.fake.output().clone();
    let grad_fake_b = fake_grad(rec, &nets.d_b, &fb, g_out(slots::G_AB, slots::D_B_FAKE_G))?;
    let grad_fake_a = fake_grad(rec, &nets.d_a, &fa, g_out(slots::G_BA, slots::D_A_FAKE_G))?;

    // Cycles and identities: λ·L1 and ½λ·L1 of each to the batch it should give back; the
    // logged values are the unweighted means.
    let lambda = config.cycle_weight;
    let idt = lambda * config.identity_fraction;
    let l1_grad = |rec: &mut Recorder, t: &Tape, target: &Tensor, slot, weight: f32| {
        let grad = Tensor::zeros(gpu, target.shape(), "dL1")?;
        let out = L1Out {
            loss_slot: slot,
            accumulate: false,
            weight: 1.0,
            grad_scale: weight / n as f32,
        };
        rec.push(l1(gpu, (t.output(), target), &grad, m, out)?);
        Ok::<_, Error>(grad)
    };
    // G_BA's cycle of a (write G_BA's gradients first), its gradient at G_AB(a) into the
    // adversarial one; the same the other way round.
    let g_cyc_a = l1_grad(rec, &ab.cycled, &batch_a, slots::CYCLE_A, lambda)?;
    let through_b = Tensor::zeros(gpu, fb.shape(), "dL/dG_AB(a) through the cycle")?;
    rec.extend(
        ab.cycled
            .backward(gpu, &g_cyc_a, ParamGrads::Write, Some(&through_b))?,
    );
    let g_cyc_b = l1_grad(rec, &ba.cycled, &batch_b, slots::CYCLE_B, lambda)?;
    let through_a = Tensor::zeros(gpu, fa.shape(), "dL/dG_BA(b) through the cycle")?;
    rec.extend(
        ba.cycled
            .backward(gpu, &g_cyc_b, ParamGrads::Write, Some(&through_a))?,
    );
    let g_idt_b = l1_grad(rec, &ab.identity, &batch_b, slots::IDENTITY_B, idt)?;
    rec.extend(
        ab.identity
            .backward(gpu, &g_idt_b, ParamGrads::Accumulate, None)?,
    );
    let g_idt_a = l1_grad(rec, &ba.identity, &batch_a, slots::IDENTITY_A, idt)?;
    rec.extend(
        ba.identity
            .backward(gpu, &g_idt_a, ParamGrads::Accumulate, None)?,
    );
    rec.extend([
        axpby(gpu, 1.0, &through_b, 1.0, &grad_fake_b)?,
        axpby(gpu, 1.0, &through_a, 1.0, &grad_fake_a)?,
    ]);
    rec.extend(
        ab.fake
            .backward(gpu, &grad_fake_b, ParamGrads::Accumulate, None)?,
    );
    rec.extend(
        ba.fake
            .backward(gpu, &grad_fake_a, ParamGrads::Accumulate, None)?,
    );
    rec.optimise(&config.g_optimizer, clock, &nets.g_ab)?;
    rec.optimise(&config.g_optimizer, clock, &nets.g_ba)?;

    // The discriminators' step: real images against fakes made before G's update, some
    // drawn from the pool of earlier ones.
    let pool = |rec: &mut Recorder, fake: &Tensor, name: &str, stream: u32| {
        let ring_shape: Vec<usize> = std::iter::once(config.pool_capacity.max(1))
            .chain(domains.a.shape().iter().copied())
            .collect();
        let ring = Tensor::zeros(gpu, &ring_shape, name)?;
        let r = Replay {
            size: image,
            batch: b,
            capacity: config.pool_capacity.max(1),
            replayed: config.replayed(),
            draws: Draws {
                seed: config.seed,
                stream: rec.shard().own_stream(stream),
                clock,
            },
        };
        let mixed = Tensor::zeros(gpu, fake.shape(), "fakes with pooled ones")?;
        rec.push(replay_mix(gpu, r, state, fake, &ring, &mixed)?);
        rec.push(replay_store(gpu, r, state, fake, &ring)?);
        Ok::<_, Error>((mixed, ring))
    };
    let (pooled_b, pool_b) = pool(rec, &fb, "pool of G_AB's fakes", streams::REPLAY)?;
    let (pooled_a, pool_a) = pool(rec, &fa, "pool of G_BA's fakes", streams::REPLAY + 1)?;
    let d_out = |loss_slot, prob_slot, accumulate| BceOut {
        loss_slot,
        prob_slot,
        accumulate,
        grad_scale: 0.5 / patches as f32,
        sign: 1.0,
    };
    let d_update = |rec: &mut Recorder,
                    d: &Network,
                    (real, fake): (&Tensor, &Tensor),
                    (loss, real_prob, fake_prob),
                    streams: u32| {
        let d_real = d.tape(gpu, real, Mode::Train, rec.rng(streams, clock), state)?;
        let d_fake = d.tape(gpu, fake, Mode::Train, rec.rng(streams + 1, clock), state)?;
        rec.forward(&d_real);
        rec.forward(&d_fake);
        let grad_real = Tensor::zeros(gpu, &logits_shape, "dD(real)")?;
        let grad_fake = Tensor::zeros(gpu, &logits_shape, "dD(fake)")?;
        let real_io = (d_real.output(), &ones, &grad_real, m);
        let fake_io = (d_fake.output(), &zeros, &grad_fake, m);
        rec.extend([
            adversarial(
                gpu,
                config.loss,
                false,
                real_io,
                d_out(loss, real_prob, false),
            )?,
            adversarial(
                gpu,
                config.loss,
                false,
                fake_io,
                d_out(loss, fake_prob, true),
            )?,
        ]);
        rec.extend(d_real.backward(gpu, &grad_real, ParamGrads::Write, None)?);
        rec.extend(d_fake.backward(gpu, &grad_fake, ParamGrads::Accumulate, None)?);
        rec.optimise(&config.d_optimizer, clock, d)?;
        rec.keep(d_real);
        rec.keep(d_fake);
        Ok::<_, Error>(())
    };
    let a_slots = (slots::D_A, slots::D_A_REAL, slots::D_A_FAKE);
    let b_slots = (slots::D_B, slots::D_B_REAL, slots::D_B_FAKE);
    d_update(
        rec,
        &nets.d_a,
        (&batch_a, &pooled_a),
        a_slots,
        streams::D + 8,
    )?;
    d_update(
        rec,
        &nets.d_b,
        (&batch_b, &pooled_b),
        b_slots,
        streams::D + 10,
    )?;

    let tensors = CycleTensors {
        a: batch_a,
        b: batch_b,
        fake_b: fb,
        fake_a: fa,
        cycled_a: ab.cycled.output().clone(),
        cycled_b: ba.cycled.output().clone(),
        pooled_fake_b: pooled_b,
        pool_a,
        pool_b,
    };
    for d in [ab, ba] {
        rec.keep(d.fake);
        rec.keep(d.cycled);
        rec.keep(d.identity);
    }
    Ok(tensors)
}
