//! CycleGAN's recorded iteration: the domains, every tensor of the round trip as the
//! generators make it, the generators' gradient against central differences of the whole
//! loss (least squares through both Ds, both cycles, both identities), the pools, learning,
//! the generators' moving averages, a bit-for-bit resume, and mistakes as errors. Networks of
//! width 2 keep it quick.

mod common;

use common::gpu;
use counterfeit::data::idx;
use counterfeit::gan::generate_batched;
use counterfeit::gan::translation::{
    cycle_discriminator28, resnet_generator28, CycleGan, CycleGanConfig, Domains,
};
use counterfeit::{Network, Optimizer};

/// Domains of 20 thin and 20 thick digits in [−1, 1].
fn domains() -> Domains {
    let (some, _) = idx::bundled().unwrap().split(40).unwrap();
    Domains::thin_thick(gpu(), &some, (-1.0, 1.0)).unwrap()
}

fn adam(lr: f32) -> Optimizer {
    Optimizer::Adam {
        lr,
        beta1: 0.5,
        beta2: 0.999,
        eps: 1e-8,
    }
}

fn config(batch: usize) -> CycleGanConfig {
    CycleGanConfig {
        readback_every: 1,
        ..CycleGanConfig::paper(batch)
    }
}

fn make(cfg: CycleGanConfig) -> CycleGan {
    let g = resnet_generator28(2, 1).unwrap();
    let d = cycle_discriminator28(2).unwrap();
    CycleGan::new(gpu(), g, d, &domains(), cfg).unwrap()
}

fn read(t: &counterfeit::Tensor) -> Vec<f32> {
    t.read(gpu()).unwrap()
}

fn mean_abs(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() as f64)
        .sum::<f64>()
        / a.len() as f64
}

