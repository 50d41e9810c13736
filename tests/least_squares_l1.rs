//! The least-squares GAN loss (kind 3 of `shaders/gan_loss.wgsl`) and the L1 distance
//! (`shaders/l1.wgsl`) against their f64 references (sizes off the 256-wide workgroup,
//! batch 1, outputs of ±100, equal elements where L1's gradient is 0), the references against
//! finite differences, and LSGAN training logging the reference losses on a frozen D.

mod common;

use common::*;
use counterfeit::ops::loss::{l1, least_squares, BceOut, L1Out};
use counterfeit::reference::loss;
use counterfeit::{GanLoss, Noise, Optimizer, Sequential, Tensor, Trainer, TrainerConfig};

fn t(data: &[f32]) -> Tensor {
    Tensor::from_slice(gpu(), data, &[data.len()], "t").unwrap()
}

/// Outputs with ±100 and exact targets planted among normal ones.
fn outputs(n: usize) -> Vec<f32> {
    let mut x = normal(n, n as u64, 2.0);
    for (v, s) in x.iter_mut().zip([100.0f32, -100.0, 1.0, 0.0, 0.9]) {
        *v = s;
    }
    x
}

/// Targets cycling through real, fake and a smoothed 0.9.
fn targets(n: usize) -> Vec<f32> {
    (0..n).map(|i| [1.0, 0.0, 0.9][i % 3]).collect()
}

