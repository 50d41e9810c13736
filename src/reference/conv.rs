//! 2-D convolution, NCHW, square kernel, stride and zero padding: the forward and its three
//! gradients written out as plain loops in f64 (the shaders in `shaders/conv.wgsl` are tested
//! against these; these are tested against finite differences in `tests/conv.rs`), and the
//! transposed convolution as the adjoint of a convolution.
//!
//! Weights are `[c_out, c_in, k, k]` for [`Conv2d`] and `[c_in, c_out, k, k]` for
//! [`ConvTranspose2d`] (PyTorch). Both shapes work out their own output sizes with the
//! textbook formulas; nothing here comes from the kernels' geometry, so a wrong output size
//! there shows up as a disagreement with these.

/// A Conv2d: input `[batch, c_in, h, w]`, weight `[c_out, c_in, k, k]`, output
/// `[batch, c_out, out_h, out_w]` (see [`Conv2d::out_h`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2d {
    pub batch: usize,
    pub c_in: usize,
    pub h: usize,
    pub w: usize,
    pub c_out: usize,
    pub k: usize,
    pub stride: usize,
    pub pad: usize,
}

/// `⌊(n + 2·pad − k) / stride⌋ + 1`: how many kernel placements fit along a side of `n`.
fn conv_out(n: usize, k: usize, stride: usize, pad: usize) -> usize {
    assert!(
        k <= n + 2 * pad,
        "a kernel of {k} does not fit {n} with padding {pad}"
    );
    (n + 2 * pad - k) / stride + 1
}

impl Conv2d {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        batch: usize,
        c_in: usize,
        h: usize,
        w: usize,
        c_out: usize,
        k: usize,
        stride: usize,
        pad: usize,
    ) -> Conv2d {
        Conv2d {
            batch,
            c_in,
            h,
            w,
            c_out,
            k,
            stride,
            pad,
        }
    }

    /// `⌊(h + 2·pad − k) / stride⌋ + 1` (PyTorch's Conv2d, dilation 1).
    pub fn out_h(&self) -> usize {
        conv_out(self.h, self.k, self.stride, self.pad)
    }

    /// `⌊(w + 2·pad − k) / stride⌋ + 1`.
    pub fn out_w(&self) -> usize {
        conv_out(self.w, self.k, self.stride, self.pad)
    }

    pub fn input_len(&self) -> usize {
        self.batch * self.c_in * self.h * self.w
    }

    pub fn weight_len(&self) -> usize {
        self.c_out * self.c_in * self.k * self.k
    }

    pub fn output_len(&self) -> usize {
        self.batch * self.c_out * self.out_h() * self.out_w()
    }
}

/// A ConvTranspose2d: input `[batch, c_in, h, w]`, weight `[c_in, c_out, k, k]`, output
/// `[batch, c_out, out_h, out_w]` (see [`ConvTranspose2d::out_h`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvTranspose2d {
    pub batch: usize,
    pub c_in: usize,
    pub h: usize,
    pub w: usize,
    pub c_out: usize,
    pub k: usize,
    pub stride: usize,
    pub pad: usize,
    pub output_padding: usize,
}

