//! Maxout: the max over `pieces` consecutive features; the gradient goes to the winner.

use super::{Backward, Forward, Kind, Recorded};
use crate::ops::maxout::{backward, forward};
use crate::{Error, Result};

#[derive(Debug)]
pub(crate) struct Maxout {
    pub pieces: usize,
}

impl Kind for Maxout {
    fn name(&self) -> String {
        format!("maxout({})", self.pieces)
    }

    fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        let len: usize = inputs[0].iter().product();
        if self.pieces == 0 || !len.is_multiple_of(self.pieces) {
            return Err(Error::shape(
                "maxout",
                format!("{len} features do not split into groups of {}", self.pieces),
            ));
        }
        Ok(vec![len / self.pieces])
    }

    fn record(&self, f: &Forward<'_>) -> Result<Recorded> {
        let (x, y, pieces) = (f.x().clone(), f.output()?, self.pieces);
        let k = forward(f.gpu, &x, &y, pieces)?;
        let rule = move |b: &mut Backward<'_>| {
            if let Some(dx) = b.dx(0, &x)? {
                let k = backward(b.gpu, &x, &b.gy, &dx, pieces)?;
                b.push(k);
            }
            Ok(())
        };
        Ok(Recorded::new(y, vec![k], Box::new(rule)))
    }
}
