//! The GAN loss kernel against the f64 reference.

use crate::common::*;
use counterfeit::ops::loss::{bce_logits, BceOut};
use counterfeit::reference::loss;
use counterfeit::{Gpu, Tensor};

/// The GAN loss: BCE on logits at sizes 1 to 1000 and logits up to ±100, both signs, its
/// mean, mean sigmoid and gradient against the reference.
pub async fn bce_on_logits(gpu: &Gpu) {
    let t = |d: &[f32]| Tensor::from_slice(gpu, d, &[d.len()], "t").unwrap();
    for &n in &[1usize, 7, 64, 257, 1000] {
        let mut logits = normal(n, n as u64, 4.0);
        if n >= 7 {
            logits[0] = 100.0;
            logits[1] = -100.0;
            logits[2] = 30.0;
        }
        let targets: Vec<f32> = (0..n).map(|i| [1.0, 0.0, 0.9][i % 3]).collect();
        for sign in [1.0f32, -1.0] {
            let (lt, tt, gt) = (t(&logits), t(&targets), t(&logits));
            let metrics = Tensor::from_slice(gpu, &[0.5, 0.0, 0.0], &[3], "m").unwrap();
            let out = BceOut {
                loss_slot: 0,
                prob_slot: 2,
                accumulate: true,
                grad_scale: 1.0 / n as f32,
                sign,
            };
            gpu.run(&[&bce_logits(gpu, &lt, &tt, &gt, &metrics, out).unwrap()])
                .unwrap();
            let m = metrics.read_async(gpu).await.unwrap();
            let want_loss = 0.5 + sign as f64 * loss::bce_logits(&f64s(&logits), &f64s(&targets));
            let mean_p = logits
                .iter()
                .map(|&x| 1.0 / (1.0 + (-(x as f64)).exp()))
                .sum::<f64>()
                / n as f64;
            // Per-sample losses up to 100 summed in f32: relative 1e-5.
            assert_close("bce loss", &m[0..1], &[want_loss], 1e-5, 1e-5);
            assert_close("mean sigmoid", &m[2..3], &[mean_p], 1e-6, 1e-5);
            let want_g: Vec<f64> = loss::bce_logits_backward(&f64s(&logits), &f64s(&targets))
                .iter()
                .map(|g| g * sign as f64)
                .collect();
            assert_close(
                "bce grad",
                &gt.read_async(gpu).await.unwrap(),
                &want_g,
                1e-7,
                1e-5,
            );
        }
    }
}
