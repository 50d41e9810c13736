//! The semi-supervised GAN's pieces against their f64 references (`reference::logsumexp`,
//! `reference::feature_matching`) on awkward shapes, the Gaussian-noise layer, network
//! prefixes, the labelled subset, and the trainer itself on a few steps.

mod common;

use common::*;
use counterfeit::data::idx;
use counterfeit::gan::semisup::{self, labelled_subset, SemiConfig, SemiTrainer, CLASSES};
use counterfeit::nn::{Mode, Network, RngSpec, Sequential};
use counterfeit::ops::feature_matching::feature_matching;
use counterfeit::ops::{logsumexp, Clock};
use counterfeit::reference::feature_matching as ref_fm;
use counterfeit::reference::logsumexp as ref_lse;
use counterfeit::tape::ParamGrads;
use counterfeit::{Dataset, Error, Tensor};

fn tensor(data: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_slice(gpu(), data, shape, "t").unwrap()
}

fn run(kernels: &[counterfeit::gpu::Kernel]) {
    gpu().run(&kernels.iter().collect::<Vec<_>>()).unwrap();
}

// Tolerances: lse = m + log s with s ∈ [1, classes]; exp is within 3 + 2|x| ULP and log within
// 2^−21 absolute near 1, and rounding m + log s to f32 costs half an ULP of |lse| (1.5e-5 at
// 300): so lse gets atol 1e-6 per unit of logit scale. The backward dlse·exp(x − lse) turns
// the absolute error of x − lse (both rounded at |x| ≤ 4·scale, plus lse's own) into a
// relative one of up to ~4e-6·scale on values of size |dlse| ≤ 4: atol 4e-6·scale (lavapipe's
// worst: 1.0e-5 at scale 100). A wrong formula is off by O(1) of values ~0.1–4.
const LSE_ATOL: f64 = 1e-6;
const LSE_RTOL: f64 = 1e-5;

#[test]
fn logsumexp_matches_reference_on_awkward_shapes() {
    // (rows, classes): one row, one class, odd class counts, more rows than a workgroup.
    for (n, classes) in [(1, 1), (1, 10), (7, 3), (33, 11), (257, 10), (1000, 37)] {
        for scale in [3.0f32, 100.0] {
            let x = normal(n * classes, (n * 1000 + classes) as u64, scale);
            let dlse = normal(n, 77 + n as u64, 1.0);
            let prior = normal(n * classes, 5, 1.0);
            let (xt, lse) = (tensor(&x, &[n, classes]), tensor(&vec![0.0; n], &[n]));
            let dt = tensor(&dlse, &[n]);
            let dx = tensor(&vec![0.0; n * classes], &[n, classes]);
            let acc = tensor(&prior, &[n, classes]);
            let g = gpu();
            run(&[
                logsumexp::forward(g, &xt, &lse).unwrap(),
                logsumexp::backward(g, &xt, &lse, &dt, &dx, false).unwrap(),
                logsumexp::backward(g, &xt, &lse, &dt, &acc, true).unwrap(),
            ]);
            let what = format!("{n}x{classes} at scale {scale}");
            let want = ref_lse::logsumexp(&f64s(&x), classes);
            let tol = LSE_ATOL * scale as f64;
            assert_close(
                &format!("lse {what}"),
                &lse.read(g).unwrap(),
                &want,
                tol,
                LSE_RTOL,
            );
            let want_dx = ref_lse::logsumexp_backward(&f64s(&x), &f64s(&dlse), classes);
            let got = dx.read(g).unwrap();
            let tol = 4.0 * LSE_ATOL * scale as f64;
            assert_close(&format!("dx {what}"), &got, &want_dx, tol, LSE_RTOL);
            let want_acc: Vec<f64> = want_dx
                .iter()
                .zip(&prior)
                .map(|(d, &p)| d + p as f64)
                .collect();
            let got = acc.read(g).unwrap();
            assert_close(&format!("dx += {what}"), &got, &want_acc, tol, LSE_RTOL);
        }
    }
}

#[test]
fn logsumexp_rejects_mismatched_shapes() {
    let g = gpu();
    let x = tensor(&[0.0; 12], &[4, 3]);
    let bad = tensor(&[0.0; 3], &[3]);
    assert!(matches!(
        logsumexp::forward(g, &x, &bad),
        Err(Error::Shape { .. })
    ));
    let lse = tensor(&[0.0; 4], &[4]);
    let dx = tensor(&[0.0; 11], &[11]);
    assert!(matches!(
        logsumexp::backward(g, &x, &lse, &lse, &dx, false),
        Err(Error::Shape { .. })
    ));
}

