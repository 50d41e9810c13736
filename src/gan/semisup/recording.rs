//! The semi-supervised step being recorded: its three losses' kernels in order.

use super::*;
use crate::gpu::Kernel;
use crate::nn::{Mode, Network, RngSpec};
use crate::ops::data::{gather, Gather};
use crate::ops::feature_matching::feature_matching;
use crate::ops::loss::{bce_logits, BceOut};
use crate::ops::softmax::{softmax_ce, SoftmaxCeOut};
use crate::ops::{logsumexp, Clock};
use crate::step::Recorder;
use crate::tape::{ParamGrads, Tape};
use crate::{Dataset, Result, Tensor};

/// A step being recorded: the recorder and the batch size its losses average over.
pub(super) struct Recording {
    pub(super) rec: Recorder,
    pub(super) batch: usize,
}

impl Recording {
    /// Noise-layer draws of a D or G tape from its own stream.
    pub(super) fn rng(&self, stream: u32) -> RngSpec {
        self.rec.rng(stream, Clock::ITERATION)
    }

    /// A batch of `data` in the per-epoch order that `order_seed` keys.
    pub(super) fn gather_spec(&self, data: &Dataset, order_seed: u64) -> Gather {
        let clock = self.rec.shard().data_clock(Clock::ITERATION);
        data.gather(self.batch, order_seed, clock)
    }

    /// A tensor that each step fills with a batch of `data`.
    pub(super) fn gathered(
        &mut self,
        data: &Dataset,
        order_seed: u64,
        label: &str,
    ) -> Result<Tensor> {
        let spec = self.gather_spec(data, order_seed);
        let rec = &mut self.rec;
        let x = Tensor::zeros(&rec.gpu, &[self.batch, 1, SIDE, SIDE], label)?;
        rec.push(gather(&rec.gpu, spec, &rec.state, &data.pixels, &x)?);
        Ok(x)
    }

    /// D's cross-entropy over the K classes on labelled digits; writes D's gradients.
    pub(super) fn labelled_loss(&mut self, d: &Network, x: &Tensor, labels: &Tensor) -> Result<()> {
        let (gpu, b) = (&self.rec.gpu.clone(), self.batch);
        let t = d.tape(gpu, x, Mode::Train, self.rng(STREAM_D), &self.rec.state)?;
        let grad = Tensor::zeros(gpu, &[b, CLASSES], "dlogits, labelled")?;
        self.rec.forward(&t);
        let out = SoftmaxCeOut {
            loss_slot: LAB_LOSS,
            acc_slot: LAB_ACC,
            grad_scale: 1.0 / b as f32,
        };
        let ce = softmax_ce(gpu, t.output(), labels, &grad, &self.rec.metrics, out)?;
        self.rec.push(ce);
        self.rec
            .extend(t.backward(gpu, &grad, ParamGrads::Write, None)?);
        self.rec.keep(t);
        Ok(())
    }

    /// D's real/fake loss, BCE on lse(logits) with weight ½, for a real or a generated
    /// batch; adds to D's gradients.
    pub(super) fn real_fake_loss(&mut self, d: &Network, x: &Tensor, real: bool) -> Result<()> {
        let (gpu, b) = (&self.rec.gpu.clone(), self.batch);
        let stream = STREAM_D + if real { 1 } else { 2 };
        let t = d.tape(gpu, x, Mode::Train, self.rng(stream), &self.rec.state)?;
        let target = if real { 1.0 } else { 0.0 };
        let targets = Tensor::from_slice(gpu, &vec![target; b], &[b], "real/fake targets")?;
        let lse = Tensor::zeros(gpu, &[b], "log Z")?;
        let dlse = Tensor::zeros(gpu, &[b], "dlog Z")?;
        let dlogits = Tensor::zeros(gpu, &[b, CLASSES], "dlogits, unsupervised")?;
        let out = BceOut {
            loss_slot: UNSUP_LOSS,
            prob_slot: if real { D_REAL } else { D_FAKE },
            accumulate: !real,
            grad_scale: 0.5 / b as f32,
            sign: 1.0,
        };
        self.rec.forward(&t);
        let k = [
            logsumexp::forward(gpu, t.output(), &lse)?,
            bce_logits(gpu, &lse, &targets, &dlse, &self.rec.metrics, out)?,
            logsumexp::backward(gpu, t.output(), &lse, &dlse, &dlogits, false)?,
        ];
        self.rec.extend(k);
        self.rec
            .extend(t.backward(gpu, &dlogits, ParamGrads::Accumulate, None)?);
        self.rec.keep(t);
        Ok(())
    }

    /// G's gradients from matching the mean of `features` (D's first layers) on its samples
    /// to that on the real batch `real`: the kernels to run after D's update.
    pub(super) fn feature_matching_step(
        &mut self,
        features: &Network,
        g_tape: &Tape,
        real: &Tensor,
    ) -> Result<Vec<Kernel>> {
        let (gpu, state) = (&self.rec.gpu, &self.rec.state);
        let fake = g_tape.output();
        let fake_f = features.tape(gpu, fake, Mode::Train, self.rng(STREAM_D + 3), state)?;
        let real_f = features.tape(gpu, real, Mode::Train, self.rng(STREAM_D + 4), state)?;
        let grad_f = Tensor::zeros(gpu, fake_f.output().shape(), "dfeatures")?;
        let grad_x = Tensor::zeros(gpu, fake.shape(), "dG(z)")?;
        let mut k = fake_f.forward().to_vec();
        k.extend_from_slice(real_f.forward());
        k.extend(feature_matching(
            gpu,
            real_f.output(),
            fake_f.output(),
            &grad_f,
            &self.rec.metrics,
            FM_LOSS,
        )?);
        k.extend(fake_f.backward(gpu, &grad_f, ParamGrads::Skip, Some(&grad_x))?);
        k.extend(g_tape.backward(gpu, &grad_x, ParamGrads::Write, None)?);
        self.rec.keep(fake_f);
        self.rec.keep(real_f);
        Ok(k)
    }
}
