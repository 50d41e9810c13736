//! Batch normalisation and channel concatenation: the f64 reference against central finite
//! differences, every kernel against the reference on awkward shapes and magnitudes,
//! run-to-run bit identity, and shape errors.

mod checks;
mod common;

use std::time::Instant;

use checks::batchnorm::*;
use common::*;
use counterfeit::gpu::Kernel;
use counterfeit::ops::batchnorm::{self, BnGeom};
use counterfeit::ops::concat;
use counterfeit::reference::batchnorm as rbn;
use counterfeit::reference::layout::Layout;
use counterfeit::{Error, Tensor};

fn t(data: &[f32]) -> Tensor {
    Tensor::from_slice(gpu(), data, &[data.len()], "t").unwrap()
}

fn zeros(n: usize) -> Tensor {
    t(&vec![0.0; n])
}

// ---------------------------------------------------------------------------------------
// (a) The reference backward against central finite differences, all in f64.
//
// Tolerance: with h = 1e-6 the truncation error h²·f'''/6 is about 1e-12 and the rounding
// error about 2.2e-16·|L|/h ≈ 1e-9 for the projected losses here (|L| ≲ 10): atol 1e-6 +
// rtol 1e-5 never flags them, while a wrong term in the backward (a missing Σdy or
// x̂·Σdy·x̂, biased vs unbiased variance, a wrong M) is off by O(1).

const H: f64 = 1e-6;

fn assert_close64(what: &str, got: &[f64], want: &[f64], atol: f64, rtol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let d = (g - w).abs();
        assert!(
            d <= atol + rtol * w.abs(),
            "{what}: [{i}] analytic {g:e} numeric {w:e} (diff {d:.3e})"
        );
    }
}

/// `Σ r_i·y_i`, so that dL/dy = r.
fn project(r: &[f64], y: &[f64]) -> f64 {
    r.iter().zip(y).map(|(a, b)| a * b).sum()
}

#[test]
fn reference_backward_matches_finite_differences() {
    let eps = EPS as f64;
    // (batch, channels, spatial): BN2d over one sample's 5×7 positions, BN1d over a batch of
    // 3, and BN2d over 2 samples of 13×13.
    for (k, &(batch, channels, spatial)) in [(1, 2, 35), (3, 7, 1), (2, 3, 169)].iter().enumerate()
    {
        let g = Layout::new(batch, channels, spatial);
        let seed = 10 + k as u64;
        let x = f64s(&normal(g.len(), seed, 1.5));
        let gamma: Vec<f64> = normal(channels, seed + 1, 0.5)
            .iter()
            .map(|&v| 1.0 + v as f64)
            .collect();
        let beta = f64s(&normal(channels, seed + 2, 1.0));
        let r = f64s(&normal(g.len(), seed + 3, 1.0));
        let (dx, dgamma, dbeta) = rbn::backward(&x, &r, &gamma, &g, eps);
        let tag = format!("{g:?}");
        let num_dx = numeric_grad(
            |x| project(&r, &rbn::forward(x, &gamma, &beta, &g, eps).0),
            &x,
            H,
        );
        assert_close64(&format!("{tag} dx"), &dx, &num_dx, 1e-6, 1e-5);
        let num_dg = numeric_grad(
            |gm| project(&r, &rbn::forward(&x, gm, &beta, &g, eps).0),
            &gamma,
            H,
        );
        assert_close64(&format!("{tag} dgamma"), &dgamma, &num_dg, 1e-6, 1e-5);
        let num_db = numeric_grad(
            |b| project(&r, &rbn::forward(&x, &gamma, b, &g, eps).0),
            &beta,
            H,
        );
        assert_close64(&format!("{tag} dbeta"), &dbeta, &num_db, 1e-6, 1e-5);
        // The mean is subtracted, so Σdx = 0 in every channel.
        let mut sums = vec![0.0; channels];
        for (i, v) in dx.iter().enumerate() {
            sums[chan(&g, i)] += v;
        }
        assert!(
            sums.iter().all(|s| s.abs() < 1e-10),
            "{tag}: Σdx per channel {sums:?}"
        );
    }

    // The forward on its own terms: each channel of y has mean β and biased variance
    // γ²·var/(var + eps).
    let g = Layout::new(2, 3, 169);
    let x: Vec<f64> = normal(g.len(), 5, 3.0)
        .iter()
        .map(|&v| v as f64 + 7.0)
        .collect();
    let (gamma, beta) = ([0.5, 1.0, 2.0], [1.0, -2.0, 0.0]);
    let (y, mean, var) = rbn::forward(&x, &gamma, &beta, &g, eps);
    let (ym, yv) = rbn::moments(&y, &g);
    for c in 0..3 {
        assert!((ym[c] - beta[c]).abs() < 1e-12, "mean of y {}", ym[c]);
        let want = gamma[c] * gamma[c] * var[c] / (var[c] + eps);
        assert!(
            (yv[c] - want).abs() < 1e-12,
            "var of y {} want {want}",
            yv[c]
        );
        assert!((mean[c] - 7.0).abs() < 1.0, "mean {}", mean[c]);
        assert!((var[c] - 9.0).abs() < 3.0, "var {}", var[c]);
    }
    // Running update: PyTorch's numbers for one step of momentum 0.1 over m = 4 values.
    let (mut rm, mut rv) = (vec![0.0, 1.0], vec![1.0, 2.0]);
    rbn::running_update(&mut rm, &mut rv, &[2.0, 3.0], &[3.0, 0.5], 4, 0.1);
    assert_close64("running mean", &rm, &[0.2, 1.2], 1e-15, 0.0);
    assert_close64(
        "running var",
        &rv,
        &[0.9 + 0.1 * 4.0, 1.8 + 0.1 * 0.5 * 4.0 / 3.0],
        1e-15,
        0.0,
    );
    // m = 1: the variance (0) is used as is.
    rbn::running_update(&mut rm, &mut rv, &[1.0, 1.0], &[0.0, 0.0], 1, 0.5);
    assert_close64(
        "running var m=1",
        &rv,
        &[0.65, 0.5 * (1.8 + 0.2 / 3.0)],
        1e-15,
        0.0,
    );
    // Eval with running stats equal to the batch stats is the training forward.
    let ye = rbn::eval_forward(&x, &gamma, &beta, &mean, &var, &g, eps);
    assert_close64("eval = train", &ye, &y, 1e-12, 0.0);
}

