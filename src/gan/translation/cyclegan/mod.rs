//! CycleGAN (Zhu et al. 2017): two generators, A → B and B → A, learn from unpaired images of
//! two domains. Each is judged by a PatchGAN of its target domain (least squares by default)
//! and must survive the round trip (cycle consistency, λ·L1) and leave an image of its target
//! domain alone (identity, ½λ·L1). The step follows the paper's code: both generators' update
//! first, then both discriminators' on the real images and on fakes from a pool of earlier
//! ones. All of it is recorded once and replayed with one submission per step. A moving
//! average of each generator's weights can follow it, and then translates.

use std::path::Path;

use super::cycle_metrics::{CycleMetrics, SLOTS};
use super::task::Domains;
use crate::gan::ema::{check_decay, Ema};
use crate::gan::{generate_batched, GanLoss};
use crate::io::checkpoint::{self, Checkpoint, Extras};
use crate::nn::{Graph, Network};
use crate::step::{Recorder, Replayer};
use crate::{Error, Gpu, Optimizer, Result, Tensor};

mod recording;
use recording::record;

/// The checkpoint names of the pools of earlier fakes D_A and D_B read.
const POOL_A: &str = "pool_a";
const POOL_B: &str = "pool_b";
/// The checkpoint names of the moving averages of G_AB's and G_BA's weights.
pub const G_AB_EMA: &str = "G_AB_ema";
/// See [`G_AB_EMA`].
pub const G_BA_EMA: &str = "G_BA_ema";

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
    /// Keep a moving average of each generator's weights with this decay (e.g. 0.999),
    /// updated after every step, which then translates (the grids, [`CycleGan::a_to_b`],
    /// checkpoints as [`G_AB_EMA`] and [`G_BA_EMA`]); `None` (the paper's) translates with
    /// the generators themselves.
    pub g_ema: Option<f32>,
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
            g_ema: None,
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
        match self.g_ema {
            Some(decay) => check_decay(decay),
            None => Ok(()),
        }
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
    /// The moving averages of G_AB and G_BA, when kept.
    emas: Option<[Ema; 2]>,
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
        let emas = match config.g_ema {
            Some(decay) => {
                let mut updates = Vec::new();
                let ab = Ema::new(gpu, &nets.g_ab, G_AB_EMA, decay, &mut updates)?;
                let ba = Ema::new(gpu, &nets.g_ba, G_BA_EMA, decay, &mut updates)?;
                rec.extend(updates);
                Some([ab, ba])
            }
            None => None,
        };
        let replayer = rec.finish(config.readback_every, &SLOTS, "cyclegan step")?;
        Ok(CycleGan {
            config,
            gpu: gpu.clone(),
            replayer,
            nets,
            emas,
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

    /// The generators that translate, A → B and B → A: the moving averages of G_AB and G_BA
    /// when the configuration keeps them (`g_ema`), else G_AB and G_BA.
    pub fn translators(&self) -> (&Network, &Network) {
        match &self.emas {
            Some([ab, ba]) => (ab.network(), ba.network()),
            None => (&self.nets.g_ab, &self.nets.g_ba),
        }
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

    /// The translation of `images` of domain A (whole images, row-major) to domain B by the
    /// A → B one of [`CycleGan::translators`], in generate mode, a training batch at a time.
    /// Blocking.
    pub fn a_to_b(&self, images: &[f32]) -> Result<Vec<f32>> {
        generate_batched(&self.gpu, self.translators().0, images, self.config.batch)
    }

    /// The translation of `images` of domain B to domain A.
    pub fn b_to_a(&self, images: &[f32]) -> Result<Vec<f32>> {
        generate_batched(&self.gpu, self.translators().1, images, self.config.batch)
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

    /// Saves the four networks (with their optimisers' moments), the generators' moving
    /// averages when kept (weights only), the pools, the step counter, the metrics and the
    /// notes, atomically; flushes first, so a diverged state is refused.
    pub fn save(&mut self, path: &Path) -> Result<()> {
        self.replayer.flush()?;
        let t = &self.tensors;
        let pools = [(POOL_A, &t.pool_a), (POOL_B, &t.pool_b)];
        let averages: Vec<(&str, &Network)> = self
            .emas
            .iter()
            .flatten()
            .map(|e| (e.network().label(), e.network()))
            .collect();
        checkpoint::save_with(
            &self.gpu,
            path,
            &self.named(),
            Extras {
                weights: &averages,
                tensors: &pools,
                notes: &self.notes,
            },
            Some(self.replayer.state()),
            self.replayer.collected(),
            &[],
        )
    }

    /// Continues from a checkpoint [`CycleGan::save`] wrote for the same networks. The
    /// moving averages are restored too, or restarted from the generators when the checkpoint
    /// has none.
    pub fn resume(&mut self, path: &Path) -> Result<()> {
        let ckpt = Checkpoint::open(path)?;
        for (name, net) in self.named() {
            ckpt.load_network(&self.gpu, name, net, true)?;
        }
        for ema in self.emas.iter().flatten() {
            ema.restore(&self.gpu, &ckpt)?;
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
