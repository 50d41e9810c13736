//! The sample-quality metrics: Fréchet distance and Gaussian fit against closed forms, the
//! Inception-style score and coverage on probability sets with known answers, and the GPU
//! Parzen-window log-likelihood against its f64 reference, chunked and not.

mod common;

use common::*;
use counterfeit::eval::coverage::Coverage;
use counterfeit::eval::frechet::{frechet_distance, Gaussian};
use counterfeit::eval::parzen::{
    default_sigmas, log_likelihoods, log_likelihoods_in_chunks, parzen, parzen_in_chunks,
};
use counterfeit::eval::score::inception_score;
use counterfeit::reference;

fn gaussian(mean: &[f64], cov: &[f64]) -> Gaussian {
    Gaussian {
        mean: mean.to_vec(),
        cov: cov.to_vec(),
        dim: mean.len(),
        count: 100,
    }
}

fn diagonal(d: &[f64]) -> Vec<f64> {
    let n = d.len();
    let mut m = vec![0.0; n * n];
    for (i, &v) in d.iter().enumerate() {
        m[i * n + i] = v;
    }
    m
}

/// R·diag(d)·Rᵀ for the orthogonal R given row-major.
fn rotate(r: &[f64], d: &[f64]) -> Vec<f64> {
    let n = d.len();
    let mut m = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            m[i * n + j] = (0..n).map(|k| r[i * n + k] * d[k] * r[j * n + k]).sum();
        }
    }
    m
}

/// ‖Δμ‖² + Σ(√a_i − √b_i)²: the distance when both covariances share eigenvectors.
fn commuting_closed_form(ma: &[f64], mb: &[f64], a: &[f64], b: &[f64]) -> f64 {
    let mean: f64 = ma.iter().zip(mb).map(|(x, y)| (x - y) * (x - y)).sum();
    let cov: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x.sqrt() - y.sqrt()).powi(2))
        .sum();
    mean + cov
}

// The eigen-solver is backward stable: eigenvalues of these O(1..10)-sized matrices come out
// within ~1e-14 relative. 1e-10 relative leaves four orders of margin and still catches any
// wrong formula (which is off by O(1)).
const FRECHET_RTOL: f64 = 1e-10;

#[test]
fn gaussian_fit_matches_hand_computed_moments() {
    // Rows (1,2), (3,6), (5,7): mean (3,5); deviations (−2,−3), (0,1), (2,2);
    // unbiased cov = [[8, 10], [10, 14]] / 2. Every value is exact in binary, so equal.
    let g = Gaussian::fit(&[1.0, 2.0, 3.0, 6.0, 5.0, 7.0], 2).unwrap();
    assert_eq!(g.dim, 2);
    assert_eq!(g.count, 3);
    assert_eq!(g.mean, vec![3.0, 5.0]);
    assert_eq!(g.cov, vec![4.0, 5.0, 5.0, 7.0]);
}

#[test]
fn frechet_of_identical_sets_is_zero() {
    // Full-rank covariance (400 rows of 8) and a singular one (5 rows of 8, rank 4), where
    // Σa^½ Σb Σa^½ has zero eigenvalues that rounding may push slightly negative.
    for (rows, dim, tol) in [
        // tr Σ ≈ 8: cancellation of 2·tr((Σ²)^½) against 2·tr Σ leaves ~1e-14.
        (400, 8, 1e-9),
        // A zero eigenvalue μ perturbed by δ ~ 1e-15 gives √δ ~ 3e-8 per eigenvalue, four of
        // them, doubled: 1e-6 bounds it.
        (5, 8, 1e-6),
    ] {
        let f = normal(rows * dim, 3, 1.0);
        let g = Gaussian::fit(&f, dim).unwrap();
        let d = frechet_distance(&g, &g).unwrap();
        assert!(d.abs() <= tol, "rows {rows}: distance {d} > {tol}");
    }
}

