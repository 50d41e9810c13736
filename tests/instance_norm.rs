//! Instance normalisation (`shaders/instance_norm.wgsl`) against its f64 reference on odd
//! sizes, one position and many, one channel and many, batch 1, small and large magnitudes
//! and planes whose mean is far from 0; the parameter gradients written and accumulated;
//! the layer through a network; the reference's backward against central finite differences.

mod common;

use common::*;
use counterfeit::nn::{Mode, RngSpec};
use counterfeit::ops::instance_norm::{backward_params, backward_x, forward, InstanceNormGeom};
use counterfeit::reference::instance_norm as reference;
use counterfeit::tape::ParamGrads;
use counterfeit::{Clock, Network, Sequential, Tensor};

const EPS: f32 = 1e-5;

#[test]
fn the_reference_backward_matches_finite_differences() {
    for (batch, channels, spatial) in [(1, 1, 1), (1, 1, 2), (1, 3, 7), (3, 2, 5), (2, 1, 4)] {
        let n = batch * channels * spatial;
        let x = f64s(&normal(n, 5, 1.0));
        let dy = f64s(&normal(n, 6, 1.0));
        let gamma = f64s(&normal(channels, 7, 1.0));
        let beta = f64s(&normal(channels, 8, 1.0));
        let dims = (batch, channels, spatial);
        let loss = |x: &[f64], gamma: &[f64], beta: &[f64]| -> f64 {
            let y = reference::forward(x, (gamma, beta), dims, EPS as f64);
            y.iter().zip(&dy).map(|(a, b)| a * b).sum()
        };
        let (dx, dgamma, dbeta) = reference::backward(&x, &dy, &gamma, dims, EPS as f64);
        let h = 1e-6;
        let fd = |f: &dyn Fn(&[f64]) -> f64, v: &[f64], i: usize| {
            let (mut up, mut down) = (v.to_vec(), v.to_vec());
            up[i] += h;
            down[i] -= h;
            (f(&up) - f(&down)) / (2.0 * h)
        };
        let check = |what: &str, got: &[f64], f: &dyn Fn(&[f64]) -> f64, v: &[f64]| {
            for (i, g) in got.iter().enumerate() {
                let want = fd(f, v, i);
                assert!(
                    (want - g).abs() < 1e-5 * (1.0 + want.abs()),
                    "{what} {batch}×{channels}×{spatial} [{i}]: fd {want}, backward {g}"
                );
            }
        };
        check("dx", &dx, &|v| loss(v, &gamma, &beta), &x);
        check("dγ", &dgamma, &|v| loss(&x, v, &beta), &gamma);
        check("dβ", &dbeta, &|v| loss(&x, &gamma, v), &beta);
    }
}

/// Per element, the sizes of what the kernels add up, in f64: the forward's |γ|·(|x| + |μ|)·r
/// + |β|, and the backward's r·(|g| + mean|g| + |x̂|·mean|g·x̂|) with g = γ·dy.
fn bounds(
    x: &[f64],
    dy: &[f64],
    gamma: &[f64],
    beta: &[f64],
    c: usize,
    s: usize,
) -> (Vec<f64>, Vec<f64>) {
    let (mut fwd, mut bwd) = (vec![0.0; x.len()], vec![0.0; x.len()]);
    for p in 0..x.len() / s {
        let k = p % c;
        let v = &x[p * s..(p + 1) * s];
        let mean = v.iter().sum::<f64>() / s as f64;
        let var = v.iter().map(|a| (a - mean) * (a - mean)).sum::<f64>() / s as f64;
        let r = 1.0 / (var + EPS as f64).sqrt();
        let g: Vec<f64> = dy[p * s..(p + 1) * s]
            .iter()
            .map(|d| (gamma[k] * d).abs())
            .collect();
        let mean_g = g.iter().sum::<f64>() / s as f64;
        let mean_gx = g
            .iter()
            .zip(v)
            .map(|(a, b)| a * (b - mean).abs() * r)
            .sum::<f64>()
            / s as f64;
        for i in 0..s {
            let xi = v[i];
            fwd[p * s + i] = gamma[k].abs() * (xi.abs() + mean.abs()) * r + beta[k].abs();
            bwd[p * s + i] = r * (g[i] + mean_g + (xi - mean).abs() * r * mean_gx);
        }
    }
    (fwd, bwd)
}

