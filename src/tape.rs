//! The tape: the ops of one forward pass with the tensors each saved, and the backward that
//! walks them in reverse. Both are recorded once into kernels; a step only encodes them.

use crate::gpu::Kernel;
use crate::nn::{Layer, Mode, Network, RngSpec};
use crate::ops::conv::{self, ConvGeom};
use crate::ops::stabilise::{instance_noise, Draws, InstanceNoise};
use crate::ops::{activation, batchnorm, dropout, gemm, maxout, minibatch_std};
use crate::{Error, Gpu, Result, Tensor};

/// One recorded op: the layer, what it read and wrote, and its parameters' views.
struct Node {
    layer: Layer,
    input: Tensor,
    output: Tensor,
    params: Vec<(Tensor, Tensor)>,
    /// Set for dropout in training mode.
    mask: Option<dropout::Mask>,
    /// Batch norm's saved mean and 1/std per channel; minibatch std's per-column mean and σ.
    stats: Option<Tensor>,
}

/// A batch-norm layer's view of its input: `[batch, channels, everything else]`.
fn bn_geom(x: &Tensor) -> batchnorm::BnGeom {
    let s = x.shape();
    batchnorm::BnGeom {
        batch: s[0],
        channels: s[1],
        spatial: s[2..].iter().product(),
    }
}

/// The convolution geometry of a Conv or ConvTranspose layer on input `x`.
fn conv_geom(layer: &Layer, x: &Tensor) -> Result<ConvGeom> {
    let s = x.shape();
    match *layer {
        Layer::Conv {
            out,
            k,
            stride,
            pad,
            ..
        } => ConvGeom::conv(s[0], s[1], s[2], s[3], out, k, stride, pad),
        Layer::ConvTranspose {
            out,
            k,
            stride,
            pad,
            output_padding,
        } => ConvGeom::transposed(s[0], s[1], s[2], s[3], out, k, stride, pad, output_padding),
        _ => unreachable!("only convolutions have a convolution geometry"),
    }
}

/// What a backward pass does with parameter gradients.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamGrads {
    /// Not formed (e.g. D's weights during the generator step).
    Skip,
    /// Overwrite the gradient buffer.
    Write,
    /// Add to it (a second use of the network in the same loss).
    Accumulate,
}

/// A network applied to one input tensor.
pub struct Tape {
    nodes: Vec<Node>,
    forward: Vec<Kernel>,
    input: Tensor,
    output: Tensor,
    state: Tensor,
}

