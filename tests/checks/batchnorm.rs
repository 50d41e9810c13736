//! Batch normalisation's kernels against the f64 reference, each value within an error bound
//! worked out from the inputs (see `TWO_M23` and `SUM_REL`).

use crate::common::*;
use counterfeit::gpu::Kernel;
use counterfeit::ops::batchnorm::{self, BnGeom};
use counterfeit::reference::batchnorm as rbn;
use counterfeit::reference::layout::Layout;
use counterfeit::{Gpu, Tensor};

pub const EPS: f32 = 1e-5;
pub const MOMENTUM: f32 = 0.1;

pub fn geom(batch: usize, channels: usize, spatial: usize) -> BnGeom {
    BnGeom {
        batch,
        channels,
        spatial,
    }
}

/// The kernels' geometry and the reference's layout of one problem, each made from the plain
/// numbers; their sizes must agree.
pub fn shapes(batch: usize, channels: usize, spatial: usize) -> (BnGeom, Layout) {
    let (g, r) = (
        geom(batch, channels, spatial),
        Layout::new(batch, channels, spatial),
    );
    assert_eq!(
        (g.len(), g.per_channel()),
        (r.len(), r.per_channel()),
        "{g:?}: kernel sizes against the reference's"
    );
    (g, r)
}

pub fn run(gpu: &Gpu, kernels: &[Kernel]) {
    gpu.run(&kernels.iter().collect::<Vec<_>>()).unwrap();
}

/// Channel of flat index `i`.
pub fn chan(g: &Layout, i: usize) -> usize {
    (i / g.spatial) % g.channels
}

pub const TWO_M23: f64 = 1.0 / 8_388_608.0;
pub const SUM_REL: f64 = 2e-5;

/// Inputs: N(0,1), or mean 100 with std 0.01 (catches a one-pass variance).
#[derive(Clone, Copy, Debug)]
pub enum Magnitude {
    Unit,
    Offset,
}

pub fn inputs(n: usize, seed: u64, mag: Magnitude) -> Vec<f32> {
    match mag {
        Magnitude::Unit => normal(n, seed, 1.0),
        Magnitude::Offset => normal(n, seed, 0.01).iter().map(|v| 100.0 + v).collect(),
    }
}

/// Asserts |got_i − want_i| ≤ bound_i; reports the worst ratio on failure.
pub fn check(what: &str, got: &[f32], want: &[f64], bound: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    let mut bad = Vec::new();
    let mut worst = (0.0f64, 0);
    for (i, ((&g, &w), &b)) in got.iter().zip(want).zip(bound).enumerate() {
        let d = (g as f64 - w).abs();
        let r = d / b;
        if r.is_nan() || r > 1.0 {
            bad.push(format!(
                "  [{i}] got {g} want {w} (diff {d:.3e}, bound {b:.3e})"
            ));
        }
        if r > worst.0 || r.is_nan() {
            worst = (r, i);
        }
    }
    assert!(
        bad.is_empty(),
        "{what}: {} of {} values outside their bound (worst diff/bound {:.3} at [{}]); first:\n{}",
        bad.len(),
        got.len(),
        worst.0,
        worst.1,
        bad.iter().take(8).cloned().collect::<Vec<_>>().join("\n")
    );
}

/// What the error model needs of one batch.
pub struct Model {
    pub mean: Vec<f64>,
    pub var: Vec<f64>,
    pub rstd: Vec<f64>,
    /// x̂ error bound per channel.
    pub e: Vec<f64>,
    pub xhat: Vec<f64>,
}

pub fn model(g: &Layout, x: &[f32]) -> Model {
    let (mean, var) = rbn::moments(&f64s(x), g);
    let rstd: Vec<f64> = var.iter().map(|v| 1.0 / (v + EPS as f64).sqrt()).collect();
    let e: Vec<f64> = (0..g.channels)
        .map(|c| TWO_M23 * mean[c].abs() * rstd[c] + SUM_REL)
        .collect();
    let xhat = (0..x.len())
        .map(|i| (x[i] as f64 - mean[chan(g, i)]) * rstd[chan(g, i)])
        .collect();
    Model {
        mean,
        var,
        rstd,
        e,
        xhat,
    }
}