#[test]
fn frechet_matches_closed_forms() {
    // Diagonal covariances.
    let (ma, mb) = ([0.5, -1.0, 2.0], [1.5, 0.0, -1.0]);
    let (a, b) = ([1.0, 4.0, 0.25], [9.0, 1.0, 0.25]);
    let d = frechet_distance(&gaussian(&ma, &diagonal(&a)), &gaussian(&mb, &diagonal(&b))).unwrap();
    let want = commuting_closed_form(&ma, &mb, &a, &b);
    // 11 + (1−3)² + (2−1)² + 0 = 16.
    assert_eq!(want, 16.0);
    assert!(
        (d - want).abs() <= FRECHET_RTOL * want,
        "diagonal: {d} vs {want}"
    );

    // Commuting, non-diagonal: both covariances share an orthonormal (rotated) eigenbasis.
    let (c, s) = (0.6f64, 0.8f64);
    let r = [c, -s, 0.0, s * 0.6, c * 0.6, -0.8, s * 0.8, c * 0.8, 0.6];
    let d = frechet_distance(
        &gaussian(&ma, &rotate(&r, &a)),
        &gaussian(&mb, &rotate(&r, &b)),
    )
    .unwrap();
    assert!(
        (d - want).abs() <= FRECHET_RTOL * want,
        "commuting: {d} vs {want}"
    );

    // 1-D: (μa − μb)² + (σa − σb)².
    let d = frechet_distance(&gaussian(&[1.0], &[4.0]), &gaussian(&[-2.0], &[0.25])).unwrap();
    let want = 9.0 + (2.0f64 - 0.5).powi(2);
    assert!(
        (d - want).abs() <= FRECHET_RTOL * want,
        "1-D: {d} vs {want}"
    );

    // Non-commuting 2×2: for a 2×2 PSD M, tr √M = √(tr M + 2√det M), and
    // M = Σa^½ Σb Σa^½ has tr M = tr(Σa Σb) and det M = det Σa · det Σb.
    let sa = [2.0, 1.0, 1.0, 3.0];
    let sb = [1.0, -0.5, -0.5, 2.0];
    let tr_ab = sa[0] * sb[0] + sa[1] * sb[2] + sa[2] * sb[1] + sa[3] * sb[3];
    let det = |m: &[f64]| m[0] * m[3] - m[1] * m[2];
    let cross = (tr_ab + 2.0 * (det(&sa) * det(&sb)).sqrt()).sqrt();
    let want = (sa[0] + sa[3]) + (sb[0] + sb[3]) - 2.0 * cross;
    let d = frechet_distance(&gaussian(&[0.0, 0.0], &sa), &gaussian(&[0.0, 0.0], &sb)).unwrap();
    assert!(
        (d - want).abs() <= FRECHET_RTOL * (sa[0] + sa[3] + sb[0] + sb[3]),
        "non-commuting 2×2: {d} vs {want}"
    );
}

#[test]
fn frechet_and_fit_reject_bad_input() {
    assert!(Gaussian::fit(&[1.0, 2.0], 2).is_err(), "one row");
    assert!(Gaussian::fit(&[1.0, 2.0, 3.0], 2).is_err(), "ragged");
    assert!(Gaussian::fit(&[1.0, 2.0], 0).is_err(), "dim 0");
    assert!(Gaussian::fit(&[], 2).is_err(), "empty");
    assert!(Gaussian::fit(&[1.0, f32::NAN, 3.0, 4.0], 2).is_err(), "NaN");
    let a = gaussian(&[0.0, 0.0], &diagonal(&[1.0, 1.0]));
    let b = gaussian(&[0.0], &[1.0]);
    assert!(frechet_distance(&a, &b).is_err(), "dimension mismatch");
    let mut bad = a.clone();
    bad.cov.pop();
    assert!(frechet_distance(&a, &bad).is_err(), "short covariance");
    bad = a.clone();
    bad.mean[0] = f64::INFINITY;
    assert!(frechet_distance(&a, &bad).is_err(), "infinite mean");
}

fn one_hot(n: usize, classes: usize, class_of: impl Fn(usize) -> usize) -> Vec<f32> {
    let mut p = vec![0.0; n * classes];
    for i in 0..n {
        p[i * classes + class_of(i)] = 1.0;
    }
    p
}

// The scores below are exp of sums of a few exact logs: exact to ~1e-15 relative; 1e-12.
const SCORE_TOL: f64 = 1e-12;

#[test]
fn one_class_scores_one_and_covers_one() {
    let probs = one_hot(30, 10, |_| 3);
    assert!((inception_score(&probs, 10).unwrap() - 1.0).abs() <= SCORE_TOL);
    let c = Coverage::from_probs(&probs, 10).unwrap();
    assert_eq!(c.covered, 1);
    assert_eq!(c.histogram[3], 30);
    assert_eq!(c.mean_confidence, 1.0);

    // Every row the same unconfident softmax: p(y|x) = p(y), KL 0, still 1.
    let row = [0.5f32, 0.25, 0.125, 0.125];
    let probs: Vec<f32> = row.iter().cycle().take(4 * 9).cloned().collect();
    assert!((inception_score(&probs, 4).unwrap() - 1.0).abs() <= SCORE_TOL);
    let c = Coverage::from_probs(&probs, 4).unwrap();
    assert_eq!(c.histogram, vec![9, 0, 0, 0]);
    assert_eq!(c.mean_confidence, 0.5);
}

