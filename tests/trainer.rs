//! The training step as a whole: reproducible, divergence reported with its step, and user
//! mistakes returned as errors.

mod common;

use common::{gpu, tiny_images};
use counterfeit::io::metrics_log::QualityPoint;
use counterfeit::{Error, Init, Noise, Optimizer, Sequential, Trainer, TrainerConfig};

/// A small GAN with every layer kind of the MLP GAN: maxout, dropout, ReLU, sigmoid.
fn models() -> (Sequential, Sequential) {
    let g = Sequential::new([8]).linear(33).relu().linear(36).sigmoid();
    let d = Sequential::new([36])
        .dropout(0.8)
        .linear(14 * 3)
        .maxout(3)
        .dropout(0.5)
        .linear(7 * 2)
        .maxout(2)
        .linear(1);
    (g, d)
}

fn config(seed: u64) -> TrainerConfig {
    TrainerConfig {
        batch: 16,
        seed,
        noise: Noise::Uniform {
            low: -1.0,
            high: 1.0,
        },
        d_steps: 2,
        readback_every: 7,
        ..TrainerConfig::dcgan()
    }
}

fn run(seed: u64, steps: usize) -> Vec<[u32; 5]> {
    let (g, d) = models();
    let mut gan = Trainer::new(gpu(), g, d, &tiny_images(), config(seed)).unwrap();
    for _ in 0..steps {
        gan.step().unwrap();
    }
    gan.flush().unwrap();
    gan.history()
        .iter()
        .map(|m| [m.d_loss, m.g_loss, m.d_real, m.d_fake, m.d_fake_g].map(f32::to_bits))
        .collect()
}

#[test]
fn same_seed_gives_bit_identical_losses_after_50_steps() {
    let a = run(11, 50);
    let b = run(11, 50);
    assert_eq!(a.len(), 50);
    assert_eq!(a, b, "two runs with the same seed differ");
    let c = run(12, 50);
    assert_ne!(a, c, "a different seed should give different losses");
}

#[test]
fn divergence_is_reported_with_its_step() {
    let (g, d) = models();
    let config = TrainerConfig {
        d_optimizer: Optimizer::sgd(1e30),
        g_optimizer: Optimizer::sgd(1e30),
        readback_every: 4,
        ..config(3)
    };
    let mut gan = Trainer::new(gpu(), g, d, &tiny_images(), config).unwrap();
    let mut err = None;
    for _ in 0..40 {
        if let Err(e) = gan.step() {
            err = Some(e);
            break;
        }
    }
    let err = err
        .or_else(|| gan.flush().err())
        .expect("an absurd learning rate diverges");
    match err {
        Error::Diverged {
            step,
            ref what,
            value,
        } => {
            assert!(
                step >= 1 && step <= gan.steps(),
                "step {step} of {}",
                gan.steps()
            );
            assert!(!value.is_finite(), "{what} = {value}");
            // Every step before the reported one was finite.
            for m in gan.history().iter().filter(|m| m.step < step) {
                assert!(
                    m.d_loss.is_finite() && m.g_loss.is_finite(),
                    "step {} already bad",
                    m.step
                );
            }
            assert!(err.to_string().contains(&format!("step {step}")), "{err}");
        }
        e => panic!("expected divergence, got {e}"),
    }
}

#[test]
fn mismatched_shapes_and_settings_are_errors() {
    let gpu = gpu();
    let g = Sequential::new([8]).linear(35).sigmoid();
    let d = Sequential::new([36]).linear(1);
    let err = Trainer::new(gpu, g, d, &tiny_images(), config(1))
        .err()
        .expect("G makes 35 values, D reads 36");
    assert!(matches!(err, Error::Shape { .. }), "{err}");

    let (g, d) = models();
    let bad = TrainerConfig {
        batch: 0,
        ..config(1)
    };
    assert!(matches!(
        Trainer::new(gpu, g, d, &tiny_images(), bad),
        Err(Error::Config(_))
    ));

    let (g, d) = models();
    let bad = TrainerConfig {
        d_optimizer: Optimizer::Adam {
            lr: 1e-3,
            beta1: 1.5,
            beta2: 0.9,
            eps: 1e-8,
        },
        ..config(1)
    };
    assert!(matches!(
        Trainer::new(gpu, g, d, &tiny_images(), bad),
        Err(Error::Config(_))
    ));

    let g = Sequential::new([8]).linear(36).maxout(5);
    assert!(matches!(g.output_shape(), Err(Error::Shape { .. })));
}