/// Reference backward plus per-element bounds for (dx, dgamma, dbeta).
#[allow(clippy::type_complexity)]
pub fn backward_want(
    g: &Layout,
    x: &[f32],
    dy: &[f32],
    gamma: &[f32],
) -> (
    (Vec<f64>, Vec<f64>, Vec<f64>),
    (Vec<f64>, Vec<f64>, Vec<f64>),
) {
    let mo = model(g, x);
    let want = rbn::backward(&f64s(x), &f64s(dy), &f64s(gamma), g, EPS as f64);
    let m = g.per_channel() as f64;
    // Per channel: mean |dy|, mean |dy|·(1 + |x̂|), and Σdy·x̂/M.
    let (mut a_dy, mut a_dyx) = (vec![0.0; g.channels], vec![0.0; g.channels]);
    for (i, (&d, xh)) in dy.iter().zip(&mo.xhat).enumerate() {
        let c = chan(g, i);
        a_dy[c] += (d as f64).abs() / m;
        a_dyx[c] += (d as f64).abs() * (1.0 + xh.abs()) / m;
    }
    let mdyx: Vec<f64> = want.1.iter().map(|v| v / m).collect();
    // dγ = Σ dy·x̂: each term is off by |dy|·e·(1 + |x̂|) (shifted mean, scaled rstd).
    let bg: Vec<f64> = (0..g.channels)
        .map(|c| mo.e[c] * m * a_dyx[c] + 1e-30)
        .collect();
    // dβ = Σ dy: a plain f32 sum.
    let bb: Vec<f64> = (0..g.channels)
        .map(|c| SUM_REL * m * a_dy[c] + 1e-30)
        .collect();
    // dx = γ·rstd·(dy − mdy − x̂·mdyx): x̂ and mdyx each carry e, the means SUM_REL, and rstd
    // scales the whole by up to e.
    let bx: Vec<f64> = (0..x.len())
        .map(|i| {
            let c = chan(g, i);
            let xh = mo.xhat[i].abs();
            (gamma[c] as f64).abs()
                * mo.rstd[c]
                * (mo.e[c] * ((1.0 + xh) * mdyx[c].abs() + xh * a_dyx[c])
                    + SUM_REL * ((dy[i] as f64).abs() + a_dy[c] + xh * a_dyx[c]))
                + mo.e[c] * want.0[i].abs()
                + 1e-30
        })
        .collect();
    (want, (bx, bg, bb))
}

pub struct Problem {
    pub x: Vec<f32>,
    pub gamma: Vec<f32>,
    pub beta: Vec<f32>,
}

/// `x` of `n` values over `channels` channels, γ and β.
pub fn problem(n: usize, channels: usize, seed: u64, mag: Magnitude) -> Problem {
    Problem {
        x: inputs(n, seed, mag),
        gamma: normal(channels, seed + 1, 0.5)
            .iter()
            .map(|v| 1.0 + v)
            .collect(),
        beta: normal(channels, seed + 2, 1.0),
    }
}