// Feature matching: the means are f32 sums of ≤ 300 values (≈ 1e-6 relative), the loss sums
// ≤ 300 squared differences: atol 1e-6 + rtol 1e-5 on both (lavapipe's worst: 3e-7 relative).
#[test]
fn feature_matching_matches_reference() {
    // (real rows, fake rows, features): batch 1, unequal batches, one feature, more features
    // than the loss kernel's 256 invocations.
    for (rr, fr, f) in [
        (1, 1, 1),
        (3, 5, 7),
        (100, 100, 250),
        (64, 17, 300),
        (2, 1, 513),
    ] {
        let real = normal(rr * f, (rr + f) as u64, 1.0);
        let fake = normal(fr * f, (fr * 3 + f) as u64, 1.3);
        let (rt, ft) = (tensor(&real, &[rr, f]), tensor(&fake, &[fr, f]));
        let grad = tensor(&vec![9.0; fr * f], &[fr, f]);
        let metrics = tensor(&[0.0; 3], &[3]);
        run(&feature_matching(gpu(), &rt, &ft, &grad, &metrics, 2).unwrap());
        let (r64, f64_) = (f64s(&real), f64s(&fake));
        let what = format!("{rr}/{fr}x{f}");
        let loss = ref_fm::feature_matching(&r64, &f64_, f);
        let m = metrics.read(gpu()).unwrap();
        assert_close(&format!("loss {what}"), &m[2..], &[loss], 1e-6, 1e-5);
        assert_eq!(&m[..2], &[0.0, 0.0], "other slots untouched");
        let want = ref_fm::feature_matching_backward(&r64, &f64_, f);
        assert_close(
            &format!("grad {what}"),
            &grad.read(gpu()).unwrap(),
            &want,
            1e-7,
            1e-5,
        );
    }
}

#[test]
fn feature_matching_rejects_bad_inputs() {
    let g = gpu();
    let real = tensor(&[0.0; 12], &[4, 3]);
    let fake = tensor(&[0.0; 8], &[2, 4]);
    let grad = tensor(&[0.0; 8], &[2, 4]);
    let metrics = tensor(&[0.0; 2], &[2]);
    let err = feature_matching(g, &real, &fake, &grad, &metrics, 0).err();
    assert!(matches!(err, Some(Error::Shape { .. })));
    let fake = tensor(&[0.0; 6], &[2, 3]);
    let err = feature_matching(g, &real, &fake, &grad, &metrics, 0).err();
    assert!(matches!(err, Some(Error::Shape { .. })));
    let grad = tensor(&[0.0; 6], &[2, 3]);
    let err = feature_matching(g, &real, &fake, &grad, &metrics, 2).err();
    assert!(matches!(err, Some(Error::Shape { .. })));
}