impl Tape {
    pub(crate) fn record(
        gpu: &Gpu,
        net: &Network,
        input: &Tensor,
        mode: Mode,
        rng: RngSpec,
        state: &Tensor,
    ) -> Result<Tape> {
        let batch = input.shape()[0];
        let mut x = input.reshape(&with_batch(batch, &net.model.input))?;
        let mut shape = net.model.input.clone();
        let mut nodes = Vec::new();
        let mut forward = Vec::new();
        for (li, layer) in net.model.layers.iter().enumerate() {
            let label = format!("{} layer {li} {}", net.label(), layer.name());
            let first = net.first_param[li];
            let params: Vec<(Tensor, Tensor)> = (0..layer.param_shapes(&shape).len())
                .map(|i| (net.params.value(first + i), net.params.grad(first + i)))
                .collect();
            shape = layer.output_shape(&shape)?;
            let out_shape = with_batch(batch, &shape);
            let mut mask = None;
            let mut stats = None;
            let y = match layer {
                Layer::Reshape(_) => x.reshape(&out_shape)?,
                Layer::Dropout { .. } | Layer::GaussianNoise { .. } if mode != Mode::Train => {
                    x.clone()
                }
                _ => Tensor::zeros(gpu, &out_shape, &label)?,
            };
            match layer {
                Layer::Linear { .. } => {
                    let bias = params.get(1).map(|p| &p.0);
                    forward.push(gemm::gemm(
                        gpu,
                        &x,
                        false,
                        &params[0].0,
                        true,
                        bias,
                        &y,
                        false,
                    )?);
                }
                Layer::Activation(a) => forward.push(activation::forward(gpu, *a, &x, &y)?),
                Layer::Maxout { pieces } => forward.push(maxout::forward(gpu, &x, &y, *pieces)?),
                Layer::Dropout { keep } if mode == Mode::Train => {
                    let m = dropout::Mask {
                        keep: *keep,
                        seed: rng.seed,
                        stream: rng.stream.wrapping_mul(64).wrapping_add(li as u32),
                        clock: rng.clock,
                    };
                    forward.push(dropout::apply(gpu, m, state, &x, &y)?);
                    mask = Some(m);
                }
                Layer::GaussianNoise { sigma } if mode == Mode::Train => {
                    let noise = InstanceNoise {
                        sigma: *sigma,
                        anneal_steps: 0,
                    };
                    let draws = Draws {
                        seed: rng.seed,
                        stream: rng.stream.wrapping_mul(64).wrapping_add(li as u32),
                        clock: rng.clock,
                    };
                    forward.push(instance_noise(gpu, noise, draws, state, &x, &y)?);
                }
                Layer::Dropout { .. } | Layer::GaussianNoise { .. } | Layer::Reshape(_) => {}
                Layer::Conv { .. } => {
                    let g = conv_geom(layer, &x)?;
                    let bias = params.get(1).map(|p| &p.0);
                    forward.push(conv::forward(gpu, &g, &x, &params[0].0, bias, &y, false)?);
                }
                Layer::ConvTranspose { .. } => {
                    // The transposed convolution's forward is the convolution's input-grad.
                    let g = conv_geom(layer, &x)?;
                    forward.push(conv::input_grad(gpu, &g, &x, &params[0].0, &y, false)?);
                }
                Layer::BatchNorm { eps, momentum } => {
                    let g = bn_geom(&x);
                    let (gamma, beta) = (&params[0].0, &params[1].0);
                    let (rm, rv) = net.running[li]
                        .clone()
                        .expect("batch norm layers have running statistics");
                    if mode == Mode::Eval {
                        forward.extend(batchnorm::eval_forward(
                            gpu, &g, &x, gamma, beta, &rm, &rv, &y, *eps,
                        )?);
                    } else {
                        let st =
                            Tensor::zeros(gpu, &[2 * g.channels], &format!("{label} statistics"))?;
                        // Generating uses batch statistics but must not move the running ones.
                        let (rm, rv) = if mode == Mode::Generate {
                            (
                                Tensor::zeros(gpu, &[g.channels], "scratch")?,
                                Tensor::zeros(gpu, &[g.channels], "scratch")?,
                            )
                        } else {
                            (rm, rv)
                        };
                        forward.extend(batchnorm::train_forward(
                            gpu, &g, &x, gamma, beta, &y, &st, &rm, &rv, *momentum, *eps,
                        )?);
                        stats = Some(st);
                    }
                }
                Layer::MinibatchStd => {
                    // Batch statistics in every mode, as ProGAN's D uses them.
                    let g = minibatch_std::MbstdGeom::of_shape(x.shape())?;
                    let st = Tensor::zeros(gpu, &[g.stats_len()], &format!("{label} statistics"))?;
                    forward.extend(minibatch_std::forward(
                        gpu,
                        &g,
                        &x,
                        &y,
                        &st,
                        minibatch_std::EPS,
                    )?);
                    stats = Some(st);
                }
            }
            nodes.push(Node {
                layer: layer.clone(),
                input: x.clone(),
                output: y.clone(),
                params,
                mask,
                stats,
            });
            x = y;
        }
        Ok(Tape {
            nodes,
            forward,
            input: input.clone(),
            output: x,
            state: state.clone(),
        })
    }

    /// The forward kernels, in order.
    pub fn forward(&self) -> &[Kernel] {
        &self.forward
    }

    /// The network's output tensor (written by the forward kernels).
    pub fn output(&self) -> &Tensor {
        &self.output
    }

    /// The output of layer `i` (e.g. a classifier's penultimate features), if there is one.
    pub fn layer_output(&self, i: usize) -> Option<&Tensor> {
        self.nodes.get(i).map(|n| &n.output)
    }

    /// The input tensor the tape reads.
    pub fn input(&self) -> &Tensor {
        &self.input
    }

