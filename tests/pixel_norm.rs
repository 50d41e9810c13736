//! Pixelwise feature normalisation (`shaders/pixel_norm.wgsl`) against its f64 reference on
//! odd sizes, one channel and many, batch 1, small and large magnitudes, and through a network;
//! the reference's backward against central finite differences.

mod common;

use common::*;
use counterfeit::nn::{Mode, RngSpec};
use counterfeit::ops::pixel_norm::{backward, forward, PixelNormGeom};
use counterfeit::reference::pixel_norm as reference;
use counterfeit::tape::ParamGrads;
use counterfeit::{Clock, Network, Sequential, Tensor};

const EPS: f32 = 1e-8;

#[test]
fn the_reference_backward_matches_finite_differences() {
    for (batch, channels, spatial) in [(1, 1, 1), (1, 5, 1), (3, 4, 7), (2, 1, 3)] {
        let n = batch * channels * spatial;
        let x = f64s(&normal(n, 5, 1.0));
        let dy = f64s(&normal(n, 6, 1.0));
        let loss = |x: &[f64]| -> f64 {
            let y = reference::forward(x, batch, channels, spatial, 1e-8);
            y.iter().zip(&dy).map(|(a, b)| a * b).sum()
        };
        let grad = reference::backward(&x, &dy, batch, channels, spatial, 1e-8);
        let h = 1e-6;
        for i in 0..n {
            let (mut up, mut down) = (x.clone(), x.clone());
            up[i] += h;
            down[i] -= h;
            let fd = (loss(&up) - loss(&down)) / (2.0 * h);
            let what = format!("{batch}×{channels}×{spatial} element {i}");
            assert!(
                (fd - grad[i]).abs() < 1e-6 * (1.0 + fd.abs()),
                "{what}: fd {fd}, backward {}",
                grad[i]
            );
        }
    }
}

/// The size of the two terms of each dx_c, |r·dy_c| + |x_c·r³·mean(dy·x)|.
fn backward_terms(
    x: &[f64],
    dy: &[f64],
    batch: usize,
    channels: usize,
    spatial: usize,
) -> Vec<f64> {
    let mut m = vec![0.0; x.len()];
    for n in 0..batch {
        for s in 0..spatial {
            let at = |c: usize| (n * channels + c) * spatial + s;
            let ms = (0..channels).map(|c| x[at(c)] * x[at(c)]).sum::<f64>() / channels as f64;
            let r = 1.0 / (ms + EPS as f64).sqrt();
            let dot = (0..channels)
                .map(|c| (dy[at(c)] * x[at(c)]).abs())
                .sum::<f64>()
                / channels as f64;
            for c in 0..channels {
                m[at(c)] = r * dy[at(c)].abs() + x[at(c)].abs() * r * r * r * dot;
            }
        }
    }
    m
}

#[test]
fn kernels_match_the_reference() {
    let gpu = gpu();
    let t = |v: &[f32]| Tensor::from_slice(gpu, v, &[v.len()], "t").unwrap();
    for (batch, channels, spatial) in [(1, 1, 1), (1, 5, 1), (3, 5, 7), (2, 64, 9), (4, 3, 49)] {
        for scale in [1e-3f32, 1.0, 1e3] {
            let n = batch * channels * spatial;
            let what = format!("{batch}×{channels}×{spatial} at scale {scale}");
            let g = PixelNormGeom {
                batch,
                channels,
                spatial,
                eps: EPS,
            };
            let x = normal(n, (n + channels) as u64, scale);
            let dy = normal(n, 7, 1.0);
            let (xt, dyt) = (t(&x), t(&dy));
            let (y, dx) = (t(&vec![0.0; n]), t(&vec![0.0; n]));
            let k = [
                forward(gpu, g, &xt, &y).unwrap(),
                backward(gpu, g, &xt, &dyt, &dx).unwrap(),
            ];
            gpu.run(&k.iter().collect::<Vec<_>>()).unwrap();
            // Sums over the channels in f32, a square root and a division: relative error
            // of a few ulps times the channel count, far below a wrong index's O(1).
            let tol = 1e-6 * channels as f64;
            let want = reference::forward(&f64s(&x), batch, channels, spatial, EPS as f64);
            assert_close(
                &format!("forward {what}"),
                &y.read(gpu).unwrap(),
                &want,
                tol,
                tol,
            );
            let want =
                reference::backward(&f64s(&x), &f64s(&dy), batch, channels, spatial, EPS as f64);
            // dx_c = r·dy_c − x_c·r³·mean(dy·x) is a difference of two terms that nearly
            // cancel when x is small against eps or has one channel, so f32 rounding is
            // relative to the terms, not to their difference: bound each element by them.
            let terms = backward_terms(&f64s(&x), &f64s(&dy), batch, channels, spatial);
            let got = dx.read(gpu).unwrap();
            for (i, ((g, w), m)) in got.iter().zip(&want).zip(&terms).enumerate() {
                let bound = tol * m + 1e-30;
                assert!(
                    (*g as f64 - w).abs() <= bound,
                    "backward {what} [{i}]: got {g} want {w} (terms {m}, bound {bound})"
                );
            }
        }
    }
    // All zeros stay zero: eps keeps the division finite.
    let g = PixelNormGeom {
        batch: 1,
        channels: 4,
        spatial: 2,
        eps: EPS,
    };
    let (x, y) = (t(&[0.0; 8]), t(&[1.0; 8]));
    gpu.run(&[&forward(gpu, g, &x, &y).unwrap()]).unwrap();
    assert_eq!(y.read(gpu).unwrap(), vec![0.0; 8]);
}

#[test]
fn the_layer_normalises_through_a_network_at_batch_1_and_3() {
    let gpu = gpu();
    let (c, h, w) = (5, 3, 3);
    for batch in [1, 3] {
        let n = batch * c * h * w;
        let model = Sequential::new([c, h, w]).pixel_norm();
        let net = Network::new(gpu, "pn", model, 1).unwrap();
        let x = normal(n, 11, 2.0);
        let dy = normal(n, 12, 1.0);
        let xt = Tensor::from_slice(gpu, &x, &[batch, c, h, w], "x").unwrap();
        let dyt = Tensor::from_slice(gpu, &dy, &[batch, c, h, w], "dy").unwrap();
        let dxt = Tensor::zeros(gpu, &[batch, c, h, w], "dx").unwrap();
        let state = Tensor::zeros(gpu, &[4], "state").unwrap();
        let rng = RngSpec {
            seed: 0,
            stream: 0,
            clock: Clock::ITERATION,
        };
        let tape = net.tape(gpu, &xt, Mode::Train, rng, &state).unwrap();
        let mut k = tape.forward().to_vec();
        k.extend(
            tape.backward(gpu, &dyt, ParamGrads::Write, Some(&dxt))
                .unwrap(),
        );
        gpu.run(&k.iter().collect::<Vec<_>>()).unwrap();
        let eps = EPS as f64;
        let want = reference::forward(&f64s(&x), batch, c, h * w, eps);
        assert_close(
            "forward",
            &tape.output().read(gpu).unwrap(),
            &want,
            1e-5,
            1e-5,
        );
        let want = reference::backward(&f64s(&x), &f64s(&dy), batch, c, h * w, eps);
        assert_close("backward", &dxt.read(gpu).unwrap(), &want, 1e-5, 1e-5);
    }
}
