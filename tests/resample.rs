//! Nearest-neighbour up-sampling and 2×2 average pooling (`shaders/resample.wgsl`) against
//! their f64 references on odd sizes, one plane and many, through the layers of a network
//! at batch 1 and 3; the references' backward is checked as the exact adjoint of their
//! forward and against central finite differences.

mod common;

use common::*;
use counterfeit::nn::{Mode, RngSpec};
use counterfeit::ops::resample::{
    avg_pool_backward, avg_pool_forward, upsample_backward, upsample_forward, Planes,
};
use counterfeit::reference::resample::{adjoint, avg_pool, upsample};
use counterfeit::tape::ParamGrads;
use counterfeit::{Clock, Network, Sequential, Tensor};

/// A sum of four f32 values (then a quarter of it) against f64: a few ulps of the largest.
fn tol(want: &[f64]) -> f64 {
    8.0 * f32::EPSILON as f64 * want.iter().fold(1e-30f64, |m, v| m.max(v.abs()))
}

fn t(v: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_slice(gpu(), v, shape, "t").unwrap()
}

fn run(k: counterfeit::gpu::Kernel, out: &Tensor) -> Vec<f32> {
    gpu().run(&[&k]).unwrap();
    out.read(gpu()).unwrap()
}

#[test]
fn kernels_match_the_reference_on_odd_sizes() {
    let gpu = gpu();
    // (planes, full height, full width): pooling drops odd last rows and columns.
    for (planes, h, w) in [
        (1, 2, 2),
        (1, 5, 7),
        (6, 7, 5),
        (3, 13, 13),
        (2, 2, 9),
        (5, 16, 6),
    ] {
        let what = format!("{planes} planes of {h}×{w}");
        let g = Planes { planes, h, w };
        let (sh, sw) = (h / 2, w / 2);
        let big = normal(planes * h * w, (h * 31 + w) as u64, 1.0);
        let small = normal(planes * sh * sw, (h * 7 + w) as u64, 1.0);
        let (big_t, small_t) = (t(&big, &[planes, h, w]), t(&small, &[planes, sh, sw]));

        // Pooling and its backward.
        let pooled = Tensor::zeros(gpu, &[planes, sh, sw], "pooled").unwrap();
        let got = run(avg_pool_forward(gpu, g, &big_t, &pooled).unwrap(), &pooled);
        let want = avg_pool(&f64s(&big), planes, h, w);
        assert_close(&format!("avg_pool {what}"), &got, &want, tol(&want), 0.0);
        let dx = Tensor::zeros(gpu, &[planes, h, w], "dx").unwrap();
        let got = run(avg_pool_backward(gpu, g, &small_t, &dx).unwrap(), &dx);
        let want = adjoint(|x| avg_pool(x, planes, h, w), planes * h * w, &f64s(&small));
        assert_close(
            &format!("avg_pool backward {what}"),
            &got,
            &want,
            tol(&want),
            0.0,
        );

        // Up-sampling from the half size back to the (even) full size.
        let (uh, uw) = (2 * sh, 2 * sw);
        let gu = Planes {
            planes,
            h: uh,
            w: uw,
        };
        let up = Tensor::zeros(gpu, &[planes, uh, uw], "up").unwrap();
        let got = run(upsample_forward(gpu, gu, &small_t, &up).unwrap(), &up);
        let want = upsample(&f64s(&small), planes, sh, sw);
        assert_eq!(f64s(&got), want, "upsample {what}: a copy is exact");
        let dy = normal(planes * uh * uw, 3, 1.0);
        let dsmall = Tensor::zeros(gpu, &[planes, sh, sw], "dsmall").unwrap();
        let dyt = t(&dy, &[planes, uh, uw]);
        let got = run(upsample_backward(gpu, gu, &dyt, &dsmall).unwrap(), &dsmall);
        let want = adjoint(
            |x| upsample(x, planes, sh, sw),
            planes * sh * sw,
            &f64s(&dy),
        );
        assert_close(
            &format!("upsample backward {what}"),
            &got,
            &want,
            tol(&want),
            0.0,
        );
    }
}

