//! The four convolution kernels (forward, input-grad, weight-grad, bias-grad) on one layer
//! against the f64 reference, for plain and transposed layers.

use crate::common::*;
use counterfeit::ops::conv::{self, ConvGeom};
use counterfeit::reference::conv::{
    conv2d, conv2d_bias_grad, conv2d_input_grad, conv2d_weight_grad, Conv2d, ConvTranspose2d,
};
use counterfeit::{Gpu, Tensor};

/// A layer as the kernels see it (`ConvGeom`) and as the reference does (the `Conv2d` the
/// kernels run), each built from the same plain numbers on its own.
pub struct Layer {
    pub g: ConvGeom,
    pub r: Conv2d,
}

/// Asserts that the kernels' geometry has the reference's sizes, output sizes included.
pub fn assert_same_sizes(g: &ConvGeom, r: &Conv2d) {
    assert_eq!(
        (g.batch, g.c_in, g.h, g.w, g.c_out, g.k, g.stride, g.pad),
        (r.batch, r.c_in, r.h, r.w, r.c_out, r.k, r.stride, r.pad),
        "{g:?} against the reference's {r:?}"
    );
    assert_eq!(
        (g.out_h, g.out_w),
        (r.out_h(), r.out_w()),
        "output size of {g:?} against the reference's {r:?}"
    );
    assert_eq!(
        (g.input_len(), g.weight_len(), g.output_len()),
        (r.input_len(), r.weight_len(), r.output_len()),
        "tensor sizes of {g:?} against the reference's {r:?}"
    );
}

/// A Conv2d: `ConvGeom::conv` beside the reference's `Conv2d`.
pub fn conv_layer(
    batch: usize,
    c_in: usize,
    hw: (usize, usize),
    c_out: usize,
    k: usize,
    s: usize,
    p: usize,
) -> Layer {
    let g = ConvGeom::conv(batch, c_in, hw.0, hw.1, c_out, k, s, p).unwrap();
    let r = Conv2d::new(batch, c_in, hw.0, hw.1, c_out, k, s, p);
    assert_same_sizes(&g, &r);
    Layer { g, r }
}

/// A ConvTranspose2d: `ConvGeom::transposed` (the convolution the kernels run for it) beside
/// the reference's `ConvTranspose2d`, whose output size the reference works out, and its
/// adjoint convolution.
#[allow(clippy::too_many_arguments)]
pub fn transposed_layer(
    batch: usize,
    c_in: usize,
    hw: (usize, usize),
    c_out: usize,
    k: usize,
    s: usize,
    p: usize,
    op: usize,
) -> Layer {
    let g = ConvGeom::transposed(batch, c_in, hw.0, hw.1, c_out, k, s, p, op).unwrap();
    let t = ConvTranspose2d::new(batch, c_in, hw.0, hw.1, c_out, k, s, p, op);
    // The kernels' input is the transposed layer's output, and the other way round.
    assert_eq!(
        (g.h, g.w, g.c_in, g.out_h, g.out_w, g.c_out),
        (t.out_h(), t.out_w(), t.c_out, t.h, t.w, t.c_in),
        "{g:?} against the reference's {t:?}"
    );
    assert_eq!(
        (g.input_len(), g.weight_len(), g.output_len()),
        (t.output_len(), t.weight_len(), t.input_len()),
        "tensor sizes of {g:?} against the reference's {t:?}"
    );
    let r = t.adjoint();
    assert_same_sizes(&g, &r);
    Layer { g, r }
}

pub const EPS: f64 = 1.2e-7; // f32 unit roundoff (2^-23)

/// Tolerance for a value that the GPU sums in f32 from `terms` products of two normal factors
/// of size `scale`, plus up to two values of size scale² (the bias, the accumulated prior).
/// Each addition rounds by eps (2^-23) relative to a partial sum that random-walks to about
/// √terms·scale², so the total error is typically √terms·eps·√terms·scale² = terms·eps·scale².
/// We allow 8× that, since the worst of thousands of outputs sits a few typical errors out,
/// plus 1e-5 relative. With terms ≤ 4096 here the bound stays under 4e-3·scale², while a
/// wrong tap, index or sign changes a value by about scale²: 250× the bound or more.
pub fn atol(terms: usize, scale: f32) -> f64 {
    8.0 * (terms + 2) as f64 * EPS * (scale as f64).powi(2)
}
pub const RTOL: f64 = 1e-5;

