//! The hinge loss: its kernel (the hinge kinds of `shaders/gan_loss.wgsl`) against the f64
//! reference (sizes off the 256-wide workgroup, batch 1, logits exactly on the margins ±1 and
//! at ±100), the reference against finite differences, and hinge training on a tiny GAN with
//! its losses checked on a frozen D.

mod common;

use common::*;
use counterfeit::ops::loss::{hinge_generator, hinge_logits, BceOut};
use counterfeit::reference::loss;
use counterfeit::{GanLoss, Noise, Optimizer, Sequential, Tensor, Trainer, TrainerConfig};

fn t(data: &[f32]) -> Tensor {
    Tensor::from_slice(gpu(), data, &[data.len()], "t").unwrap()
}

/// Logits with the awkward values planted: both margins, 0, one ulp either side of 1, ±100.
fn logits(n: usize) -> Vec<f32> {
    let mut x = normal(n, n as u64, 2.0);
    let special = [
        1.0f32,
        -1.0,
        1.0,
        -1.0,
        0.0,
        f32::from_bits(1.0f32.to_bits() + 1),
        f32::from_bits(1.0f32.to_bits() - 1),
        100.0,
        -100.0,
    ];
    for (v, s) in x.iter_mut().zip(special) {
        *v = s;
    }
    x
}

/// Targets cycling through real, fake and a smoothed 0.9, so the margins above meet both.
fn targets(n: usize) -> Vec<f32> {
    (0..n).map(|i| [1.0, 0.0, 0.9][i % 3]).collect()
}

fn mean_sigmoid(x: &[f32]) -> f64 {
    x.iter()
        .map(|&v| 1.0 / (1.0 + (-(v as f64)).exp()))
        .sum::<f64>()
        / x.len() as f64
}

#[test]
fn hinge_matches_the_reference_on_awkward_sizes_and_margins() {
    let gpu = gpu();
    for &n in &[1usize, 7, 64, 257, 1000] {
        let (x, tg) = (logits(n), targets(n));
        for sign in [1.0f32, -1.0] {
            let (lt, tt, gt) = (t(&x), t(&tg), t(&x));
            let metrics = Tensor::from_slice(gpu, &[0.5, 0.0, 0.0], &[3], "m").unwrap();
            let out = BceOut {
                loss_slot: 0,
                prob_slot: 2,
                accumulate: true,
                grad_scale: 1.0 / n as f32,
                sign,
            };
            let k = hinge_logits(gpu, &lt, &tt, &gt, &metrics, out).unwrap();
            gpu.run(&[&k]).unwrap();
            let m = metrics.read(gpu).unwrap();
            let want = 0.5 + sign as f64 * loss::hinge_logits(&f64s(&x), &f64s(&tg));
            // Non-negative terms up to 101, each off by an ulp, summed in f32: relative 1e-5.
            assert_close(
                &format!("D hinge loss n={n}"),
                &m[0..1],
                &[want],
                1e-6,
                1e-5,
            );
            assert_close("mean sigmoid", &m[2..3], &[mean_sigmoid(&x)], 1e-6, 1e-5);
            let want_g: Vec<f64> = loss::hinge_logits_backward(&f64s(&x), &f64s(&tg))
                .iter()
                .map(|g| g * sign as f64)
                .collect();
            let got = gt.read(gpu).unwrap();
            // t, 1 − t (exact in f32 for t ≥ 0.5) and 1/n: a few roundings.
            assert_close(&format!("D hinge grad n={n}"), &got, &want_g, 1e-9, 1e-6);
            // On its own margin a logit gets no gradient, just off it a full one.
            for (i, (&xi, &ti)) in x.iter().zip(&tg).enumerate() {
                if (xi == 1.0 && ti == 1.0) || (xi == -1.0 && ti == 0.0) {
                    assert_eq!(got[i], 0.0, "margin logit {i} ({xi}, target {ti})");
                }
            }
        }
    }
}

