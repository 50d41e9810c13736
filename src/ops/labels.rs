//! Class labels for conditional GANs: labels drawn uniformly on the GPU (Philox), and u32
//! labels turned into one-hot rows (G's input) or constant label maps (beside a D's image
//! channels). Labels are u32 tensors, one per sample, as `ops::data::gather_labels` writes.

use super::{groups_256, seed_words, u, Clock};
use crate::gpu::params::shader_params;
use crate::gpu::shaders::Shader;
use crate::gpu::{Bind, Kernel, KernelSpec};
use crate::{Error, Gpu, Result, Tensor};

shader_params! {
    /// `labels.wgsl`'s parameters (`spatial` for `one_hot`, the draws' for `draw_labels`).
    pub(crate) struct LabelParams for Labels::Params {
        n: u32,
        classes: u32,
        spatial: u32,
        stream: u32,
        seed_lo: u32,
        seed_hi: u32,
        t_mul: u32,
        t_add: u32,
        first: u32,
    }
}

/// Fills u32 `out` with labels uniform on `0..classes`; label `i` uses Philox counter
/// `(i, step, stream)` and key `seed`, with `step` from the clock (see
/// [`crate::reference::labels::draw`]).
pub fn draw(
    gpu: &Gpu,
    classes: usize,
    seed: u64,
    stream: u32,
    clock: Clock,
    state: &Tensor,
    out: &Tensor,
) -> Result<Kernel> {
    draw_at(gpu, classes, (seed, stream, clock), 0, state, out)
}

/// As [`draw`] with label i drawing counter `first + i`: a data-parallel rank draws its part
/// of what one process would draw for the whole batch.
pub fn draw_at(
    gpu: &Gpu,
    classes: usize,
    (seed, stream, clock): (u64, u32, Clock),
    first: u32,
    state: &Tensor,
    out: &Tensor,
) -> Result<Kernel> {
    check_classes("draw labels", classes)?;
    if out.is_empty() {
        return Err(Error::shape("draw labels", "no labels to draw"));
    }
    let [lo, hi] = seed_words(seed);
    let params = LabelParams {
        n: u(out.len()),
        classes: u(classes),
        spatial: 0,
        stream,
        seed_lo: lo,
        seed_hi: hi,
        t_mul: clock.mul,
        t_add: clock.add,
        first,
    };
    gpu.kernel(
        KernelSpec::new(Shader::Labels, "draw_labels"),
        &[Bind::params(&params), Bind::Read(state), Bind::Write(out)],
        groups_256(out.len()),
    )
}

/// Writes `out` `[batch, classes, spatial]` from u32 `labels` `[batch]`: 1 in the label's
/// class, 0 elsewhere, the same at every spatial position (`spatial = 1` gives one-hot rows).
/// A label ≥ `classes` gives an all-zero row.
pub fn one_hot(
    gpu: &Gpu,
    labels: &Tensor,
    out: &Tensor,
    classes: usize,
    spatial: usize,
) -> Result<Kernel> {
    let op = "one-hot";
    check_classes(op, classes)?;
    let want = labels
        .len()
        .checked_mul(classes)
        .and_then(|n| n.checked_mul(spatial));
    if labels.is_empty() || spatial == 0 || want != Some(out.len()) {
        return Err(Error::shape(
            op,
            format!(
                "{} labels of {classes} classes over {spatial} positions do not fill out {:?}",
                labels.len(),
                out.shape()
            ),
        ));
    }
    if out.len() > u32::MAX as usize {
        return Err(Error::shape(op, "out has more than 2^32 values"));
    }
    let params = LabelParams {
        n: u(out.len()),
        classes: u(classes),
        spatial: u(spatial),
        ..LabelParams::default()
    };
    gpu.kernel(
        KernelSpec::new(Shader::Labels, "one_hot"),
        &[Bind::params(&params), Bind::Read(labels), Bind::Write(out)],
        groups_256(out.len()),
    )
}

fn check_classes(op: &str, classes: usize) -> Result<()> {
    if classes == 0 || classes > u32::MAX as usize {
        return Err(Error::shape(
            op,
            format!("{classes} classes: need 1 to 2^32 − 1"),
        ));
    }
    Ok(())
}
