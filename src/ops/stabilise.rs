//! GAN stabilisation tricks as GPU kernels driven by the step counter: flipped labels,
//! annealed instance noise, and a replay buffer of earlier fakes (`shaders/stabilise.wgsl`).
//! Each is built once; a step only encodes it. `src/reference/stabilise.rs` has the CPU
//! versions.

use super::{groups_256, same_len, seed_words, u, Clock};
use crate::gpu::params::shader_params;
use crate::gpu::shaders::Shader;
use crate::gpu::{Bind, Kernel, KernelSpec};
use crate::{Error, Gpu, Result, Tensor};

shader_params! {
    /// `flip_targets`' parameters: the draws, the flipped fraction and the real target.
    pub(crate) struct FlipParams for Stabilise::FlipParams {
        n: u32,
        seed_lo: u32,
        seed_hi: u32,
        stream: u32,
        t_mul: u32,
        t_add: u32,
        fraction: f32,
        real_label: f32,
    }
}

shader_params! {
    /// `instance_noise`'s parameters: the draws, σ and its annealing steps.
    pub(crate) struct NoiseParams for Stabilise::NoiseParams {
        n: u32,
        seed_lo: u32,
        seed_hi: u32,
        stream: u32,
        t_mul: u32,
        t_add: u32,
        sigma: f32,
        anneal: u32,
    }
}

shader_params! {
    /// The replay kernels' parameters: the ring's layout and the draws.
    pub(crate) struct ReplayParams for Stabilise::ReplayParams {
        n: u32,
        size: u32,
        batch: u32,
        capacity: u32,
        replayed: u32,
        seed_lo: u32,
        seed_hi: u32,
        stream: u32,
        t_mul: u32,
        t_add: u32,
    }
}

/// Where a kernel's random draws come from: Philox key `seed`, counter `(i, step, stream)`
/// with `step` from the clock.
#[derive(Clone, Copy, Debug)]
pub struct Draws {
    pub seed: u64,
    pub stream: u32,
    pub clock: Clock,
}

/// Writes D's targets for one step: `real_t[i]` is `real_label`, or 0 when flipped;
/// `fake_t[i]` is 0, or `real_label` when flipped; each flipped with probability `fraction`.
pub fn flip_targets(
    gpu: &Gpu,
    fraction: f32,
    real_label: f32,
    draws: Draws,
    state: &Tensor,
    real_t: &Tensor,
    fake_t: &Tensor,
) -> Result<Kernel> {
    same_len("flip targets", real_t, fake_t)?;
    let [lo, hi] = seed_words(draws.seed);
    let params = FlipParams {
        n: u(real_t.len()),
        seed_lo: lo,
        seed_hi: hi,
        stream: draws.stream,
        t_mul: draws.clock.mul,
        t_add: draws.clock.add,
        fraction,
        real_label,
    };
    gpu.kernel(
        KernelSpec::new(Shader::Stabilise, "flip_targets"),
        &[
            Bind::params(&params),
            Bind::Read(state),
            Bind::Write(real_t),
            Bind::Write(fake_t),
        ],
        groups_256(real_t.len()),
    )
}

/// Instance noise: σ at iteration 0 and the iterations over which it falls linearly to 0
/// (`anneal_steps` = 0: constant).
#[derive(Clone, Copy, Debug)]
pub struct InstanceNoise {
    pub sigma: f32,
    pub anneal_steps: u32,
}

/// `y = x + σ_t·N(0, 1)` with σ_t from the iteration count `state[0]` (the draws' step comes
/// from their clock); from iteration `anneal_steps` on, `y = x` exactly.
pub fn instance_noise(
    gpu: &Gpu,
    noise: InstanceNoise,
    draws: Draws,
    state: &Tensor,
    x: &Tensor,
    y: &Tensor,
) -> Result<Kernel> {
    same_len("instance noise", x, y)?;
    if !(noise.sigma >= 0.0 && noise.sigma.is_finite()) {
        return Err(Error::Config(format!(
            "instance noise σ must be finite and at least 0, got {}",
            noise.sigma
        )));
    }
    let [lo, hi] = seed_words(draws.seed);
    let params = NoiseParams {
        n: u(x.len()),
        seed_lo: lo,
        seed_hi: hi,
        stream: draws.stream,
        t_mul: draws.clock.mul,
        t_add: draws.clock.add,
        sigma: noise.sigma,
        anneal: noise.anneal_steps,
    };
    gpu.kernel(
        KernelSpec::new(Shader::Stabilise, "instance_noise"),
        &[
            Bind::params(&params),
            Bind::Read(state),
            Bind::Read(x),
            Bind::Write(y),
        ],
        groups_256(x.len()),
    )
}

