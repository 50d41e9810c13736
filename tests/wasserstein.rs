//! The Wasserstein critic loss (kind 4 of `shaders/gan_loss.wgsl`) against its f64 reference
//! on sizes off the 256-wide workgroup and batch 1, and the reference against finite
//! differences.

mod common;

use common::*;
use counterfeit::ops::loss::{wasserstein, BceOut};
use counterfeit::reference::loss;
use counterfeit::Tensor;

fn t(data: &[f32]) -> Tensor {
    Tensor::from_slice(gpu(), data, &[data.len()], "t").unwrap()
}

#[test]
fn wasserstein_matches_the_reference_on_awkward_sizes() {
    let gpu = gpu();
    for &n in &[1usize, 7, 257, 1000] {
        let x = normal(n, n as u64, 3.0);
        let tg: Vec<f32> = (0..n).map(|i| [1.0, 0.0, 0.9][i % 3]).collect();
        let (lt, tt, gt) = (t(&x), t(&tg), t(&x));
        let metrics = Tensor::from_slice(gpu, &[0.25, 0.0, 0.0], &[3], "m").unwrap();
        let out = BceOut {
            loss_slot: 0,
            prob_slot: 2,
            accumulate: true,
            grad_scale: 1.0 / n as f32,
            sign: 1.0,
        };
        let k = wasserstein(gpu, &lt, &tt, &gt, &metrics, out).unwrap();
        gpu.run(&[&k]).unwrap();
        let m = metrics.read(gpu).unwrap();
        let want = 0.25 + loss::wasserstein(&f64s(&x), &f64s(&tg));
        assert_close(&format!("loss n={n}"), &m[0..1], &[want], 1e-5, 1e-5);
        let want_g = loss::wasserstein_backward(&f64s(&x), &f64s(&tg));
        assert_close(
            &format!("grad n={n}"),
            &gt.read(gpu).unwrap(),
            &want_g,
            1e-9,
            1e-6,
        );
    }
}

#[test]
fn wasserstein_reference_gradient_matches_finite_differences() {
    let x = f64s(&normal(9, 3, 2.0));
    let tg = [1.0, 0.0, 0.9, 1.0, 0.0, 0.0, 1.0, 0.5, 0.1];
    let num = numeric_grad(|x| loss::wasserstein(x, &tg), &x, 1e-6);
    let got: Vec<f32> = loss::wasserstein_backward(&x, &tg)
        .iter()
        .map(|&v| v as f32)
        .collect();
    assert_close("reference gradient", &got, &num, 1e-8, 1e-6);
}