// ---------------------------------------------------------------------------------------
// (b) GPU against the reference.
//
// Every comparison runs under each kernel plan (layout and workgroup size): the one the
// adapter picks and those a GPU would pick (see `Plan` in src/ops/batchnorm.rs), forced, so
// a CPU adapter tests them all.
//
// Tolerances come from an error model of f32 batch norm rather than one number for all.
// What limits any f32 implementation (PyTorch's included) is x̂ = (x − mean)·rstd with
// `mean` stored in f32: its rounding alone is up to 2⁻²⁴·|mean|, that is 2⁻²⁴·|mean|·rstd
// standard deviations (3.8e-4 for inputs of 100 ± 0.01, 1e-8 for N(0,1)). The sums are
// two-level: a value passes through at most batch + spatial (one invocation per channel) or
// batch + ⌈spatial/WG⌉ + log2(WG) (a workgroup per channel) f32 additions, ≤ 2 + 169 = 171
// here, and recursive summation errs by at most that many 2⁻²⁴ relative to Σ|terms|
// (≤ 1.02e-5), so SUM_REL = 2e-5. Per channel the x̂ error is then at most
//     e_c = 2⁻²³·|mean_c|·rstd_c + SUM_REL        (2× headroom on the rounding)
// and each output is bounded by propagating e_c (and SUM_REL for sums) through its formula,
// below. A one-pass variance (E[x²] − E[x]² = 10000.0001 − 10000 in f32) gets rstd wrong by
// O(1) at mean 100, hundreds of times these bounds; on N(0,1) they are ~2e-5 relative.

/// Kernel plans as (workgroup size, one invocation per channel); `None` is the adapter's.
const PLANS: [Option<(u32, bool)>; 5] = [
    None,
    Some((8, false)),
    Some((64, false)),
    Some((256, false)),
    Some((64, true)),
];

fn with_plan<T>(plan: Option<(u32, bool)>, f: impl FnOnce() -> T) -> T {
    match plan {
        Some((wg, cols)) => batchnorm::with_plan(wg, cols, f),
        None => f(),
    }
}

/// (batch, channels, spatial): every channel count of 1, 3, 33, 128, every spatial size of
/// 1, 35 (5×7), 169 (13×13), 49 (7×7) and every batch of 1, 2, 64, including M = 1.
const CASES: [(usize, usize, usize); 9] = [
    (1, 1, 1),
    (1, 3, 35),
    (2, 33, 169),
    (64, 128, 49),
    (64, 128, 1),
    (2, 1, 169),
    (64, 3, 35),
    (64, 33, 1),
    (2, 128, 49),
];