    /// Records the backward pass from `dy` (the loss gradient at the output). Parameter
    /// gradients go to the network's gradient buffer as `grads` says; the input gradient goes
    /// to `dx` when given. Intermediate gradients are allocated here, once.
    pub fn backward(
        &self,
        gpu: &Gpu,
        dy: &Tensor,
        grads: ParamGrads,
        dx: Option<&Tensor>,
    ) -> Result<Vec<Kernel>> {
        let mut kernels = Vec::new();
        let mut g_out = dy.reshape(self.output.shape())?;
        let accumulate = grads == ParamGrads::Accumulate;
        for (i, node) in self.nodes.iter().enumerate().rev() {
            let first = i == 0;
            if first && dx.is_none() && (grads == ParamGrads::Skip || node.params.is_empty()) {
                break;
            }
            // The gradient with respect to this node's input, if anyone needs it.
            let want_dx = !first || dx.is_some();
            let gx = match (&node.layer, first, dx) {
                (Layer::Reshape(_), _, _) => g_out.reshape(node.input.shape())?,
                (Layer::Dropout { .. }, _, _) if node.mask.is_none() => {
                    g_out.reshape(node.input.shape())?
                }
                (Layer::GaussianNoise { .. }, _, _) => g_out.reshape(node.input.shape())?,
                (_, true, Some(d)) => d.reshape(node.input.shape())?,
                _ => Tensor::zeros(gpu, node.input.shape(), "gradient")?,
            };
            match &node.layer {
                Layer::Linear { .. } => {
                    let (w, dw) = &node.params[0];
                    if grads != ParamGrads::Skip {
                        kernels.push(gemm::gemm(
                            gpu,
                            &g_out,
                            true,
                            &node.input,
                            false,
                            None,
                            dw,
                            accumulate,
                        )?);
                        if let Some((_, db)) = node.params.get(1) {
                            kernels.push(gemm::sum_rows(gpu, &g_out, db, 1.0, accumulate)?);
                        }
                    }
                    if want_dx {
                        kernels.push(gemm::gemm(gpu, &g_out, false, w, false, None, &gx, false)?);
                    }
                }
                Layer::Activation(a) => {
                    let saved = if a.backward_uses_output() {
                        &node.output
                    } else {
                        &node.input
                    };
                    kernels.push(activation::backward(gpu, *a, saved, &g_out, &gx)?);
                }
                Layer::Maxout { pieces } => {
                    kernels.push(maxout::backward(gpu, &node.input, &g_out, &gx, *pieces)?)
                }
                Layer::Dropout { .. } => {
                    if let Some(m) = node.mask {
                        kernels.push(dropout::apply(gpu, m, &self.state, &g_out, &gx)?);
                    }
                }
                Layer::Reshape(_) | Layer::GaussianNoise { .. } => {}
                Layer::Conv { .. } => {
                    let g = conv_geom(&node.layer, &node.input)?;
                    if grads != ParamGrads::Skip {
                        kernels.push(conv::weight_grad(
                            gpu,
                            &g,
                            &node.input,
                            &g_out,
                            &node.params[0].1,
                            accumulate,
                        )?);
                        if let Some((_, db)) = node.params.get(1) {
                            kernels.push(conv::bias_grad(gpu, &g, &g_out, db, accumulate)?);
                        }
                    }
                    if want_dx {
                        kernels.push(conv::input_grad(
                            gpu,
                            &g,
                            &g_out,
                            &node.params[0].0,
                            &gx,
                            false,
                        )?);
                    }
                }
                Layer::ConvTranspose { .. } => {
                    // Roles swap: the layer's output is the convolution's input.
                    let g = conv_geom(&node.layer, &node.input)?;
                    if grads != ParamGrads::Skip {
                        kernels.push(conv::weight_grad(
                            gpu,
                            &g,
                            &g_out,
                            &node.input,
                            &node.params[0].1,
                            accumulate,
                        )?);
                    }
                    if want_dx {
                        kernels.push(conv::forward(
                            gpu,
                            &g,
                            &g_out,
                            &node.params[0].0,
                            None,
                            &gx,
                            false,
                        )?);
                    }
                }
                Layer::BatchNorm { .. } => {
                    let stats = node.stats.as_ref().ok_or_else(|| {
                        Error::shape(
                            "batch_norm",
                            "backward through a tape recorded in eval or generate mode",
                        )
                    })?;
                    let pg =
                        (grads != ParamGrads::Skip).then(|| (&node.params[0].1, &node.params[1].1));
                    let dx = want_dx.then_some(&gx);
                    kernels.extend(batchnorm::backward(
                        gpu,
                        &bn_geom(&node.input),
                        &node.input,
                        &g_out,
                        &node.params[0].0,
                        stats,
                        dx,
                        pg,
                        accumulate,
                    )?);
                }
                Layer::MinibatchStd => {
                    if want_dx {
                        let stats = node
                            .stats
                            .as_ref()
                            .expect("minibatch std saves its statistics in every mode");
                        kernels.extend(minibatch_std::backward(
                            gpu,
                            &minibatch_std::MbstdGeom::of_shape(node.input.shape())?,
                            &node.input,
                            &g_out,
                            stats,
                            &gx,
                            false,
                        )?);
                    }
                }
            }
            // A view (reshape, eval dropout, noise) into the caller's dx still needs the data
            // moved.
            if first {
                if let (
                    Some(d),
                    Layer::Reshape(_) | Layer::Dropout { .. } | Layer::GaussianNoise { .. },
                ) = (dx, &node.layer)
                {
                    if node.mask.is_none() {
                        kernels.push(crate::ops::elementwise::axpby(gpu, 1.0, &gx, 0.0, d)?);
                    }
                }
            }
            g_out = gx;
        }
        Ok(kernels)
    }
}

fn with_batch(batch: usize, sample: &[usize]) -> Vec<usize> {
    let mut s = vec![batch];
    s.extend_from_slice(sample);
    s
}