/// Two training forwards, the eval forward and the backward on each of `cases`
/// ((batch, channels, spatial)) at both magnitudes, each value within its error bound of the
/// reference; `plan` names the kernel plan in failure messages.
pub async fn against_reference(
    gpu: &Gpu,
    plan: Option<(u32, bool)>,
    cases: &[(usize, usize, usize)],
) {
    let t = |d: &[f32]| Tensor::from_slice(gpu, d, &[d.len()], "t").unwrap();
    let zeros = |n: usize| t(&vec![0.0; n]);
    for (k, &(batch, channels, spatial)) in cases.iter().enumerate() {
        for mag in [Magnitude::Unit, Magnitude::Offset] {
            let (g, r) = shapes(batch, channels, spatial);
            let tag = format!("{g:?} {mag:?} plan {plan:?}");
            let seed = 100 + 10 * k as u64;
            let p = problem(g.len(), channels, seed, mag);
            let x2 = inputs(g.len(), seed + 5, mag);
            let rm0 = normal(channels, seed + 3, 0.1);
            let rv0 = uniform(channels, seed + 4, 0.5, 2.0);
            let (xt, x2t, gt, bt) = (t(&p.x), t(&x2), t(&p.gamma), t(&p.beta));
            let (yt, st, rmt, rvt) = (zeros(g.len()), zeros(2 * channels), t(&rm0), t(&rv0));

            // Two training steps: running statistics after both, y and stats of the second.
            let mut ks = batchnorm::train_forward(
                gpu, &g, &xt, &gt, &bt, &yt, &st, &rmt, &rvt, MOMENTUM, EPS,
            )
            .unwrap();
            ks.extend(
                batchnorm::train_forward(
                    gpu, &g, &x2t, &gt, &bt, &yt, &st, &rmt, &rvt, MOMENTUM, EPS,
                )
                .unwrap(),
            );
            run(gpu, &ks);
            let (gamma, beta) = (f64s(&p.gamma), f64s(&p.beta));
            let m = r.per_channel();
            let (m1, m2) = (model(&r, &p.x), model(&r, &x2));
            let (y2, _, _) = rbn::forward(&f64s(&x2), &gamma, &beta, &r, EPS as f64);
            let y_bound: Vec<f64> = (0..g.len())
                .map(|i| {
                    let c = chan(&r, i);
                    gamma[c].abs() * m2.e[c] * (1.0 + m2.xhat[i].abs())
                        + TWO_M23 * (y2[i].abs() + beta[c].abs())
                })
                .collect();
            check(
                &format!("{tag} y"),
                &yt.read_async(gpu).await.unwrap(),
                &y2,
                &y_bound,
            );
            let s = st.read_async(gpu).await.unwrap();
            // The mean to within 2⁻²³·|mean| (its f32 rounding, with headroom) plus SUM_REL
            // standard deviations; rstd to SUM_REL relative.
            let mean_bound: Vec<f64> = (0..channels)
                .map(|c| TWO_M23 * m2.mean[c].abs() + SUM_REL * m2.var[c].sqrt())
                .collect();
            check(
                &format!("{tag} mean"),
                &s[..channels],
                &m2.mean,
                &mean_bound,
            );
            let rstd_bound: Vec<f64> = m2.rstd.iter().map(|r| SUM_REL * r).collect();
            check(
                &format!("{tag} rstd"),
                &s[channels..],
                &m2.rstd,
                &rstd_bound,
            );

            // Running stats: the reference update of the reference moments; each step adds
            // a few roundings of its terms and momentum × the error of the batch statistic.
            let (mut rm, mut rv) = (f64s(&rm0), f64s(&rv0));
            rbn::running_update(&mut rm, &mut rv, &m1.mean, &m1.var, m, MOMENTUM as f64);
            rbn::running_update(&mut rm, &mut rv, &m2.mean, &m2.var, m, MOMENTUM as f64);
            let bessel = if m > 1 {
                m as f64 / (m as f64 - 1.0)
            } else {
                1.0
            };
            let rm_bound: Vec<f64> = (0..channels)
                .map(|c| {
                    let terms = rm0[c].abs() as f64 + m1.mean[c].abs() + m2.mean[c].abs();
                    4.0 * TWO_M23 * terms + SUM_REL * (m1.var[c].sqrt() + m2.var[c].sqrt())
                })
                .collect();
            let rv_bound: Vec<f64> = (0..channels)
                .map(|c| {
                    4.0 * TWO_M23 * rv0[c] as f64 + 2.0 * SUM_REL * bessel * (m1.var[c] + m2.var[c])
                })
                .collect();
            let rm_gpu = rmt.read_async(gpu).await.unwrap();
            let rv_gpu = rvt.read_async(gpu).await.unwrap();
            check(&format!("{tag} running mean"), &rm_gpu, &rm, &rm_bound);
            check(&format!("{tag} running var"), &rv_gpu, &rv, &rv_bound);

            // Eval with the running statistics the GPU holds now: elementwise; a
            // subtraction, sqrt, division, product and sum, each within 2.5 ulp on GPUs
            // (WGSL's accuracy rules), so 8·2⁻²³ of the terms' size.
            let ye = zeros(g.len());
            run(
                gpu,
                &batchnorm::eval_forward(gpu, &g, &xt, &gt, &bt, &rmt, &rvt, &ye, EPS).unwrap(),
            );
            let want_e = rbn::eval_forward(
                &f64s(&p.x),
                &gamma,
                &beta,
                &f64s(&rm_gpu),
                &f64s(&rv_gpu),
                &r,
                EPS as f64,
            );
            let e_bound: Vec<f64> = (0..g.len())
                .map(|i| {
                    let c = chan(&r, i);
                    let scale = gamma[c].abs() / (rv_gpu[c] as f64 + EPS as f64).sqrt();
                    8.0 * TWO_M23
                        * (scale * (p.x[i].abs() as f64 + rm_gpu[c].abs() as f64) + beta[c].abs())
                })
                .collect();
            check(
                &format!("{tag} eval y"),
                &ye.read_async(gpu).await.unwrap(),
                &want_e,
                &e_bound,
            );

            // Backward from the second forward's stats.
            let dy = normal(g.len(), seed + 6, 1.0);
            let (dyt, dxt, dgt, dbt) = (t(&dy), zeros(g.len()), zeros(channels), zeros(channels));
            let kb = batchnorm::backward(
                gpu,
                &g,
                &x2t,
                &dyt,
                &gt,
                &st,
                Some(&dxt),
                Some((&dgt, &dbt)),
                false,
            )
            .unwrap();
            run(gpu, &kb);
            let ((dx, dgamma, dbeta), (bx, bg, bb)) = backward_want(&r, &x2, &dy, &p.gamma);
            check(
                &format!("{tag} dx"),
                &dxt.read_async(gpu).await.unwrap(),
                &dx,
                &bx,
            );
            check(
                &format!("{tag} dgamma"),
                &dgt.read_async(gpu).await.unwrap(),
                &dgamma,
                &bg,
            );
            check(
                &format!("{tag} dbeta"),
                &dbt.read_async(gpu).await.unwrap(),
                &dbeta,
                &bb,
            );
        }
    }
}
