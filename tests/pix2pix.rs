//! pix2pix's recorded iteration: the pairs stay paired through the shuffle, G's gradient is
//! the adversarial part plus exactly λ·sign(G(x) − y)/n, the L1-only baseline learns, a
//! resumed run continues bit for bit, and mistakes are errors. Small networks on real digits
//! keep it quick on a CPU adapter.

mod common;

use common::gpu;
use counterfeit::data::idx;
use counterfeit::gan::translation::{PairedTask, Pairs, Pix2Pix, Pix2PixConfig};
use counterfeit::reference::morphology as reference;
use counterfeit::{Dataset, Graph, GraphBuilder, Init, Optimizer};

/// The first 40 bundled digits in [−1, 1].
fn digits() -> Dataset {
    let (some, _) = idx::bundled().unwrap().split(40).unwrap();
    Dataset::from_digits(gpu(), &some, (-1.0, 1.0)).unwrap()
}

fn pairs(task: PairedTask) -> Pairs {
    task.pairs(gpu(), &digits()).unwrap()
}

/// A two-layer G: enough to learn, quick to run.
fn small_g() -> Graph {
    let g = GraphBuilder::new();
    g.init(Init::Normal(0.02));
    let x = g.input([1, 28, 28]);
    let y = x.conv_bias(6, 3, 1, 1).relu().conv_bias(1, 3, 1, 1).tanh();
    g.output(&y).build().unwrap()
}

/// A PatchGAN-shaped D on the stacked pair: a 14×14 map of logits.
fn small_d() -> Graph {
    let g = GraphBuilder::new();
    g.init(Init::Normal(0.02));
    let x = g.input([2, 28, 28]);
    let y = x
        .conv_bias(4, 4, 2, 1)
        .leaky_relu(0.2)
        .conv_bias(1, 1, 1, 0);
    g.output(&y).build().unwrap()
}

fn config(batch: usize) -> Pix2PixConfig {
    Pix2PixConfig {
        readback_every: 1,
        ..Pix2PixConfig::paper(batch)
    }
}

/// Values in [−1, 1] back to the bytes they were gathered from.
fn to_bytes(v: &[f32]) -> Vec<u8> {
    v.iter()
        .map(|&x| ((x + 1.0) * 127.5).round() as u8)
        .collect()
}

#[test]
fn each_input_is_its_targets_outline_through_the_shuffle() {
    let mut gan = Pix2Pix::new(
        gpu(),
        small_g(),
        Some(small_d()),
        &pairs(PairedTask::Outline),
        config(5),
    )
    .unwrap();
    let mut seen = Vec::new();
    for _ in 0..3 {
        gan.step().unwrap();
        let t = gan.step_tensors();
        let x = to_bytes(&t.inputs.read(gpu()).unwrap());
        let y = to_bytes(&t.targets.read(gpu()).unwrap());
        let outline =
            reference::transform(counterfeit::ops::morphology::Transform::Outline, &y, 28, 28);
        assert_eq!(
            x,
            outline,
            "step {}: inputs are not their targets' outlines",
            gan.steps()
        );
        seen.push(y);
    }
    assert!(
        seen[0] != seen[1] && seen[1] != seen[2],
        "every step gathers other digits"
    );
}

#[test]
fn l1_only_gradient_is_lambda_times_the_sign() {
    let cfg = Pix2PixConfig {
        adversarial: false,
        ..config(3)
    };
    let mut gan = Pix2Pix::new(
        gpu(),
        small_g(),
        None,
        &pairs(PairedTask::SuperResolution),
        cfg,
    )
    .unwrap();
    gan.step().unwrap();
    gan.flush().unwrap();
    let t = gan.step_tensors();
    let (out, y) = (
        t.outputs.read(gpu()).unwrap(),
        t.targets.read(gpu()).unwrap(),
    );
    let grad = t.output_grad.read(gpu()).unwrap();
    let n = out.len() as f32;
    let mut l1 = 0.0f64;
    for i in 0..out.len() {
        let d = out[i] - y[i];
        l1 += d.abs() as f64;
        let want = if d == 0.0 {
            0.0
        } else {
            100.0 / n * d.signum()
        };
        assert_eq!(grad[i], want, "pixel {i}");
    }
    let logged = gan.metrics().unwrap();
    assert!(
        (logged.l1 as f64 - l1 / n as f64).abs() < 1e-5,
        "{logged:?}"
    );
    assert_eq!((logged.d_loss, logged.g_adversarial), (0.0, 0.0));
}