/// The largest |a − b| over the two slices.
fn max_abs(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn thin_and_thick_domains_share_no_digit() {
    let (some, _) = idx::bundled().unwrap().split(40).unwrap();
    let d = domains();
    assert_eq!((d.a.len(), d.b.len()), (20, 20));
    let (a, b) = (d.a.bytes(gpu()).unwrap(), d.b.bytes(gpu()).unwrap());
    use counterfeit::ops::morphology::Transform;
    let (first, second) = some.images.pixels.split_at(20 * 28 * 28);
    let reference = counterfeit::reference::morphology::transform;
    assert_eq!(a, reference(Transform::Erode2x2, first, 28, 28));
    assert_eq!(b, reference(Transform::Dilate, second, 28, 28));
    let ink = |v: &[u8]| v.iter().map(|&p| p as f64).sum::<f64>() / v.len() as f64;
    assert!(
        ink(&a) < 0.7 * ink(&b),
        "thin {} vs thick {}",
        ink(&a),
        ink(&b)
    );
}

/// With both rates 0 the networks stay as they were, so the step's tensors can be remade
/// outside it and its gradient checked against differences of the loss.
fn frozen() -> CycleGan {
    let mut gan = make(CycleGanConfig {
        g_optimizer: adam(0.0),
        d_optimizer: adam(0.0),
        ..config(3)
    });
    gan.step().unwrap();
    gan.flush().unwrap();
    gan
}

#[test]
fn the_round_trip_is_what_the_generators_make() {
    let gan = frozen();
    let t = gan.step_tensors();
    let (a, b) = (read(&t.a), read(&t.b));
    let fake_b = gan.a_to_b(&a).unwrap();
    let fake_a = gan.b_to_a(&b).unwrap();
    // Instance norm has no batch statistics: generate mode computes what training did.
    let close = |what: &str, got: &[f32], want: &[f32]| {
        let worst = max_abs(got, want);
        assert!(worst < 1e-5, "{what}: off by {worst}");
    };
    close("G_AB(a)", &read(&t.fake_b), &fake_b);
    close("G_BA(b)", &read(&t.fake_a), &fake_a);
    close(
        "G_BA(G_AB(a))",
        &read(&t.cycled_a),
        &gan.b_to_a(&fake_b).unwrap(),
    );
    close(
        "G_AB(G_BA(b))",
        &read(&t.cycled_b),
        &gan.a_to_b(&fake_a).unwrap(),
    );
    let m = gan.metrics().unwrap();
    let (cyc_a, cyc_b) = m.cycles();
    let (idt_a, idt_b) = m.identities();
    let logged = [cyc_a, cyc_b, idt_a, idt_b].map(|v| v as f64);
    let want = [
        mean_abs(&read(&t.cycled_a), &a),
        mean_abs(&read(&t.cycled_b), &b),
        mean_abs(&gan.b_to_a(&a).unwrap(), &a),
        mean_abs(&gan.a_to_b(&b).unwrap(), &b),
    ];
    for (l, w) in logged.iter().zip(want) {
        assert!((l - w).abs() < 1e-5, "logged {logged:?}, want {want:?}");
    }
}

/// The generators' whole loss on batches `a`, `b`, in f64 from the networks' outputs.
fn g_loss(gan: &CycleGan, d: (&Network, &Network), a: &[f32], b: &[f32]) -> f64 {
    let run = |net: &Network, x: &[f32]| generate_batched(gpu(), net, x, 3).unwrap();
    let lsgan = |logits: Vec<f32>| {
        logits
            .iter()
            .map(|&x| ((x - 1.0) as f64).powi(2))
            .sum::<f64>()
            / logits.len() as f64
    };
    let (g_ab, g_ba) = (gan.g_ab(), gan.g_ba());
    let (fake_b, fake_a) = (run(g_ab, a), run(g_ba, b));
    let (d_a, d_b) = d;
    lsgan(run(d_b, &fake_b))
        + lsgan(run(d_a, &fake_a))
        + 10.0 * mean_abs(&run(g_ba, &fake_b), a)
        + 10.0 * mean_abs(&run(g_ab, &fake_a), b)
        + 5.0 * mean_abs(&run(g_ab, b), b)
        + 5.0 * mean_abs(&run(g_ba, a), a)
}

#[test]
fn the_generators_gradient_matches_differences_of_the_whole_loss() {
    let gan = frozen();
    let t = gan.step_tensors();
    let (a, b) = (read(&t.a), read(&t.b));
    // D_A and D_B as the step's G part saw them: rebuilt from the same seeds (rate 0 keeps
    // them there) to run them outside the trainer.
    let d_model = cycle_discriminator28(2).unwrap();
    let d_a = Network::new(gpu(), "D_A", d_model.clone(), 1 ^ 0xD_000A).unwrap();
    let d_b = Network::new(gpu(), "D_B", d_model, 1 ^ 0xD_000B).unwrap();
    let logged = gan.metrics().unwrap();
    let at = g_loss(&gan, (&d_a, &d_b), &a, &b);
    let (adv_ab, adv_ba) = logged.g_adversarial();
    let (c_a, c_b) = logged.cycles();
    let (i_a, i_b) = logged.identities();
    let from_log = (adv_ab + adv_ba) as f64 + 10.0 * (c_a + c_b) as f64 + 5.0 * (i_a + i_b) as f64;
    assert!(
        (at - from_log).abs() < 1e-4 * at,
        "loss {at} vs logged {from_log}"
    );
    for (name, net) in [("G_AB", gan.g_ab()), ("G_BA", gan.g_ba())] {
        let p = net.params();
        let theta = read(&p.values);
        let grad = read(&p.grads);
        // A direction along the gradient's signs, mixed with noise, so the change is felt.
        let noise = common::normal(theta.len(), 5, 1.0);
        let v: Vec<f32> = grad
            .iter()
            .zip(&noise)
            .map(|(g, n)| g.signum() + 0.5 * n)
            .collect();
        // Instance norm over two channels is sharply curved: the differences agree to 3 %
        // only below steps of about 1e-5 (at 1e-3 they are off by half).
        let eps = 1e-5f32;
        let moved = |s: f32| -> f64 {
            let shifted: Vec<f32> = theta.iter().zip(&v).map(|(t, d)| t + s * eps * d).collect();
            p.values.write(gpu(), &shifted).unwrap();
            g_loss(&gan, (&d_a, &d_b), &a, &b)
        };
        let fd = (moved(1.0) - moved(-1.0)) / (2.0 * eps as f64);
        p.values.write(gpu(), &theta).unwrap();
        let analytic: f64 = grad
            .iter()
            .zip(&v)
            .map(|(g, d)| *g as f64 * *d as f64)
            .sum();
        assert!(
            (fd - analytic).abs() < 0.04 * analytic.abs(),
            "{name}: differences {fd} vs gradient {analytic}"
        );
    }
}

#[test]
fn the_pool_stores_fakes_and_replays_them() {
    let mut gan = make(config(4));
    gan.step().unwrap();
    let t = gan.step_tensors().clone();
    let first_fakes = read(&t.fake_b);
    // An empty pool replays nothing; the fresh fakes are stored.
    assert_eq!(read(&t.pooled_fake_b), first_fakes);
    let pool = read(&t.pool_b);
    assert_eq!(&pool[..first_fakes.len()], &first_fakes[..]);
    gan.step().unwrap();
    let (fresh, pooled, pool) = (read(&t.fake_b), read(&t.pooled_fake_b), read(&t.pool_b));
    let image = 28 * 28;
    // Two of four (the pool fraction ½) come from the pool; the rest are fresh.
    for s in 0..4 {
        let sample = &pooled[s * image..(s + 1) * image];
        let in_pool = pool.chunks(image).any(|p| p == sample);
        match s < 2 {
            true => assert!(in_pool, "sample {s} is not from the pool"),
            false => assert_eq!(sample, &fresh[s * image..(s + 1) * image]),
        }
    }
}

#[test]
fn cycles_shrink_as_it_learns() {
    let mut gan = make(CycleGanConfig {
        g_optimizer: adam(2e-3),
        ..config(4)
    });
    for _ in 0..25 {
        gan.step().unwrap();
    }
    gan.flush().unwrap();
    let h = gan.history();
    let cycle = |r: &[counterfeit::gan::translation::CycleMetrics]| {
        r.iter().map(|m| m.cycles().0 + m.cycles().1).sum::<f32>() / r.len() as f32
    };
    let (first, last) = (cycle(&h[..3]), cycle(&h[h.len() - 5..]));
    assert!(last < 0.7 * first, "cycle L1 from {first} to {last}");
}

fn params(net: &Network) -> Vec<f32> {
    read(&net.params().values)
}

/// A run keeping averages of decay 0.9.
fn averaged(batch: usize) -> CycleGanConfig {
    CycleGanConfig {
        g_ema: Some(0.9),
        ..config(batch)
    }
}

#[test]
fn the_averages_follow_each_generator_and_translate() {
    let mut gan = make(averaged(2));
    let mut plain = make(config(2));
    let (ab, ba) = gan.translators();
    assert_eq!(params(ab), params(gan.g_ab()), "starts as G_AB");
    assert_eq!(params(ba), params(gan.g_ba()), "starts as G_BA");
    // avg ← 0.9·avg + 0.1·θ after each step, in f32 on the GPU.
    let mut want = [params(gan.g_ab()), params(gan.g_ba())];
    for _ in 0..3 {
        gan.step().unwrap();
        plain.step().unwrap();
        for (w, g) in want.iter_mut().zip([gan.g_ab(), gan.g_ba()]) {
            for (w, t) in w.iter_mut().zip(params(g)) {
                *w = 0.9 * *w + 0.1 * t;
            }
        }
    }
    gan.flush().unwrap();
    plain.flush().unwrap();
    let (ab, ba) = gan.translators();
    for (what, avg, want, g) in [
        ("G_AB", ab, &want[0], gan.g_ab()),
        ("G_BA", ba, &want[1], gan.g_ba()),
    ] {
        let (avg, g) = (params(avg), params(g));
        let off = max_abs(&avg, want);
        assert!(off < 1e-6, "{what}'s average off its recursion by {off}");
        assert!(
            mean_abs(&avg, &g) > 1e-4,
            "{what}'s average is {what} itself"
        );
    }
    // The average only reads the generators: training is what it is without one.
    assert_eq!(gan.history(), plain.history());
    assert_eq!(params(gan.g_ab()), params(plain.g_ab()));
    // And it is what translates.
    let a = read(&gan.step_tensors().a);
    let by_average = generate_batched(gpu(), ab, &a, 2).unwrap();
    assert_eq!(gan.a_to_b(&a).unwrap(), by_average);
    let by_g = generate_batched(gpu(), gan.g_ab(), &a, 2).unwrap();
    assert!(mean_abs(&by_average, &by_g) > 1e-5);
}

#[test]
fn a_resumed_run_continues_bit_for_bit() {
    let dir = std::env::temp_dir().join(format!("counterfeit-cyclegan-{}", std::process::id()));
    let ckpt = dir.join("c.safetensors");
    for cfg in [config(2), averaged(2)] {
        let mut straight = make(cfg.clone());
        for _ in 0..4 {
            straight.step().unwrap();
        }
        straight.flush().unwrap();
        let mut first = make(cfg.clone());
        first.step().unwrap();
        first.step().unwrap();
        first.save(&ckpt).unwrap();
        let mut resumed = make(cfg.clone());
        resumed.resume(&ckpt).unwrap();
        assert_eq!(resumed.steps(), 2);
        resumed.step().unwrap();
        resumed.step().unwrap();
        resumed.flush().unwrap();
        assert_eq!(resumed.history(), straight.history());
        let (r, s) = (resumed.translators(), straight.translators());
        for (x, y) in [
            (resumed.g_ab(), straight.g_ab()),
            (resumed.g_ba(), straight.g_ba()),
            (r.0, s.0),
            (r.1, s.1),
        ] {
            assert_eq!(params(x), params(y), "{:?}: {}", cfg.g_ema, x.label());
        }
        let pools = |g: &CycleGan| read(&g.step_tensors().pool_a);
        assert_eq!(pools(&resumed), pools(&straight));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_checkpoint_without_averages_restarts_them_from_the_generators() {
    let dir = std::env::temp_dir().join(format!("counterfeit-cyclegan-avg-{}", std::process::id()));
    let ckpt = dir.join("c.safetensors");
    let mut first = make(config(2));
    first.step().unwrap();
    first.save(&ckpt).unwrap();
    let mut resumed = make(averaged(2));
    resumed.resume(&ckpt).unwrap();
    let (ab, ba) = resumed.translators();
    assert_eq!(params(ab), params(first.g_ab()));
    assert_eq!(params(ba), params(first.g_ba()));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn mistakes_are_errors() {
    let err = |r: counterfeit::Result<CycleGan>| r.err().expect("an error").to_string();
    let g = || resnet_generator28(2, 1).unwrap();
    let d = || cycle_discriminator28(2).unwrap();
    let e = err(CycleGan::new(gpu(), d(), d(), &domains(), config(2)));
    assert!(e.contains("G maps"), "{e}");
    let pair_d = counterfeit::gan::translation::patch_discriminator28(2, 2).unwrap();
    let e = err(CycleGan::new(gpu(), g(), pair_d, &domains(), config(2)));
    assert!(e.contains("D reads"), "{e}");
    for (cfg, want) in [
        (
            CycleGanConfig {
                batch: 0,
                ..config(2)
            },
            "batch",
        ),
        (
            CycleGanConfig {
                pool_fraction: 1.5,
                ..config(2)
            },
            "pool fraction",
        ),
        (
            CycleGanConfig {
                cycle_weight: -1.0,
                ..config(2)
            },
            "cycle weight",
        ),
        (
            CycleGanConfig {
                pool_capacity: 0,
                ..config(2)
            },
            "capacity",
        ),
        (
            CycleGanConfig {
                g_ema: Some(1.0),
                ..config(2)
            },
            "g_ema",
        ),
    ] {
        let e = err(CycleGan::new(gpu(), g(), d(), &domains(), cfg));
        assert!(e.contains(want), "{want}: {e}");
    }
}
