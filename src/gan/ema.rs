//! An exponential moving average of G's weights, which draws better samples than the last
//! iterate (Karras et al. 2018, Yazıcı et al. 2019): it starts as G and follows each update,
//! `ema = decay·ema + (1 − decay)·θ`, inside the iteration's one submission.

use crate::gpu::Kernel;
use crate::io::checkpoint::Checkpoint;
use crate::ops::elementwise::axpby;
use crate::{Error, Gpu, Network, Result};

/// The checkpoint name of the moving average of G's weights.
pub const EMA_NETWORK: &str = "G_ema";

/// Errors unless `decay` is in (0, 1).
pub(crate) fn check_decay(decay: f32) -> Result<()> {
    if decay > 0.0 && decay < 1.0 {
        return Ok(());
    }
    Err(Error::Config(format!(
        "g_ema (the moving average's decay) must be in (0, 1), got {decay}"
    )))
}

/// The average and the kernel that resets it to G.
pub(crate) struct Ema {
    net: Network,
    copy: Kernel,
}

impl Ema {
    /// A shadow of `g`, named `name` in checkpoints, holding its weights now; appends the
    /// update that must follow each of G's optimiser steps to `kernels`. The configurations
    /// check `decay` with [`check_decay`] before recording.
    pub(crate) fn new(
        gpu: &Gpu,
        g: &Network,
        name: &str,
        decay: f32,
        kernels: &mut Vec<Kernel>,
    ) -> Result<Ema> {
        let net = g.shadow(gpu, name)?;
        let (theta, avg) = (&g.params().values, &net.params().values);
        let copy = axpby(gpu, 1.0, theta, 0.0, avg)?;
        gpu.run(&[&copy])?;
        kernels.push(axpby(gpu, 1.0 - decay, theta, decay, avg)?);
        Ok(Ema { net, copy })
    }

    /// The averaged generator, labelled with its checkpoint name.
    pub(crate) fn network(&self) -> &Network {
        &self.net
    }

    /// Loads the average from `ckpt`, or restarts it from G (load G first) when the
    /// checkpoint has none.
    pub(crate) fn restore(&self, gpu: &Gpu, ckpt: &Checkpoint) -> Result<()> {
        if ckpt.has_network(self.net.label())? {
            ckpt.load_network(gpu, self.net.label(), &self.net, false)
        } else {
            gpu.run(&[&self.copy])
        }
    }
}
