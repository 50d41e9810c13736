//! The CPU reference (`counterfeit::reference`) checked against first principles: every
//! backward against central finite differences in f64, the optimisers against hand-derived
//! closed forms, and the data set's shuffle a bijection. The shaders are tested against this
//! reference, so it must be right on its own terms. (The CPU Philox it draws from is checked
//! against the Random123 known-answer vectors beside its code, in `src/philox.rs`.)
//!
//! Everything is deterministic: inputs come from the crate's own Philox (`counterfeit::philox`),
//! not from a random crate.

use counterfeit::philox::{draw, to_normal, to_unit};
use counterfeit::reference::dense::{
    activation, activation_backward, dropout, gemm, kept, linear, linear_backward, maxout,
    maxout_backward, sum_rows, Act,
};
use counterfeit::reference::loss::{bce_logits, bce_logits_backward};
use counterfeit::reference::optim::{adam, sgd, sgd_schedule};
use counterfeit::reference::shuffle::permute;

// Tolerances. Central differences (f(x+h) - f(x-h)) / 2h in f64 have two error sources:
// truncation, O(h²·f'''/6), about 1e-12 for the smooth functions here with h = 1e-6; and
// rounding, O(eps·|f|/h) ≈ 2.2e-16·|f| / 1e-6 ≈ 1e-10 relative to the size of the scalar loss.
// Both are several orders of magnitude below the bounds below, while any genuine mistake in a
// backward (a missing factor, a wrong transpose, a dropped term) is O(1) relative. So
// atol 1e-6 + rtol 1e-5 · |numeric| never flags rounding noise and always flags a real bug.
const H: f64 = 1e-6;
const ATOL: f64 = 1e-6;
const RTOL: f64 = 1e-5;

/// Central-difference gradient of the scalar `f` at `x`, one coordinate at a time.
fn numeric_grad(f: impl Fn(&[f64]) -> f64, x: &[f64], h: f64) -> Vec<f64> {
    let mut xp = x.to_vec();
    (0..x.len())
        .map(|i| {
            let orig = xp[i];
            xp[i] = orig + h;
            let fp = f(&xp);
            xp[i] = orig - h;
            let fm = f(&xp);
            xp[i] = orig;
            (fp - fm) / (2.0 * h)
        })
        .collect()
}

/// Asserts `|analytic - numeric| <= atol + rtol·|numeric|` elementwise; on failure prints the
/// first mismatches and the largest difference (as llm.c's gradient checks do), then panics.
fn assert_close(name: &str, analytic: &[f64], numeric: &[f64], atol: f64, rtol: f64) {
    assert_eq!(analytic.len(), numeric.len(), "{name}: length mismatch");
    let mut max_diff = 0.0f64;
    let mut max_at = 0;
    let mut bad = 0usize;
    for (i, (&a, &n)) in analytic.iter().zip(numeric).enumerate() {
        let d = (a - n).abs();
        if d > max_diff || d.is_nan() {
            max_diff = d;
            max_at = i;
        }
        if d.is_nan() || d > atol + rtol * n.abs() {
            if bad < 10 {
                eprintln!(
                    "{name}: MISMATCH at [{i}]: analytic {a:.12e} numeric {n:.12e} diff {d:.3e}"
                );
            }
            bad += 1;
        }
    }
    if bad > 0 {
        eprintln!(
            "{name}: {bad}/{} mismatches; max diff {max_diff:.3e} at [{max_at}] (atol {atol:e}, rtol {rtol:e})",
            analytic.len()
        );
        panic!("{name}: analytic gradient does not match finite differences");
    }
}

/// `n` deterministic standard normals for (`seed`, `stream`).
fn normals(seed: u64, stream: u32, n: usize) -> Vec<f64> {
    (0..n as u32)
        .map(|i| {
            let w = draw(seed, 0, stream, i);
            to_normal(w[0], w[1])
        })
        .collect()
}

/// `n` deterministic uniforms in [lo, hi) for (`seed`, `stream`).
fn uniforms(seed: u64, stream: u32, n: usize, lo: f64, hi: f64) -> Vec<f64> {
    (0..n as u32)
        .map(|i| lo + (hi - lo) * to_unit(draw(seed, 0, stream, i)[2]) as f64)
        .collect()
}