#[test]
fn uniform_one_hot_scores_classes_and_covers_all() {
    let probs = one_hot(50, 10, |i| i % 10);
    let s = inception_score(&probs, 10).unwrap();
    assert!((s - 10.0).abs() <= 10.0 * SCORE_TOL, "score {s}");
    let c = Coverage::from_probs(&probs, 10).unwrap();
    assert_eq!(c.histogram, vec![5; 10]);
    assert_eq!(c.covered, 10);
    assert_eq!(c.mean_confidence, 1.0);

    // Half the share is the threshold: 20 samples over 4 classes need 2.5 → 3 each.
    let classes = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3];
    let probs = one_hot(20, 4, |i| classes[i]);
    let c = Coverage::from_probs(&probs, 4).unwrap();
    assert_eq!(c.histogram, vec![12, 3, 3, 2]);
    assert_eq!(c.covered, 3);
    // Two equal classes: exp(ln 2) = 2.
    let probs = one_hot(6, 3, |i| i % 2);
    assert!((inception_score(&probs, 3).unwrap() - 2.0).abs() <= 2.0 * SCORE_TOL);
}

#[test]
fn score_and_coverage_reject_bad_input() {
    let ok = [0.5f32, 0.5];
    for (probs, classes, what) in [
        (&ok[..], 0, "zero classes"),
        (&ok[..], 3, "ragged"),
        (&[][..], 2, "empty"),
        (&[1.5f32, -0.5][..], 2, "negative"),
        (&[f32::NAN, 1.0][..], 2, "NaN"),
        (&[2.0f32, 3.0][..], 2, "logits"),
    ] {
        assert!(inception_score(probs, classes).is_err(), "score: {what}");
        assert!(
            Coverage::from_probs(probs, classes).is_err(),
            "coverage: {what}"
        );
    }
}

/// The GPU log-likelihood's distance ‖x‖² + ‖s‖² − 2x·s carries the f32 GEMM's rounding,
/// at most ~dim·ε·max‖·‖² (dot product) plus ε·‖·‖² (norms, rounded once to f32); it is
/// scaled by 1/(2σ²) ≤ 50 for σ ≥ 0.1. Allow 8× that, plus 4ε of the f32 log-sum-exp.
fn parzen_tol(dim: usize, max_sq_norm: f64, ll: f64) -> f64 {
    let eps = f32::EPSILON as f64;
    50.0 * 8.0 * (dim as f64 + 1.0) * eps * max_sq_norm.max(1.0) + 4.0 * eps * ll.abs()
}

fn max_sq_norm(data: &[f32], dim: usize) -> f64 {
    data.chunks_exact(dim)
        .map(|r| r.iter().map(|&v| (v * v) as f64).sum::<f64>())
        .fold(0.0, f64::max)
}

#[test]
fn parzen_log_likelihoods_match_reference_chunked_or_not() {
    let gpu = gpu();
    let sigmas = default_sigmas();
    assert_eq!(sigmas.len(), 10);
    assert!((sigmas[0] - 0.1).abs() < 1e-15 && (sigmas[9] - 1.0).abs() < 1e-15);
    // dim 7 runs the general GEMM, dim 16 the vec4 one; 13 samples, 11 queries: odd sizes.
    for (n, q, dim) in [(13, 11, 7), (13, 11, 16), (1, 1, 3), (40, 5, 9)] {
        let samples = uniform(n * dim, 1 + dim as u64, 0.0, 1.0);
        let queries = uniform(q * dim, 100 + dim as u64, 0.0, 1.0);
        let whole = log_likelihoods(gpu, &samples, &queries, dim, &sigmas).unwrap();
        let norm = max_sq_norm(&samples, dim).max(max_sq_norm(&queries, dim));
        for (k, &sigma) in sigmas.iter().enumerate() {
            let want =
                reference::parzen::log_likelihood(&f64s(&samples), &f64s(&queries), dim, sigma);
            for (r, &w) in want.iter().enumerate() {
                let got = whole[r * sigmas.len() + k];
                let tol = parzen_tol(dim, norm, w);
                assert!(
                    (got - w).abs() <= tol,
                    "n {n} q {q} dim {dim} sigma {sigma}: row {r} got {got} want {w} (tol {tol:e})"
                );
            }
        }
        // Chunks of 1, 3 (a ragged last chunk) and more rows than there are: every product
        // element is the same sum in the same order whatever the chunk, so bit-identical.
        for chunk in [1, 3, 64] {
            let chunked =
                log_likelihoods_in_chunks(gpu, &samples, &queries, dim, &sigmas, Some(chunk))
                    .unwrap();
            assert_eq!(chunked, whole, "n {n} q {q} dim {dim} chunk {chunk}");
        }
    }
}

