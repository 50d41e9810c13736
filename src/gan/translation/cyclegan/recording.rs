//! Recording one CycleGAN iteration: the kernels of a step, in order.

use super::{CycleGanConfig, CycleTensors, Networks};
use crate::gan::translation::cycle_metrics as slots;
use crate::gan::translation::task::Domains;
use crate::gan::{streams, GanLoss};
use crate::gpu::Kernel;
use crate::nn::{Mode, Network};
use crate::ops::data::gather;
use crate::ops::elementwise::axpby;
use crate::ops::loss::{
    bce_logits, hinge_generator, hinge_logits, least_squares, wasserstein, BceOut,
};
use crate::ops::loss::{l1, L1Out};
use crate::ops::stabilise::{replay_mix, replay_store, Draws, Replay};
use crate::ops::Clock;
use crate::step::Recorder;
use crate::tape::{ParamGrads, Tape};
use crate::{Error, Gpu, Result, Tensor};

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
        (GanLoss::Wasserstein, _) => wasserstein(gpu, logits, targets, grad, metrics, out),
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
pub(super) fn record(
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
