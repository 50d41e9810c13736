//! The fade-in (`shaders/fade.wgsl`) against its f64 reference before, during and after the
//! ramp, read from the step counter so that one recorded step fades without re-recording;
//! through a graph whose new branch is tanh and old branch the pooled and up-sampled input,
//! forward and backward, at batch 1 and 2.

mod common;

use common::*;
use counterfeit::nn::{GraphBuilder, Mode, RngSpec};
use counterfeit::ops::fade::{forward, grad, Ramp};
use counterfeit::reference::{dense, fade as reference, resample};
use counterfeit::tape::ParamGrads;
use counterfeit::{Clock, Network, Tensor};

const START: u32 = 5;
const STEPS: u32 = 7;

fn state(t: u32) -> Tensor {
    Tensor::from_u32(gpu(), &[t, 0, 0, 0], "state").unwrap()
}

#[test]
fn kernels_follow_the_ramp() {
    let gpu = gpu();
    let ramp = Ramp {
        start: START,
        steps: STEPS,
    };
    for n in [1usize, 257, 1000] {
        let (a, b, dy) = (normal(n, 1, 1.0), normal(n, 2, 1.0), normal(n, 3, 1.0));
        let t_ = |v: &[f32]| Tensor::from_slice(gpu, v, &[n], "t").unwrap();
        let (at, bt, dyt) = (t_(&a), t_(&b), t_(&dy));
        for t in [0, START, START + 1, START + 3, START + STEPS, 100] {
            let alpha = reference::alpha(t as u64, START as u64, STEPS as u64);
            assert!((ramp.alpha(t) as f64 - alpha).abs() < 1e-7, "t {t}");
            let st = state(t);
            let (y, da, db) = (t_(&vec![0.0; n]), t_(&vec![0.0; n]), t_(&vec![0.0; n]));
            let k = [
                forward(gpu, ramp, &st, &at, &bt, &y).unwrap(),
                grad(gpu, ramp, &st, &dyt, &da, false).unwrap(),
                grad(gpu, ramp, &st, &dyt, &db, true).unwrap(),
            ];
            gpu.run(&k.iter().collect::<Vec<_>>()).unwrap();
            // One product and one fused sum in f32 against f64: a few ulps of 1.
            let tol = 4.0 * f32::EPSILON as f64 * 4.0;
            let what = format!("n {n} at t {t} (α {alpha})");
            let want = reference::forward(&f64s(&a), &f64s(&b), alpha);
            assert_close(
                &format!("fade {what}"),
                &y.read(gpu).unwrap(),
                &want,
                tol,
                tol,
            );
            let zeros = vec![0.0; n];
            let want = reference::forward(&f64s(&dy), &zeros, alpha);
            assert_close(
                &format!("d new {what}"),
                &da.read(gpu).unwrap(),
                &want,
                tol,
                tol,
            );
            let want = reference::forward(&zeros, &f64s(&dy), alpha);
            assert_close(
                &format!("d old {what}"),
                &db.read(gpu).unwrap(),
                &want,
                tol,
                tol,
            );
        }
    }
}

#[test]
fn a_recorded_graph_fades_with_the_step_counter() {
    let gpu = gpu();
    let (c, h, w) = (3, 4, 6);
    let g = GraphBuilder::new();
    let x = g.input([c, h, w]);
    let new = x.tanh();
    let old = x.avg_pool().upsample();
    let y = new.fade(&old, START, STEPS);
    let graph = g.output(&y).build().unwrap();
    for batch in [1, 2] {
        let net = Network::new(gpu, "fade", graph.clone(), 1).unwrap();
        let n = batch * c * h * w;
        let xs = normal(n, 7, 1.0);
        let dy = normal(n, 8, 1.0);
        let xt = Tensor::from_slice(gpu, &xs, &[batch, c, h, w], "x").unwrap();
        let dyt = Tensor::from_slice(gpu, &dy, &[batch, c, h, w], "dy").unwrap();
        let dxt = Tensor::zeros(gpu, &[batch, c, h, w], "dx").unwrap();
        let st = state(0);
        let rng = RngSpec {
            seed: 0,
            stream: 0,
            clock: Clock::ITERATION,
        };
        let tape = net.tape(gpu, &xt, Mode::Train, rng, &st).unwrap();
        let mut k = tape.forward().to_vec();
        k.extend(
            tape.backward(gpu, &dyt, ParamGrads::Write, Some(&dxt))
                .unwrap(),
        );
        let planes = batch * c;
        let pooled_up = |v: &[f64]| {
            resample::upsample(&resample::avg_pool(v, planes, h, w), planes, h / 2, w / 2)
        };
        let x64 = f64s(&xs);
        for t in [0, START + 2, START + STEPS + 3] {
            // The same recorded kernels; only the step counter moves.
            st.write(gpu, bytemuck::cast_slice(&[t, 0u32, 0, 0]))
                .unwrap();
            gpu.run(&k.iter().collect::<Vec<_>>()).unwrap();
            let alpha = reference::alpha(t as u64, START as u64, STEPS as u64);
            let tanh = dense::activation(dense::Act::Tanh, &x64);
            let want = reference::forward(&tanh, &pooled_up(&x64), alpha);
            let what = format!("batch {batch}, t {t}");
            assert_close(
                &format!("forward {what}"),
                &tape.output().read(gpu).unwrap(),
                &want,
                1e-6,
                1e-6,
            );
            let d_tanh = dense::activation_backward(dense::Act::Tanh, &x64, &f64s(&dy));
            let d_old = resample::adjoint(pooled_up, n, &f64s(&dy));
            let want = reference::forward(&d_tanh, &d_old, alpha);
            assert_close(
                &format!("backward {what}"),
                &dxt.read(gpu).unwrap(),
                &want,
                1e-6,
                1e-6,
            );
        }
    }
}

#[test]
fn shapes_that_differ_and_an_empty_ramp_are_errors() {
    let g = GraphBuilder::new();
    let x = g.input([2, 4, 4]);
    let y = x.tanh().fade(&x.avg_pool(), 0, 4);
    let err = g.output(&y).build().unwrap_err();
    assert!(err.to_string().contains("fade"), "{err}");
    let g = GraphBuilder::new();
    let x = g.input([2, 4, 4]);
    let y = x.tanh().fade(&x, 0, 0);
    assert!(g.output(&y).build().is_err());
}
