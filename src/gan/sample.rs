//! Drawing samples outside the training loop: z on the CPU from the same Philox stream the
//! trainer uses for its fixed z, and a generator run in generate mode.

use crate::gan::streams::SAMPLE as STREAM_SAMPLE;
use crate::gan::Noise;
use crate::nn::{Mode, Network, RngSpec};
use crate::ops::rng::Distribution;
use crate::ops::Clock;
use crate::philox;
use crate::{Error, Gpu, Result, Tensor};

/// `len` values of `noise` drawn from `seed` (deterministic on every machine).
pub fn noise(noise: Noise, len: usize, seed: u64) -> Vec<f32> {
    (0..len as u32)
        .map(|i| {
            let r = philox::draw(seed, 0, STREAM_SAMPLE, i);
            match noise.distribution() {
                Distribution::Uniform { low, high } => low + (high - low) * philox::to_unit(r[0]),
                _ => philox::to_normal(r[0], r[1]) as f32,
            }
        })
        .collect()
}

/// Runs generator `g` on `z` (a whole number of latent vectors) in generate mode (batch
/// statistics, nothing updated) and returns the samples. Blocking; builds its own tape.
pub fn generate(gpu: &Gpu, g: &Network, z: &[f32]) -> Result<Vec<f32>> {
    let nz: usize = g.model().input_shape().iter().product();
    generate_batched(gpu, g, z, (z.len() / nz).max(1))
}

/// Like [`generate`], but `batch` latent vectors at a time through one tape, so batch norm's
/// batch statistics are those of a training-sized batch and memory stays bounded however
/// many samples are asked for. A last partial chunk is topped up with the first latent
/// vectors (real draws, so its statistics stay representative) and the extra rows dropped.
pub fn generate_batched(gpu: &Gpu, g: &Network, z: &[f32], batch: usize) -> Result<Vec<f32>> {
    generate_at(gpu, g, z, batch, 0)
}

/// [`generate_batched`] as the generator runs after `iterations` training steps: layers that
/// read the step counter (a fade-in's α) see that step.
pub fn generate_at(
    gpu: &Gpu,
    g: &Network,
    z: &[f32],
    batch: usize,
    iterations: u32,
) -> Result<Vec<f32>> {
    crate::gpu::block_on(generate_at_async(gpu, g, z, batch, iterations))
}

/// As [`generate_at`] without blocking: the way to generate in a browser.
pub async fn generate_at_async(
    gpu: &Gpu,
    g: &Network,
    z: &[f32],
    batch: usize,
    iterations: u32,
) -> Result<Vec<f32>> {
    let nz: usize = g.model().input_shape().iter().product();
    if z.is_empty() || !z.len().is_multiple_of(nz) || batch == 0 {
        return Err(Error::shape(
            "generate",
            format!(
                "{} values are not whole latent vectors of {nz}, or batch {batch} is empty",
                z.len()
            ),
        ));
    }
    let n = z.len() / nz;
    let batch = batch.min(n);
    let mut shape = vec![batch];
    shape.extend(g.model().input_shape());
    let zt = Tensor::zeros(gpu, &shape, "z")?;
    let state = crate::step::StepState::tensor(gpu, "step counter")?;
    let at = crate::step::StepState {
        iterations,
        ..Default::default()
    };
    at.write(gpu, &state)?;
    let rng = RngSpec {
        seed: 0,
        stream: STREAM_SAMPLE,
        clock: Clock::ITERATION,
    };
    let tape = g.tape(gpu, &zt, Mode::Generate, rng, &state)?;
    let kernels: Vec<_> = tape.forward().iter().collect();
    let per_sample = tape.output().len() / batch;
    let mut out = Vec::with_capacity(n * per_sample);
    let mut chunk = Vec::with_capacity(batch * nz);
    for part in z.chunks(batch * nz) {
        chunk.clear();
        chunk.extend_from_slice(part);
        chunk.extend_from_slice(&z[..batch * nz - part.len()]);
        zt.write(gpu, &chunk)?;
        gpu.run(&kernels)?;
        let rows = part.len() / nz;
        out.extend_from_slice(&tape.output().read_async(gpu).await?[..rows * per_sample]);
    }
    Ok(out)
}