impl ConvTranspose2d {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        batch: usize,
        c_in: usize,
        h: usize,
        w: usize,
        c_out: usize,
        k: usize,
        stride: usize,
        pad: usize,
        output_padding: usize,
    ) -> ConvTranspose2d {
        ConvTranspose2d {
            batch,
            c_in,
            h,
            w,
            c_out,
            k,
            stride,
            pad,
            output_padding,
        }
    }

    /// `(h − 1)·stride − 2·pad + k + output_padding` (PyTorch's ConvTranspose2d, dilation 1).
    pub fn out_h(&self) -> usize {
        self.out(self.h)
    }

    /// `(w − 1)·stride − 2·pad + k + output_padding`.
    pub fn out_w(&self) -> usize {
        self.out(self.w)
    }

    fn out(&self, n: usize) -> usize {
        ((n - 1) * self.stride + self.k + self.output_padding)
            .checked_sub(2 * self.pad)
            .expect("the padding swallows the whole output")
    }

    pub fn input_len(&self) -> usize {
        self.batch * self.c_in * self.h * self.w
    }

    pub fn weight_len(&self) -> usize {
        self.c_in * self.c_out * self.k * self.k
    }

    pub fn output_len(&self) -> usize {
        self.batch * self.c_out * self.out_h() * self.out_w()
    }

    /// The Conv2d this is the transpose of: from this output `[batch, c_out, out_h, out_w]`
    /// back to this input `[batch, c_in, h, w]`, its weight `[c_in, c_out, k, k]` this
    /// weight as is. (Its output size is this input's only for `output_padding < stride`,
    /// which is checked.)
    pub fn adjoint(&self) -> Conv2d {
        let conv = Conv2d::new(
            self.batch,
            self.c_out,
            self.out_h(),
            self.out_w(),
            self.c_in,
            self.k,
            self.stride,
            self.pad,
        );
        assert_eq!(
            (conv.out_h(), conv.out_w()),
            (self.h, self.w),
            "{self:?}: output padding must be below the stride"
        );
        conv
    }
}

/// Calls `f(i, o, t)` for every (output pixel, kernel tap) pair that reads an input pixel
/// inside the image (taps on the zero padding are skipped): `i = iy·w + ix` is the input
/// pixel, `o = oy·out_w + ox` the output pixel and `t = ky·k + kx` the tap, with
/// `iy = oy·s − p + ky` and `ix = ox·s − p + kx`.
fn for_each_tap(g: &Conv2d, mut f: impl FnMut(usize, usize, usize)) {
    let (out_h, out_w) = (g.out_h(), g.out_w());
    for oy in 0..out_h {
        for ox in 0..out_w {
            for ky in 0..g.k {
                for kx in 0..g.k {
                    let iy = (oy * g.stride + ky) as isize - g.pad as isize;
                    let ix = (ox * g.stride + kx) as isize - g.pad as isize;
                    if iy >= 0 && ix >= 0 && (iy as usize) < g.h && (ix as usize) < g.w {
                        let i = iy as usize * g.w + ix as usize;
                        f(i, oy * out_w + ox, ky * g.k + kx);
                    }
                }
            }
        }
    }
}

/// The planes of `x`, `y` and `w` that (sample `n`, input channel `ci`, output channel `co`)
/// read: `x[n, ci]`, `y[n, co]` and `w[co, ci]`, as offsets into the flat arrays.
fn planes(g: &Conv2d, n: usize, ci: usize, co: usize) -> (usize, usize, usize) {
    let (in_plane, out_plane, taps) = (g.h * g.w, g.out_h() * g.out_w(), g.k * g.k);
    (
        (n * g.c_in + ci) * in_plane,
        (n * g.c_out + co) * out_plane,
        (co * g.c_in + ci) * taps,
    )
}

/// `y[n,co,oy,ox] = Σ_{ci,ky,kx} x[n,ci,oy·s−p+ky,ox·s−p+kx] · w[co,ci,ky,kx] (+ bias[co])`.
pub fn conv2d(x: &[f64], w: &[f64], bias: Option<&[f64]>, g: &Conv2d) -> Vec<f64> {
    let plane = g.out_h() * g.out_w();
    let mut y = vec![0.0; g.output_len()];
    for n in 0..g.batch {
        for co in 0..g.c_out {
            for ci in 0..g.c_in {
                let (xp, yp, wp) = planes(g, n, ci, co);
                for_each_tap(g, |i, o, t| y[yp + o] += x[xp + i] * w[wp + t]);
            }
            if let Some(b) = bias {
                let yp = (n * g.c_out + co) * plane;
                y[yp..yp + plane].iter_mut().for_each(|v| *v += b[co]);
            }
        }
    }
    y
}