#[test]
fn least_squares_matches_the_reference() {
    let gpu = gpu();
    for &n in &[1usize, 7, 64, 257, 1000] {
        let (x, tg) = (outputs(n), targets(n));
        let (xt, tt, gt) = (t(&x), t(&tg), t(&x));
        let metrics = Tensor::from_slice(gpu, &[0.5, 0.0, 0.0], &[3], "m").unwrap();
        let out = BceOut {
            loss_slot: 0,
            prob_slot: 2,
            accumulate: true,
            grad_scale: 1.0 / n as f32,
            sign: 1.0,
        };
        gpu.run(&[&least_squares(gpu, &xt, &tt, &gt, &metrics, out).unwrap()])
            .unwrap();
        let m = metrics.read(gpu).unwrap();
        let want = 0.5 + loss::least_squares(&f64s(&x), &f64s(&tg));
        // Non-negative terms up to 10^4, each off by an ulp, summed in f32: relative 1e-5.
        assert_close(&format!("loss n={n}"), &m[0..1], &[want], 1e-6, 1e-5);
        let want_g = loss::least_squares_backward(&f64s(&x), &f64s(&tg));
        // 2·(x − t)·(1/n): three roundings.
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
fn l1_matches_the_reference() {
    let gpu = gpu();
    for &n in &[1usize, 7, 257, 1000, 50_000] {
        let a = normal(n, 3 + n as u64, 1.0);
        let mut b = normal(n, 4 + n as u64, 1.0);
        // Equal elements: no gradient (PyTorch's sign(0) = 0).
        for i in (0..n).step_by(5) {
            b[i] = a[i];
        }
        let (at, bt, gt) = (t(&a), t(&b), t(&a));
        let metrics = Tensor::from_slice(gpu, &[0.0, 2.0], &[2], "m").unwrap();
        let out = L1Out {
            loss_slot: 1,
            accumulate: true,
            weight: 100.0,
            grad_scale: 1.0 / n as f32,
        };
        gpu.run(&[&l1(gpu, (&at, &bt), &gt, &metrics, out).unwrap()])
            .unwrap();
        let m = metrics.read(gpu).unwrap();
        assert_eq!(m[0], 0.0, "another slot was written");
        let want = 2.0 + 100.0 * loss::l1(&f64s(&a), &f64s(&b));
        // Non-negative terms of order 1 summed in f32 over up to 196 strided additions and
        // an 8-level tree: relative 2e-5.
        assert_close(&format!("L1 n={n}"), &m[1..2], &[want], 1e-6, 2e-5);
        let want_g: Vec<f64> = loss::l1_backward(&f64s(&a), &f64s(&b))
            .iter()
            .map(|g| 100.0 * g)
            .collect();
        let got = gt.read(gpu).unwrap();
        assert_close(&format!("L1 grad n={n}"), &got, &want_g, 0.0, 1e-6);
        for i in (0..n).step_by(5) {
            assert_eq!(got[i], 0.0, "equal element {i}");
        }
    }
}

#[test]
fn the_references_match_finite_differences() {
    let x = f64s(&normal(33, 4, 2.0));
    let tg = f64s(&targets(33));
    let num = numeric_grad(|x| loss::least_squares(x, &tg), &x, 1e-6);
    for (a, b) in loss::least_squares_backward(&x, &tg).iter().zip(&num) {
        assert!(
            (a - b).abs() < 1e-8,
            "least squares: analytic {a}, numeric {b}"
        );
    }
    // L1 away from its kink, where it is differentiable.
    let y: Vec<f64> = f64s(&normal(33, 5, 2.0))
        .iter()
        .zip(&x)
        .map(|(v, x)| if (v - x).abs() < 1e-3 { v + 0.01 } else { *v })
        .collect();
    let num = numeric_grad(|x| loss::l1(x, &y), &x, 1e-6);
    for (a, b) in loss::l1_backward(&x, &y).iter().zip(&num) {
        assert!((a - b).abs() < 1e-8, "L1: analytic {a}, numeric {b}");
    }
}

#[test]
fn lsgan_training_logs_the_reference_losses_on_a_frozen_d() {
    let config = TrainerConfig {
        batch: 16,
        seed: 3,
        noise: Noise::Uniform {
            low: -1.0,
            high: 1.0,
        },
        loss: GanLoss::LeastSquares,
        readback_every: 5,
        ..TrainerConfig::dcgan()
    };
    // Training moves D and stays finite.
    let g = Sequential::new([8]).linear(33).relu().linear(36).sigmoid();
    let d = Sequential::new([36]).linear(14).leaky_relu(0.2).linear(1);
    let mut gan = Trainer::new(gpu(), g, d, &tiny_images(), config.clone()).unwrap();
    let before = gan.discriminator().params().values.read(gpu()).unwrap();
    for _ in 0..20 {
        gan.step().unwrap();
    }
    gan.flush().unwrap();
    assert!(gan
        .history()
        .iter()
        .all(|m| m.d_loss.is_finite() && m.g_loss.is_finite() && m.d_loss >= 0.0));
    assert_ne!(
        gan.discriminator().params().values.read(gpu()).unwrap(),
        before
    );

    // A frozen linear D: the logged losses are the reference least-squares losses.
    let g = Sequential::new([8]).linear(36).sigmoid();
    let d = Sequential::new([36]).linear(1);
    let frozen = TrainerConfig {
        g_optimizer: Optimizer::sgd(0.0),
        d_optimizer: Optimizer::sgd(0.0),
        ..config
    };
    let mut gan = Trainer::new(gpu(), g, d, &tiny_images(), frozen).unwrap();
    for _ in 0..2 {
        gan.step().unwrap();
    }
    gan.flush().unwrap();
    let st = gan.step_tensors();
    let (sr, sf, sg) = (
        linear_d_outputs(&gan, &st.d_real_input),
        linear_d_outputs(&gan, &st.d_fake_input),
        linear_d_outputs(&gan, &st.g_step_input),
    );
    let m = gan.metrics().unwrap();
    let want_d = loss::least_squares(&sr, &[1.0; 16]) + loss::least_squares(&sf, &[0.0; 16]);
    let want_g = loss::least_squares(&sg, &[1.0; 16]);
    for (what, got, want) in [("D loss", m.d_loss, want_d), ("G loss", m.g_loss, want_g)] {
        assert!(
            (got as f64 - want).abs() <= 1e-5 * (1.0 + want.abs()),
            "{what}: got {got}, want {want}"
        );
    }
}