/// Per channel, the sizes of the terms dγ and dβ sum: Σ |dy|·(|x| + |μ|)·r and Σ |dy|.
fn param_sizes(x: &[f64], dy: &[f64], c: usize, s: usize) -> (Vec<f64>, Vec<f64>) {
    let (mut g, mut b) = (vec![0.0; c], vec![0.0; c]);
    for p in 0..x.len() / s {
        let v = &x[p * s..(p + 1) * s];
        let mean = v.iter().sum::<f64>() / s as f64;
        let var = v.iter().map(|a| (a - mean) * (a - mean)).sum::<f64>() / s as f64;
        let r = 1.0 / (var + EPS as f64).sqrt();
        for i in 0..s {
            g[p % c] += dy[p * s + i].abs() * (v[i].abs() + mean.abs()) * r;
            b[p % c] += dy[p * s + i].abs();
        }
    }
    (g, b)
}

#[test]
fn kernels_match_the_reference() {
    let gpu = gpu();
    let t = |v: &[f32]| Tensor::from_slice(gpu, v, &[v.len()], "t").unwrap();
    let shapes = [
        (1, 1, 1),
        (1, 5, 1),
        (1, 1, 784),
        (3, 5, 7),
        (2, 64, 9),
        (4, 3, 49),
        (1, 2, 65),
    ];
    for (batch, channels, spatial) in shapes {
        for (scale, offset) in [(1e-3f32, 0.0f32), (1.0, 0.0), (1.0, 30.0), (1e3, 0.0)] {
            let n = batch * channels * spatial;
            let what = format!("{batch}×{channels}×{spatial} at scale {scale}, offset {offset}");
            let g = InstanceNormGeom {
                batch,
                channels,
                spatial,
                eps: EPS,
            };
            let x: Vec<f32> = normal(n, (n + channels) as u64, scale)
                .iter()
                .map(|v| v + offset * scale)
                .collect();
            let dy = normal(n, 7, 1.0);
            let gamma = normal(channels, 8, 1.0);
            let beta = normal(channels, 9, 1.0);
            let (xt, dyt, gt, bt) = (t(&x), t(&dy), t(&gamma), t(&beta));
            let (y, dx) = (t(&vec![0.0; n]), t(&vec![0.0; n]));
            let (dg, db) = (t(&vec![0.0; channels]), t(&vec![0.0; channels]));
            let k = [
                forward(gpu, g, &xt, (&gt, &bt), &y).unwrap(),
                backward_x(gpu, g, &xt, &gt, &dyt, &dx).unwrap(),
                backward_params(gpu, g, &xt, &dyt, (&dg, &db), false).unwrap(),
            ];
            gpu.run(&k.iter().collect::<Vec<_>>()).unwrap();
            let (x64, dy64, g64, b64) = (f64s(&x), f64s(&dy), f64s(&gamma), f64s(&beta));
            let dims = (batch, channels, spatial);
            let want_y = reference::forward(&x64, (&g64, &b64), dims, EPS as f64);
            let (want_dx, want_dg, want_db) =
                reference::backward(&x64, &dy64, &g64, dims, EPS as f64);
            // f32 sums over a plane's positions: a few ulps times their count, relative to
            // the sizes of the terms summed (which cancel when a plane's mean is far from 0
            // or its variance is small against eps), far below a wrong index's O(1).
            let tol = 2e-7 * (spatial as f64 + 8.0);
            let (fwd, bwd) = bounds(&x64, &dy64, &g64, &b64, channels, spatial);
            let within = |name: &str, got: &[f32], want: &[f64], size: &[f64]| {
                for (i, ((g, w), m)) in got.iter().zip(want).zip(size).enumerate() {
                    let bound = tol * m + 1e-30;
                    assert!(
                        (*g as f64 - w).abs() <= bound,
                        "{name} {what} [{i}]: got {g} want {w} (bound {bound})"
                    );
                }
            };
            within("forward", &y.read(gpu).unwrap(), &want_y, &fwd);
            within("dx", &dx.read(gpu).unwrap(), &want_dx, &bwd);
            // dγ and dβ sum over the batch's planes too: bound by the sizes of their terms,
            // |dy|·(|x| + |μ|)·r and |dy|, and the count of all the channel's positions.
            let (size_g, size_b) = param_sizes(&x64, &dy64, channels, spatial);
            let tol_p = 2e-7 * ((batch * spatial) as f64 + 8.0);
            for (name, got, want, size) in [
                ("dγ", &dg, &want_dg, &size_g),
                ("dβ", &db, &want_db, &size_b),
            ] {
                for (c, (g, w)) in got.read(gpu).unwrap().iter().zip(want.iter()).enumerate() {
                    let bound = tol_p * size[c] + 1e-30;
                    assert!(
                        (*g as f64 - w).abs() <= bound,
                        "{name} {what} [{c}]: got {g} want {w} (bound {bound})"
                    );
                }
            }
            // Accumulating adds the same gradients to what the buffers hold.
            let again = backward_params(gpu, g, &xt, &dyt, (&dg, &db), true).unwrap();
            let before = (dg.read(gpu).unwrap(), db.read(gpu).unwrap());
            gpu.run(&[&again]).unwrap();
            for (b, a) in before.0.iter().zip(dg.read(gpu).unwrap()) {
                assert_eq!(2.0 * b, a, "accumulated dγ {what}");
            }
            for (b, a) in before.1.iter().zip(db.read(gpu).unwrap()) {
                assert_eq!(2.0 * b, a, "accumulated dβ {what}");
            }
        }
    }
}

