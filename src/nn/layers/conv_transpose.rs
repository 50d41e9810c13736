//! 2-D transposed convolution (the adjoint of conv), W `[c, out, k, k]` as in PyTorch. Its
//! forward is the convolution's input-grad and its input-grad the convolution's forward.

use super::{chw, Backward, Forward, Kind, Recorded, Tangent, Weight};
use crate::ops::conv::{forward, input_grad, weight_grad, ConvGeom};
use crate::Result;

#[derive(Debug)]
pub(crate) struct ConvTranspose {
    pub out: usize,
    pub k: usize,
    pub stride: usize,
    pub pad: usize,
    pub output_padding: usize,
}

impl ConvTranspose {
    fn geom(&self, batch: usize, input: &[usize]) -> Result<ConvGeom> {
        let (c, h, w) = chw("conv_transpose", input)?;
        let ConvTranspose {
            out,
            k,
            stride,
            pad,
            output_padding,
        } = *self;
        ConvGeom::transposed(batch, c, h, w, out, k, stride, pad, output_padding)
    }
}

impl Kind for ConvTranspose {
    /// Linear in its input: the tangent is the same forward on the tangent (no bias).
    fn tangent(&self, t: &Tangent<'_>) -> Result<Recorded> {
        t.of_linear(self)
    }

    fn name(&self) -> String {
        let ConvTranspose {
            out,
            k,
            stride,
            pad,
            output_padding,
        } = self;
        format!("conv_transpose({out}, k{k}, s{stride}, p{pad}, op{output_padding})")
    }

    fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        let g = self.geom(1, inputs[0])?;
        Ok(vec![self.out, g.h, g.w])
    }

    fn param_shapes(&self, input: &[usize]) -> Vec<Vec<usize>> {
        vec![vec![input[0], self.out, self.k, self.k]]
    }

    /// PyTorch computes a transposed convolution's fan-in from weight dimension 1.
    fn fan_in(&self, _input: &[usize]) -> usize {
        self.out * self.k * self.k
    }

    fn scales_weight(&self) -> bool {
        true
    }

    fn record(&self, f: &Forward<'_>) -> Result<Recorded> {
        let (x, y) = (f.x().clone(), f.output()?);
        let g = self.geom(x.shape()[0], &x.shape()[1..])?;
        let mut kernels = Vec::new();
        let w = Weight::new(f, &mut kernels)?;
        kernels.push(input_grad(f.gpu, &g, &x, &w.used, &y, false)?);
        // Roles swap: the layer's output is the convolution's input.
        let rule = move |b: &mut Backward<'_>| {
            let (gpu, gy, acc) = (b.gpu, b.gy.clone(), b.accumulate());
            if b.params() {
                b.push(weight_grad(gpu, &g, &gy, &x, &w.grad, w.accumulates(acc))?);
                w.finish(b, acc)?;
            }
            if let Some(dx) = b.dx(0, &x)? {
                b.push(forward(gpu, &g, &gy, &w.used, None, &dx, false)?);
            }
            Ok(())
        };
        Ok(Recorded::new(y, kernels, Box::new(rule)))
    }
}
