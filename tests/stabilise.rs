//! The stabilisation tricks: each kernel against its CPU reference, and each trainer option
//! shown to do to the computation what it says (on tiny networks, a handful of steps), with
//! the defaults and inert settings bit-identical to plain training.

mod common;

use common::*;
use counterfeit::gan::dcgan::{Arch, DOptions};
use counterfeit::gan::{generate, noise, EMA_NETWORK};
use counterfeit::io::checkpoint::Checkpoint;
use counterfeit::ops::stabilise::{self, Draws, InstanceNoise, Replay};
use counterfeit::ops::Clock;
use counterfeit::reference::{loss, stabilise as reference};
use counterfeit::Tensor;
use counterfeit::{Error, GLoss, GanLoss, Noise, Optimizer, Sequential, Trainer, TrainerConfig};

fn t(data: &[f32]) -> Tensor {
    Tensor::from_slice(gpu(), data, &[data.len()], "t").unwrap()
}

fn state(step: u32) -> Tensor {
    Tensor::from_u32(gpu(), &[step, 0, 0, 0], "state").unwrap()
}

fn bits(x: &[f32]) -> Vec<u32> {
    x.iter().map(|v| v.to_bits()).collect()
}

// ---------------------------------------------------------------------------------------
// Kernels against the reference.

#[test]
fn flipped_targets_match_the_reference_bit_for_bit() {
    let gpu = gpu();
    let clock = Clock { mul: 3, add: 1 };
    let step = 5 * 3 + 1;
    for &n in &[1usize, 7, 257, 1000] {
        for fraction in [0.0f32, 0.25, 1.0] {
            let (rt, ft) = (t(&vec![7.0; n]), t(&vec![7.0; n]));
            let draws = Draws {
                seed: 99,
                stream: 2,
                clock,
            };
            let k = stabilise::flip_targets(gpu, fraction, 0.9, draws, &state(5), &rt, &ft);
            gpu.run(&[&k.unwrap()]).unwrap();
            let (want_r, want_f) = reference::flipped_targets(99, step, 2, n, fraction, 0.9);
            assert_eq!(
                rt.read(gpu).unwrap(),
                want_r,
                "real targets n={n} f={fraction}"
            );
            assert_eq!(
                ft.read(gpu).unwrap(),
                want_f,
                "fake targets n={n} f={fraction}"
            );
            if fraction == 1.0 {
                assert!(want_r.iter().all(|&v| v == 0.0) && want_f.iter().all(|&v| v == 0.9));
            }
        }
    }
    // The flipped share is the fraction asked: binomial sd at n = 100k, p = 0.3 is 0.0014.
    let n = 100_000;
    let (rt, ft) = (t(&vec![0.0; n]), t(&vec![0.0; n]));
    let draws = Draws {
        seed: 1,
        stream: 2,
        clock: Clock::ITERATION,
    };
    let k = stabilise::flip_targets(gpu, 0.3, 1.0, draws, &state(0), &rt, &ft).unwrap();
    gpu.run(&[&k]).unwrap();
    let real_flipped = rt.read(gpu).unwrap().iter().filter(|&&v| v == 0.0).count();
    let fake_flipped = ft.read(gpu).unwrap().iter().filter(|&&v| v == 1.0).count();
    for share in [real_flipped, fake_flipped] {
        let share = share as f64 / n as f64;
        assert!((share - 0.3).abs() < 0.01, "flipped share {share}");
    }
}

