//! The conditional networks: dcgan28 with the label as G's one-hot input and as D's label
//! maps, and generating from a conditional G.

use crate::gan::dcgan::{Arch, DOptions, NZ};
use crate::gan::generate_at_async;
use crate::nn::{Network, Sequential};
use crate::{Error, Gpu, Result};

/// The conditional dcgan28 generator: `[NZ + classes]` → Linear 256·7·7 → BN → ReLU →
/// ConvT 128 → BN → ReLU → ConvT 1 → tanh, an image `[1, 28, 28]` in (−1, 1).
pub fn dcgan28_generator(classes: usize) -> Sequential {
    Arch::Dcgan28.generator_reading(NZ + classes)
}

/// The conditional dcgan28 discriminator: `[1 + classes, 28, 28]` (the image, then one
/// label map per class) → conv 64 → LeakyReLU → conv 128 → BN → LeakyReLU → linear 1.
pub fn dcgan28_discriminator(classes: usize) -> Sequential {
    Arch::Dcgan28.discriminator_reading(1 + classes)
}

/// The conditional dcgan28 discriminator with D's options (without batch norm, spectrally
/// normalised, a recipe's D); the dropout and minibatch std options are not offered here.
pub fn dcgan28_discriminator_with(classes: usize, options: DOptions) -> Sequential {
    let options = DOptions {
        dropout: 0.0,
        minibatch_std: false,
        ..options
    };
    Arch::Dcgan28.discriminator_reading_with(1 + classes, options)
}

/// G's input rows `[z_i | one-hot(labels_i)]` for `labels.len()` latent vectors in `z`.
/// A label ≥ `classes` is an error.
pub fn generator_input(z: &[f32], labels: &[u32], classes: usize) -> Result<Vec<f32>> {
    if labels.is_empty() || !z.len().is_multiple_of(labels.len()) {
        return Err(Error::shape(
            "conditional input",
            format!(
                "{} values are not {} whole latent vectors",
                z.len(),
                labels.len()
            ),
        ));
    }
    if let Some(&l) = labels.iter().find(|&&l| l as usize >= classes) {
        return Err(Error::Config(format!(
            "label {l} is not one of the {classes} classes"
        )));
    }
    let nz = z.len() / labels.len();
    let mut out = Vec::with_capacity(labels.len() * (nz + classes));
    for (zi, &l) in z.chunks_exact(nz).zip(labels) {
        out.extend_from_slice(zi);
        out.extend((0..classes).map(|c| if c == l as usize { 1.0 } else { 0.0 }));
    }
    Ok(out)
}

/// Runs conditional generator `g` (input `[nz + classes]`) on latent vectors `z` with
/// `labels` (one per vector), `batch` at a time in generate mode (see
/// [`generate_batched`](crate::gan::generate_batched)); returns the samples in order.
/// Blocking.
pub fn generate(
    gpu: &Gpu,
    g: &Network,
    classes: usize,
    z: &[f32],
    labels: &[u32],
    batch: usize,
) -> Result<Vec<f32>> {
    crate::gpu::block_on(generate_async(gpu, g, classes, z, labels, batch))
}

/// As [`generate`] without blocking: the way to generate in a browser.
pub async fn generate_async(
    gpu: &Gpu,
    g: &Network,
    classes: usize,
    z: &[f32],
    labels: &[u32],
    batch: usize,
) -> Result<Vec<f32>> {
    let input = generator_input(z, labels, classes)?;
    let width: usize = g.model().input_shape().iter().product();
    if input.len() != labels.len() * width {
        return Err(Error::shape(
            "generate",
            format!(
                "latent vectors of {} plus {classes} classes do not make G's input {:?}",
                z.len() / labels.len(),
                g.model().input_shape()
            ),
        ));
    }
    generate_at_async(gpu, g, &input, batch, 0).await
}

/// How D reads the labels: `(image channels, spatial)` such that D's input is
/// `[image channels + classes, spatial]` (maps beside the image, or a row after a flat sample).
pub(super) fn d_layout(d_in: &[usize], sample: &[usize], classes: usize) -> Result<(usize, usize)> {
    let size: usize = sample.iter().product();
    if d_in == [size + classes] {
        return Ok((size, 1));
    }
    if sample.len() >= 2
        && d_in.len() == sample.len()
        && d_in[0] == sample[0] + classes
        && d_in[1..] == sample[1..]
    {
        return Ok((sample[0], sample[1..].iter().product()));
    }
    let mut maps = sample.to_vec();
    if let Some(c) = maps.first_mut() {
        *c += classes;
    }
    Err(Error::shape(
        "conditional trainer",
        format!(
            "D reads {d_in:?}; for samples of {sample:?} and {classes} classes it must read \
             [{}] (a one-hot row after the flat sample){}",
            size + classes,
            if sample.len() >= 2 {
                format!(" or {maps:?} (one label map per class after the image channels)")
            } else {
                String::new()
            }
        ),
    ))
}
