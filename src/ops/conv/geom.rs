//! The geometry of a 2-D convolution: sizes, the output-size rule in both directions (conv
//! and transposed conv) and the limits the kernels take.

use super::super::u;
use crate::gpu::params::shader_params;
use crate::{Error, Result};

shader_params! {
    /// `conv.wgsl`'s parameters: the geometry, flags, and `conv_dx`'s channel blocks.
    pub(crate) struct ConvParams for Conv::Params {
        batch: u32,
        c_in: u32,
        h: u32,
        w: u32,
        c_out: u32,
        out_h: u32,
        out_w: u32,
        pad: u32,
        accumulate: u32,
        has_bias: u32,
        blocks: u32,
    }
}

/// Largest kernel size the shaders take (their tap loops are unrolled).
pub const MAX_KERNEL: usize = 16;

/// Geometry of a 2-D convolution from `input` [batch, c_in, h, w] to `output`
/// [batch, c_out, out_h, out_w] with a square kernel k, stride s, zero padding p:
/// out = floor((in + 2p − k)/s) + 1 must hold (checked), which also lets a transposed
/// convolution with output padding (< stride) use the same geometry with input/output swapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeom {
    pub batch: usize,
    pub c_in: usize,
    pub h: usize,
    pub w: usize,
    pub c_out: usize,
    pub out_h: usize,
    pub out_w: usize,
    pub k: usize,
    pub stride: usize,
    pub pad: usize,
}

impl ConvGeom {
    /// Conv2d: computes out_h/out_w; [`Error::Shape`] if the kernel does not fit
    /// (k > h + 2p), a size or the stride is 0, or k exceeds [`MAX_KERNEL`].
    #[allow(clippy::too_many_arguments)]
    pub fn conv(
        batch: usize,
        c_in: usize,
        h: usize,
        w: usize,
        c_out: usize,
        k: usize,
        stride: usize,
        pad: usize,
    ) -> Result<ConvGeom> {
        if k == 0 || stride == 0 {
            return Err(Error::shape(
                "conv2d",
                format!("kernel size {k} and stride {stride} must be at least 1"),
            ));
        }
        if k > h + 2 * pad || k > w + 2 * pad {
            return Err(Error::shape(
                "conv2d",
                format!("a {k}x{k} kernel does not fit a {h}x{w} input with padding {pad}"),
            ));
        }
        let g = ConvGeom {
            batch,
            c_in,
            h,
            w,
            c_out,
            out_h: (h + 2 * pad - k) / stride + 1,
            out_w: (w + 2 * pad - k) / stride + 1,
            k,
            stride,
            pad,
        };
        g.check("conv2d")?;
        Ok(g)
    }

    /// The geometry whose input-grad is ConvTranspose2d(c_in → c_out, k, stride, pad,
    /// output_padding) applied to [batch, c_in, h, w]: a conv from [batch, c_out, H', W'] to
    /// [batch, c_in, h, w] where H' = (h−1)·s − 2p + k + output_padding (W' likewise).
    /// The ConvTranspose2d weight [c_in, c_out, k, k] (PyTorch) is this conv's weight as is.
    /// Errors if output_padding >= stride or H' < 1.
    #[allow(clippy::too_many_arguments)]
    pub fn transposed(
        batch: usize,
        c_in: usize,
        h: usize,
        w: usize,
        c_out: usize,
        k: usize,
        stride: usize,
        pad: usize,
        output_padding: usize,
    ) -> Result<ConvGeom> {
        let op = "conv_transpose2d";
        if k == 0 || stride == 0 {
            return Err(Error::shape(
                op,
                format!("kernel size {k} and stride {stride} must be at least 1"),
            ));
        }
        if output_padding >= stride {
            return Err(Error::shape(
                op,
                format!("output padding {output_padding} must be smaller than the stride {stride}"),
            ));
        }
        if h == 0 || w == 0 {
            return Err(Error::shape(op, format!("input {h}x{w} is empty")));
        }
        let size = |n: usize| {
            ((n - 1) * stride + k + output_padding)
                .checked_sub(2 * pad)
                .filter(|&s| s >= 1)
        };
        let (Some(out_h), Some(out_w)) = (size(h), size(w)) else {
            return Err(Error::shape(
                op,
                format!(
                    "a {h}x{w} input with kernel {k}, stride {stride}, padding {pad} and output padding \
                     {output_padding} gives an empty output"
                ),
            ));
        };
        let g = ConvGeom {
            batch,
            c_in: c_out,
            h: out_h,
            w: out_w,
            c_out: c_in,
            out_h: h,
            out_w: w,
            k,
            stride,
            pad,
        };
        g.check(op)?;
        Ok(g)
    }

    /// Checks that the fields describe a convolution the kernels can run: every size at least
    /// 1, `out = floor((in + 2p − k)/s) + 1` in both directions, k ≤ [`MAX_KERNEL`], and every
    /// tensor small enough for 32-bit indices. The ops call this; a hand-built geometry that
    /// fails it is a [`Error::Shape`].
    pub fn check(&self, op: &str) -> Result<()> {
        let g = self;
        let sizes = [
            g.batch, g.c_in, g.h, g.w, g.c_out, g.out_h, g.out_w, g.k, g.stride,
        ];
        if sizes.contains(&0) {
            return Err(Error::shape(op, format!("{g:?} has a zero size")));
        }
        if g.k > MAX_KERNEL {
            return Err(Error::shape(
                op,
                format!(
                    "kernel size {} is above the largest supported, {MAX_KERNEL}",
                    g.k
                ),
            ));
        }
        let fits = |n: usize, out: usize| {
            n + 2 * g.pad >= g.k && (n + 2 * g.pad - g.k) / g.stride + 1 == out
        };
        if !fits(g.h, g.out_h) || !fits(g.w, g.out_w) {
            return Err(Error::shape(
                op,
                format!(
                    "a {}x{} input with kernel {}, stride {}, padding {} does not give a {}x{} output",
                    g.h, g.w, g.k, g.stride, g.pad, g.out_h, g.out_w
                ),
            ));
        }
        let limit = u32::MAX as u128 / 2;
        let lens = [self.input_len(), self.output_len(), self.weight_len()];
        if lens.iter().any(|&l| l as u128 > limit) {
            return Err(Error::shape(
                op,
                format!("{g:?} has a tensor too large for 32-bit indexing"),
            ));
        }
        Ok(())
    }

    /// Values in the input, batch·c_in·h·w.
    pub fn input_len(&self) -> usize {
        self.batch * self.c_in * self.h * self.w
    }

    /// Values in the output, batch·c_out·out_h·out_w.
    pub fn output_len(&self) -> usize {
        self.batch * self.c_out * self.out_h * self.out_w
    }

    /// Values in the weight, c_out·c_in·k·k.
    pub fn weight_len(&self) -> usize {
        self.c_out * self.c_in * self.k * self.k
    }

    /// Floating-point operations of the forward (and of each gradient): 2 per multiply-add,
    /// padding taps included.
    pub fn flops(&self) -> f64 {
        2.0 * (self.output_len() * self.c_in * self.k * self.k) as f64
    }

    pub(super) fn params(&self, accumulate: bool, has_bias: bool, blocks: usize) -> ConvParams {
        ConvParams {
            batch: u(self.batch),
            c_in: u(self.c_in),
            h: u(self.h),
            w: u(self.w),
            c_out: u(self.c_out),
            out_h: u(self.out_h),
            out_w: u(self.out_w),
            pad: u(self.pad),
            accumulate: accumulate as u32,
            has_bias: has_bias as u32,
            blocks: u(blocks),
        }
    }
}