#[test]
fn gaussian_noise_adds_sigma_noise_in_training_only_and_passes_gradients() {
    let g = gpu();
    let (n, sigma) = (64 * 256, 0.5f32);
    let model = Sequential::new([256]).gaussian_noise(sigma);
    let net = Network::new(g, "noise", model, 1).unwrap();
    let x = normal(n, 3, 1.0);
    let xt = tensor(&x, &[64, 256]);
    let state = Tensor::zeros(g, &[4], "state").unwrap();
    let rng = RngSpec {
        seed: 9,
        stream: 2,
        clock: Clock::ITERATION,
    };
    let train = net.tape(g, &xt, Mode::Train, rng, &state).unwrap();
    let dy = normal(n, 4, 1.0);
    let dyt = tensor(&dy, &[64, 256]);
    let dx = tensor(&vec![0.0; n], &[64, 256]);
    let mut ks = train.forward().to_vec();
    ks.extend(
        train
            .backward(g, &dyt, ParamGrads::Write, Some(&dx))
            .unwrap(),
    );
    run(&ks);
    let y = train.output().read(g).unwrap();
    let d: Vec<f64> = y.iter().zip(&x).map(|(a, b)| (a - b) as f64).collect();
    let mean = d.iter().sum::<f64>() / n as f64;
    let std = (d.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
    // 16,384 draws: the mean's standard error is σ/128 ≈ 0.004, the std's ≈ 0.003.
    assert!(mean.abs() < 0.02, "noise mean {mean}");
    assert!((std - sigma as f64).abs() < 0.02, "noise std {std}");
    assert_eq!(
        dx.read(g).unwrap(),
        dy,
        "the gradient passes through unchanged"
    );
    let eval = net.tape(g, &xt, Mode::Eval, rng, &state).unwrap();
    run(eval.forward());
    assert_eq!(
        eval.output().read(g).unwrap(),
        x,
        "eval mode is the identity"
    );
}

#[test]
fn a_prefix_shares_its_networks_parameters() {
    let g = gpu();
    let model = Sequential::new([5]).linear(4).relu().linear(2);
    let net = Network::new(g, "net", model, 3).unwrap();
    let head = net.prefix(2).unwrap();
    assert_eq!(head.layers().len(), 2);
    let x = normal(5, 8, 1.0);
    let xt = tensor(&x, &[1, 5]);
    let state = Tensor::zeros(g, &[4], "state").unwrap();
    let rng = RngSpec {
        seed: 0,
        stream: 0,
        clock: Clock::ITERATION,
    };
    let full = net.tape(g, &xt, Mode::Eval, rng, &state).unwrap();
    let part = head.tape(g, &xt, Mode::Eval, rng, &state).unwrap();
    run(full.forward());
    run(part.forward());
    assert_eq!(
        part.output().read(g).unwrap(),
        full.layer_output(1).unwrap().read(g).unwrap()
    );
    assert!(matches!(net.prefix(0), Err(Error::Shape { .. })));
    let bad = Sequential::new([3]).gaussian_noise(-0.5);
    let err = Network::new(g, "noise", bad, 1).err().unwrap();
    assert!(err.to_string().contains("gaussian_noise"), "{err}");
    assert!(matches!(net.prefix(4), Err(Error::Shape { .. })));
}

#[test]
fn labelled_subsets_are_class_balanced_seeded_and_checked() {
    let (train, _) = idx::bundled().unwrap().split(9000).unwrap();
    let a = labelled_subset(&train, 5, 1).unwrap();
    assert_eq!(a.len(), 50);
    for class in 0..CLASSES as u8 {
        assert_eq!(a.labels.iter().filter(|&&l| l == class).count(), 5);
    }
    assert_eq!(
        a,
        labelled_subset(&train, 5, 1).unwrap(),
        "same seed, same digits"
    );
    assert_ne!(a.images, labelled_subset(&train, 5, 2).unwrap().images);
    assert!(matches!(
        labelled_subset(&train, 0, 1),
        Err(Error::Config(_))
    ));
    assert!(matches!(
        labelled_subset(&train, 5000, 1),
        Err(Error::Config(_))
    ));
}

/// A small semi-supervised setup: 20 labels, a narrow D, batch 20.
fn small(adversarial: bool) -> (SemiTrainer, idx::Digits) {
    let g = gpu();
    let (train, test) = idx::bundled().unwrap().split(9000).unwrap();
    let labelled = Dataset::from_digits(g, &labelled_subset(&train, 2, 4).unwrap(), (0.0, 1.0));
    let unlabelled = Dataset::from_digits(g, &train, (0.0, 1.0)).unwrap();
    let config = SemiConfig {
        batch: 20,
        hidden: vec![64, 32],
        adversarial,
        seed: 4,
        window: 10,
        ..SemiConfig::default()
    };
    let trainer = SemiTrainer::new(g, &labelled.unwrap(), &unlabelled, config).unwrap();
    (trainer, test)
}

#[test]
fn the_semi_supervised_trainer_learns_the_labels_and_trains_both_networks() {
    let (mut t, test) = small(true);
    let g = gpu();
    let d0 = t.discriminator().params().values.read(g).unwrap();
    let g0 = t.generator().unwrap().params().values.read(g).unwrap();
    let before = t.test_error(&test).unwrap();
    for _ in 0..30 {
        t.step().unwrap();
    }
    let f = t.recent().unwrap();
    assert!(f.labelled_loss.is_finite() && f.feature_matching.is_finite());
    assert!(f.feature_matching > 0.0, "G's loss is measured");
    assert!((0.0..=1.0).contains(&f.d_real) && (0.0..=1.0).contains(&f.d_fake));
    assert!(
        f.d_real > 0.0 && f.d_fake > 0.0,
        "both unsupervised halves ran"
    );
    // 20 labels seen 30 times each: the labelled batches are nearly memorised.
    assert!(
        f.labelled_accuracy > 0.8,
        "labelled accuracy {}",
        f.labelled_accuracy
    );
    let after = t.test_error(&test).unwrap();
    assert!(
        after < before && after < 0.6,
        "test error {before} → {after}"
    );
    assert_ne!(t.discriminator().params().values.read(g).unwrap(), d0);
    assert_ne!(t.generator().unwrap().params().values.read(g).unwrap(), g0);
    assert_eq!(t.predict(&test).unwrap().len(), test.len());
}

#[test]
fn the_baseline_trains_d_alone() {
    let (mut t, _) = small(false);
    assert!(t.generator().is_none());
    for _ in 0..5 {
        t.step().unwrap();
    }
    let f = t.recent().unwrap();
    assert!(f.labelled_loss > 0.0);
    assert_eq!((f.d_real, f.d_fake, f.feature_matching), (0.0, 0.0, 0.0));
}

#[test]
fn the_trainer_rejects_unlabelled_or_misshapen_data() {
    let g = gpu();
    let digits = idx::bundled().unwrap();
    let unlabelled = Dataset::from_digits(g, &digits, (0.0, 1.0)).unwrap();
    let no_labels = Dataset::from_bytes(g, &[0; 784 * 3], 3, &[1, 28, 28], (0.0, 1.0)).unwrap();
    let err = SemiTrainer::new(g, &no_labels, &unlabelled, SemiConfig::default());
    assert!(matches!(err, Err(Error::Config(_))));
    let small = Dataset::from_digits(g, &digits, (0.0, 1.0))
        .unwrap()
        .resized(14, 14)
        .unwrap();
    let err = SemiTrainer::new(g, &unlabelled, &small, SemiConfig::default());
    assert!(matches!(err, Err(Error::Shape { .. })));
    let config = SemiConfig {
        hidden: vec![],
        ..SemiConfig::default()
    };
    let err = SemiTrainer::new(g, &unlabelled, &unlabelled, config);
    assert!(matches!(err, Err(Error::Config(_))));
    assert_eq!(
        semisup::discriminator(&[8]).output_shape().unwrap(),
        vec![CLASSES]
    );
}
