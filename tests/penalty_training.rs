//! Gradient penalties inside the trainer: the penalty's gradient is added to the loss's in D's
//! update, the penalty and the gradient norm are logged, a lazy R1 skips its iterations, and a
//! penalised run is bit-identical to its rerun.

mod common;

use common::{gpu, tiny_images};
use counterfeit::{GanLoss, GradientPenalty, Noise, Optimizer, Sequential, Trainer, TrainerConfig};

fn models() -> (Sequential, Sequential) {
    let g = Sequential::new([8]).linear(36).sigmoid();
    let d = Sequential::new([36]).linear(1);
    (g, d)
}

fn config(penalty: GradientPenalty, loss: GanLoss) -> TrainerConfig {
    TrainerConfig {
        batch: 8,
        seed: 5,
        noise: Noise::Normal,
        d_optimizer: Optimizer::sgd(0.05),
        g_optimizer: Optimizer::sgd(0.05),
        readback_every: 1,
        loss,
        penalty: Some(penalty),
        ..TrainerConfig::dcgan()
    }
}

/// One step with a linear critic D(x) = w·x + b, whose input gradient is w for every sample:
/// the logged penalty is λ(‖w‖ − 1)² (or γ/2‖w‖²), and plain SGD moves w by −lr times the
/// loss's gradient plus the penalty's, 2λ(‖w‖ − 1)·w/‖w‖ (or γ·w).
fn check_one_step(penalty: GradientPenalty, loss: GanLoss) {
    let (g, d) = models();
    let mut gan = Trainer::new(gpu(), g, d, &tiny_images(), config(penalty, loss)).unwrap();
    let p = gan.discriminator().params().clone();
    let w0: Vec<f64> = p
        .read(gpu(), 0)
        .unwrap()
        .iter()
        .map(|&v| v as f64)
        .collect();
    let b0 = p.read(gpu(), 1).unwrap()[0] as f64;
    gan.step().unwrap();
    gan.flush().unwrap();
    let m = gan.history()[0];
    let t = gan.step_tensors().clone();
    let norm = w0.iter().map(|v| v * v).sum::<f64>().sqrt();
    let (pen, coef) = match penalty {
        GradientPenalty::Interpolates { lambda } => {
            let l = lambda as f64;
            (l * (norm - 1.0).powi(2), 2.0 * l * (norm - 1.0) / norm)
        }
        GradientPenalty::Real { gamma, every } => {
            let k = gamma as f64 / 2.0 * every as f64;
            (k * norm * norm, 2.0 * k)
        }
    };
    assert!(
        (m.grad_norm as f64 - norm).abs() < 1e-5 * norm,
        "{m:?} vs ‖w‖ {norm}"
    );
    assert!(
        (m.penalty as f64 - pen).abs() < 1e-4 * pen.max(1.0),
        "{m:?} vs {pen}"
    );

    // The loss's gradient for the batches D read, by the reference losses' derivatives.
    let b = 8.0;
    let real = t.d_real_input.read(gpu()).unwrap();
    let fake = t.d_fake_input.read(gpu()).unwrap();
    assert_eq!(loss, GanLoss::Wasserstein, "the test's loss");
    let (dl_real, dl_fake) = ([-1.0 / b; 8], [1.0 / b; 8]);
    let mut grad_w = vec![0.0; 36];
    let mut grad_b = 0.0;
    for i in 0..8 {
        for k in 0..36 {
            grad_w[k] +=
                dl_real[i] * real[i * 36 + k] as f64 + dl_fake[i] * fake[i * 36 + k] as f64;
        }
        grad_b += dl_real[i] + dl_fake[i];
    }
    let w1 = p.read(gpu(), 0).unwrap();
    let b1 = p.read(gpu(), 1).unwrap()[0] as f64;
    for k in 0..36 {
        let want = w0[k] - 0.05 * (grad_w[k] + coef * w0[k]);
        assert!(
            (w1[k] as f64 - want).abs() < 1e-5,
            "w[{k}] {} vs {want}",
            w1[k]
        );
    }
    assert!((b1 - (b0 - 0.05 * grad_b)).abs() < 1e-6, "bias {b1}");
}

#[test]
fn wgan_gp_adds_its_penalty_gradient_to_the_critics_update() {
    check_one_step(
        GradientPenalty::Interpolates { lambda: 10.0 },
        GanLoss::Wasserstein,
    );
}

#[test]
fn r1_adds_its_penalty_gradient_to_the_critics_update() {
    check_one_step(
        GradientPenalty::Real {
            gamma: 3.0,
            every: 1,
        },
        GanLoss::Wasserstein,
    );
}

fn history(penalty: GradientPenalty, steps: usize) -> Vec<[u32; 7]> {
    let g = Sequential::new([8])
        .linear(20)
        .leaky_relu(0.2)
        .linear(36)
        .sigmoid();
    let d = Sequential::new([36])
        .linear(12)
        .leaky_relu(0.2)
        .dropout(0.7)
        .linear(1);
    let config = TrainerConfig {
        d_steps: 2,
        d_optimizer: Optimizer::Adam {
            lr: 1e-3,
            beta1: 0.0,
            beta2: 0.9,
            eps: 1e-8,
        },
        ..config(penalty, GanLoss::Wasserstein)
    };
    let mut gan = Trainer::new(gpu(), g, d, &tiny_images(), config).unwrap();
    for _ in 0..steps {
        gan.step().unwrap();
    }
    gan.flush().unwrap();
    gan.history()
        .iter()
        .map(|m| {
            [
                m.d_loss,
                m.g_loss,
                m.d_real,
                m.d_fake,
                m.d_fake_g,
                m.penalty,
                m.grad_norm,
            ]
            .map(f32::to_bits)
        })
        .collect()
}

#[test]
fn a_penalised_run_is_bit_identical_to_its_rerun() {
    let gp = GradientPenalty::Interpolates { lambda: 10.0 };
    let a = history(gp, 12);
    assert_eq!(a, history(gp, 12));
    assert!(
        a.iter().all(|r| f32::from_bits(r[5]) > 0.0),
        "the penalty is logged"
    );
}

#[test]
fn lazy_r1_penalises_every_kth_iteration_only() {
    let lazy = history(
        GradientPenalty::Real {
            gamma: 1.0,
            every: 4,
        },
        9,
    );
    // The penalty's slots are written in iterations 0, 4 and 8 only; the others repeat them.
    for (i, row) in lazy.iter().enumerate() {
        let same = row[5..] == lazy[i - i % 4][5..];
        assert!(same, "iteration {i} rewrote the penalty: {row:?}");
    }
    assert_ne!(
        lazy[0][6], lazy[4][6],
        "the penalised iterations measure anew"
    );
    let eager = history(
        GradientPenalty::Real {
            gamma: 1.0,
            every: 1,
        },
        9,
    );
    assert_ne!(
        eager[1][6], eager[0][6],
        "an eager R1 measures every iteration"
    );
}

#[test]
fn a_gradient_penalty_through_batch_norm_is_refused() {
    let g = Sequential::new([8]).linear(36).sigmoid();
    let d = Sequential::new([36])
        .linear(12)
        .batch_norm()
        .leaky_relu(0.2)
        .linear(1);
    let config = config(
        GradientPenalty::Interpolates { lambda: 10.0 },
        GanLoss::Wasserstein,
    );
    let err = Trainer::new(gpu(), g, d, &tiny_images(), config)
        .err()
        .expect("refused")
        .to_string();
    assert!(
        err.contains("batch_norm") && err.contains("per sample"),
        "{err}"
    );
}
