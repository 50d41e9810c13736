//! Channel concatenation of `[batch, channels, spatial]` tensors and its backward (a split).
//! Channel counts come from the tensors' lengths.

use super::{groups_256, u};
use crate::gpu::params::shader_params;
use crate::gpu::shaders::Shader;
use crate::gpu::{Bind, Kernel, KernelSpec};
use crate::{Error, Gpu, Result, Tensor};

shader_params! {
    /// `concat.wgsl`'s parameters: the length and the row lengths (see the shader).
    pub(crate) struct ConcatParams for Concat::Params { n: u32, ra: u32, rb: u32, off: u32 }
}

/// Channels of `t` when it is `[batch, channels, spatial]`.
fn channels(op: &str, what: &str, t: &Tensor, batch: usize, spatial: usize) -> Result<usize> {
    let row = batch.checked_mul(spatial).unwrap_or(0);
    if row == 0 {
        return Err(Error::shape(
            op,
            format!("batch {batch} and spatial {spatial} must be positive"),
        ));
    }
    if !t.len().is_multiple_of(row) {
        return Err(Error::shape(
            op,
            format!(
                "{what} {:?} ({} values) is not [batch {batch}, channels, spatial {spatial}]",
                t.shape(),
                t.len()
            ),
        ));
    }
    if t.len() > u32::MAX as usize {
        return Err(Error::shape(
            op,
            format!("{what} has more than 2^32 values"),
        ));
    }
    Ok(t.len() / row)
}

/// `out = [a | b]` along channels: `a` `[batch, ca, spatial]` and `b` `[batch, cb, spatial]`
/// into `out` `[batch, ca + cb, spatial]`.
pub fn concat_channels(
    gpu: &Gpu,
    a: &Tensor,
    b: &Tensor,
    out: &Tensor,
    batch: usize,
    spatial: usize,
) -> Result<Kernel> {
    let op = "concat";
    let ca = channels(op, "a", a, batch, spatial)?;
    let cb = channels(op, "b", b, batch, spatial)?;
    if out.len() != batch * (ca + cb) * spatial {
        return Err(Error::shape(
            op,
            format!(
                "out {:?} has {} values; [batch {batch}, {ca} + {cb} channels, spatial {spatial}] needs {}",
                out.shape(),
                out.len(),
                batch * (ca + cb) * spatial
            ),
        ));
    }
    let params = ConcatParams {
        n: u(out.len()),
        ra: u(ca * spatial),
        rb: u(cb * spatial),
        off: 0,
    };
    gpu.kernel(
        KernelSpec::new(Shader::Concat, "concat_channels"),
        &[
            Bind::params(&params),
            Bind::Read(a),
            Bind::Read(b),
            Bind::Write(out),
        ],
        groups_256(out.len()),
    )
}

/// The backward of [`concat_channels`]: `da` gets the first channels of `dout`, `db` the rest.
/// Each is written when given (one kernel each); with only one given, its channel count
/// fixes the split. Both `None` gives no kernels.
pub fn split_channels(
    gpu: &Gpu,
    dout: &Tensor,
    da: Option<&Tensor>,
    db: Option<&Tensor>,
    batch: usize,
    spatial: usize,
) -> Result<Vec<Kernel>> {
    let op = "split";
    let c = channels(op, "dout", dout, batch, spatial)?;
    let ca = da
        .map(|t| channels(op, "da", t, batch, spatial))
        .transpose()?;
    let cb = db
        .map(|t| channels(op, "db", t, batch, spatial))
        .transpose()?;
    let fits = match (ca, cb) {
        (Some(ca), Some(cb)) => ca + cb == c,
        (Some(ch), None) | (None, Some(ch)) => ch <= c,
        (None, None) => true,
    };
    if !fits {
        return Err(Error::shape(
            op,
            format!(
                "dout {:?} has {c} channels, which da ({ca:?}) and db ({cb:?}) do not split",
                dout.shape()
            ),
        ));
    }
    let mut kernels = Vec::new();
    // (destination, its channels, first channel in dout)
    let parts = [
        da.zip(ca).map(|(t, ch)| (t, ch, 0)),
        db.zip(cb).map(|(t, ch)| (t, ch, c - ch)),
    ];
    for (dst, ch, first) in parts.into_iter().flatten() {
        let params = ConcatParams {
            n: u(dst.len()),
            ra: u(ch * spatial),
            rb: u(c * spatial),
            off: u(first * spatial),
        };
        kernels.push(gpu.kernel(
            KernelSpec::new(Shader::Concat, "take_channels"),
            &[Bind::params(&params), Bind::Read(dout), Bind::Write(dst)],
            groups_256(dst.len()),
        )?);
    }
    Ok(kernels)
}
