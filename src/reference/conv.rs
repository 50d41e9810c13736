//! 2-D convolution, NCHW, square kernel, stride and zero padding: the forward and its three
//! gradients written out as plain loops in f64 (the shaders in `shaders/conv.wgsl` are tested
//! against these; these are tested against finite differences in `tests/conv.rs`).
//!
//! Weights are `[c_out, c_in, k, k]` (PyTorch). The transposed convolution has no functions of
//! its own: its forward is [`conv2d_input_grad`] of the geometry from
//! [`ConvGeom::transposed`](crate::ops::conv::ConvGeom::transposed).

use crate::ops::conv::ConvGeom;

/// Calls `f(iy, ix, oy, ox, ky, kx)` for every (output pixel, kernel tap) pair that reads an
/// input pixel inside the image (taps on the zero padding are skipped).
fn for_each_tap(g: &ConvGeom, mut f: impl FnMut(usize, usize, usize, usize, usize, usize)) {
    for oy in 0..g.out_h {
        for ox in 0..g.out_w {
            for ky in 0..g.k {
                for kx in 0..g.k {
                    let iy = (oy * g.stride + ky) as isize - g.pad as isize;
                    let ix = (ox * g.stride + kx) as isize - g.pad as isize;
                    if iy >= 0 && ix >= 0 && (iy as usize) < g.h && (ix as usize) < g.w {
                        f(iy as usize, ix as usize, oy, ox, ky, kx);
                    }
                }
            }
        }
    }
}

fn x_at(g: &ConvGeom, n: usize, ci: usize, iy: usize, ix: usize) -> usize {
    ((n * g.c_in + ci) * g.h + iy) * g.w + ix
}

fn y_at(g: &ConvGeom, n: usize, co: usize, oy: usize, ox: usize) -> usize {
    ((n * g.c_out + co) * g.out_h + oy) * g.out_w + ox
}

fn w_at(g: &ConvGeom, co: usize, ci: usize, ky: usize, kx: usize) -> usize {
    ((co * g.c_in + ci) * g.k + ky) * g.k + kx
}

/// `y[n,co,oy,ox] = Σ_{ci,ky,kx} x[n,ci,oy·s−p+ky,ox·s−p+kx] · w[co,ci,ky,kx] (+ bias[co])`.
pub fn conv2d(x: &[f64], w: &[f64], bias: Option<&[f64]>, g: &ConvGeom) -> Vec<f64> {
    let mut y = vec![0.0; g.batch * g.c_out * g.out_h * g.out_w];
    for n in 0..g.batch {
        for co in 0..g.c_out {
            for ci in 0..g.c_in {
                for_each_tap(g, |iy, ix, oy, ox, ky, kx| {
                    y[y_at(g, n, co, oy, ox)] +=
                        x[x_at(g, n, ci, iy, ix)] * w[w_at(g, co, ci, ky, kx)];
                });
            }
            if let Some(b) = bias {
                for oy in 0..g.out_h {
                    for ox in 0..g.out_w {
                        y[y_at(g, n, co, oy, ox)] += b[co];
                    }
                }
            }
        }
    }
    y
}

/// `dx[n,ci,iy,ix] = Σ dy[n,co,oy,ox] · w[co,ci,ky,kx]` over the (co, oy, ox, ky, kx) with
/// `iy = oy·s−p+ky`, `ix = ox·s−p+kx`: the gradient of Σ dy·conv2d(x) with respect to x.
pub fn conv2d_input_grad(dy: &[f64], w: &[f64], g: &ConvGeom) -> Vec<f64> {
    let mut dx = vec![0.0; g.batch * g.c_in * g.h * g.w];
    for n in 0..g.batch {
        for co in 0..g.c_out {
            for ci in 0..g.c_in {
                for_each_tap(g, |iy, ix, oy, ox, ky, kx| {
                    dx[x_at(g, n, ci, iy, ix)] +=
                        dy[y_at(g, n, co, oy, ox)] * w[w_at(g, co, ci, ky, kx)];
                });
            }
        }
    }
    dx
}

/// `dw[co,ci,ky,kx] = Σ_{n,oy,ox} dy[n,co,oy,ox] · x[n,ci,oy·s−p+ky,ox·s−p+kx]`.
pub fn conv2d_weight_grad(x: &[f64], dy: &[f64], g: &ConvGeom) -> Vec<f64> {
    let mut dw = vec![0.0; g.c_out * g.c_in * g.k * g.k];
    for n in 0..g.batch {
        for co in 0..g.c_out {
            for ci in 0..g.c_in {
                for_each_tap(g, |iy, ix, oy, ox, ky, kx| {
                    dw[w_at(g, co, ci, ky, kx)] +=
                        dy[y_at(g, n, co, oy, ox)] * x[x_at(g, n, ci, iy, ix)];
                });
            }
        }
    }
    dw
}

/// `db[co] = Σ_{n,oy,ox} dy[n,co,oy,ox]`.
pub fn conv2d_bias_grad(dy: &[f64], g: &ConvGeom) -> Vec<f64> {
    let plane = g.out_h * g.out_w;
    (0..g.c_out)
        .map(|co| {
            (0..g.batch)
                .map(|n| {
                    dy[(n * g.c_out + co) * plane..][..plane]
                        .iter()
                        .sum::<f64>()
                })
                .sum()
        })
        .collect()
}
