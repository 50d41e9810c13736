//! Linear: `y = x·Wᵀ + b` over the flattened sample, W `[out, in]` as in PyTorch. Forward,
//! input-grad and weight-grad are the one GEMM kernel with different transposes.

use super::{Backward, Forward, Kind, Recorded, Tangent, Weight};
use crate::ops::gemm::{gemm, sum_rows};
use crate::Result;

#[derive(Debug)]
pub(crate) struct Linear {
    pub out: usize,
    pub bias: bool,
}

impl Kind for Linear {
    /// Linear in its input: the tangent is the same forward on the tangent (no bias).
    fn tangent(&self, t: &Tangent<'_>) -> Result<Recorded> {
        t.of_linear(self)
    }

    fn name(&self) -> String {
        format!("linear({})", self.out)
    }

    fn output_shape(&self, _inputs: &[&[usize]]) -> Result<Vec<usize>> {
        Ok(vec![self.out])
    }

    fn param_shapes(&self, input: &[usize]) -> Vec<Vec<usize>> {
        let mut v = vec![vec![self.out, input.iter().product()]];
        if self.bias {
            v.push(vec![self.out]);
        }
        v
    }

    fn is_dense(&self) -> bool {
        true
    }

    fn scales_weight(&self) -> bool {
        true
    }

    fn spectral_ok(&self) -> bool {
        true
    }

    fn record(&self, f: &Forward<'_>) -> Result<Recorded> {
        let (x, y) = (f.x().clone(), f.output()?);
        let bias = f.params.get(1).map(|p| &p.0);
        let mut kernels = Vec::new();
        let w = Weight::new(f, &mut kernels)?;
        kernels.push(gemm(f.gpu, &x, false, &w.used, true, bias, &y, false)?);
        let db = f.params.get(1).map(|p| p.1.clone());
        let backward = move |b: &mut Backward<'_>| {
            let (gpu, gy, acc) = (b.gpu, b.gy.clone(), b.accumulate());
            if b.params() {
                let into = w.accumulates(acc);
                b.push(gemm(gpu, &gy, true, &x, false, None, &w.grad, into)?);
                w.finish(b, acc)?;
                if let Some(db) = &db {
                    b.push(sum_rows(gpu, &gy, db, 1.0, acc)?);
                }
            }
            if let Some(dx) = b.dx(0, &x)? {
                b.push(gemm(gpu, &gy, false, &w.used, false, None, &dx, false)?);
            }
            Ok(())
        };
        Ok(Recorded::new(y, kernels, Box::new(backward)))
    }
}