#[test]
fn the_reference_backward_is_the_forwards_derivative() {
    let (planes, h, w) = (2, 5, 7);
    let x: Vec<f64> = f64s(&normal(planes * h * w, 1, 1.0));
    let dy: Vec<f64> = f64s(&normal(planes * (h / 2) * (w / 2), 2, 1.0));
    let loss = |x: &[f64]| -> f64 {
        let y = avg_pool(x, planes, h, w);
        y.iter().zip(&dy).map(|(a, b)| a * b).sum()
    };
    let grad = adjoint(|x| avg_pool(x, planes, h, w), x.len(), &dy);
    let eps = 1e-3;
    for i in 0..x.len() {
        let (mut up, mut down) = (x.clone(), x.clone());
        up[i] += eps;
        down[i] -= eps;
        let fd = (loss(&up) - loss(&down)) / (2.0 * eps);
        assert!(
            (fd - grad[i]).abs() < 1e-9,
            "element {i}: fd {fd}, adjoint {}",
            grad[i]
        );
    }
    // Up-sampling then pooling gives back the input exactly.
    let small: Vec<f64> = f64s(&normal(planes * 3 * 4, 4, 1.0));
    assert_eq!(
        avg_pool(&upsample(&small, planes, 3, 4), planes, 6, 8),
        small
    );
}

/// A network's forward output and input gradient for `dy`.
fn through(model: Sequential, x: &[f32], dy: &[f32], batch: usize) -> (Vec<f32>, Vec<f32>) {
    let gpu = gpu();
    let shape: Vec<usize> = std::iter::once(batch)
        .chain(model.input_shape().iter().copied())
        .collect();
    let out: Vec<usize> = std::iter::once(batch)
        .chain(model.output_shape().unwrap())
        .collect();
    let net = Network::new(gpu, "resample", model, 1).unwrap();
    let xt = t(x, &shape);
    let state = Tensor::zeros(gpu, &[4], "state").unwrap();
    let rng = RngSpec {
        seed: 0,
        stream: 0,
        clock: Clock::ITERATION,
    };
    let tape = net.tape(gpu, &xt, Mode::Train, rng, &state).unwrap();
    let dyt = t(dy, &out);
    let dxt = Tensor::zeros(gpu, &shape, "dx").unwrap();
    let mut kernels = tape.forward().to_vec();
    kernels.extend(
        tape.backward(gpu, &dyt, ParamGrads::Write, Some(&dxt))
            .unwrap(),
    );
    gpu.run(&kernels.iter().collect::<Vec<_>>()).unwrap();
    (tape.output().read(gpu).unwrap(), dxt.read(gpu).unwrap())
}

#[test]
fn the_layers_pool_and_grow_through_a_network_at_batch_1_and_3() {
    let (c, h, w) = (3, 5, 7);
    for batch in [1, 3] {
        let planes = batch * c;
        let x = normal(planes * h * w, 9, 1.0);
        // Pool to 2×3, grow to 4×6.
        let model = Sequential::new([c, h, w]).avg_pool().upsample();
        assert_eq!(model.output_shape().unwrap(), vec![c, 4, 6]);
        let dy = normal(planes * 4 * 6, 10, 1.0);
        let (y, dx) = through(model, &x, &dy, batch);
        let composed = |x: &[f64]| upsample(&avg_pool(x, planes, h, w), planes, 2, 3);
        let want = composed(&f64s(&x));
        assert_close(
            &format!("forward, batch {batch}"),
            &y,
            &want,
            tol(&want),
            0.0,
        );
        let want = adjoint(composed, x.len(), &f64s(&dy));
        assert_close(
            &format!("backward, batch {batch}"),
            &dx,
            &want,
            tol(&want),
            0.0,
        );
    }
}

#[test]
fn shapes_without_a_block_are_errors_naming_the_layer() {
    let err = Sequential::new([2, 1, 6])
        .avg_pool()
        .output_shape()
        .unwrap_err();
    assert!(err.to_string().contains("avg_pool"), "{err}");
    let err = Sequential::new([12]).upsample().output_shape().unwrap_err();
    assert!(err.to_string().contains("upsample"), "{err}");
    let small = t(&[0.0; 4], &[1, 2, 2]);
    let big = t(&[0.0; 15], &[1, 3, 5]);
    let g = Planes {
        planes: 1,
        h: 4,
        w: 4,
    };
    assert!(upsample_forward(gpu(), g, &small, &big).is_err());
}