#[test]
fn parzen_of_one_sample_is_the_gaussian_normaliser() {
    let gpu = gpu();
    let dim = 5;
    let point = [0.1f32, 0.9, 0.5, 0.0, 1.0];
    let far = [0.6f32, 0.4, 0.5, 1.0, 0.0];
    let sigmas = [0.1, 0.3, 1.0];
    let mut queries = point.to_vec();
    queries.extend_from_slice(&far);
    let ll = log_likelihoods(gpu, &point, &queries, dim, &sigmas).unwrap();
    let d2: f64 = point
        .iter()
        .zip(&far)
        .map(|(&a, &b)| ((a - b) as f64).powi(2))
        .sum();
    let norm = max_sq_norm(&queries, dim);
    for (k, &s) in sigmas.iter().enumerate() {
        let normaliser = dim as f64 / 2.0 * (2.0 * std::f64::consts::PI * s * s).ln();
        // The query at the sample: distance 0 up to the GEMM's cancellation, clamped at 0.
        let tol = parzen_tol(dim, norm, normaliser);
        assert!(
            (ll[k] + normaliser).abs() <= tol,
            "sigma {s}: {} vs {}",
            ll[k],
            -normaliser
        );
        let want = -d2 / (2.0 * s * s) - normaliser;
        let got = ll[sigmas.len() + k];
        assert!(
            (got - want).abs() <= parzen_tol(dim, norm, want),
            "far, sigma {s}: {got} vs {want}"
        );
    }
}

#[test]
fn parzen_picks_the_best_validation_sigma() {
    let gpu = gpu();
    let dim = 6;
    // Samples, validation and test from one distribution: clusters around 4 centres with
    // spread 0.15, so the best bandwidth lies inside the grid, not at an end.
    let centres = uniform(4 * dim, 5, 0.2, 0.8);
    let draw = |rows: usize, seed: u64| -> Vec<f32> {
        let noise = normal(rows * dim, seed, 0.15);
        (0..rows * dim)
            .map(|i| centres[(i / dim % 4) * dim + i % dim] + noise[i])
            .collect()
    };
    let (samples, validation, test) = (draw(37, 11), draw(23, 12), draw(19, 13));
    // Unsorted, to check the choice is by value and reported in the order given.
    let mut sigmas = default_sigmas();
    sigmas.reverse();
    sigmas.swap(2, 7);
    let want_val: Vec<f64> = sigmas
        .iter()
        .map(|&s| {
            let ll = reference::parzen::log_likelihood(&f64s(&samples), &f64s(&validation), dim, s);
            ll.iter().sum::<f64>() / ll.len() as f64
        })
        .collect();
    let best = (0..sigmas.len())
        .max_by(|&a, &b| want_val[a].total_cmp(&want_val[b]))
        .unwrap();
    let sorted: Vec<usize> = {
        let mut ks: Vec<usize> = (0..sigmas.len()).collect();
        ks.sort_by(|&a, &b| sigmas[a].total_cmp(&sigmas[b]));
        ks
    };
    assert!(
        best != sorted[0] && best != sorted[9],
        "the test wants an interior optimum; got sigma {}",
        sigmas[best]
    );
    let norm = [&samples, &validation, &test]
        .iter()
        .map(|d| max_sq_norm(d, dim))
        .fold(0.0, f64::max);
    // The runner-up must trail by more than the GPU's error, or the choice would be luck.
    let runner_up = (0..sigmas.len())
        .filter(|&k| k != best)
        .map(|k| want_val[k])
        .fold(f64::NEG_INFINITY, f64::max);
    assert!(want_val[best] - runner_up > 10.0 * parzen_tol(dim, norm, want_val[best]));

    for chunk in [None, Some(4)] {
        let r = parzen_in_chunks(gpu, &samples, &validation, &test, dim, &sigmas, chunk).unwrap();
        assert_eq!(r.sigma, sigmas[best], "chunk {chunk:?}");
        assert_eq!(r.validation.len(), sigmas.len());
        for (k, &(s, m)) in r.validation.iter().enumerate() {
            assert_eq!(s, sigmas[k]);
            // A mean of values each within the tolerance is within it too.
            assert!(
                (m - want_val[k]).abs() <= parzen_tol(dim, norm, want_val[k]),
                "validation sigma {s}: {m} vs {}",
                want_val[k]
            );
        }
        let ll = reference::parzen::log_likelihood(&f64s(&samples), &f64s(&test), dim, r.sigma);
        let t = ll.len() as f64;
        let mean = ll.iter().sum::<f64>() / t;
        let std_err = (ll.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / t).sqrt() / t.sqrt();
        let tol = parzen_tol(dim, norm, mean);
        assert!(
            (r.mean - mean).abs() <= tol,
            "test mean {} vs {mean}",
            r.mean
        );
        // Deviations each off by at most 2·tol (value and mean): the std moves by ≤ 2·tol.
        assert!(
            (r.std_err - std_err).abs() <= 2.0 * tol / t.sqrt(),
            "std err {} vs {std_err}",
            r.std_err
        );
    }
    assert_eq!(
        parzen(gpu, &samples, &validation, &test, dim, &sigmas).unwrap(),
        parzen_in_chunks(gpu, &samples, &validation, &test, dim, &sigmas, Some(5)).unwrap(),
        "chunking changes nothing"
    );
}