/// `Σ r_i · y_i`: reduces a vector output to a scalar so that dL/dy = r.
fn project(r: &[f64], y: &[f64]) -> f64 {
    assert_eq!(r.len(), y.len());
    r.iter().zip(y).map(|(a, b)| a * b).sum()
}

#[test]
fn numeric_grad_of_known_function() {
    // Sanity of the harness itself: f = Σ x_i³ has gradient 3x_i².
    let x = normals(1, 0, 9);
    let num = numeric_grad(|x| x.iter().map(|v| v * v * v).sum(), &x, H);
    let ana: Vec<f64> = x.iter().map(|v| 3.0 * v * v).collect();
    assert_close("cube", &ana, &num, ATOL, RTOL);
}

#[test]
fn linear_gradients_match_finite_differences() {
    let mut seed = 10;
    for batch in [1usize, 3] {
        for (inp, out) in [(7usize, 5usize), (1, 1), (33, 2)] {
            seed += 1;
            let x = normals(seed, 0, batch * inp);
            let w = normals(seed, 1, out * inp);
            let b = normals(seed, 2, out);
            let r = normals(seed, 3, batch * out);
            let (dx, dw, db) = linear_backward(&x, &w, &r, batch, inp, out);
            let tag = format!("linear batch {batch} in {inp} out {out}");

            let num_dx = numeric_grad(
                |x| project(&r, &linear(x, &w, Some(&b), batch, inp, out)),
                &x,
                H,
            );
            assert_close(&format!("{tag} dx"), &dx, &num_dx, ATOL, RTOL);
            let num_dw = numeric_grad(
                |w| project(&r, &linear(&x, w, Some(&b), batch, inp, out)),
                &w,
                H,
            );
            assert_close(&format!("{tag} dW"), &dw, &num_dw, ATOL, RTOL);
            let num_db = numeric_grad(
                |b| project(&r, &linear(&x, &w, Some(b), batch, inp, out)),
                &b,
                H,
            );
            assert_close(&format!("{tag} db"), &db, &num_db, ATOL, RTOL);

            // The bias-free forward differs from the biased one by exactly the broadcast bias.
            let y0 = linear(&x, &w, None, batch, inp, out);
            let y1 = linear(&x, &w, Some(&b), batch, inp, out);
            for (i, (a, c)) in y0.iter().zip(&y1).enumerate() {
                assert!(
                    (c - a - b[i % out]).abs() < 1e-12,
                    "{tag}: bias not broadcast at {i}"
                );
            }
        }
    }
}

#[test]
fn gemm_transposes_and_sum_rows_match_explicit_loops() {
    // linear covers (ta, tb) = (F, T), (F, F), (T, F); check all four against explicit transposes.
    let (m, n, k) = (4usize, 3usize, 5usize);
    let a = normals(20, 0, m * k); // [m, k]
    let b = normals(20, 1, k * n); // [k, n]
    let transpose = |x: &[f64], rows: usize, cols: usize| {
        let mut t = vec![0.0; x.len()];
        for i in 0..rows {
            for j in 0..cols {
                t[j * rows + i] = x[i * cols + j];
            }
        }
        t
    };
    let mut want = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            want[i * n + j] = (0..k).map(|l| a[i * k + l] * b[l * n + j]).sum();
        }
    }
    let at = transpose(&a, m, k); // [k, m]
    let bt = transpose(&b, k, n); // [n, k]
    for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
        let got = gemm(
            if ta { &at } else { &a },
            ta,
            if tb { &bt } else { &b },
            tb,
            m,
            n,
            k,
        );
        assert_close(&format!("gemm ta={ta} tb={tb}"), &got, &want, 1e-12, 1e-12);
    }
    let s = sum_rows(&a, m, k);
    let want_s: Vec<f64> = (0..k).map(|c| (0..m).map(|r| a[r * k + c]).sum()).collect();
    assert_close("sum_rows", &s, &want_s, 1e-12, 1e-12);
}

fn all_activations() -> [Act; 4] {
    [Act::Relu, Act::LeakyRelu(0.2), Act::Tanh, Act::Sigmoid]
}

fn check_activation(act: Act, x: &[f64], r: &[f64], atol: f64, tag: &str) {
    let ana = activation_backward(act, x, r);
    let num = numeric_grad(|x| project(r, &activation(act, x)), x, H);
    assert_close(
        &format!("{act:?} {tag} n={}", x.len()),
        &ana,
        &num,
        atol,
        RTOL,
    );
}