/// `dx[n,ci,iy,ix] = Σ dy[n,co,oy,ox] · w[co,ci,ky,kx]` over the (co, oy, ox, ky, kx) with
/// `iy = oy·s−p+ky`, `ix = ox·s−p+kx`: the gradient of Σ dy·conv2d(x) with respect to x.
pub fn conv2d_input_grad(dy: &[f64], w: &[f64], g: &Conv2d) -> Vec<f64> {
    let mut dx = vec![0.0; g.input_len()];
    for n in 0..g.batch {
        for co in 0..g.c_out {
            for ci in 0..g.c_in {
                let (xp, yp, wp) = planes(g, n, ci, co);
                for_each_tap(g, |i, o, t| dx[xp + i] += dy[yp + o] * w[wp + t]);
            }
        }
    }
    dx
}

/// `dw[co,ci,ky,kx] = Σ_{n,oy,ox} dy[n,co,oy,ox] · x[n,ci,oy·s−p+ky,ox·s−p+kx]`.
pub fn conv2d_weight_grad(x: &[f64], dy: &[f64], g: &Conv2d) -> Vec<f64> {
    let mut dw = vec![0.0; g.weight_len()];
    for n in 0..g.batch {
        for co in 0..g.c_out {
            for ci in 0..g.c_in {
                let (xp, yp, wp) = planes(g, n, ci, co);
                for_each_tap(g, |i, o, t| dw[wp + t] += dy[yp + o] * x[xp + i]);
            }
        }
    }
    dw
}

/// `db[co] = Σ_{n,oy,ox} dy[n,co,oy,ox]`.
pub fn conv2d_bias_grad(dy: &[f64], g: &Conv2d) -> Vec<f64> {
    channel_sums(dy, g.batch, g.c_out, g.out_h() * g.out_w())
}

/// Per channel, the sum of `v` `[batch, channels, plane]` over the batch and the plane.
fn channel_sums(v: &[f64], batch: usize, channels: usize, plane: usize) -> Vec<f64> {
    (0..channels)
        .map(|c| {
            (0..batch)
                .map(|n| v[(n * channels + c) * plane..][..plane].iter().sum::<f64>())
                .sum()
        })
        .collect()
}

/// ConvTranspose2d: every input pixel adds `x[n,ci,iy,ix] · w[ci,co,ky,kx]` to
/// `y[n,co,iy·s−p+ky,ix·s−p+kx]` (then `+ bias[co]`), which is the input-grad of its
/// [`adjoint`](ConvTranspose2d::adjoint) convolution.
pub fn conv_transpose2d(
    x: &[f64],
    w: &[f64],
    bias: Option<&[f64]>,
    g: &ConvTranspose2d,
) -> Vec<f64> {
    let mut y = conv2d_input_grad(x, w, &g.adjoint());
    if let Some(b) = bias {
        let plane = g.out_h() * g.out_w();
        for (i, v) in y.iter_mut().enumerate() {
            *v += b[(i / plane) % g.c_out];
        }
    }
    y
}

/// The gradient of Σ dy·conv_transpose2d(x) with respect to x: the adjoint's forward.
pub fn conv_transpose2d_input_grad(dy: &[f64], w: &[f64], g: &ConvTranspose2d) -> Vec<f64> {
    conv2d(dy, w, None, &g.adjoint())
}

/// `dw[ci,co,ky,kx] = Σ_{n,iy,ix} x[n,ci,iy,ix] · dy[n,co,iy·s−p+ky,ix·s−p+kx]`.
pub fn conv_transpose2d_weight_grad(x: &[f64], dy: &[f64], g: &ConvTranspose2d) -> Vec<f64> {
    conv2d_weight_grad(dy, x, &g.adjoint())
}

/// `db[co] = Σ_{n,oy,ox} dy[n,co,oy,ox]`.
pub fn conv_transpose2d_bias_grad(dy: &[f64], g: &ConvTranspose2d) -> Vec<f64> {
    channel_sums(dy, g.batch, g.c_out, g.out_h() * g.out_w())
}
