//! Recording one pix2pix iteration: the kernels of a step, in order.

use super::{Pix2PixConfig, Pix2PixTensors};
use crate::gan::translation::metrics;
use crate::gan::translation::task::Pairs;
use crate::gan::{streams, GanLoss};
use crate::nn::{Mode, Network};
use crate::ops::concat::{concat_channels, split_channels};
use crate::ops::data::gather;
use crate::ops::elementwise::axpby;
use crate::ops::loss::{
    bce_logits, hinge_generator, hinge_logits, least_squares, wasserstein, BceOut,
};
use crate::ops::loss::{l1, L1Out};
use crate::ops::Clock;
use crate::step::Recorder;
use crate::tape::ParamGrads;
use crate::{Error, Result, Tensor};

/// `[c, h, w]` of a sample shape.
pub(super) fn dims(shape: &[usize]) -> Result<[usize; 3]> {
    shape.try_into().map_err(|_| {
        Error::shape(
            "pix2pix",
            format!("images must be [channels, height, width], not {shape:?}"),
        )
    })
}

/// Records one iteration into `rec`: the pairs gathered, G's forward, D's step on the real
/// and the fake pair, G's step through the updated D plus λ·L1.
pub(super) fn record(
    rec: &mut Recorder,
    config: &Pix2PixConfig,
    pairs: &Pairs,
    g: &Network,
    d: Option<&Network>,
) -> Result<Pix2PixTensors> {
    let (gpu, state) = (&rec.gpu.clone(), &rec.state.clone());
    let (b, clock) = (config.batch, Clock::ITERATION);
    let batch_of = |shape: &[usize], what: &str| {
        let mut s = vec![b];
        s.extend(shape);
        Tensor::zeros(gpu, &s, what)
    };
    let x = batch_of(pairs.inputs.shape(), "inputs")?;
    let y = batch_of(pairs.targets.shape(), "targets")?;
    // One draw of sample indices for both: each input with its own target.
    let data_clock = rec.shard().data_clock(clock);
    for (data, batch) in [(&pairs.inputs, &x), (&pairs.targets, &y)] {
        let gth = data.gather(b, config.seed, data_clock);
        rec.push(gather(gpu, gth, state, &data.pixels, batch)?);
    }
    let g_tape = g.tape(gpu, &x, Mode::Train, rec.rng(streams::G, clock), state)?;
    rec.forward(&g_tape);
    let fake = g_tape.output();
    let grad_fake = Tensor::zeros(gpu, fake.shape(), "dL/dG(x)")?;
    let metrics_t = rec.metrics.clone();
    let n = fake.len();
    // λ·L1's gradient; the logged value is the unweighted mean.
    let l1_out = L1Out {
        loss_slot: metrics::L1,
        accumulate: false,
        weight: 1.0,
        grad_scale: config.l1_weight / n as f32,
    };
    match d {
        None => rec.push(l1(gpu, (fake, &y), &grad_fake, &metrics_t, l1_out)?),
        Some(d) => {
            let spatial: usize = pairs.inputs.shape()[1..].iter().product();
            let pair = |a: &Tensor, what: &str| -> Result<(Tensor, crate::gpu::Kernel)> {
                let out = batch_of(d.model().input_shape(), what)?;
                let k = concat_channels(gpu, &x, a, &out, b, spatial)?;
                Ok((out, k))
            };
            let (real_pair, k_real) = pair(&y, "real pairs")?;
            let (fake_pair, k_fake) = pair(fake, "fake pairs")?;
            rec.extend([k_real, k_fake]);
            let grad_pair = d_step(rec, config, d, &real_pair, &fake_pair)?;
            // The input's channels are given, not generated: only the rest reaches G.
            rec.extend(split_channels(
                gpu,
                &grad_pair,
                None,
                Some(&grad_fake),
                b,
                spatial,
            )?);
            if config.l1_weight > 0.0 {
                let grad_l1 = Tensor::zeros(gpu, fake.shape(), "λ·dL1/dG(x)")?;
                rec.push(l1(gpu, (fake, &y), &grad_l1, &metrics_t, l1_out)?);
                rec.push(axpby(gpu, 1.0, &grad_l1, 1.0, &grad_fake)?);
            }
        }
    }
    let back = g_tape.backward(gpu, &grad_fake, ParamGrads::Write, None)?;
    rec.extend(back);
    rec.optimise(&config.g_optimizer, clock, g)?;
    rec.extend(g.constraints(gpu)?);
    let tensors = Pix2PixTensors {
        inputs: x,
        targets: y,
        outputs: g_tape.output().clone(),
        output_grad: grad_fake,
    };
    rec.keep(g_tape);
    Ok(tensors)
}