#[test]
fn activation_gradients_match_finite_differences() {
    for (ai, act) in all_activations().into_iter().enumerate() {
        for n in [1usize, 7, 33] {
            let seed = 100 + ai as u64 * 10 + n as u64;
            let mut x: Vec<f64> = normals(seed, 0, n).iter().map(|v| 2.0 * v).collect();
            // ReLU and LeakyReLU have a kink at 0 where the derivative is undefined (and the
            // central difference straddles it within h): keep every point >= 1e-3 away.
            for v in &mut x {
                if v.abs() < 1e-3 {
                    *v = if *v < 0.0 { -0.5 } else { 0.5 };
                }
            }
            let r = normals(seed, 1, n);
            check_activation(act, &x, &r, ATOL, "normal");
        }
        // Both sides of the kink are exercised explicitly.
        check_activation(
            act,
            &[-1.5, -1e-2, 1e-2, 1.5],
            &[0.3, -1.1, 0.7, 2.0],
            ATOL,
            "around 0",
        );
    }
}

#[test]
fn saturating_activation_gradients_at_large_magnitudes() {
    // At ±8 tanh' ≈ 4.5e-7 and sigmoid' ≈ 3.4e-4: with the default atol 1e-6 a backward that
    // returned 0 would still pass for tanh, so use atol 1e-9 here. Checking one value at a time
    // keeps |L| ≈ |r| ≲ 3, so the rounding error is ≈ 2.2e-16·3 / 1e-6 ≈ 7e-10 at worst, and the
    // truncation error h²·f'''/6 is ≈ 1e-18: both below 1e-9.
    let x = [-8.0, -6.5, 6.5, 8.0, -3.0, 3.0];
    let r = normals(200, 0, x.len());
    for act in [Act::Tanh, Act::Sigmoid] {
        for i in 0..x.len() {
            check_activation(act, &x[i..i + 1], &r[i..i + 1], 1e-9, "large");
        }
        let dx = activation_backward(act, &[8.0], &[1.0])[0];
        let want = match act {
            Act::Tanh => 1.0 / 8f64.cosh().powi(2),
            _ => (-8f64).exp() / (1.0 + (-8f64).exp()).powi(2),
        };
        // 1 - tanh²(8) cancels catastrophically: ≈ eps / 4.5e-7 ≈ 5e-10 relative error is expected.
        assert!(
            (dx - want).abs() <= 1e-8 * want,
            "{act:?}'(8) {dx:e} vs {want:e}"
        );
        assert!(dx > 0.0, "{act:?}'(8) must stay positive, got {dx:e}");
    }
}

/// Normals arranged so that within each group of `pieces` all values differ by more than 1e-2.
fn distinct_groups(seed: u64, n: usize, pieces: usize) -> Vec<f64> {
    let mut x = normals(seed, 0, n);
    for g in x.chunks_mut(pieces) {
        let mut idx: Vec<usize> = (0..g.len()).collect();
        idx.sort_by(|&a, &b| g[a].partial_cmp(&g[b]).unwrap());
        for w in 1..idx.len() {
            let (lo, hi) = (g[idx[w - 1]], g[idx[w]]);
            if hi - lo < 1e-2 {
                g[idx[w]] = lo + 1e-2 + (hi - lo);
            }
        }
    }
    x
}

#[test]
fn maxout_gradient_matches_finite_differences() {
    for pieces in [2usize, 5] {
        for groups in [1usize, 6] {
            let n = groups * pieces;
            let x = distinct_groups(300 + (pieces * 10 + groups) as u64, n, pieces);
            for g in x.chunks(pieces) {
                for i in 0..pieces {
                    for j in 0..i {
                        assert!((g[i] - g[j]).abs() > 1e-3, "maxout input has a near tie");
                    }
                }
            }
            let r = normals(301 + (pieces * 10 + groups) as u64, 1, groups);
            let ana = maxout_backward(&x, &r, pieces);
            let num = numeric_grad(|x| project(&r, &maxout(x, pieces)), &x, H);
            assert_close(
                &format!("maxout pieces {pieces} groups {groups}"),
                &ana,
                &num,
                ATOL,
                RTOL,
            );
        }
    }
}