#[test]
fn adversarial_gradient_plus_exactly_lambda_l1() {
    let run = |l1_weight: f32| {
        let cfg = Pix2PixConfig {
            l1_weight,
            ..config(4)
        };
        let mut gan = Pix2Pix::new(
            gpu(),
            small_g(),
            Some(small_d()),
            &pairs(PairedTask::Outline),
            cfg,
        )
        .unwrap();
        gan.step().unwrap();
        gan.flush().unwrap();
        let t = gan.step_tensors();
        let read = |t: &counterfeit::Tensor| t.read(gpu()).unwrap();
        (
            read(&t.outputs),
            read(&t.targets),
            read(&t.output_grad),
            *gan.metrics().unwrap(),
        )
    };
    let (out, y, adversarial, m0) = run(0.0);
    let (out2, _, both, m) = run(100.0);
    assert_eq!(out, out2, "the same seed makes the same G(x)");
    let n = out.len() as f32;
    let mut reached = 0;
    for i in 0..out.len() {
        let d = out[i] - y[i];
        let l1 = if d == 0.0 {
            0.0
        } else {
            100.0 / n * d.signum()
        };
        assert!(
            (both[i] - (adversarial[i] + l1)).abs() <= 1e-6 * l1.abs().max(1e-3),
            "pixel {i}: {} vs {} + {l1}",
            both[i],
            adversarial[i]
        );
        reached += (adversarial[i] != 0.0) as usize;
    }
    assert!(reached > out.len() / 2, "D's gradient reaches G: {reached}");
    // D's figures do not depend on λ; each is a mean over every patch.
    assert_eq!(
        (m.d_loss, m.d_real, m.d_fake),
        (m0.d_loss, m0.d_real, m0.d_fake)
    );
    assert!(
        m.d_real > 0.0 && m.d_real < 1.0 && m.d_loss.is_finite(),
        "{m:?}"
    );
}

#[test]
fn the_l1_baseline_learns() {
    let cfg = Pix2PixConfig {
        adversarial: false,
        g_optimizer: Optimizer::Adam {
            lr: 2e-3,
            beta1: 0.5,
            beta2: 0.999,
            eps: 1e-8,
        },
        ..config(8)
    };
    let mut gan = Pix2Pix::new(gpu(), small_g(), None, &pairs(PairedTask::Outline), cfg).unwrap();
    for _ in 0..30 {
        gan.step().unwrap();
    }
    gan.flush().unwrap();
    let h = gan.history();
    let mean = |r: &[counterfeit::gan::translation::Pix2PixMetrics]| {
        r.iter().map(|m| m.l1).sum::<f32>() / r.len() as f32
    };
    let (first, last) = (mean(&h[..3]), mean(&h[h.len() - 5..]));
    assert!(last < 0.6 * first, "L1 from {first} to {last}");
}

#[test]
fn a_resumed_run_continues_bit_for_bit() {
    let dir = std::env::temp_dir().join(format!("counterfeit-pix2pix-{}", std::process::id()));
    let ckpt = dir.join("p.safetensors");
    let p = pairs(PairedTask::Outline);
    let make = || Pix2Pix::new(gpu(), small_g(), Some(small_d()), &p, config(4)).unwrap();
    let mut straight = make();
    for _ in 0..4 {
        straight.step().unwrap();
    }
    straight.flush().unwrap();
    let mut first = make();
    first.step().unwrap();
    first.step().unwrap();
    first.save(&ckpt).unwrap();
    let mut resumed = make();
    resumed.resume(&ckpt).unwrap();
    assert_eq!(resumed.steps(), 2);
    resumed.step().unwrap();
    resumed.step().unwrap();
    resumed.flush().unwrap();
    assert_eq!(resumed.history(), straight.history());
    let params = |g: &Pix2Pix| g.generator().params().values.read(gpu()).unwrap();
    assert_eq!(params(&resumed), params(&straight));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn mistakes_are_errors() {
    let p = pairs(PairedTask::Outline);
    let err = |r: counterfeit::Result<Pix2Pix>| r.err().expect("an error").to_string();
    let e = err(Pix2Pix::new(gpu(), small_g(), None, &p, config(2)));
    assert!(e.contains("needs a discriminator"), "{e}");
    let wrong_d = small_g();
    let e = err(Pix2Pix::new(gpu(), small_g(), Some(wrong_d), &p, config(2)));
    assert!(e.contains("stacked"), "{e}");
    let e = err(Pix2Pix::new(
        gpu(),
        small_d(),
        Some(small_d()),
        &p,
        config(2),
    ));
    assert!(e.contains("G maps"), "{e}");
    let cfg = Pix2PixConfig {
        adversarial: false,
        l1_weight: 0.0,
        ..config(2)
    };
    let e = err(Pix2Pix::new(gpu(), small_g(), None, &p, cfg));
    assert!(e.contains("L1 weight"), "{e}");
    let e = err(Pix2Pix::new(
        gpu(),
        small_g(),
        Some(small_d()),
        &p,
        config(0),
    ));
    assert!(e.contains("batch"), "{e}");
    let (few, _) = idx::bundled().unwrap().split(10).unwrap();
    let few = Dataset::from_digits(gpu(), &few, (-1.0, 1.0)).unwrap();
    let e = Pairs::new(few, digits()).err().unwrap().to_string();
    assert!(e.contains("10 inputs for 40 targets"), "{e}");
    let e = PairedTask::parse("colour").unwrap_err().to_string();
    assert!(e.contains("outline or superres"), "{e}");
}
