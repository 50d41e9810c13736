//! The Adam kernel against the f64 reference.

use crate::common::*;
use counterfeit::ops::Clock;
use counterfeit::reference::optim;
use counterfeit::{Gpu, Optimizer, Tensor};

/// Five Adam steps (one with gradients of 1e-6) against the reference, at a constant rate
/// and with the rate decayed linearly from update 1 to zero at update 4 (so the last two
/// updates are at 1/3 of it and at none).
pub async fn adam_steps(gpu: &Gpu) {
    let (lr, b1, b2, eps) = (2e-4f32, 0.5f32, 0.999f32, 1e-8f32);
    let opt = Optimizer::Adam {
        lr,
        beta1: b1,
        beta2: b2,
        eps,
    };
    let decayed = opt.decaying(1, 4).unwrap();
    // 257 values take one per invocation, 260 a vec4 each (`adam4`): the same operations per
    // value, so the first 257 results agree bit for bit (the inputs are the same prefix).
    let scalar = adam_against_reference(gpu, opt, 257, |_| lr as f64).await;
    let vec4 = adam_against_reference(gpu, opt, 260, |_| lr as f64).await;
    assert!(scalar
        .iter()
        .zip(&vec4)
        .all(|(a, b)| a.to_bits() == b.to_bits()));
    for n in [257, 260] {
        adam_against_reference(gpu, decayed, n, |t| optim::linear_decay(t, lr as f64, 1, 4)).await;
    }
    assert!(opt.decaying(4, 4).is_err());
}

/// `n` parameters through five steps; returns them.
async fn adam_against_reference(
    gpu: &Gpu,
    opt: Optimizer,
    n: usize,
    rate: impl Fn(u32) -> f64,
) -> Vec<f32> {
    let t = |d: &[f32]| Tensor::from_slice(gpu, d, &[d.len()], "t").unwrap();
    let p0 = normal(n, 1, 1.0);
    let (b1, b2, eps) = match opt {
        Optimizer::Adam {
            beta1, beta2, eps, ..
        }
        | Optimizer::AdamLinearDecay {
            beta1, beta2, eps, ..
        } => (beta1, beta2, eps),
        Optimizer::Sgd { .. } => unreachable!("an Adam"),
    };
    let (p, g, m1, m2) = (t(&p0), t(&p0), t(&vec![0.0; n]), t(&vec![0.0; n]));
    let (mut rp, mut rm, mut rv) = (f64s(&p0), vec![0.0; n], vec![0.0; n]);
    for step in 0..5u32 {
        let grad = normal(n, 100 + step as u64, if step == 2 { 1e-6 } else { 1.0 });
        g.write(gpu, &grad).unwrap();
        let st = Tensor::from_u32(gpu, &[step, 0, 0, 0], "state").unwrap();
        gpu.run(&[&opt
            .step(gpu, Clock::ITERATION, &st, &p, &g, &m1, &m2)
            .unwrap()])
            .unwrap();
        optim::adam(
            &mut rp,
            &f64s(&grad),
            &mut rm,
            &mut rv,
            step + 1,
            rate(step),
            b1 as f64,
            b2 as f64,
            eps as f64,
        );
    }
    // Each update is ≈ lr in size and computed in f32: 1e-7 absolute on O(1) parameters.
    let got = p.read_async(gpu).await.unwrap();
    assert_close(&format!("adam n={n}"), &got, &rp, 1e-7, 1e-6);
    got
}