#[test]
fn dropout_gradient_is_mask_over_keep() {
    for (keep, n) in [(0.5f32, 33usize), (0.8, 7), (1.0, 5)] {
        let mask: Vec<bool> = (0..n as u32).map(|i| kept(400, 3, 1, i, keep)).collect();
        if keep < 1.0 {
            assert!(
                mask.iter().any(|&m| m) && mask.iter().any(|&m| !m),
                "degenerate mask for keep {keep}"
            );
        }
        let x = normals(401, 0, n);
        let r = normals(401, 1, n);
        let keep = keep as f64;
        let ana: Vec<f64> = mask
            .iter()
            .zip(&r)
            .map(|(&m, &g)| if m { g / keep } else { 0.0 })
            .collect();
        let num = numeric_grad(|x| project(&r, &dropout(x, &mask, keep)), &x, H);
        assert_close(&format!("dropout keep {keep}"), &ana, &num, ATOL, RTOL);
    }
}

#[test]
fn bce_logits_gradient_matches_finite_differences() {
    for (ti, t) in [0.0f64, 1.0, 0.9].into_iter().enumerate() {
        for n in [1usize, 8, 33] {
            let mut x = uniforms(500 + ti as u64 * 10 + n as u64, 0, n, -5.0, 5.0);
            // One saturated logit each way (the two coincide when n = 1: +30 only).
            x[0] = 30.0;
            if n > 1 {
                x[n - 1] = -30.0;
            }
            let t = vec![t; n];
            let ana = bce_logits_backward(&x, &t);
            let num = numeric_grad(|x| bce_logits(x, &t), &x, H);
            assert_close(&format!("bce t={} n={n}", t[0]), &ana, &num, ATOL, RTOL);
        }
    }
    // Mixed targets in one batch.
    let x = uniforms(550, 0, 12, -5.0, 5.0);
    let t: Vec<f64> = (0..12).map(|i| [0.0, 1.0, 0.9][i % 3]).collect();
    let ana = bce_logits_backward(&x, &t);
    let num = numeric_grad(|x| bce_logits(x, &t), &x, H);
    assert_close("bce mixed targets", &ana, &num, ATOL, RTOL);
}

#[test]
fn bce_logits_forward_is_stable_for_extreme_logits() {
    let exact = |x: f64, t: f64| x.max(0.0) - x * t + (-x.abs()).exp().ln_1p();
    for x in [-100.0, -30.0, -5.0, -0.3, 0.0, 0.3, 5.0, 30.0, 100.0] {
        for t in [0.0, 1.0, 0.9] {
            let l = bce_logits(&[x], &[t]);
            assert!(l.is_finite(), "bce({x}, {t}) = {l}");
            assert!(
                (l - exact(x, t)).abs() <= 1e-12 * (1.0 + l.abs()),
                "bce({x}, {t}) = {l} vs {}",
                exact(x, t)
            );
            // Away from saturation, the naive -t·ln σ - (1-t)·ln(1-σ) agrees.
            if x.abs() <= 5.0 {
                let s = 1.0 / (1.0 + (-x).exp());
                let naive = -t * s.ln() - (1.0 - t) * (1.0 - s).ln();
                assert!(
                    (l - naive).abs() < 1e-12,
                    "bce({x}, {t}) = {l} vs naive {naive}"
                );
            }
            let g = bce_logits_backward(&[x], &[t])[0];
            assert!(
                g.is_finite() && (-1.0..=1.0).contains(&g),
                "bce'({x}, {t}) = {g}"
            );
        }
    }
    assert!((bce_logits(&[100.0], &[0.0]) - 100.0).abs() < 1e-12);
    assert!(bce_logits(&[100.0], &[1.0]).abs() < 1e-40);
    assert!((bce_logits(&[-100.0], &[1.0]) - 100.0).abs() < 1e-12);
    assert!(bce_logits(&[-100.0], &[0.0]).abs() < 1e-40);
    // The mean, not the sum.
    let two = bce_logits(&[100.0, -100.0], &[0.0, 0.0]);
    assert!(
        (two - 50.0).abs() < 1e-12,
        "mean of 100 and 0 is 50, got {two}"
    );
}

