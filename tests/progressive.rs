//! Progressive growing: a grown network at α = 0 computes exactly what the smaller one did
//! (G's image up-sampled, D on the pooled image) and at α = 1 what the grown network alone
//! does, once the trained values are carried over by layer name; D sees the real batch
//! pooled to the stage's side and faded like the networks; a run stopped mid-fade resumes
//! bit for bit, across the growth that follows; mistakes are errors.

mod common;

use common::*;
use counterfeit::data::idx;
use counterfeit::gan::generate_at;
use counterfeit::gan::progressive::{ProGan, ProgressiveTrainer, Schedule};
use counterfeit::ops::fade::Ramp;
use counterfeit::reference::{fade, resample};
use counterfeit::{Dataset, Network, Optimizer, TrainerConfig};

/// Odd channel counts, every stage narrower than the last.
fn spec() -> ProGan {
    ProGan {
        nz: 6,
        first_side: 7,
        channels: vec![5, 3, 2],
    }
}

const SCHEDULE: Schedule = Schedule {
    stage_steps: 2,
    fade_steps: 3,
};

fn config(batch: usize) -> TrainerConfig {
    let adam = Optimizer::Adam {
        lr: 1e-3,
        beta1: 0.0,
        beta2: 0.99,
        eps: 1e-8,
    };
    TrainerConfig {
        batch,
        seed: 7,
        g_optimizer: adam,
        d_optimizer: adam,
        readback_every: 1,
        sample_count: 4,
        g_ema: Some(0.9),
        ..TrainerConfig::dcgan()
    }
}

fn digits() -> Dataset {
    Dataset::from_digits(gpu(), &idx::bundled().unwrap(), (-1.0, 1.0)).unwrap()
}

/// Runs `net` on `input` (whole samples) as it runs after `t` steps.
fn run(net: &Network, input: &[f32], batch: usize, t: u32) -> Vec<f32> {
    generate_at(gpu(), net, input, batch, t).unwrap()
}

#[test]
fn a_grown_network_starts_where_the_small_one_stood() {
    let (gpu, p) = (gpu(), spec());
    let ramp = Ramp {
        start: 10,
        steps: 4,
    };
    for (batch, k) in [(1usize, 1usize), (3, 2)] {
        let (small, big) = (p.side(k - 1), p.side(k));
        let g_old = Network::new(gpu, "G", p.generator(k - 1, None).unwrap(), 1).unwrap();
        let g_new = Network::new(gpu, "G", p.generator(k, Some(ramp)).unwrap(), 2).unwrap();
        let carried = g_new.carry_from(gpu, &g_old, false).unwrap();
        assert!(carried.contains(&format!("g{small}.rgb")), "{carried:?}");
        let z = normal(batch * p.nz, 3, 1.0);
        let before = run(&g_old, &z, batch, 0);
        let up = resample::upsample(&f64s(&before), batch, small, small);
        // α = 0: the old branch only, which is the small G's image up-sampled, bit for bit.
        assert_close("G at α = 0", &run(&g_new, &z, batch, 10), &up, 0.0, 0.0);

        let d_old = Network::new(gpu, "D", p.discriminator(k - 1, None).unwrap(), 4).unwrap();
        let d_new = Network::new(gpu, "D", p.discriminator(k, Some(ramp)).unwrap(), 5).unwrap();
        d_new.carry_from(gpu, &d_old, false).unwrap();
        // Minibatch std needs two samples.
        let n = batch.max(2);
        let x = uniform(n * big * big, 6, -1.0, 1.0);
        let pooled = resample::avg_pool(&f64s(&x), n, big, big);
        let pooled: Vec<f32> = pooled.iter().map(|&v| v as f32).collect();
        let want = f64s(&run(&d_old, &pooled, n, 0));
        // Pooling on the GPU and in f64 round differently in the last bit.
        assert_close("D at α = 0", &run(&d_new, &x, n, 10), &want, 1e-5, 1e-5);

        // α = 1: the grown network alone, which the next phase records without the fade.
        let g_pure = Network::new(gpu, "G", p.generator(k, None).unwrap(), 8).unwrap();
        g_pure.carry_from(gpu, &g_new, true).unwrap();
        let want = f64s(&run(&g_pure, &z, batch, 0));
        assert_close("G at α = 1", &run(&g_new, &z, batch, 14), &want, 0.0, 0.0);
        // Halfway, the blend of the two.
        let half = fade::forward(&want, &up, 0.5);
        assert_close(
            "G at α = 1/2",
            &run(&g_new, &z, batch, 12),
            &half,
            1e-6,
            1e-6,
        );
    }
}

#[test]
fn carrying_refuses_a_same_named_layer_of_another_shape() {
    let (gpu, p) = (gpu(), spec());
    let wider = ProGan {
        channels: vec![4, 3, 2],
        ..p.clone()
    };
    let a = Network::new(gpu, "G", p.generator(0, None).unwrap(), 1).unwrap();
    let b = Network::new(gpu, "G", wider.generator(0, None).unwrap(), 1).unwrap();
    let err = b.carry_from(gpu, &a, false).unwrap_err().to_string();
    assert!(err.contains("g7.dense"), "{err}");
}