#[test]
fn a_layer_beyond_the_device_limits_names_the_layer_and_the_limit() {
    let gpu = gpu();
    let huge = Sequential::new([1 << 16])
        .init(Init::Normal(0.02))
        .linear(1 << 16);
    let err = counterfeit::Network::new(gpu, "G", huge, 0)
        .err()
        .expect("a 16 GiB weight");
    match &err {
        Error::TooLarge {
            layer, size, limit, ..
        } => {
            assert!(
                layer.contains("layer 0") && layer.contains("linear"),
                "{layer}"
            );
            assert_eq!(*size, 4u64 << 32);
            assert!(size > limit);
        }
        e => panic!("expected TooLarge, got {e}"),
    }
    assert!(err.to_string().contains("bytes"), "{err}");
}

#[test]
fn resuming_from_a_checkpoint_continues_exactly() {
    let dir = std::env::temp_dir().join(format!("counterfeit-resume-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ckpt.safetensors");
    let (g, d) = models();
    let mut a = Trainer::new(gpu(), g.clone(), d.clone(), &tiny_images(), config(5)).unwrap();
    for _ in 0..10 {
        a.step().unwrap();
    }
    let measured = QualityPoint {
        step: 10,
        n: 64,
        fid: 12.5,
        score: 3.25,
        classes_covered: 7,
        swd: Some([120.5, 80.25, 300.0]),
    };
    a.add_quality(measured);
    a.save(&path).unwrap();
    for _ in 0..10 {
        a.step().unwrap();
    }
    a.flush().unwrap();

    let mut b = Trainer::new(gpu(), g, d, &tiny_images(), config(5)).unwrap();
    b.resume(&path).unwrap();
    assert_eq!(b.steps(), 10);
    for _ in 0..10 {
        b.step().unwrap();
    }
    b.flush().unwrap();
    let tail = |t: &Trainer| -> Vec<(u64, u32, u32)> {
        t.history()
            .iter()
            .filter(|m| m.step > 10)
            .map(|m| (m.step, m.d_loss.to_bits(), m.g_loss.to_bits()))
            .collect()
    };
    assert_eq!(tail(&b).len(), 10);
    assert_eq!(
        tail(&a),
        tail(&b),
        "resumed run differs from the uninterrupted one"
    );
    // The checkpoint carried the first ten steps' metrics, so the history is whole.
    assert_eq!(b.history().len(), 20);
    assert_eq!(a.history(), b.history());
    assert_eq!(b.quality(), &[measured]);

    // A checkpoint of other models is refused with a clear message.
    let other_g = Sequential::new([8]).linear(36).sigmoid();
    let (_, d) = models();
    let mut c = Trainer::new(gpu(), other_g, d, &tiny_images(), config(5)).unwrap();
    let err = c.resume(&path).expect_err("different G");
    assert!(err.to_string().contains("but the model is"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn profiling_times_every_kernel_when_the_adapter_can() {
    let (g, d) = models();
    let mut gan = Trainer::new(gpu(), g, d, &tiny_images(), config(2)).unwrap();
    gan.step().unwrap();
    match gan.profile().unwrap() {
        Some(kernels) => {
            assert!(
                kernels.iter().any(|(l, _)| l.contains("gemm")),
                "{kernels:?}"
            );
            assert!(kernels.iter().all(|(_, ms)| ms.is_finite() && *ms >= 0.0));
            assert_eq!(gan.steps(), 2, "profiling runs a real step");
        }
        None => assert!(!gpu().can_profile()),
    }
}

#[test]
fn flushing_before_the_history_ring_fills_logs_each_step_once() {
    // Rows of the GPU history ring not written yet must not pass for step 1.
    let (g, d) = models();
    let mut gan = Trainer::new(gpu(), g, d, &tiny_images(), config(4)).unwrap();
    for step in 1..=3u64 {
        gan.step().unwrap();
        gan.flush().unwrap();
        let steps: Vec<u64> = gan.history().iter().map(|m| m.step).collect();
        assert_eq!(steps, (1..=step).collect::<Vec<_>>());
        let m = gan.metrics().unwrap();
        assert_eq!(m.step, step);
        assert!(m.d_real > 0.0 && m.d_loss > 0.0, "{m:?}");
    }
}

#[test]
fn flushing_after_every_step_collects_the_history_of_one_flush_at_the_end() {
    // A flush copies only the history rows written since the last copy: flushing after every
    // step (the benchmark's way), at irregular moments, or once must collect the same rows.
    let run = |flush_after: &dyn Fn(usize) -> bool| {
        let (g, d) = models();
        let mut gan = Trainer::new(gpu(), g, d, &tiny_images(), config(5)).unwrap();
        for i in 1..=23 {
            gan.step().unwrap();
            if flush_after(i) {
                gan.flush().unwrap();
            }
        }
        gan.flush().unwrap();
        gan.history().to_vec()
    };
    let once = run(&|_| false);
    assert_eq!(
        once.iter().map(|m| m.step).collect::<Vec<_>>(),
        (1..=23).collect::<Vec<u64>>()
    );
    assert_eq!(run(&|_| true), once, "flushing after every step");
    assert_eq!(run(&|i| i % 5 == 3), once, "flushing every fifth step");
}