/// A replay buffer's layout: a ring of `capacity` samples of `size` values, fed `batch`
/// fresh samples per step, of which the first `replayed` are swapped for ring samples.
/// Largest replay buffer: ring positions are computed in u32 as products of two numbers
/// below the capacity.
pub const MAX_REPLAY_CAPACITY: usize = 65_535;

#[derive(Clone, Copy, Debug)]
pub struct Replay {
    pub size: usize,
    pub batch: usize,
    pub capacity: usize,
    pub replayed: usize,
    pub draws: Draws,
}

impl Replay {
    fn check(&self, fresh: &Tensor, ring: &Tensor) -> Result<()> {
        let op = "replay buffer";
        if self.size == 0 || self.batch == 0 || self.replayed > self.batch {
            return Err(Error::shape(op, format!("{self:?} is not a valid layout")));
        }
        if self.capacity == 0 || self.capacity > MAX_REPLAY_CAPACITY {
            return Err(Error::Config(format!(
                "replay capacity must be in 1..={}, got {}",
                MAX_REPLAY_CAPACITY, self.capacity
            )));
        }
        if fresh.len() != self.batch * self.size || ring.len() != self.capacity * self.size {
            return Err(Error::shape(
                op,
                format!(
                    "fresh {:?} and ring {:?} do not hold {} and {} samples of {}",
                    fresh.shape(),
                    ring.shape(),
                    self.batch,
                    self.capacity,
                    self.size
                ),
            ));
        }
        Ok(())
    }

    fn params(&self, n: usize) -> ReplayParams {
        let [lo, hi] = seed_words(self.draws.seed);
        ReplayParams {
            n: u(n),
            size: u(self.size),
            batch: u(self.batch),
            capacity: u(self.capacity),
            replayed: u(self.replayed),
            seed_lo: lo,
            seed_hi: hi,
            stream: self.draws.stream,
            t_mul: self.draws.clock.mul,
            t_add: self.draws.clock.add,
        }
    }
}

/// Writes D's fake batch `mixed`: the fresh fakes with the first `replayed` samples drawn
/// uniformly from the ring's filled slots (none while it is empty). Encode it before
/// [`replay_store`] of the same step, so a batch never replays itself.
pub fn replay_mix(
    gpu: &Gpu,
    r: Replay,
    state: &Tensor,
    fresh: &Tensor,
    ring: &Tensor,
    mixed: &Tensor,
) -> Result<Kernel> {
    r.check(fresh, ring)?;
    same_len("replay buffer", fresh, mixed)?;
    let n = r.batch * r.size;
    gpu.kernel(
        KernelSpec::new(Shader::Stabilise, "replay_mix"),
        &[
            Bind::params(&r.params(n)),
            Bind::Read(state),
            Bind::Read(fresh),
            Bind::Read(ring),
            Bind::Write(mixed),
        ],
        groups_256(n),
    )
}

/// Stores the first min(batch, capacity) fresh fakes in the ring after the ones stored by
/// the previous steps.
pub fn replay_store(
    gpu: &Gpu,
    r: Replay,
    state: &Tensor,
    fresh: &Tensor,
    ring: &Tensor,
) -> Result<Kernel> {
    r.check(fresh, ring)?;
    let n = r.batch.min(r.capacity) * r.size;
    gpu.kernel(
        KernelSpec::new(Shader::Stabilise, "replay_store"),
        &[
            Bind::params(&r.params(n)),
            Bind::Read(state),
            Bind::Read(fresh),
            Bind::Write(ring),
        ],
        groups_256(n),
    )
}