#[test]
fn training_forward_eval_and_backward_match_reference() {
    for plan in PLANS {
        with_plan(plan, || block_on(against_reference(gpu(), plan, &CASES)));
    }
}

/// Channels of more values than llvmpipe lets one invocation loop over (65,535 iterations;
/// see `Gpu::loop_limit`): the adapter's own plan must spread them over a workgroup. Before
/// it did, rows past the limit were left unwritten and the statistics were partial.
#[test]
fn channels_longer_than_the_cpu_loop_limit_match_reference() {
    block_on(against_reference(
        gpu(),
        None,
        &[(100, 2, 784), (90, 1, 1000)],
    ));
}

#[test]
fn backward_outputs_are_optional_and_accumulate() {
    for plan in PLANS {
        with_plan(plan, || backward_options(plan));
    }
}

fn backward_options(plan: Option<(u32, bool)>) {
    let gpu = gpu();
    for (k, &(batch, channels, spatial)) in
        [(2, 33, 169), (64, 128, 1), (1, 1, 1)].iter().enumerate()
    {
        let (g, r) = shapes(batch, channels, spatial);
        let seed = 500 + 10 * k as u64;
        let p = problem(g.len(), channels, seed, Magnitude::Unit);
        let dy = normal(g.len(), seed + 3, 1.0);
        let (xt, gt, bt, dyt) = (t(&p.x), t(&p.gamma), t(&p.beta), t(&dy));
        let (yt, st, rmt, rvt) = (
            zeros(g.len()),
            zeros(2 * channels),
            zeros(channels),
            zeros(channels),
        );
        run(
            gpu,
            &batchnorm::train_forward(gpu, &g, &xt, &gt, &bt, &yt, &st, &rmt, &rvt, MOMENTUM, EPS)
                .unwrap(),
        );
        let ((dx, dgamma, dbeta), (bx, bg, bb)) = backward_want(&r, &p.x, &dy, &p.gamma);
        let dx0 = normal(g.len(), seed + 4, 1.0);
        let dg0 = normal(channels, seed + 5, 1.0);
        let db0 = normal(channels, seed + 6, 1.0);
        let plus = |a: &[f64], b: &[f32]| {
            a.iter()
                .zip(b)
                .map(|(x, y)| x + *y as f64)
                .collect::<Vec<_>>()
        };
        // The bounds widen by the rounding of the sum.
        let widen = |bound: &[f64], want: &[f64]| {
            bound
                .iter()
                .zip(want)
                .map(|(b, w)| b + TWO_M23 * w.abs())
                .collect::<Vec<_>>()
        };
        let tag = format!("{g:?} plan {plan:?}");

        // dx alone, written over old contents; the parameter gradients are left alone.
        let (dxt, dgt, dbt) = (t(&dx0), t(&dg0), t(&db0));
        run(
            gpu,
            &batchnorm::backward(gpu, &g, &xt, &dyt, &gt, &st, Some(&dxt), None, true).unwrap(),
        );
        check(&format!("{tag} dx only"), &dxt.read(gpu).unwrap(), &dx, &bx);
        assert_eq!(dgt.read(gpu).unwrap(), dg0, "{tag}: dgamma touched");
        assert_eq!(dbt.read(gpu).unwrap(), db0, "{tag}: dbeta touched");

        // Parameter gradients alone, accumulated; dx untouched.
        let (dxt, dgt, dbt) = (t(&dx0), t(&dg0), t(&db0));
        run(
            gpu,
            &batchnorm::backward(gpu, &g, &xt, &dyt, &gt, &st, None, Some((&dgt, &dbt)), true)
                .unwrap(),
        );
        assert_eq!(dxt.read(gpu).unwrap(), dx0, "{tag}: dx touched");
        let (wg, wb) = (plus(&dgamma, &dg0), plus(&dbeta, &db0));
        check(
            &format!("{tag} dgamma accumulated"),
            &dgt.read(gpu).unwrap(),
            &wg,
            &widen(&bg, &wg),
        );
        check(
            &format!("{tag} dbeta accumulated"),
            &dbt.read(gpu).unwrap(),
            &wb,
            &widen(&bb, &wb),
        );

        // Parameter gradients written (not accumulated) over old contents.
        run(
            gpu,
            &batchnorm::backward(
                gpu,
                &g,
                &xt,
                &dyt,
                &gt,
                &st,
                None,
                Some((&dgt, &dbt)),
                false,
            )
            .unwrap(),
        );
        check(
            &format!("{tag} dgamma written"),
            &dgt.read(gpu).unwrap(),
            &dgamma,
            &bg,
        );
        check(
            &format!("{tag} dbeta written"),
            &dbt.read(gpu).unwrap(),
            &dbeta,
            &bb,
        );

        // Everything accumulated, dx included (backward_into).
        let (dxt, dgt, dbt) = (t(&dx0), t(&dg0), t(&db0));
        let ks = batchnorm::backward_into(
            gpu,
            &g,
            &xt,
            &dyt,
            &gt,
            &st,
            Some((&dxt, true)),
            Some((&dgt, &dbt)),
            true,
        )
        .unwrap();
        run(gpu, &ks);
        let wx = plus(&dx, &dx0);
        check(
            &format!("{tag} dx accumulated"),
            &dxt.read(gpu).unwrap(),
            &wx,
            &widen(&bx, &wx),
        );
        check(
            &format!("{tag} dgamma accumulated (all)"),
            &dgt.read(gpu).unwrap(),
            &wg,
            &widen(&bg, &wg),
        );
        check(
            &format!("{tag} dbeta accumulated (all)"),
            &dbt.read(gpu).unwrap(),
            &wb,
            &widen(&bb, &wb),
        );

        // Nothing wanted: no kernel.
        assert!(
            batchnorm::backward(gpu, &g, &xt, &dyt, &gt, &st, None, None, true)
                .unwrap()
                .is_empty()
        );
    }
}