#[test]
fn instance_noise_matches_the_reference_and_anneals_to_exactly_zero() {
    let gpu = gpu();
    let (sigma, anneal) = (0.5f32, 10u32);
    let clock = Clock { mul: 2, add: 1 };
    for &n in &[1usize, 7, 257, 1000] {
        let x = normal(n, n as u64, 1.0);
        for iteration in [0u32, 3, 9, 10, 25] {
            let (xt, yt) = (t(&x), t(&vec![0.0; n]));
            let draws = Draws {
                seed: 5,
                stream: 3,
                clock,
            };
            let noise = InstanceNoise {
                sigma,
                anneal_steps: anneal,
            };
            let k = stabilise::instance_noise(gpu, noise, draws, &state(iteration), &xt, &yt);
            gpu.run(&[&k.unwrap()]).unwrap();
            let y = yt.read(gpu).unwrap();
            let step = iteration * 2 + 1;
            let want = reference::instance_noise(&x, 5, step, 3, iteration, sigma, anneal);
            // The normals go through log and cos (1e-5 absolute, see ops.rs) times σ ≤ 0.5,
            // then one addition to O(1) values.
            assert_close(
                &format!("instance noise n={n} t={iteration}"),
                &y,
                &want,
                1e-5,
                1e-6,
            );
            if iteration >= anneal {
                assert_eq!(bits(&y), bits(&x), "σ is 0 from iteration {anneal} on");
            } else {
                assert_ne!(bits(&y), bits(&x), "σ > 0 before iteration {anneal}");
            }
        }
    }
    // The noise's spread is σ_t: at n = 100k the sample sd errs by σ/√(2n) ≈ 0.0022σ.
    let n = 100_000;
    let x = normal(n, 3, 1.0);
    for (iteration, anneal, want) in [(0u32, 10u32, 0.5f64), (5, 10, 0.25), (1000, 0, 0.5)] {
        let (xt, yt) = (t(&x), t(&vec![0.0; n]));
        let draws = Draws {
            seed: 8,
            stream: 3,
            clock: Clock::ITERATION,
        };
        let noise = InstanceNoise {
            sigma,
            anneal_steps: anneal,
        };
        let k = stabilise::instance_noise(gpu, noise, draws, &state(iteration), &xt, &yt);
        gpu.run(&[&k.unwrap()]).unwrap();
        let d: Vec<f64> = yt
            .read(gpu)
            .unwrap()
            .iter()
            .zip(&x)
            .map(|(&a, &b)| a as f64 - b as f64)
            .collect();
        let (mean, sd) = moments(&d);
        assert!(mean.abs() < 0.01 * want, "noise mean {mean}");
        assert!(
            (sd / want - 1.0).abs() < 0.015,
            "noise sd {sd}, want {want}"
        );
    }
}