#[test]
fn parzen_rejects_bad_input() {
    let gpu = gpu();
    let x = [0.5f32; 6];
    let s = [0.1, 1.0];
    // (samples, validation, test, dim, sigmas, what is wrong)
    type Case<'a> = (&'a [f32], &'a [f32], &'a [f32], usize, &'a [f64], &'a str);
    let cases: [Case; 10] = [
        (&x, &x, &x, 0, &s, "dim 0"),
        (&x, &x, &x, 4, &s, "ragged"),
        (&[], &x, &x, 3, &s, "no samples"),
        (&x, &[], &x, 3, &s, "no validation"),
        (&x, &x, &[], 3, &s, "no test"),
        (&x, &x, &x, 3, &[], "no sigma"),
        (&x, &x, &x, 3, &[0.1, 0.0], "sigma 0"),
        (&x, &x, &x, 3, &[-1.0], "negative sigma"),
        (&x, &x, &x, 3, &[f64::NAN], "NaN sigma"),
        (&[0.5, 0.5, f32::INFINITY], &x, &x, 3, &s, "infinite pixel"),
    ];
    for (samples, validation, test, dim, sigmas, what) in cases {
        assert!(
            parzen(gpu, samples, validation, test, dim, sigmas).is_err(),
            "{what}"
        );
    }
    assert!(
        log_likelihoods_in_chunks(gpu, &x, &x, 3, &s, Some(0)).is_err(),
        "chunk of 0 rows"
    );
}

/// Goodfellow et al.'s MNIST setting: 10,000 samples, 1,000 queries of 784 pixels, 10
/// sigmas. Timing only, on demand: `cargo test --release --test eval -- --ignored --nocapture`.
#[test]
#[ignore]
fn parzen_mnist_sized_timing() {
    let gpu = gpu();
    let dim = 784;
    let samples = uniform(10_000 * dim, 21, 0.0, 1.0);
    let queries = uniform(1_000 * dim, 22, 0.0, 1.0);
    let sigmas = default_sigmas();
    let start = std::time::Instant::now();
    let ll = log_likelihoods(gpu, &samples, &queries, dim, &sigmas).unwrap();
    let one = start.elapsed();
    let start = std::time::Instant::now();
    let r = parzen(gpu, &samples, &queries, &queries, dim, &sigmas).unwrap();
    let full = start.elapsed();
    eprintln!(
        "{}: 10,000 samples × 1,000 queries × 784: log_likelihoods at 10 sigmas {:.2} s; \
         parzen (1,000 validation + 1,000 test) {:.2} s; sigma {} mean {:.1} ± {:.2}",
        gpu.describe(),
        one.as_secs_f64(),
        full.as_secs_f64(),
        r.sigma,
        r.mean,
        r.std_err
    );
    // Spot-check three rows against the reference (the full reference takes minutes).
    let norm = max_sq_norm(&samples, dim).max(max_sq_norm(&queries, dim));
    for r in [0, 499, 999] {
        let want = reference::parzen::log_likelihood(
            &f64s(&samples),
            &f64s(&queries[r * dim..(r + 1) * dim]),
            dim,
            sigmas[0],
        )[0];
        let got = ll[r * sigmas.len()];
        assert!(
            (got - want).abs() <= parzen_tol(dim, norm, want),
            "row {r}: {got} vs {want}"
        );
    }
}