#[test]
fn the_layer_normalises_through_a_network_at_batch_1_and_3() {
    let gpu = gpu();
    let (c, h, w) = (3, 5, 3);
    for batch in [1, 3] {
        let n = batch * c * h * w;
        let model = Sequential::new([c, h, w]).instance_norm();
        let net = Network::new(gpu, "in", model, 1).unwrap();
        // γ and β other than their initial 1 and 0, so both reach the output.
        let (gamma, beta) = (normal(c, 21, 1.0), normal(c, 22, 1.0));
        net.params().write(gpu, 0, &gamma).unwrap();
        net.params().write(gpu, 1, &beta).unwrap();
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
        for mode in [Mode::Train, Mode::Eval] {
            let tape = net.tape(gpu, &xt, mode, rng, &state).unwrap();
            let mut k = tape.forward().to_vec();
            k.extend(
                tape.backward(gpu, &dyt, ParamGrads::Write, Some(&dxt))
                    .unwrap(),
            );
            gpu.run(&k.iter().collect::<Vec<_>>()).unwrap();
            let (g64, b64) = (f64s(&gamma), f64s(&beta));
            let dims = (batch, c, h * w);
            let want = reference::forward(&f64s(&x), (&g64, &b64), dims, EPS as f64);
            let what = format!("batch {batch}, {mode:?}");
            let y = tape.output().read(gpu).unwrap();
            assert_close(&format!("forward, {what}"), &y, &want, 1e-5, 1e-5);
            let (dx, dg, db) = reference::backward(&f64s(&x), &f64s(&dy), &g64, dims, EPS as f64);
            assert_close(
                &format!("dx, {what}"),
                &dxt.read(gpu).unwrap(),
                &dx,
                1e-5,
                1e-5,
            );
            let grads = net.params();
            assert_close(
                &format!("dγ, {what}"),
                &grads.grad(0).read(gpu).unwrap(),
                &dg,
                1e-5,
                1e-5,
            );
            assert_close(
                &format!("dβ, {what}"),
                &grads.grad(1).read(gpu).unwrap(),
                &db,
                1e-5,
                1e-5,
            );
        }
    }
    // A flat sample has no positions to normalise over.
    assert!(Network::new(gpu, "flat", Sequential::new([7]).instance_norm(), 1).is_err());
}