pub struct Inputs {
    pub x: Vec<f32>,
    pub w: Vec<f32>,
    pub b: Vec<f32>,
    pub dy: Vec<f32>,
}

pub fn inputs(g: &Conv2d, seed: u64, scale: f32) -> Inputs {
    Inputs {
        x: normal(g.input_len(), seed, scale),
        w: normal(g.weight_len(), seed + 1, scale),
        b: normal(g.c_out, seed + 2, scale * scale),
        dy: normal(g.output_len(), seed + 3, scale),
    }
}

/// Runs all four kernels on the layer's geometry and compares each with the reference on its
/// own shape. With `accumulate` the outputs start from random priors that must be added;
/// without, from random garbage that must be overwritten.
pub async fn four_kernels(
    gpu: &Gpu,
    layer: &Layer,
    seed: u64,
    scale: f32,
    bias: bool,
    accumulate: bool,
) {
    let (g, r) = (&layer.g, &layer.r);
    let inp = inputs(r, seed, scale);
    let tag = format!(
        "{r:?} scale {scale} bias {bias} accumulate {accumulate} subgroups {}",
        gpu.subgroup_kernels()
    );
    let prior = |n: usize, s: u64| normal(n, seed + s, scale * scale);
    let t = |v: &[f32], label: &str| Tensor::from_slice(gpu, v, &[v.len()], label).unwrap();
    let plus_prior = |mut want: Vec<f64>, prior: &[f32]| {
        if accumulate {
            want.iter_mut()
                .zip(prior)
                .for_each(|(w, &p)| *w += p as f64);
        }
        want
    };
    let (x, w, b, dy) = (
        t(&inp.x, "x"),
        t(&inp.w, "w"),
        t(&inp.b, "b"),
        t(&inp.dy, "dy"),
    );
    let (x64, w64, b64, dy64) = (f64s(&inp.x), f64s(&inp.w), f64s(&inp.b), f64s(&inp.dy));
    let taps = r.k * r.k;

    // Forward: c_in·k² products per output.
    let y0 = prior(r.output_len(), 10);
    let y = t(&y0, "y");
    let k = conv::forward(gpu, g, &x, &w, bias.then_some(&b), &y, accumulate).unwrap();
    gpu.run(&[&k]).unwrap();
    let want = plus_prior(conv2d(&x64, &w64, bias.then_some(&b64[..]), r), &y0);
    assert_close(
        &format!("forward {tag}"),
        &y.read_async(gpu).await.unwrap(),
        &want,
        atol(r.c_in * taps, scale),
        RTOL,
    );

    // Input-grad: at most c_out·k² products per input pixel (c_out·⌈k/s⌉² in fact).
    let dx0 = prior(r.input_len(), 11);
    let dx = t(&dx0, "dx");
    let k = conv::input_grad(gpu, g, &dy, &w, &dx, accumulate).unwrap();
    gpu.run(&[&k]).unwrap();
    let want = plus_prior(conv2d_input_grad(&dy64, &w64, r), &dx0);
    assert_close(
        &format!("input_grad {tag}"),
        &dx.read_async(gpu).await.unwrap(),
        &want,
        atol(r.c_out * taps, scale),
        RTOL,
    );

    // Weight-grad: batch·out_h·out_w products per weight.
    let pixels = r.batch * r.out_h() * r.out_w();
    let dw0 = prior(r.weight_len(), 12);
    let dw = t(&dw0, "dw");
    let k = conv::weight_grad(gpu, g, &x, &dy, &dw, accumulate).unwrap();
    gpu.run(&[&k]).unwrap();
    let want = plus_prior(conv2d_weight_grad(&x64, &dy64, r), &dw0);
    assert_close(
        &format!("weight_grad {tag}"),
        &dw.read_async(gpu).await.unwrap(),
        &want,
        atol(pixels, scale),
        RTOL,
    );

    // Bias-grad: batch·out_h·out_w values of size scale and a prior of size scale²; the
    // product bound (scale² per term) covers that for scale ≥ 1.
    let db0 = prior(r.c_out, 13);
    let db = t(&db0, "db");
    let k = conv::bias_grad(gpu, g, &dy, &db, accumulate).unwrap();
    gpu.run(&[&k]).unwrap();
    let want = plus_prior(conv2d_bias_grad(&dy64, r), &db0);
    assert_close(
        &format!("bias_grad {tag}"),
        &db.read_async(gpu).await.unwrap(),
        &want,
        atol(pixels, scale),
        RTOL,
    );
}