#[test]
fn d_sees_the_real_batch_at_the_stage_and_faded() {
    let data = digits();
    let batch = 3;
    let mut gan = ProgressiveTrainer::new(gpu(), spec(), SCHEDULE, &data, config(batch)).unwrap();
    let read = |t: &counterfeit::Tensor| f64s(&t.read(gpu()).unwrap());
    // t = 0, 1: stage 0 (7×7); t = 2, 3, 4: 14×14 fading in from t = 2; then steady.
    for (t, side, alpha) in [
        (0u64, 7, 1.0),
        (1, 7, 1.0),
        (2, 14, 0.0),
        (3, 14, 1.0 / 3.0),
    ] {
        gan.step().unwrap();
        assert_eq!(gan.steps(), t + 1);
        assert_eq!(gan.side(), side);
        let st = gan.step_tensors();
        let real = read(&st.real);
        let shown = read(&st.d_real_input);
        let mut x = real;
        let mut h = 28;
        while h > side {
            x = resample::avg_pool(&x, batch, h, h);
            h /= 2;
        }
        let want = if gan.phase().fading {
            let up = resample::upsample(&resample::avg_pool(&x, batch, h, h), batch, h / 2, h / 2);
            fade::forward(&x, &up, alpha)
        } else {
            x
        };
        let got: Vec<f32> = shown.iter().map(|&v| v as f32).collect();
        assert_close(&format!("real batch at t = {t}"), &got, &want, 1e-6, 1e-6);
    }
}

#[test]
fn a_run_stopped_mid_fade_resumes_exactly() {
    let data = digits();
    let dir = std::env::temp_dir().join(format!("counterfeit-progan-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ckpt = dir.join("mid_fade.safetensors");
    // Through stage 1's fade, its steady part and into stage 2's fade.
    let total = 9;
    let mut whole = ProgressiveTrainer::new(gpu(), spec(), SCHEDULE, &data, config(2)).unwrap();
    for _ in 0..total {
        whole.step().unwrap();
    }
    whole.flush().unwrap();

    let mut first = ProgressiveTrainer::new(gpu(), spec(), SCHEDULE, &data, config(2)).unwrap();
    for _ in 0..3 {
        first.step().unwrap();
    }
    assert!(first.phase().fading);
    first.save(&ckpt).unwrap();
    let mut resumed = ProgressiveTrainer::new(gpu(), spec(), SCHEDULE, &data, config(2)).unwrap();
    resumed.resume(&ckpt).unwrap();
    assert_eq!((resumed.steps(), resumed.side()), (3, 14));
    assert!(resumed.phase().fading);
    while resumed.steps() < total {
        resumed.step().unwrap();
    }
    resumed.flush().unwrap();
    assert_eq!(resumed.side(), 28);
    let bits = |h: &[counterfeit::StepMetrics]| -> Vec<(u64, Vec<u32>)> {
        h.iter()
            .map(|m| {
                (
                    m.step,
                    [m.d_loss, m.g_loss, m.d_real, m.d_fake]
                        .map(f32::to_bits)
                        .to_vec(),
                )
            })
            .collect()
    };
    assert_eq!(bits(resumed.history()), bits(whole.history()));
    assert_eq!(resumed.history().len(), total as usize);
    let params = |g: &ProgressiveTrainer| g.generator().params().values.read(gpu()).unwrap();
    assert_eq!(params(&resumed), params(&whole));
    std::fs::remove_dir_all(&dir).ok();
    let avg = |g: &ProgressiveTrainer| {
        g.ema_generator()
            .unwrap()
            .params()
            .values
            .read(gpu())
            .unwrap()
    };
    assert_eq!(avg(&resumed), avg(&whole));
    // Samples at the last stage are full-size and finite.
    let x = resumed.draw(5, 1).unwrap();
    assert_eq!(x.len(), 5 * 28 * 28);
    assert!(x.iter().all(|v| v.is_finite()));
}

#[test]
fn mistakes_are_errors() {
    let data = digits();
    let small = digits().resized(14, 14).unwrap();
    let err = ProgressiveTrainer::new(gpu(), spec(), SCHEDULE, &small, config(2))
        .err()
        .expect("data of the wrong size")
        .to_string();
    assert!(err.contains("[1, 28, 28]"), "{err}");
    let never = Schedule {
        stage_steps: 0,
        fade_steps: 1,
    };
    assert!(ProgressiveTrainer::new(gpu(), spec(), never, &data, config(2)).is_err());
    let no_stages = ProGan {
        channels: vec![],
        ..spec()
    };
    assert!(ProgressiveTrainer::new(gpu(), no_stages, SCHEDULE, &data, config(2)).is_err());
}

/// The paper's loss: WGAN-GP's penalty goes through every layer of the growing D (equalised
/// convolutions, average pooling, the fade, minibatch std), across both growths, and reruns
/// bit for bit.
#[test]
fn wgan_gp_trains_through_the_growth() {
    use counterfeit::gan::{GanLoss, GradientPenalty};
    let data = digits();
    let config = || TrainerConfig {
        loss: GanLoss::Wasserstein,
        penalty: Some(GradientPenalty::Interpolates { lambda: 10.0 }),
        ..config(3)
    };
    let run = || {
        let mut gan = ProgressiveTrainer::new(gpu(), spec(), SCHEDULE, &data, config()).unwrap();
        for _ in 0..9 {
            gan.step().unwrap();
        }
        gan.flush().unwrap();
        assert_eq!(gan.side(), 28);
        gan.history()
            .iter()
            .map(|m| [m.d_loss, m.g_loss, m.penalty, m.grad_norm].map(f32::to_bits))
            .collect::<Vec<_>>()
    };
    let first = run();
    assert_eq!(first.len(), 9);
    for bits in &first {
        let [d, g, penalty, norm] = bits.map(f32::from_bits);
        assert!(d.is_finite() && g.is_finite(), "{bits:?}");
        assert!(
            penalty > 0.0 && norm > 0.0,
            "penalty {penalty}, ‖∇D‖ {norm}"
        );
    }
    assert_eq!(run(), first);
}
