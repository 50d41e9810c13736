//! 2-D convolution of `[c, h, w]` samples, W `[out, c, k, k]` as in PyTorch: an implicit
//! GEMM forward, input-grad and weight-grad (the transposed convolution reuses all three).

use super::{chw, Backward, Forward, Kind, Recorded, Tangent, Weight};
use crate::ops::conv::{bias_grad, forward, input_grad, weight_grad, ConvGeom};
use crate::Result;

#[derive(Debug)]
pub(crate) struct Conv {
    pub out: usize,
    pub k: usize,
    pub stride: usize,
    pub pad: usize,
    pub bias: bool,
}

impl Conv {
    fn geom(&self, batch: usize, input: &[usize]) -> Result<ConvGeom> {
        let (c, h, w) = chw("conv", input)?;
        ConvGeom::conv(batch, c, h, w, self.out, self.k, self.stride, self.pad)
    }
}

impl Kind for Conv {
    /// Linear in its input: the tangent is the same forward on the tangent (no bias).
    fn tangent(&self, t: &Tangent<'_>) -> Result<Recorded> {
        t.of_linear(self)
    }

    fn name(&self) -> String {
        let Conv {
            out,
            k,
            stride,
            pad,
            bias,
        } = self;
        let no_bias = if *bias { "" } else { ", no bias" };
        format!("conv({out}, k{k}, s{stride}, p{pad}{no_bias})")
    }

    fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        let g = self.geom(1, inputs[0])?;
        Ok(vec![self.out, g.out_h, g.out_w])
    }

    fn param_shapes(&self, input: &[usize]) -> Vec<Vec<usize>> {
        let mut v = vec![vec![self.out, input[0], self.k, self.k]];
        if self.bias {
            v.push(vec![self.out]);
        }
        v
    }

    fn fan_in(&self, input: &[usize]) -> usize {
        input[0] * self.k * self.k
    }

    fn scales_weight(&self) -> bool {
        true
    }

    fn spectral_ok(&self) -> bool {
        true
    }

    fn record(&self, f: &Forward<'_>) -> Result<Recorded> {
        let (x, y) = (f.x().clone(), f.output()?);
        let g = self.geom(x.shape()[0], &x.shape()[1..])?;
        let bias = f.params.get(1).map(|p| &p.0);
        let mut kernels = Vec::new();
        let w = Weight::new(f, &mut kernels)?;
        kernels.push(forward(f.gpu, &g, &x, &w.used, bias, &y, false)?);
        let db = f.params.get(1).map(|p| p.1.clone());
        let rule = move |b: &mut Backward<'_>| {
            let (gpu, gy, acc) = (b.gpu, b.gy.clone(), b.accumulate());
            if b.params() {
                b.push(weight_grad(gpu, &g, &x, &gy, &w.grad, w.accumulates(acc))?);
                w.finish(b, acc)?;
                if let Some(db) = &db {
                    b.push(bias_grad(gpu, &g, &gy, db, acc)?);
                }
            }
            if let Some(dx) = b.dx(0, &x)? {
                b.push(input_grad(gpu, &g, &gy, &w.used, &dx, false)?);
            }
            Ok(())
        };
        Ok(Recorded::new(y, kernels, Box::new(rule)))
    }
}