#[test]
fn adam_first_step_moves_by_lr_sign() {
    let (lr, b1, b2, eps) = (2e-4, 0.5, 0.999, 1e-8);
    let g = [3.0, -0.25, 1e-3, -40.0, 0.0];
    let p0 = [0.1, -0.2, 0.3, 0.0, 1.0];
    let mut p = p0;
    let (mut m, mut v) = ([0.0; 5], [0.0; 5]);
    adam(&mut p, &g, &mut m, &mut v, 1, lr, b1, b2, eps);
    // With m = v = 0: m̂ = g, v̂ = g², so the step is exactly lr·g / (|g| + eps) ≈ lr·sign(g).
    for i in 0..5 {
        let want = p0[i] - lr * g[i] / (g[i].abs() + eps);
        assert!(
            (p[i] - want).abs() < 1e-15,
            "adam step 1 [{i}]: {} vs {want}",
            p[i]
        );
        let sign_step = p0[i] - lr * if g[i] == 0.0 { 0.0 } else { g[i].signum() };
        assert!(
            (p[i] - sign_step).abs() <= lr * 1e-5,
            "adam step 1 [{i}] not ≈ -lr·sign(g)"
        );
        assert!((m[i] - (1.0 - b1) * g[i]).abs() < 1e-15);
        assert!((v[i] - (1.0 - b2) * g[i] * g[i]).abs() < 1e-12);
    }
    // Second step against the closed form of the bias-corrected moments.
    let g2 = [-1.0, 0.5, 2e-3, -40.0, 0.0];
    let p1 = p;
    adam(&mut p, &g2, &mut m, &mut v, 2, lr, b1, b2, eps);
    for i in 0..5 {
        let m2 = b1 * (1.0 - b1) * g[i] + (1.0 - b1) * g2[i];
        let v2 = b2 * (1.0 - b2) * g[i] * g[i] + (1.0 - b2) * g2[i] * g2[i];
        let mhat = m2 / (1.0 - b1 * b1);
        let vhat = v2 / (1.0 - b2 * b2);
        let want = p1[i] - lr * mhat / (vhat.sqrt() + eps);
        assert!(
            (p[i] - want).abs() < 1e-14,
            "adam step 2 [{i}]: {} vs {want}",
            p[i]
        );
    }
}

#[test]
fn sgd_momentum_two_steps_match_closed_form() {
    let (lr, mu) = (0.1, 0.5);
    let p0 = [1.0, -2.0, 0.5];
    let g1 = [0.3, -1.0, 2.0];
    let g2 = [-0.7, 0.4, 2.0];
    let mut p = p0;
    let mut vel = [0.0; 3];
    sgd(&mut p, &g1, &mut vel, lr, mu);
    for i in 0..3 {
        assert!((p[i] - (p0[i] - lr * g1[i])).abs() < 1e-15);
        assert!((vel[i] + lr * g1[i]).abs() < 1e-15);
    }
    sgd(&mut p, &g2, &mut vel, lr, mu);
    for i in 0..3 {
        // v2 = μ·(-lr·g1) - lr·g2; p2 = p0 - lr·g1 + v2 = p0 - lr·(1+μ)·g1 - lr·g2.
        let want = p0[i] - lr * (1.0 + mu) * g1[i] - lr * g2[i];
        assert!(
            (p[i] - want).abs() < 1e-15,
            "sgd step 2 [{i}]: {} vs {want}",
            p[i]
        );
        assert!((vel[i] - (-mu * lr * g1[i] - lr * g2[i])).abs() < 1e-15);
    }
}

#[test]
fn sgd_schedule_decays_and_ramps() {
    let (lr, decay, min_lr, mom0, mom1, start, end) = (0.1, 2.0, 0.01, 0.5, 0.7, 2u32, 6u32);
    let close = |a: f64, b: f64| (a - b).abs() < 1e-15;
    let expect = [
        (0, 0.1, 0.5),
        (1, 0.05, 0.5),
        (2, 0.025, 0.5),
        (3, 0.0125, 0.55),
        (4, 0.01, 0.6), // 0.00625 clamped to min_lr
        (5, 0.01, 0.65),
        (6, 0.01, 0.7),
        (100, 0.01, 0.7),
    ];
    for (t, want_lr, want_mom) in expect {
        let (r, m) = sgd_schedule(t, lr, decay, min_lr, mom0, mom1, start, end);
        assert!(close(r, want_lr), "t={t}: lr {r} vs {want_lr}");
        assert!(close(m, want_mom), "t={t}: momentum {m} vs {want_mom}");
    }
    // A realistic slow decay: lr / 1.000004^t.
    let (r, _) = sgd_schedule(250_000, 0.1, 1.000004, 1e-6, 0.5, 0.7, 0, 250);
    // (powi of a large exponent is not correctly rounded, and a constant-folded powi may differ
    // from the runtime one in the last bits, so compare with exp(t·ln decay) to 1e-9 relative.)
    let want = 0.1 * (-250_000.0 * 1.000004f64.ln()).exp();
    assert!((r - want).abs() <= 1e-9 * want, "slow decay: {r} vs {want}");
    // A step ramp (end == start): mom0 before, mom1 from start on.
    assert!(close(
        sgd_schedule(4, lr, 1.0, min_lr, mom0, mom1, 5, 5).1,
        mom0
    ));
    assert!(close(
        sgd_schedule(5, lr, 1.0, min_lr, mom0, mom1, 5, 5).1,
        mom1
    ));
    assert!(close(
        sgd_schedule(9, lr, 1.0, min_lr, mom0, mom1, 5, 5).1,
        mom1
    ));
}

