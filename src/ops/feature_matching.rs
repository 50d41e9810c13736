//! Feature matching (Salimans et al. 2016, §3.1): G's loss is the squared distance between
//! the mean of D's intermediate features on a real batch and on a fake batch,
//! `(1/F) Σ_j (mean_fake_j − mean_real_j)²`; see `shaders/feature_matching.wgsl`.

use super::gemm::sum_rows;
use super::{groups_256, u};
use crate::gpu::params::shader_params;
use crate::gpu::shaders::Shader;
use crate::gpu::{Bind, Kernel, KernelSpec};
use crate::{Error, Gpu, Result, Tensor};

shader_params! {
    /// `feature_matching.wgsl`'s parameters.
    pub(crate) struct FmParams for FeatureMatching::Params { rows: u32, features: u32, scale: f32, slot: u32 }
}

/// Rows and features of a `[rows, ...]` feature batch.
fn dims(x: &Tensor) -> (usize, usize) {
    let rows = x.shape().first().copied().unwrap_or(0);
    (rows, x.len() / rows.max(1))
}

/// Records the loss into `metrics[slot]` and its gradient with respect to `fake` into `grad`
/// (the real features get none). The batches may differ in rows, not in features.
pub fn feature_matching(
    gpu: &Gpu,
    real: &Tensor,
    fake: &Tensor,
    grad: &Tensor,
    metrics: &Tensor,
    slot: usize,
) -> Result<Vec<Kernel>> {
    let (real_rows, features) = dims(real);
    let (fake_rows, fake_features) = dims(fake);
    if real_rows == 0 || fake_rows == 0 || features != fake_features {
        return Err(Error::shape(
            "feature_matching",
            format!(
                "real features {:?} and fake features {:?} must be non-empty batches of equal width",
                real.shape(),
                fake.shape()
            ),
        ));
    }
    if grad.len() != fake.len() {
        return Err(Error::shape(
            "feature_matching",
            format!(
                "gradient {:?} does not match fake features {:?}",
                grad.shape(),
                fake.shape()
            ),
        ));
    }
    if slot >= metrics.len() {
        return Err(Error::shape(
            "feature_matching",
            "metric slot outside the metrics buffer",
        ));
    }
    let mean_real = Tensor::zeros(gpu, &[features], "mean real features")?;
    let mean_fake = Tensor::zeros(gpu, &[features], "mean fake features")?;
    let scale = 2.0 / (features as f32 * fake_rows as f32);
    let params = FmParams {
        rows: u(fake_rows),
        features: u(features),
        scale,
        slot: u(slot),
    };
    let matched = |entry, out: &Tensor, groups| {
        gpu.kernel(
            KernelSpec::new(Shader::FeatureMatching, entry),
            &[
                Bind::params(&params),
                Bind::Read(&mean_real),
                Bind::Read(&mean_fake),
                Bind::Write(out),
            ],
            groups,
        )
    };
    Ok(vec![
        sum_rows(gpu, real, &mean_real, 1.0 / real_rows as f32, false)?,
        sum_rows(gpu, fake, &mean_fake, 1.0 / fake_rows as f32, false)?,
        matched("fm_grad", grad, groups_256(fake.len()))?,
        matched("fm_loss", metrics, 1)?,
    ])
}
