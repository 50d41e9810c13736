//! A gradient penalty's second-order pass over a recorded tape: each node's forward-mode
//! tangent, then one reverse pass over the primal and tangent pair into the parameters'
//! gradients.

use super::{sum, ParamGrads, Tape};
use crate::gpu::Kernel;
use crate::nn::graph::Source;
use crate::nn::layers::{Backward, BackwardFn, Dx, Forward, SpectralStep, SpectralUse, Tangent};
use crate::{Error, Gpu, Result, Tensor};

impl Tape {
    /// Records the second-order pass of a gradient penalty. With `g = ∂(Σ dys·outputs)/∂x` (the
    /// gradient the ordinary backward gives at input 0) and a penalty P(g) whose gradient at g
    /// is `v`, P's gradient with respect to the parameters is `vᵀ·∂g/∂θ`: the parameter
    /// gradient of the directional derivative `Σ dys·ẏ` of the outputs along `ẋ = v`. So the
    /// pass records the forward-mode tangent of every node (its `Kind::tangent`), then the
    /// reverse of the primal and tangent pair, and adds the result to the parameter gradients
    /// (the loss's backward writes them first). Parameters are constants here, so no tangent
    /// flows from them; biases get only primal cotangents.
    pub fn second_order(&self, gpu: &Gpu, v: &Tensor, dys: &[&Tensor]) -> Result<Vec<Kernel>> {
        if dys.len() != self.outputs.len() {
            return Err(Error::shape(
                "second-order pass",
                format!(
                    "{} output gradients for a network of {} outputs",
                    dys.len(),
                    self.outputs.len()
                ),
            ));
        }
        let mut kernels = Vec::new();
        // Forward mode: each node's output tangent, None where no tangent reaches it.
        let mut in_t: Vec<Option<Tensor>> = vec![None; self.inputs.len()];
        in_t[0] = Some(v.reshape(self.inputs[0].shape())?);
        let mut tangents: Vec<Option<Tensor>> = Vec::with_capacity(self.nodes.len());
        let mut rules: Vec<Option<BackwardFn>> = Vec::with_capacity(self.nodes.len());
        for (i, node) in self.nodes.iter().enumerate() {
            let read = |s: &Source| match *s {
                Source::Input(k) => in_t[k].clone(),
                Source::Op(j) => tangents[j].clone(),
            };
            let tin: Vec<Option<Tensor>> = node.inputs.iter().map(read).collect();
            if tin.iter().all(Option::is_none) {
                tangents.push(None);
                rules.push(None);
                continue;
            }
            let given = &node.given;
            // An input no tangent reaches has a zero one.
            let tin = tin
                .into_iter()
                .zip(&given.inputs)
                .map(|(t, p)| match t {
                    Some(t) => Ok(t),
                    None => Tensor::zeros(gpu, p.shape(), "zero tangent"),
                })
                .collect::<Result<Vec<_>>>()?;
            let label = format!("{} tangent", given.label);
            let t = Tangent {
                f: Forward {
                    gpu,
                    mode: given.mode,
                    inputs: tin,
                    out_shape: given.out_shape.clone(),
                    params: given.params.clone(),
                    running: given.running.clone(),
                    weight_scale: given.weight_scale,
                    // A tangent uses the weight exactly as its primal forward did.
                    spectral: given.spectral.clone().map(|s| SpectralUse {
                        step: SpectralStep::Reuse,
                        ..s
                    }),
                    seed: given.seed,
                    stream: given.stream,
                    clock: given.clock,
                    state: &self.state,
                    label: &label,
                },
                primal_inputs: &given.inputs,
                primal_output: &self.values[i],
            };
            let recorded = node.layer.0.tangent(&t).map_err(|e| match e {
                Error::Shape { op, detail } => Error::shape(
                    format!("gradient penalty through {}", given.label),
                    format!("{op} {detail}"),
                ),
                e => e,
            })?;
            kernels.extend(recorded.kernels);
            tangents.push(Some(recorded.output));
            rules.push(Some(recorded.backward));
        }
        // Reverse mode over the (primal, tangent) pair, seeded at the outputs' tangents.
        let mut primal: Vec<Vec<Tensor>> = vec![Vec::new(); self.nodes.len()];
        let mut tangent: Vec<Vec<Tensor>> = vec![Vec::new(); self.nodes.len()];
        for (s, dy) in self.outputs.iter().zip(dys) {
            if let Source::Op(j) = *s {
                if tangents[j].is_some() {
                    tangent[j].push(dy.reshape(self.values[j].shape())?);
                }
            }
        }
        let acc = ParamGrads::Accumulate;
        for (i, node) in self.nodes.iter().enumerate().rev() {
            // Only ops pass cotangents on; the inputs' are not wanted.
            let plan = |wanted: &dyn Fn(usize) -> bool| {
                node.inputs
                    .iter()
                    .map(|s| match *s {
                        Source::Op(j) if wanted(j) => Dx::Wanted,
                        _ => Dx::Unwanted,
                    })
                    .collect::<Vec<_>>()
            };
            if let Some(gy) = sum(gpu, &primal[i], &mut kernels)? {
                let mut b = Backward::new(gpu, gy, acc, plan(&|_| true));
                (node.rule)(&mut b)?;
                let (ks, grads) = b.finish();
                kernels.extend(ks);
                for (s, g) in node.inputs.iter().zip(grads) {
                    if let (Source::Op(j), Some(g)) = (*s, g) {
                        primal[j].push(g);
                    }
                }
            }
            let (Some(rule), Some(gt)) = (&rules[i], sum(gpu, &tangent[i], &mut kernels)?) else {
                continue;
            };
            let mut b = Backward::new(gpu, gt, acc, plan(&|j| tangents[j].is_some()));
            rule(&mut b)?;
            let extra = b.take_primal();
            let (ks, grads) = b.finish();
            kernels.extend(ks);
            for (s, g) in node.inputs.iter().zip(grads) {
                if let (Source::Op(j), Some(g)) = (*s, g) {
                    tangent[j].push(g);
                }
            }
            for (k, c) in extra {
                if let Source::Op(j) = node.inputs[k] {
                    primal[j].push(c);
                }
            }
        }
        Ok(kernels)
    }
}