#[test]
fn permute_is_bijection_and_varies_by_epoch() {
    for count in [1u32, 2, 7, 100, 1000, 10000] {
        for seed in [0u64, 0xdead_beef_cafe_f00d] {
            let mut orders = Vec::new();
            for epoch in 0..3u32 {
                let mut seen = vec![false; count as usize];
                let order: Vec<u32> = (0..count).map(|r| permute(r, count, seed, epoch)).collect();
                for (r, &v) in order.iter().enumerate() {
                    assert!(
                        v < count,
                        "permute({r}, {count}, {seed}, {epoch}) = {v} out of range"
                    );
                    assert!(
                        !seen[v as usize],
                        "permute count {count} seed {seed} epoch {epoch}: {v} repeated"
                    );
                    seen[v as usize] = true;
                }
                orders.push(order);
            }
            if count >= 7 {
                assert_ne!(
                    orders[0], orders[1],
                    "count {count} seed {seed}: epochs 0 and 1 give the same order"
                );
                assert_ne!(
                    orders[1], orders[2],
                    "count {count} seed {seed}: epochs 1 and 2 give the same order"
                );
                let identity: Vec<u32> = (0..count).collect();
                assert_ne!(
                    orders[0], identity,
                    "count {count} seed {seed}: epoch 0 is the identity"
                );
            }
        }
    }
}

