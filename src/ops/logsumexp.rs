//! Row-wise log-sum-exp and its backward (see `shaders/logsumexp.wgsl`): how a (K+1)-class
//! discriminator with the fake logit fixed at 0 turns its K class logits into one real/fake
//! logit, σ(lse(l)) = Z/(Z + 1).

use super::{groups_256, same_len, u};
use crate::gpu::params::shader_params;
use crate::gpu::shaders::Shader;
use crate::gpu::{Bind, Kernel, KernelSpec};
use crate::{Error, Gpu, Result, Tensor};

shader_params! {
    /// `logsumexp.wgsl`'s parameters.
    pub(crate) struct LseParams for LogSumExp::Params { n: u32, classes: u32, accumulate: u32, _pad: u32 }
}

/// Rows and classes of `logits` (classes being the last dimension), checked against `lse`.
fn dims(op: &str, logits: &Tensor, lse: &Tensor) -> Result<(usize, usize)> {
    let classes = match logits.shape().last() {
        Some(&c) if c > 0 => c,
        _ => {
            return Err(Error::shape(
                op,
                format!("logits {:?} have no class dimension", logits.shape()),
            ))
        }
    };
    let n = logits.len() / classes;
    if lse.len() != n {
        return Err(Error::shape(
            op,
            format!(
                "lse {:?} does not hold one value for each of the {n} rows of {:?}",
                lse.shape(),
                logits.shape()
            ),
        ));
    }
    Ok((n, classes))
}

/// `lse[i] = log Σ_j exp(logits[i, j])`, stable for any finite logits.
pub fn forward(gpu: &Gpu, logits: &Tensor, lse: &Tensor) -> Result<Kernel> {
    let (n, classes) = dims("logsumexp", logits, lse)?;
    let params = LseParams {
        n: u(n),
        classes: u(classes),
        ..LseParams::default()
    };
    gpu.kernel(
        KernelSpec::new(Shader::LogSumExp, "lse_forward"),
        &[Bind::params(&params), Bind::Read(logits), Bind::Write(lse)],
        groups_256(n),
    )
}

/// `dx[i, j] [+]= dlse[i] · softmax(logits[i])_j`, reading the forward's `lse`.
pub fn backward(
    gpu: &Gpu,
    logits: &Tensor,
    lse: &Tensor,
    dlse: &Tensor,
    dx: &Tensor,
    accumulate: bool,
) -> Result<Kernel> {
    let (n, classes) = dims("logsumexp backward", logits, lse)?;
    same_len("logsumexp backward", lse, dlse)?;
    same_len("logsumexp backward", logits, dx)?;
    let params = LseParams {
        n: u(n),
        classes: u(classes),
        accumulate: accumulate as u32,
        _pad: 0,
    };
    gpu.kernel(
        KernelSpec::new(Shader::LogSumExp, "lse_backward"),
        &[
            Bind::params(&params),
            Bind::Read(logits),
            Bind::Read(lse),
            Bind::Read(dlse),
            Bind::Write(dx),
        ],
        groups_256(logits.len()),
    )
}