// ---------------------------------------------------------------------------------------
// (c) Determinism: fixed reduction order, so two runs agree bit for bit.

#[test]
fn two_runs_are_bit_identical() {
    for plan in PLANS {
        with_plan(plan, || bit_identical(plan));
    }
}

fn bit_identical(plan: Option<(u32, bool)>) {
    let gpu = gpu();
    for (batch, channels, spatial) in [(64, 128, 49), (64, 33, 1)] {
        let g = geom(batch, channels, spatial);
        let p = problem(g.len(), channels, 900, Magnitude::Offset);
        let dy = normal(g.len(), 901, 1.0);
        let once = || {
            let (xt, gt, bt, dyt) = (t(&p.x), t(&p.gamma), t(&p.beta), t(&dy));
            let (yt, st, rmt, rvt) = (
                zeros(g.len()),
                zeros(2 * channels),
                zeros(channels),
                t(&vec![1.0; channels]),
            );
            let (dxt, dgt, dbt) = (zeros(g.len()), zeros(channels), zeros(channels));
            let mut ks = batchnorm::train_forward(
                gpu, &g, &xt, &gt, &bt, &yt, &st, &rmt, &rvt, MOMENTUM, EPS,
            )
            .unwrap();
            ks.extend(
                batchnorm::backward(
                    gpu,
                    &g,
                    &xt,
                    &dyt,
                    &gt,
                    &st,
                    Some(&dxt),
                    Some((&dgt, &dbt)),
                    false,
                )
                .unwrap(),
            );
            run(gpu, &ks);
            [yt, st, rmt, rvt, dxt, dgt, dbt].map(|t| t.read_u32(gpu).unwrap())
        };
        let (a, b) = (once(), once());
        for (i, name) in [
            "y",
            "stats",
            "running mean",
            "running var",
            "dx",
            "dgamma",
            "dbeta",
        ]
        .iter()
        .enumerate()
        {
            assert!(
                a[i] == b[i],
                "{g:?} plan {plan:?}: {name} differs between runs"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// (d) Concatenation and split: pure copies, so exact.

#[test]
fn concat_and_split_match_reference() {
    let gpu = gpu();
    for &(batch, ca, cb, spatial) in &[
        (1, 1, 1, 1),
        (2, 3, 5, 49),
        (64, 128, 1, 1),
        (3, 7, 33, 35),
        (2, 1, 64, 169),
    ] {
        let tag = format!("batch {batch} ca {ca} cb {cb} spatial {spatial}");
        let a = normal(batch * ca * spatial, 1, 1.0);
        let b = normal(batch * cb * spatial, 2, 1.0);
        let (at, bt, out) = (t(&a), t(&b), zeros(batch * (ca + cb) * spatial));
        run(
            gpu,
            &[concat::concat_channels(gpu, &at, &bt, &out, batch, spatial).unwrap()],
        );
        let want = rbn::concat_channels(&f64s(&a), &f64s(&b), batch, spatial);
        assert_close(
            &format!("{tag} concat"),
            &out.read(gpu).unwrap(),
            &want,
            0.0,
            0.0,
        );

        let dout = normal(batch * (ca + cb) * spatial, 3, 1.0);
        let dt = t(&dout);
        let (wa, wb) = rbn::split_channels(&f64s(&dout), ca, batch, spatial);
        // Both, then each alone (the other keeps its contents).
        let (da, db) = (zeros(a.len()), zeros(b.len()));
        run(
            gpu,
            &concat::split_channels(gpu, &dt, Some(&da), Some(&db), batch, spatial).unwrap(),
        );
        assert_close(
            &format!("{tag} split a"),
            &da.read(gpu).unwrap(),
            &wa,
            0.0,
            0.0,
        );
        assert_close(
            &format!("{tag} split b"),
            &db.read(gpu).unwrap(),
            &wb,
            0.0,
            0.0,
        );
        let (da, db) = (zeros(a.len()), zeros(b.len()));
        run(
            gpu,
            &concat::split_channels(gpu, &dt, Some(&da), None, batch, spatial).unwrap(),
        );
        assert_close(
            &format!("{tag} split a alone"),
            &da.read(gpu).unwrap(),
            &wa,
            0.0,
            0.0,
        );
        run(
            gpu,
            &concat::split_channels(gpu, &dt, None, Some(&db), batch, spatial).unwrap(),
        );
        assert_close(
            &format!("{tag} split b alone"),
            &db.read(gpu).unwrap(),
            &wb,
            0.0,
            0.0,
        );
        assert!(concat::split_channels(gpu, &dt, None, None, batch, spatial)
            .unwrap()
            .is_empty());
        // Split undoes concat.
        let back = rbn::split_channels(&want, ca, batch, spatial);
        assert_eq!(
            (back.0, back.1),
            (f64s(&a), f64s(&b)),
            "{tag}: split ∘ concat"
        );
    }
}

// ---------------------------------------------------------------------------------------
// (e) Shape errors.

#[test]
fn mismatched_shapes_are_errors() {
    let gpu = gpu();
    let g = geom(2, 3, 5);
    let (x, y, c, s) = (zeros(30), zeros(30), zeros(3), zeros(6));
    let (short, c4) = (zeros(29), zeros(4));
    let shape_err = |r: counterfeit::Result<Vec<Kernel>>, what: &str| match r {
        Err(Error::Shape { .. }) => {}
        Err(e) => panic!("{what}: wrong error {e}"),
        Ok(_) => panic!("{what}: accepted"),
    };
    let tf = |g: &BnGeom, x: &Tensor, gm: &Tensor, y: &Tensor, s: &Tensor, rm: &Tensor| {
        batchnorm::train_forward(gpu, g, x, gm, &c, y, s, rm, &c, MOMENTUM, EPS)
    };
    assert!(tf(&g, &x, &c, &y, &s, &c).is_ok());
    shape_err(tf(&g, &short, &c, &y, &s, &c), "short x");
    shape_err(tf(&g, &x, &c, &short, &s, &c), "short y");
    shape_err(tf(&g, &x, &c4, &y, &s, &c), "gamma of 4");
    shape_err(tf(&g, &x, &c, &y, &c, &c), "stats of C");
    shape_err(tf(&g, &x, &c, &y, &s, &c4), "running mean of 4");
    shape_err(tf(&geom(2, 0, 15), &x, &c, &y, &s, &c), "zero channels");
    shape_err(
        tf(&geom(3, 3, 5), &x, &c, &y, &s, &c),
        "geometry does not match x",
    );
    shape_err(
        batchnorm::eval_forward(gpu, &g, &x, &c, &c, &c, &c4, &y, EPS),
        "eval running var of 4",
    );
    shape_err(
        batchnorm::eval_forward(gpu, &g, &x, &c, &c, &c, &c, &short, EPS),
        "eval short y",
    );
    let dy = zeros(30);
    let (dg, db) = (zeros(3), zeros(3));
    shape_err(
        batchnorm::backward(gpu, &g, &x, &short, &c, &s, Some(&y), None, false),
        "short dy",
    );
    shape_err(
        batchnorm::backward(gpu, &g, &x, &dy, &c, &c, Some(&y), None, false),
        "stats of C",
    );
    shape_err(
        batchnorm::backward(gpu, &g, &x, &dy, &c, &s, Some(&short), None, false),
        "short dx",
    );
    shape_err(
        batchnorm::backward(gpu, &g, &x, &dy, &c, &s, None, Some((&c4, &db)), false),
        "dgamma of 4",
    );
    shape_err(
        batchnorm::backward(gpu, &g, &x, &dy, &c, &s, None, Some((&dg, &c4)), false),
        "dbeta of 4",
    );
    // Checked even when nothing would run.
    shape_err(
        batchnorm::backward(gpu, &g, &short, &dy, &c, &s, None, None, false),
        "short x, no outputs",
    );

    let split_err = |r: counterfeit::Result<Vec<Kernel>>, what: &str| shape_err(r, what);
    let (a, b, out) = (zeros(2 * 3 * 5), zeros(2 * 4 * 5), zeros(2 * 7 * 5));
    assert!(concat::concat_channels(gpu, &a, &b, &out, 2, 5).is_ok());
    shape_err(
        concat::concat_channels(gpu, &a, &b, &zeros(2 * 8 * 5), 2, 5).map(|k| vec![k]),
        "concat out too big",
    );
    shape_err(
        concat::concat_channels(gpu, &zeros(29), &b, &out, 2, 5).map(|k| vec![k]),
        "a not [2, c, 5]",
    );
    shape_err(
        concat::concat_channels(gpu, &a, &b, &out, 0, 5).map(|k| vec![k]),
        "batch 0",
    );
    split_err(
        concat::split_channels(gpu, &out, Some(&a), Some(&a), 2, 5),
        "3 + 3 ≠ 7 channels",
    );
    split_err(
        concat::split_channels(gpu, &out, Some(&zeros(2 * 8 * 5)), None, 2, 5),
        "da wider than dout",
    );
    split_err(
        concat::split_channels(gpu, &zeros(71), Some(&a), None, 2, 5),
        "dout not [2, c, 5]",
    );
}

// ---------------------------------------------------------------------------------------
// Timing (not a check): `cargo test --release --test batchnorm timing -- --ignored --nocapture`.
// Each figure is the fastest of 20 single-kernel submissions, waits included.

#[test]
#[ignore]
fn timing() {
    let gpu = gpu();
    let plans: [Option<(u32, bool)>; 5] = [
        None,
        Some((64, true)),
        Some((8, false)),
        Some((32, false)),
        Some((256, false)),
    ];
    for (batch, channels, spatial) in [
        (64, 128, 49),
        (64, 128, 196),
        (64, 1024, 1),
        (64, 512, 4),
        (64, 256, 16),
    ] {
        let g = geom(batch, channels, spatial);
        let p = problem(g.len(), channels, 1, Magnitude::Unit);
        let dy = normal(g.len(), 2, 1.0);
        let (xt, gt, bt, dyt) = (t(&p.x), t(&p.gamma), t(&p.beta), t(&dy));
        let (yt, st, rmt, rvt) = (
            zeros(g.len()),
            zeros(2 * channels),
            zeros(channels),
            zeros(channels),
        );
        let (dxt, dgt, dbt) = (zeros(g.len()), zeros(channels), zeros(channels));
        for plan in plans {
            let build = || {
                (
                    batchnorm::train_forward(
                        gpu, &g, &xt, &gt, &bt, &yt, &st, &rmt, &rvt, MOMENTUM, EPS,
                    )
                    .unwrap(),
                    batchnorm::eval_forward(gpu, &g, &xt, &gt, &bt, &rmt, &rvt, &yt, EPS).unwrap(),
                    batchnorm::backward(
                        gpu,
                        &g,
                        &xt,
                        &dyt,
                        &gt,
                        &st,
                        Some(&dxt),
                        Some((&dgt, &dbt)),
                        false,
                    )
                    .unwrap(),
                )
            };
            let (fwd, eval, bwd) = with_plan(plan, build);
            let time = |ks: &[Kernel]| {
                run(gpu, ks);
                (0..20)
                    .map(|_| {
                        let start = Instant::now();
                        run(gpu, ks);
                        start.elapsed().as_secs_f64() * 1e3
                    })
                    .fold(f64::INFINITY, f64::min)
            };
            let name = match plan {
                None => "default".to_string(),
                Some((wg, true)) => format!("cols wg {wg}"),
                Some((wg, false)) => format!("rows wg {wg}"),
            };
            eprintln!(
                "{g:?} {name:>12}: train forward {:6.2} ms, eval forward {:6.2} ms, backward {:6.2} ms",
                time(&fwd),
                time(&eval),
                time(&bwd)
            );
        }
    }
}