/// D's update on a real and a fake pair (the mean over every patch, halved as the paper's),
/// then the adversarial loss of G's step on the fake pair through the updated D; returns its
/// gradient at the fake pair.
fn d_step(
    rec: &mut Recorder,
    config: &Pix2PixConfig,
    d: &Network,
    real_pair: &Tensor,
    fake_pair: &Tensor,
) -> Result<Tensor> {
    let (gpu, state) = (&rec.gpu.clone(), &rec.state.clone());
    let (clock, m) = (Clock::ITERATION, &rec.metrics.clone());
    let d_real = d.tape(
        gpu,
        real_pair,
        Mode::Train,
        rec.rng(streams::D, clock),
        state,
    )?;
    let d_fake = d.tape(
        gpu,
        fake_pair,
        Mode::Train,
        rec.rng(streams::D + 1, clock),
        state,
    )?;
    let logits_shape = d_real.output().shape().to_vec();
    let patches = d_real.output().len();
    let ones = Tensor::from_slice(gpu, &vec![1.0; patches], &logits_shape, "real targets")?;
    let zeros = Tensor::zeros(gpu, &logits_shape, "fake targets")?;
    let loss = |logits: &Tensor, targets: &Tensor, grad: &Tensor, out| match config.loss {
        GanLoss::Bce => bce_logits(gpu, logits, targets, grad, m, out),
        GanLoss::Hinge => hinge_logits(gpu, logits, targets, grad, m, out),
        GanLoss::LeastSquares => least_squares(gpu, logits, targets, grad, m, out),
        GanLoss::Wasserstein => wasserstein(gpu, logits, targets, grad, m, out),
    };
    let real_out = BceOut {
        loss_slot: metrics::D_LOSS,
        prob_slot: metrics::D_REAL,
        accumulate: false,
        grad_scale: 0.5 / patches as f32,
        sign: 1.0,
    };
    let fake_out = BceOut {
        accumulate: true,
        prob_slot: metrics::D_FAKE,
        ..real_out
    };
    let grad_real = Tensor::zeros(gpu, &logits_shape, "dD(x, y)")?;
    let grad_fake = Tensor::zeros(gpu, &logits_shape, "dD(x, G(x))")?;
    let k = [
        loss(d_real.output(), &ones, &grad_real, real_out)?,
        loss(d_fake.output(), &zeros, &grad_fake, fake_out)?,
    ];
    rec.forward(&d_real);
    rec.forward(&d_fake);
    rec.extend(k);
    rec.extend(d_real.backward(gpu, &grad_real, ParamGrads::Write, None)?);
    rec.extend(d_fake.backward(gpu, &grad_fake, ParamGrads::Accumulate, None)?);
    rec.optimise(&config.d_optimizer, clock, d)?;
    rec.extend(d.constraints(gpu)?);
    rec.keep(d_real);
    rec.keep(d_fake);

    // G's adversarial loss through the updated D, its parameters untouched.
    let d_g = d.tape(
        gpu,
        fake_pair,
        Mode::Train,
        rec.rng(streams::D - 1, clock),
        state,
    )?;
    rec.forward(&d_g);
    let grad_logits = Tensor::zeros(gpu, &logits_shape, "dD(x, G(x)) for G")?;
    let out = BceOut {
        loss_slot: metrics::G_ADV,
        prob_slot: metrics::D_FAKE_G,
        accumulate: false,
        grad_scale: 1.0 / patches as f32,
        sign: 1.0,
    };
    let logits = d_g.output();
    rec.push(match config.loss {
        GanLoss::Bce => bce_logits(gpu, logits, &ones, &grad_logits, m, out)?,
        GanLoss::Hinge => hinge_generator(gpu, logits, &grad_logits, m, out)?,
        GanLoss::LeastSquares => least_squares(gpu, logits, &ones, &grad_logits, m, out)?,
        GanLoss::Wasserstein => wasserstein(gpu, logits, &ones, &grad_logits, m, out)?,
    });
    let grad_pair = Tensor::zeros(gpu, fake_pair.shape(), "dL/d(x, G(x))")?;
    let back = d_g.backward(gpu, &grad_logits, ParamGrads::Skip, Some(&grad_pair))?;
    rec.extend(back);
    rec.keep(d_g);
    Ok(grad_pair)
}