#[test]
fn softmax_ce_gradient_matches_finite_differences() {
    use counterfeit::reference::softmax::{softmax, softmax_ce, softmax_ce_backward};
    // The backward is built from `softmax` while the loss uses its own log-sum-exp, so this
    // also checks the softmax itself (it is the gradient of log Σ exp).
    for (n, classes) in [(1usize, 1usize), (1, 3), (4, 10), (3, 37)] {
        let seed = 400 + (n * 100 + classes) as u64;
        let x: Vec<f64> = normals(seed, 0, n * classes)
            .iter()
            .map(|v| 3.0 * v)
            .collect();
        // Labels at both ends, and one out of range (its row has no loss and no gradient).
        let mut labels: Vec<u32> = (0..n as u32).map(|i| (i * 7) % classes as u32).collect();
        labels[n - 1] = classes as u32 - 1;
        if n > 2 {
            labels[1] = classes as u32;
        }
        let ana = softmax_ce_backward(&x, &labels, classes);
        let num = numeric_grad(|x| softmax_ce(x, &labels, classes), &x, H);
        assert_close(&format!("softmax_ce {n}x{classes}"), &ana, &num, ATOL, RTOL);
        if n > 2 {
            assert!(ana[classes..2 * classes].iter().all(|&g| g == 0.0));
        }
        for row in softmax(&x, classes).chunks(classes) {
            assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
    }
}

#[test]
fn softmax_ce_is_stable_for_extreme_logits() {
    use counterfeit::reference::softmax::{accuracy, softmax, softmax_ce, softmax_ce_backward};
    // Closed forms: with logits (a, −a) the loss of label 0 is log(1 + e^(−2a)) and of label 1
    // is 2a + log(1 + e^(−2a)); a naive exp overflows at a ≈ 710.
    for a in [100.0f64, 1e3, 1e4, 1e30] {
        let x = [a, -a];
        let l0 = softmax_ce(&x, &[0], 2);
        let l1 = softmax_ce(&x, &[1], 2);
        assert!(
            l0.is_finite() && l0.abs() < 1e-80,
            "ce({a}, label 0) = {l0}"
        );
        assert!((l1 - 2.0 * a).abs() <= 1e-12 * a, "ce({a}, label 1) = {l1}");
        let p = softmax(&x, 2);
        assert!(p[0] == 1.0 && p[1] < 1e-80, "softmax({a}, {}) = {p:?}", -a);
        let g = softmax_ce_backward(&x, &[1], 2);
        assert_eq!(g, vec![1.0, -1.0]);
    }
    // Equal logits: loss log(classes), and the arg-max tie goes to the first class.
    let x = [5.0; 4];
    assert!((softmax_ce(&x, &[2], 4) - 4f64.ln()).abs() < 1e-15);
    assert_eq!(accuracy(&x, &[0], 4), 1.0);
    assert_eq!(accuracy(&x, &[3], 4), 0.0);
    // An out-of-range label adds nothing but still counts in the mean's n.
    let x = [1.0, 2.0, 3.0, 0.0, 0.0, 9.0];
    let both = softmax_ce(&x, &[2, 3], 3);
    assert!((both - softmax_ce(&x[..3], &[2], 3) / 2.0).abs() < 1e-15);
    assert_eq!(accuracy(&x, &[2, 3], 3), 0.5);
}

#[test]
fn minibatch_std_gradient_matches_finite_differences() {
    use counterfeit::reference::layout::Layout;
    use counterfeit::reference::minibatch_std::{backward, column_stats, feature, forward, output};
    // ProGAN's eps; the inputs' variances are O(1), so sqrt(var + eps) is smooth here and the
    // bounds above apply. (batch, channels, spatial): image-shaped, dense [N, F], batch 2
    // (var = (a − b)²/4) and batch 1, where every variance is 0 and dx = dy[:, :C].
    let eps = 1e-8;
    for (k, &(batch, channels, spatial)) in [(3, 2, 5), (4, 3, 1), (2, 2, 6), (1, 3, 4)]
        .iter()
        .enumerate()
    {
        let g = Layout::new(batch, channels, spatial);
        let seed = 500 + k as u64;
        let x: Vec<f64> = normals(seed, 0, g.len())
            .iter()
            .map(|v| 1.5 * v + 0.5)
            .collect();
        let r = normals(seed, 1, output(&g).len());
        let ana = backward(&x, &r, &g, eps);
        let num = numeric_grad(|x| project(&r, &forward(x, &g, eps)), &x, H);
        let tag = format!("minibatch std {g:?}");
        assert_close(&tag, &ana, &num, ATOL, RTOL);

        // The forward on its own terms: the channels copied, then s = mean_j σ_j everywhere.
        let y = forward(&x, &g, eps);
        let (kc, row) = (channels * spatial, (channels + 1) * spatial);
        let s = feature(&x, &g, eps);
        for n in 0..batch {
            assert_eq!(&y[n * row..n * row + kc], &x[n * kc..(n + 1) * kc]);
            assert!(y[n * row + kc..(n + 1) * row].iter().all(|&v| v == s));
        }
        let (_, sigma) = column_stats(&x, &g, eps);
        if batch == 1 {
            assert!((s - eps.sqrt()).abs() < 1e-18, "{tag}: s {s}");
            for n in 0..batch {
                assert_eq!(&ana[n * kc..(n + 1) * kc], &r[n * row..n * row + kc]);
            }
        } else {
            // σ_j by hand from the definition, one column.
            let col: Vec<f64> = (0..batch).map(|n| x[n * kc + 1]).collect();
            let m = col.iter().sum::<f64>() / batch as f64;
            let v = col.iter().map(|c| (c - m).powi(2)).sum::<f64>() / batch as f64;
            assert!((sigma[1] - (v + eps).sqrt()).abs() < 1e-14, "{tag}: σ_1");
        }
    }
}

#[test]
fn minibatch_std_tangent_and_curvature_match_finite_differences() {
    use counterfeit::reference::layout::Layout;
    use counterfeit::reference::minibatch_std::{curvature, forward, output, tangent};
    let eps = 1e-8;
    for (k, &(batch, channels, spatial)) in [(3, 2, 5), (4, 3, 1), (2, 2, 6), (1, 3, 4)]
        .iter()
        .enumerate()
    {
        let g = Layout::new(batch, channels, spatial);
        let seed = 520 + k as u64;
        let x: Vec<f64> = normals(seed, 0, g.len())
            .iter()
            .map(|v| 1.5 * v + 0.5)
            .collect();
        let xdot = normals(seed, 1, g.len());
        let r = normals(seed, 2, output(&g).len());
        let tag = format!("minibatch std {g:?}");
        // The tangent is the directional derivative of the forward along xdot.
        let along = |t: f64| -> Vec<f64> {
            let moved: Vec<f64> = x.iter().zip(&xdot).map(|(a, d)| a + t * d).collect();
            forward(&moved, &g, eps)
        };
        let (plus, minus) = (along(H), along(-H));
        let num: Vec<f64> = plus
            .iter()
            .zip(&minus)
            .map(|(p, m)| (p - m) / (2.0 * H))
            .collect();
        assert_close(
            &format!("{tag} tangent"),
            &tangent(&x, &xdot, &g, eps),
            &num,
            ATOL,
            RTOL,
        );
        // The curvature is the gradient of ⟨r, ẏ⟩ in x at fixed xdot.
        let ana = curvature(&x, &xdot, &r, &g, eps);
        let num = numeric_grad(|x| project(&r, &tangent(x, &xdot, &g, eps)), &x, H);
        assert_close(&format!("{tag} curvature"), &ana, &num, ATOL, RTOL);
        // With 2 samples σ_j = |a − b|/2 is piecewise linear and the curvature vanishes
        // (up to eps); with 1 it is 0 outright.
        if batch > 2 {
            assert!(
                ana.iter().any(|v| v.abs() > 1e-3),
                "{tag}: curvature is not trivially 0"
            );
        }
    }
}

#[test]
fn logsumexp_gradient_matches_finite_differences() {
    use counterfeit::reference::logsumexp::{logsumexp, logsumexp_backward};
    // A scalar loss Σ_i w_i · lse_i with distinct weights checks every row's chain.
    for (n, classes) in [(1usize, 1usize), (1, 10), (3, 7), (5, 11)] {
        let x: Vec<f64> = normals(500 + (n * 100 + classes) as u64, 0, n * classes)
            .iter()
            .map(|v| 4.0 * v)
            .collect();
        let w: Vec<f64> = (0..n).map(|i| 0.5 + i as f64 * 0.75).collect();
        let loss = |x: &[f64]| -> f64 {
            logsumexp(x, classes)
                .iter()
                .zip(&w)
                .map(|(l, w)| l * w)
                .sum()
        };
        let ana = logsumexp_backward(&x, &w, classes);
        let num = numeric_grad(loss, &x, H);
        assert_close(&format!("logsumexp {n}x{classes}"), &ana, &num, ATOL, RTOL);
    }
    // Stable at extremes: lse(a, a) = a + log 2 for huge a, and one class is the identity.
    let big = logsumexp(&[1e30, 1e30, -1e30], 3)[0];
    assert_eq!(big, 1e30);
    assert!((logsumexp(&[800.0, 800.0], 2)[0] - (800.0 + 2f64.ln())).abs() < 1e-12);
    assert_eq!(logsumexp(&[-3.5], 1), vec![-3.5]);
}

#[test]
fn feature_matching_gradient_matches_finite_differences() {
    use counterfeit::reference::feature_matching::{feature_matching, feature_matching_backward};
    // Real and fake batches of different sizes; one feature; one fake row.
    for (real_rows, fake_rows, features) in [(3usize, 2usize, 5usize), (1, 1, 1), (4, 1, 3)] {
        let seed = 600 + (real_rows * 100 + fake_rows * 10 + features) as u64;
        let real = normals(seed, 0, real_rows * features);
        let fake = normals(seed, 1, fake_rows * features);
        let ana = feature_matching_backward(&real, &fake, features);
        let num = numeric_grad(|f| feature_matching(&real, f, features), &fake, H);
        let what = format!("feature matching {real_rows}/{fake_rows}x{features}");
        assert_close(&what, &ana, &num, ATOL, RTOL);
    }
    // Equal means give zero loss and zero gradient, whatever the spread.
    let real = [1.0, 2.0, 3.0, 4.0];
    let fake = [2.0, 3.0, 2.0, 3.0];
    assert_eq!(feature_matching(&real, &fake, 2), 0.0);
    assert!(feature_matching_backward(&real, &fake, 2)
        .iter()
        .all(|&g| g == 0.0));
}
