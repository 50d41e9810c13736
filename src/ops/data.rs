//! Batch gathering from a GPU-resident data set, and the end-of-iteration bookkeeping.

use super::{groups_256, seed_words, u, Clock};
use crate::gpu::params::shader_params;
use crate::gpu::shaders::Shader;
use crate::gpu::{Bind, Kernel, KernelSpec};
use crate::{Error, Gpu, Result, Tensor};

/// Feistel half width so that 2^(2·half) ≥ count (at least 1 bit per half).
pub fn half_bits(count: usize) -> u32 {
    let bits = usize::BITS - (count.max(2) - 1).leading_zeros();
    bits.div_ceil(2).max(1)
}

/// How a gathered batch is laid out and scaled: value = byte · scale + shift.
#[derive(Clone, Copy, Debug)]
pub struct Gather {
    pub count: usize,
    pub size: usize,
    pub batch: usize,
    pub seed: u64,
    pub scale: f32,
    pub shift: f32,
    pub clock: Clock,
    /// `(src_h, src_w, out_h, out_w)` to resize each image bilinearly while gathering
    /// (`size` is then `out_h · out_w`).
    pub resize: Option<(usize, usize, usize, usize)>,
}

shader_params! {
    /// `data.wgsl`'s parameters, shared by `gather` and `gather_labels`.
    pub(crate) struct GatherParams for Data::Params {
        count: u32,
        size: u32,
        batch: u32,
        half_bits: u32,
        seed_lo: u32,
        seed_hi: u32,
        t_mul: u32,
        t_add: u32,
        scale: f32,
        shift: f32,
    }
}

shader_params! {
    /// `gather_resized`'s second block: the stored and the served image size.
    pub(crate) struct ResizeParams for Data::Resize { src_h: u32, src_w: u32, out_h: u32, out_w: u32 }
}

shader_params! {
    /// `metrics.wgsl`'s parameters: slots per row and rows in the history ring.
    pub(crate) struct RecordParams for Metrics::Params { slots: u32, rows: u32 }
}

fn params(g: &Gather) -> GatherParams {
    let [lo, hi] = seed_words(g.seed);
    GatherParams {
        count: u(g.count),
        size: u(g.size),
        batch: u(g.batch),
        half_bits: half_bits(g.count),
        seed_lo: lo,
        seed_hi: hi,
        t_mul: g.clock.mul,
        t_add: g.clock.add,
        scale: g.scale,
        shift: g.shift,
    }
}

/// Writes batch `step` (from the clock) of a per-epoch shuffled pass over `pixels` into `out`.
pub fn gather(
    gpu: &Gpu,
    g: Gather,
    state: &Tensor,
    pixels: &Tensor,
    out: &Tensor,
) -> Result<Kernel> {
    if out.len() != g.batch * g.size {
        return Err(Error::shape(
            "gather",
            format!(
                "batch tensor {:?} does not hold {} samples of {} values",
                out.shape(),
                g.batch,
                g.size
            ),
        ));
    }
    let params = params(&g);
    match g.resize {
        None => gpu.kernel(
            KernelSpec::new(Shader::Data, "gather"),
            &[
                Bind::params(&params),
                Bind::Read(state),
                Bind::Read(pixels),
                Bind::Write(out),
            ],
            groups_256(out.len()),
        ),
        Some((sh, sw, oh, ow)) => {
            if oh * ow != g.size || sh * sw * g.count > pixels.len() * 4 || sh == 0 || sw == 0 {
                return Err(Error::shape(
                    "gather",
                    format!(
                        "cannot resize {sh}x{sw} images to {oh}x{ow} samples of {}",
                        g.size
                    ),
                ));
            }
            let resize = ResizeParams {
                src_h: u(sh),
                src_w: u(sw),
                out_h: u(oh),
                out_w: u(ow),
            };
            gpu.kernel(
                KernelSpec::new(Shader::Data, "gather_resized"),
                &[
                    Bind::params(&params),
                    Bind::Read(state),
                    Bind::Read(pixels),
                    Bind::Write(out),
                    Bind::params(&resize),
                ],
                groups_256(out.len()),
            )
        }
    }
}

/// Writes the labels of batch `step` (from the clock) — the same samples `gather` picks with
/// the same `g` — into u32 `out` `[batch]`.
///
/// `labels` holds one u32 per sample of the data set (e.g. [`crate::Dataset::label_tensor`]);
/// `g.size`, `g.scale`, `g.shift` and `g.resize` do not matter here.
pub fn gather_labels(
    gpu: &Gpu,
    g: Gather,
    state: &Tensor,
    labels: &Tensor,
    out: &Tensor,
) -> Result<Kernel> {
    if out.len() != g.batch {
        return Err(Error::shape(
            "gather_labels",
            format!(
                "label tensor {:?} does not hold {} labels",
                out.shape(),
                g.batch
            ),
        ));
    }
    if labels.len() < g.count {
        return Err(Error::shape(
            "gather_labels",
            format!(
                "{} labels for a data set of {} samples",
                labels.len(),
                g.count
            ),
        ));
    }
    gpu.kernel(
        KernelSpec::new(Shader::Data, "gather_labels"),
        &[
            Bind::params(&params(&g)),
            Bind::Read(state),
            Bind::Read(labels),
            Bind::Write(out),
        ],
        groups_256(g.batch),
    )
}

/// Appends `metrics` to the history ring, flags the first non-finite iteration and advances
/// the iteration counter in `state` (see `shaders/metrics.wgsl`).
pub fn record(gpu: &Gpu, state: &Tensor, metrics: &Tensor, history: &Tensor) -> Result<Kernel> {
    let slots = metrics.len();
    if !history.len().is_multiple_of(slots + 1) {
        return Err(Error::shape(
            "record",
            "history rows must hold the step and every metric",
        ));
    }
    let params = RecordParams {
        slots: u(slots),
        rows: u(history.len() / (slots + 1)),
    };
    gpu.kernel(
        KernelSpec::new(Shader::Metrics, "record"),
        &[
            Bind::params(&params),
            Bind::Write(state),
            Bind::Read(metrics),
            Bind::Write(history),
        ],
        1,
    )
}