fn moments(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

#[test]
fn replay_mix_and_store_match_the_reference() {
    let gpu = gpu();
    let (size, batch) = (5usize, 7usize);
    for capacity in [3usize, 7, 20] {
        for replayed in [0usize, 3, 7] {
            let ring_t = t(&vec![0.0; capacity * size]);
            let fresh_t = t(&vec![0.0; batch * size]);
            let mixed_t = t(&vec![0.0; batch * size]);
            let r = Replay {
                size,
                batch,
                capacity,
                replayed,
                draws: Draws {
                    seed: 21,
                    stream: 6,
                    clock: Clock::ITERATION,
                },
            };
            let st = state(0);
            let mix = stabilise::replay_mix(gpu, r, &st, &fresh_t, &ring_t, &mixed_t).unwrap();
            let store = stabilise::replay_store(gpu, r, &st, &fresh_t, &ring_t).unwrap();
            let mut ring = vec![0.0f32; capacity * size];
            // Consecutive steps, then a jump far past the ring's wrap (positions modulo it).
            for step in [0u32, 1, 2, 3, 4, 5, 100_000, 100_001] {
                let fresh = normal(batch * size, step as u64 + 1, 1.0);
                fresh_t.write(gpu, &fresh).unwrap();
                st.write(gpu, bytemuck::cast_slice(&[step, 0, 0, 0]))
                    .unwrap();
                gpu.run(&[&mix, &store]).unwrap();
                let want =
                    reference::replay_mix(&fresh, &ring, size, replayed, capacity, 21, step, 6);
                reference::replay_store(&mut ring, &fresh, size, capacity, step);
                let what = format!("capacity {capacity}, replayed {replayed}, step {step}");
                // Pure copies: exact.
                assert_eq!(mixed_t.read(gpu).unwrap(), want, "mixed batch, {what}");
                assert_eq!(ring_t.read(gpu).unwrap(), ring, "ring, {what}");
                if step == 0 || replayed == 0 {
                    assert_eq!(want, fresh, "nothing to replay yet, {what}");
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// The trainer's options.

/// A linear D, so its logits are easy to compute on the CPU.
fn models() -> (Sequential, Sequential) {
    let g = Sequential::new([8]).linear(36).sigmoid();
    let d = Sequential::new([36]).linear(1);
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
        readback_every: 5,
        sample_count: 8,
        ..TrainerConfig::dcgan()
    }
}

/// Both networks frozen (SGD at rate 0 leaves every weight exactly as it was).
fn frozen(c: TrainerConfig) -> TrainerConfig {
    TrainerConfig {
        g_optimizer: Optimizer::sgd(0.0),
        d_optimizer: Optimizer::sgd(0.0),
        ..c
    }
}

fn trainer(c: TrainerConfig) -> Trainer {
    let (g, d) = models();
    Trainer::new(gpu(), g, d, &tiny_images(), c).unwrap()
}

fn read(x: &Tensor) -> Vec<f32> {
    x.read(gpu()).unwrap()
}

fn mean_sigmoid(x: &[f64]) -> f64 {
    x.iter().map(|v| 1.0 / (1.0 + (-v).exp())).sum::<f64>() / x.len() as f64
}

fn history(gan: &Trainer) -> Vec<[u32; 5]> {
    gan.history()
        .iter()
        .map(|m| [m.d_loss, m.g_loss, m.d_real, m.d_fake, m.d_fake_g].map(f32::to_bits))
        .collect()
}

fn run(c: TrainerConfig, steps: usize) -> Trainer {
    let mut gan = trainer(c);
    for _ in 0..steps {
        gan.step().unwrap();
    }
    gan.flush().unwrap();
    gan
}

/// |got − want| ≤ 1e-5·(1 + |want|): logits of 36 terms in f32 against f64, then a mean.
fn close(what: &str, got: f32, want: f64) {
    assert!(
        (got as f64 - want).abs() <= 1e-5 * (1.0 + want.abs()),
        "{what}: got {got}, want {want}"
    );
}

#[test]
fn inert_settings_leave_training_bit_identical() {
    let plain = run(config(4), 10);
    let inert = TrainerConfig {
        real_label: 1.0,
        label_flip: 0.0,
        instance_noise: 0.0,
        instance_noise_steps: 5,
        replay_fraction: 0.0,
        replay_capacity: 7,
        // The average is kept beside G and never feeds back into training.
        g_ema: Some(0.9),
        ..config(4)
    };
    let other = run(inert, 10);
    assert_eq!(history(&plain).len(), 10);
    assert_eq!(history(&plain), history(&other));
    assert!(other.replay_buffer().is_none(), "no ring at fraction 0");
    assert_eq!(
        other.dispatches(),
        plain.dispatches() + 1,
        "only the average's update"
    );
}

#[test]
fn one_sided_label_smoothing_is_bce_against_the_smoothed_target() {
    let gan = run(
        frozen(TrainerConfig {
            real_label: 0.9,
            ..config(2)
        }),
        2,
    );
    let st = gan.step_tensors();
    assert!(read(&st.real_targets).iter().all(|&v| v == 0.9));
    assert!(read(&st.fake_targets).iter().all(|&v| v == 0.0));
    let (lr, lf) = (
        linear_d_outputs(&gan, &st.d_real_input),
        linear_d_outputs(&gan, &st.d_fake_input),
    );
    let want = loss::bce_logits(&lr, &[0.9; 16]) + loss::bce_logits(&lf, &[0.0; 16]);
    let m = gan.metrics().unwrap();
    assert_eq!(m.step, 2);
    close("D loss", m.d_loss, want);
    close("D(x)", m.d_real, mean_sigmoid(&lr));
    // G's targets stay 1: smoothing is one-sided and for D only.
    let lg = linear_d_outputs(&gan, &st.g_step_input);
    close("G loss", m.g_loss, loss::bce_logits(&lg, &[1.0; 16]));
}

#[test]
fn label_flips_swap_targets_and_the_loss_uses_them() {
    let gan = run(
        frozen(TrainerConfig {
            real_label: 0.8,
            label_flip: 1.0,
            ..config(3)
        }),
        2,
    );
    let st = gan.step_tensors();
    assert!(read(&st.real_targets).iter().all(|&v| v == 0.0), "real → 0");
    assert!(
        read(&st.fake_targets).iter().all(|&v| v == 0.8),
        "fake → 0.8"
    );
    let (lr, lf) = (
        linear_d_outputs(&gan, &st.d_real_input),
        linear_d_outputs(&gan, &st.d_fake_input),
    );
    let want = loss::bce_logits(&lr, &[0.0; 16]) + loss::bce_logits(&lf, &[0.8; 16]);
    close("D loss, all flipped", gan.metrics().unwrap().d_loss, want);

    // Half flipped: each target is one of the two labels, both kinds occur, and the loss is
    // taken against exactly the targets written this step.
    let mut gan = trainer(frozen(TrainerConfig {
        real_label: 0.8,
        label_flip: 0.5,
        ..config(3)
    }));
    let mut seen = (0, 0);
    for _ in 0..3 {
        gan.step().unwrap();
        gan.flush().unwrap();
        let st = gan.step_tensors();
        let (rt, ft) = (read(&st.real_targets), read(&st.fake_targets));
        assert!(rt.iter().chain(&ft).all(|&v| v == 0.0 || v == 0.8));
        seen.0 += rt.iter().filter(|&&v| v == 0.0).count();
        seen.1 += ft.iter().filter(|&&v| v == 0.8).count();
        let f64s = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<_>>();
        let (lr, lf) = (
            linear_d_outputs(&gan, &st.d_real_input),
            linear_d_outputs(&gan, &st.d_fake_input),
        );
        let want = loss::bce_logits(&lr, &f64s(&rt)) + loss::bce_logits(&lf, &f64s(&ft));
        close("D loss, half flipped", gan.metrics().unwrap().d_loss, want);
    }
    // 48 draws each at p = 0.5: 24 ± 3.5.
    assert!(
        (10..=38).contains(&seen.0) && (10..=38).contains(&seen.1),
        "{seen:?}"
    );
}

#[test]
fn instance_noise_has_the_annealed_spread_and_vanishes_exactly() {
    let c = TrainerConfig {
        batch: 64,
        instance_noise: 0.5,
        instance_noise_steps: 3,
        ..config(6)
    };
    let mut gan = trainer(c);
    let g_before = read(&gan.generator().params().values);
    // Iterations 0, 1, 2 have σ = 0.5, 1/3, 1/6; from iteration 3 on, none.
    for want in [0.5, 1.0 / 3.0, 1.0 / 6.0, 0.0, 0.0] {
        gan.step().unwrap();
        let st = gan.step_tensors();
        for (clean, seen) in [(&st.real, &st.d_real_input), (&st.fakes, &st.d_fake_input)] {
            let (c, s) = (read(clean), read(seen));
            if want == 0.0 {
                assert_eq!(bits(&c), bits(&s), "annealed to exactly 0");
                continue;
            }
            let d: Vec<f64> = s.iter().zip(&c).map(|(&a, &b)| (a - b) as f64).collect();
            // 2304 values: the sd errs by σ/√(2·2304) ≈ 1.5% of σ; allow 8%.
            let (mean, sd) = moments(&d);
            assert!(mean.abs() < 0.1 * want, "noise mean {mean} at σ {want}");
            assert!((sd / want - 1.0).abs() < 0.08, "noise sd {sd}, want {want}");
        }
        // The G step sees the fakes D saw (noise is additive, so G's gradient is D's at the
        // noisy point).
        assert_eq!(bits(&read(&st.g_step_input)), bits(&read(&st.d_fake_input)));
    }
    let g_grads = read(&gan.generator().params().grads);
    assert!(g_grads.iter().all(|v| v.is_finite()) && g_grads.iter().any(|&v| v != 0.0));
    assert_ne!(read(&gan.generator().params().values), g_before, "G learns");
}

#[test]
fn replay_feeds_d_old_fakes_while_g_learns_from_fresh_ones() {
    for (fraction, replayed) in [(1.0f32, 16usize), (0.5, 8)] {
        let mut gan = trainer(frozen(TrainerConfig {
            replay_fraction: fraction,
            replay_capacity: 8,
            ..config(7)
        }));
        // Step 1: the ring is empty, so D sees only fresh fakes; then it holds 8 of them.
        gan.step().unwrap();
        let st = gan.step_tensors().clone();
        let fakes1 = read(&st.fakes);
        assert_eq!(bits(&read(&st.d_fake_input)), bits(&fakes1));
        let ring = gan.replay_buffer().unwrap().clone();
        assert_eq!(read(&ring), fakes1[..8 * 36].to_vec());

        gan.step().unwrap();
        gan.flush().unwrap();
        let (fakes2, mixed) = (read(&st.fakes), read(&st.d_fake_input));
        let old: Vec<&[f32]> = fakes1[..8 * 36].chunks(36).collect();
        for (i, row) in mixed.chunks(36).enumerate() {
            if i < replayed {
                assert!(old.contains(&row), "row {i} is not from the ring");
            } else {
                assert_eq!(row, &fakes2[i * 36..(i + 1) * 36], "row {i} is fresh");
            }
        }
        assert_eq!(read(&ring), fakes2[..8 * 36].to_vec(), "the ring moved on");
        // D's logged D(G(z)) is on the mixed batch; G's step on its own fresh fakes.
        assert_eq!(bits(&read(&st.g_step_input)), bits(&fakes2));
        let m = gan.metrics().unwrap();
        close(
            "D(G(z)) in D's step",
            m.d_fake,
            mean_sigmoid(&linear_d_outputs(&gan, &st.d_fake_input)),
        );
        close(
            "D(G(z)) in G's step",
            m.d_fake_g,
            mean_sigmoid(&linear_d_outputs(&gan, &st.fakes)),
        );
    }
}

#[test]
fn the_weight_average_follows_its_recursion_and_is_what_samples_show() {
    let decay = 0.75f32;
    let c = TrainerConfig {
        g_ema: Some(decay),
        g_optimizer: Optimizer::Adam {
            lr: 0.05,
            beta1: 0.5,
            beta2: 0.999,
            eps: 1e-8,
        },
        ..config(8)
    };
    let mut gan = trainer(c.clone());
    let g = gan.generator().params().values.clone();
    let ema = gan.ema_generator().unwrap().params().values.clone();
    let mut want: Vec<f64> = f64s(&read(&g));
    assert_eq!(read(&ema), read(&g), "the average starts as G");
    for step in 1..=4 {
        gan.step().unwrap();
        reference::ema(&mut want, &f64s(&read(&g)), decay as f64);
        // Each update is two products and a sum of O(1) weights in f32.
        assert_close(
            &format!("average, step {step}"),
            &read(&ema),
            &want,
            1e-6,
            1e-6,
        );
    }
    assert_ne!(read(&ema), read(&g), "G moved away from its average");

    // Samples come from the average, with the trainer's fixed z.
    let z = noise(c.noise, 8 * 8, c.seed);
    let samples = gan.samples().unwrap();
    let from_ema = generate(gpu(), gan.ema_generator().unwrap(), &z).unwrap();
    let from_g = generate(gpu(), gan.generator(), &z).unwrap();
    assert_eq!(bits(&samples), bits(&from_ema));
    assert_ne!(bits(&samples), bits(&from_g));
    assert!(std::ptr::eq(
        gan.sampling_generator(),
        gan.ema_generator().unwrap()
    ));
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("counterfeit-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_checkpoint_with_every_option_resumes_exactly() {
    let dir = temp_dir("stabilise-resume");
    let path = dir.join("ckpt.safetensors");
    let c = TrainerConfig {
        d_steps: 2,
        loss: GanLoss::Hinge,
        real_label: 0.9,
        label_flip: 0.2,
        instance_noise: 0.3,
        instance_noise_steps: 6,
        replay_fraction: 0.5,
        replay_capacity: 20,
        g_ema: Some(0.9),
        ..config(9)
    };
    let mut a = trainer(c.clone());
    for _ in 0..4 {
        a.step().unwrap();
    }
    a.save(&path).unwrap();
    for _ in 0..4 {
        a.step().unwrap();
    }
    a.flush().unwrap();
    let ckpt = Checkpoint::open(&path).unwrap();
    assert!(ckpt.has_network(EMA_NETWORK).unwrap());
    assert!(ckpt.has_tensor("replay").unwrap());

    let mut b = trainer(c.clone());
    b.resume(&path).unwrap();
    for _ in 0..4 {
        b.step().unwrap();
    }
    b.flush().unwrap();
    assert_eq!(history(&a), history(&b), "the resumed run differs");
    let ema = |t: &Trainer| read(&t.ema_generator().unwrap().params().values);
    assert_eq!(ema(&a), ema(&b));
    assert_eq!(
        read(a.replay_buffer().unwrap()),
        read(b.replay_buffer().unwrap())
    );

    // A checkpoint written without a replay buffer cannot feed one.
    let plain = dir.join("plain.safetensors");
    let mut p = trainer(config(9));
    p.step().unwrap();
    p.save(&plain).unwrap();
    let err = trainer(c).resume(&plain).expect_err("no ring saved");
    assert!(err.to_string().contains("replay buffer"), "{err}");
    // Without a saved average, one restarts from the restored G.
    let mut e = trainer(TrainerConfig {
        g_ema: Some(0.9),
        ..config(9)
    });
    e.resume(&plain).unwrap();
    assert_eq!(
        read(&e.ema_generator().unwrap().params().values),
        read(&p.generator().params().values)
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn stabilisation_settings_out_of_range_are_config_errors() {
    let bad: Vec<(TrainerConfig, &str)> = vec![
        (
            TrainerConfig {
                real_label: 0.0,
                ..config(1)
            },
            "real_label",
        ),
        (
            TrainerConfig {
                real_label: 1.5,
                ..config(1)
            },
            "real_label",
        ),
        (
            TrainerConfig {
                real_label: f32::NAN,
                ..config(1)
            },
            "real_label",
        ),
        (
            TrainerConfig {
                label_flip: -0.1,
                ..config(1)
            },
            "label_flip",
        ),
        (
            TrainerConfig {
                label_flip: 1.1,
                ..config(1)
            },
            "label_flip",
        ),
        (
            TrainerConfig {
                label_flip: f32::NAN,
                ..config(1)
            },
            "label_flip",
        ),
        (
            TrainerConfig {
                replay_fraction: 2.0,
                ..config(1)
            },
            "replay_fraction",
        ),
        (
            TrainerConfig {
                replay_fraction: 0.5,
                replay_capacity: 0,
                ..config(1)
            },
            "replay_capacity",
        ),
        (
            TrainerConfig {
                replay_fraction: 0.5,
                replay_capacity: 70_000,
                ..config(1)
            },
            "replay_capacity",
        ),
        // 1% of 16 rounds to no sample at all.
        (
            TrainerConfig {
                replay_fraction: 0.01,
                ..config(1)
            },
            "replaces no sample",
        ),
        (
            TrainerConfig {
                instance_noise: -1.0,
                ..config(1)
            },
            "instance_noise",
        ),
        (
            TrainerConfig {
                instance_noise: f32::INFINITY,
                ..config(1)
            },
            "instance_noise",
        ),
        (
            TrainerConfig {
                g_ema: Some(1.0),
                ..config(1)
            },
            "g_ema",
        ),
        (
            TrainerConfig {
                g_ema: Some(0.0),
                ..config(1)
            },
            "g_ema",
        ),
        (
            TrainerConfig {
                g_ema: Some(f32::NAN),
                ..config(1)
            },
            "g_ema",
        ),
        (
            TrainerConfig {
                loss: GanLoss::Hinge,
                g_loss: GLoss::Minimax,
                ..config(1)
            },
            "hinge",
        ),
    ];
    for (c, what) in bad {
        let (g, d) = models();
        match Trainer::new(gpu(), g, d, &tiny_images(), c.clone()) {
            Err(Error::Config(msg)) => assert!(msg.contains(what), "{what}: {msg}"),
            Err(e) => panic!("{what}: expected a configuration error, got {e}"),
            Ok(_) => panic!("{what}: accepted {c:?}"),
        }
    }
}

#[test]
fn dcgan_discriminator_options_add_layers_before_the_last() {
    for arch in [Arch::Dcgan28, Arch::Dcgan64] {
        let plain = format!("{:?}", arch.discriminator());
        let same = arch.discriminator_with(DOptions::default()).unwrap();
        assert_eq!(format!("{same:?}"), plain, "the default adds nothing");

        let options = DOptions {
            dropout: 0.25,
            minibatch_std: true,
            ..DOptions::default()
        };
        let d = arch.discriminator_with(options).unwrap();
        assert_eq!(d.output_shape().unwrap(), vec![1]);
        let layers = format!("{d:?}");
        let (mbstd, dropout) = (
            layers.find("MinibatchStd").expect("minibatch std"),
            layers
                .find("Dropout { keep: 0.75 }")
                .expect("dropout keeps 1 − P"),
        );
        assert!(mbstd < dropout);
        let last = match arch {
            Arch::Dcgan28 => "Linear { out: 1",
            Arch::Dcgan64 => "Conv { out: 1,",
        };
        assert!(dropout < layers.rfind(last).unwrap(), "{layers}");

        // The penalised recipes' D: no batch norm; SN-GAN's spectrally normalised.
        let sn = DOptions {
            no_batch_norm: true,
            spectral_norm: true,
            ..DOptions::default()
        };
        let layers = format!("{:?}", arch.discriminator_with(sn).unwrap());
        assert!(
            !layers.contains("BatchNorm") && layers.contains("spectral: true"),
            "{layers}"
        );
        assert_eq!(
            layers.matches("Conv {").count(),
            plain.matches("Conv {").count()
        );
    }
    for p in [1.0f32, -0.1, f32::NAN] {
        let opts = DOptions {
            dropout: p,
            ..DOptions::default()
        };
        assert!(matches!(
            Arch::Dcgan28.discriminator_with(opts),
            Err(Error::Config(_))
        ));
    }
}
