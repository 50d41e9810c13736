//! Carrying trained values from one network into another by layer name: a grown network
//! starts from every layer it shares with the smaller one (progressive growing).

use crate::{Error, Gpu, Network, Result, Tensor};

impl Network {
    /// Copies into this network the parameters (and batch-norm running statistics) of every
    /// op of `from` that has the same given name here (`Node::named`); with `moments`, the
    /// optimiser's moments too. Unnamed ops are never matched, since their index names mean
    /// nothing across two graphs. Returns the names carried; a same-named op whose
    /// parameters have other shapes is an error.
    pub fn carry_from(&self, gpu: &Gpu, from: &Network, moments: bool) -> Result<Vec<String>> {
        let flats = |n: &Network| -> Vec<Tensor> {
            let p = n.params();
            if moments {
                vec![p.values.clone(), p.m1.clone(), p.m2.clone()]
            } else {
                vec![p.values.clone()]
            }
        };
        let (mine, theirs) = (flats(self), flats(from));
        let mut host: Vec<Vec<f32>> = mine.iter().map(|t| t.read(gpu)).collect::<Result<_>>()?;
        let source: Vec<Vec<f32>> = theirs.iter().map(|t| t.read(gpu)).collect::<Result<_>>()?;
        let mut carried = Vec::new();
        for (i, op) in self.model.ops.iter().enumerate() {
            let Some(name) = &op.name else { continue };
            let Some(j) = (from.model.ops.iter()).position(|o| o.name.as_ref() == Some(name))
            else {
                continue;
            };
            let (here, there) = (self.op_param_indices(i), from.op_param_indices(j));
            let shapes = |n: &Network, r: std::ops::Range<usize>| -> Vec<Vec<usize>> {
                r.map(|p| n.params().shape(p).to_vec()).collect()
            };
            if shapes(self, here.clone()) != shapes(from, there.clone()) {
                return Err(Error::shape(
                    format!("{} {name}", self.label),
                    format!(
                        "cannot take the values of {}'s {name}: its parameters are {:?}, these are {:?}",
                        from.label,
                        shapes(from, there),
                        shapes(self, here)
                    ),
                ));
            }
            for (p, q) in here.zip(there) {
                let (to, at) = (self.params().range(p), from.params().range(q));
                for (dst, src) in host.iter_mut().zip(&source) {
                    dst[to.clone()].copy_from_slice(&src[at.clone()]);
                }
            }
            if let (Some((m, v)), Some((fm, fv))) = (&self.running[i], &from.running[j]) {
                m.write(gpu, &fm.read(gpu)?)?;
                v.write(gpu, &fv.read(gpu)?)?;
            }
            carried.push(name.clone());
        }
        for (t, values) in mine.iter().zip(&host) {
            t.write(gpu, values)?;
        }
        Ok(carried)
    }
}