#[test]
fn hinge_generator_loss_matches_the_reference() {
    let gpu = gpu();
    for &n in &[1usize, 7, 64, 257, 1000] {
        let x = logits(n);
        let (lt, gt) = (t(&x), t(&x));
        let metrics = Tensor::zeros(gpu, &[5], "m").unwrap();
        let out = BceOut {
            loss_slot: 1,
            prob_slot: 4,
            accumulate: false,
            grad_scale: 1.0 / n as f32,
            sign: 1.0,
        };
        gpu.run(&[&hinge_generator(gpu, &lt, &gt, &metrics, out).unwrap()])
            .unwrap();
        let m = metrics.read(gpu).unwrap();
        // Terms of both signs: bound the error by the mean magnitude (≤ 4 strided additions
        // and an 8-level tree, 12 roundings, doubled).
        let scale = x.iter().map(|v| v.abs() as f64).sum::<f64>() / n as f64;
        let want = loss::hinge_generator(&f64s(&x));
        assert_close(
            &format!("G hinge loss n={n}"),
            &m[1..2],
            &[want],
            1.5e-6 * scale,
            0.0,
        );
        assert_close("mean sigmoid", &m[4..5], &[mean_sigmoid(&x)], 1e-6, 1e-5);
        let want_g = loss::hinge_generator_backward(&f64s(&x));
        assert_close("G hinge grad", &gt.read(gpu).unwrap(), &want_g, 0.0, 1e-6);
    }
}

#[test]
fn hinge_reference_gradients_match_finite_differences() {
    // Away from the kinks, where the loss is differentiable.
    let x: Vec<f64> = normal(33, 4, 2.0)
        .iter()
        .map(|&v| {
            let v = v as f64;
            if (v.abs() - 1.0).abs() < 1e-3 {
                v + 0.01
            } else {
                v
            }
        })
        .collect();
    let tg: Vec<f64> = f64s(&targets(33));
    let num = numeric_grad(|x| loss::hinge_logits(x, &tg), &x, 1e-6);
    let ana = loss::hinge_logits_backward(&x, &tg);
    for (a, b) in ana.iter().zip(&num) {
        assert!((a - b).abs() < 1e-8, "analytic {a}, numeric {b}");
    }
    let num = numeric_grad(loss::hinge_generator, &x, 1e-6);
    for (a, b) in loss::hinge_generator_backward(&x).iter().zip(&num) {
        assert!((a - b).abs() < 1e-8, "analytic {a}, numeric {b}");
    }
}

fn config(seed: u64) -> TrainerConfig {
    TrainerConfig {
        batch: 16,
        seed,
        noise: Noise::Uniform {
            low: -1.0,
            high: 1.0,
        },
        loss: GanLoss::Hinge,
        readback_every: 5,
        ..TrainerConfig::dcgan()
    }
}

#[test]
fn hinge_training_runs_and_logs_the_reference_losses_on_a_frozen_d() {
    // Training moves both networks and stays finite.
    let g = Sequential::new([8]).linear(33).relu().linear(36).sigmoid();
    let d = Sequential::new([36]).linear(14).leaky_relu(0.2).linear(1);
    let mut gan = Trainer::new(gpu(), g, d, &tiny_images(), config(1)).unwrap();
    let before = gan.discriminator().params().values.read(gpu()).unwrap();
    for _ in 0..20 {
        gan.step().unwrap();
    }
    gan.flush().unwrap();
    assert_eq!(gan.history().len(), 20);
    assert!(gan
        .history()
        .iter()
        .all(|m| m.d_loss.is_finite() && m.g_loss.is_finite() && m.d_loss >= 0.0));
    assert_ne!(
        gan.discriminator().params().values.read(gpu()).unwrap(),
        before
    );

    // A frozen linear D: the logged losses are the reference hinge losses of its logits.
    let g = Sequential::new([8]).linear(36).sigmoid();
    let d = Sequential::new([36]).linear(1);
    let frozen = TrainerConfig {
        g_optimizer: Optimizer::sgd(0.0),
        d_optimizer: Optimizer::sgd(0.0),
        ..config(2)
    };
    let mut gan = Trainer::new(gpu(), g, d, &tiny_images(), frozen).unwrap();
    for _ in 0..2 {
        gan.step().unwrap();
    }
    gan.flush().unwrap();
    let st = gan.step_tensors();
    let (lr, lf, lg) = (
        linear_d_outputs(&gan, &st.d_real_input),
        linear_d_outputs(&gan, &st.d_fake_input),
        linear_d_outputs(&gan, &st.g_step_input),
    );
    let m = gan.metrics().unwrap();
    let want_d = loss::hinge_logits(&lr, &[1.0; 16]) + loss::hinge_logits(&lf, &[0.0; 16]);
    let want_g = loss::hinge_generator(&lg);
    // Logits of 36 f32 products against f64: 1e-5 relative, plus 1e-5 absolute for a sum
    // that may cancel.
    for (what, got, want) in [("D loss", m.d_loss, want_d), ("G loss", m.g_loss, want_g)] {
        assert!(
            (got as f64 - want).abs() <= 1e-5 * (1.0 + want.abs()),
            "{what}: got {got}, want {want}"
        );
    }
}
