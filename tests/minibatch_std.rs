//! Minibatch standard deviation: the kernels against the f64 reference on awkward shapes and
//! magnitudes (the reference itself is checked against finite differences in
//! `reference_gradcheck`), batches near the CPU adapter's loop limit, run-to-run bit identity,
//! accumulation, shape errors, and the layer inside a tape against the composed references.

mod common;

use common::*;
use counterfeit::gpu::Kernel;
use counterfeit::nn::{Layer, Mode, RngSpec};
use counterfeit::ops::minibatch_std::{self as mbstd, MbstdGeom, EPS};
use counterfeit::ops::Clock;
use counterfeit::reference::conv::{self, Conv2d};
use counterfeit::reference::dense;
use counterfeit::reference::layout::Layout;
use counterfeit::reference::minibatch_std as rmb;
use counterfeit::tape::ParamGrads;
use counterfeit::{Error, Gpu, Init, Network, Sequential, Tensor};

fn t(data: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_slice(gpu(), data, shape, "t").unwrap()
}

fn zeros(n: usize) -> Tensor {
    Tensor::zeros(gpu(), &[n], "zeros").unwrap()
}

fn run(gpu: &Gpu, kernels: &[Kernel]) {
    gpu.run(&kernels.iter().collect::<Vec<_>>()).unwrap();
}

fn geom(batch: usize, channels: usize, spatial: usize) -> MbstdGeom {
    MbstdGeom {
        batch,
        channels,
        spatial,
    }
}

// ---------------------------------------------------------------------------------------
// The error model. u = 2⁻²⁴ is f32's unit roundoff.
//
// σ_j: the corrected two-pass variance sums N terms per pass (recursive summation errs by at
// most N·u relative to Σ|terms|), then a division, a subtraction of corr², the addition of
// eps and a sqrt (WGSL: sqrt inherits 1/inverseSqrt, ≤ 2.5 + 2 ulp): about (N + 4)/2 + 5 u
// relative to σ_j once halved by the sqrt. We allow (N + 18)·u.
// s: the σ_j go through ⌈K/256⌉ strided additions and an 8-level tree (all terms positive, so
// relative to s), and a division by K: s errs by at most 2·(N + ⌈K/256⌉ + 32)·u relative
// (2× headroom). At N = 64, K = 6272 that is 1.5e-5; a one-pass variance
// (E[x²] − E[x]² = 10000.0001 − 10000 in f32) is wrong by O(1) at mean 100 ± 0.01.
// mean_j (the backward's x − mean_j): stored in f32, so u·|mean_j|; mean₀ is off by at most
// δ = N·u·mean|x| and the correction Σd/N leaves N·u·(σ_j + δ). Doubled:
//     e_μ = 2u·(|mean_j| + N·(σ_j + N·u·mean_n|x|)).
// This is what limits every f32 implementation at 100 ± 0.01: 2u·100/0.01 = 1.2e-3 of the
// ∂s/∂x term, as batch norm's x̂.
// G = Σ dy[:, C]: ⌈N·S/256⌉ strided additions and an 8-level tree, relative to Σ|dy[:, C]|.
// dx = dy + coef·(x − mean)/σ with coef = G/(N·K): |coef|·e_μ/σ + |t|·(rel_σ + 6u) +
// ΔG/(N·K)·|x − mean|/σ, plus 2u·(|dy| + |t|) for the final sum.

const U: f64 = 1.0 / 16_777_216.0;

/// Inputs: N(0,1) around 0.3, or mean 100 with std 0.01 (catches a one-pass variance).
#[derive(Clone, Copy, Debug)]
enum Magnitude {
    Unit,
    Offset,
}

fn inputs(n: usize, seed: u64, mag: Magnitude) -> Vec<f32> {
    match mag {
        Magnitude::Unit => normal(n, seed, 1.0).iter().map(|v| v + 0.3).collect(),
        Magnitude::Offset => normal(n, seed, 0.01).iter().map(|v| 100.0 + v).collect(),
    }
}

/// Asserts |got_i − want_i| ≤ bound_i; reports the worst ratio on failure.
fn check(what: &str, got: &[f32], want: &[f64], bound: &[f64]) {
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

/// Relative error bound of every σ_j.
fn rel_sigma(g: &MbstdGeom) -> f64 {
    (g.batch as f64 + 18.0) * U
}

/// Relative error bound of s.
fn rel_s(g: &MbstdGeom) -> f64 {
    2.0 * (g.batch + g.columns().div_ceil(256) + 32) as f64 * U
}

/// Runs forward and backward on the GPU for one problem and checks them against the
/// reference: the copied channels exactly, s and dx within the error model above. The
/// kernels' geometry and the reference's layout are each made from the shape, and their sizes
/// must agree.
fn compare(shape: &[usize], seed: u64, mag: Magnitude) {
    let gpu = gpu();
    let g = MbstdGeom::of_shape(shape).unwrap();
    let r = Layout::of_shape(shape);
    let tag = format!("{shape:?} {mag:?}");
    assert_eq!(
        (g.columns(), g.input_len(), g.output_len()),
        (r.per_sample(), r.len(), rmb::output(&r).len()),
        "{tag}: kernel sizes against the reference's"
    );
    let (k, row) = (r.per_sample(), rmb::output(&r).per_sample());
    let x = inputs(r.len(), seed, mag);
    let dy = normal(rmb::output(&r).len(), seed + 1, 1.0);
    let mut out_shape = shape.to_vec();
    out_shape[1] += 1;
    let (xt, yt, st) = (t(&x, shape), zeros(g.output_len()), zeros(g.stats_len()));
    let (dyt, dxt) = (t(&dy, &out_shape), zeros(g.input_len()));
    let mut ks = mbstd::forward(gpu, &g, &xt, &yt, &st, EPS).unwrap();
    ks.extend(mbstd::backward(gpu, &g, &xt, &dyt, &st, &dxt, false).unwrap());
    run(gpu, &ks);
    let (y, dx) = (yt.read(gpu).unwrap(), dxt.read(gpu).unwrap());

    let eps = EPS as f64;
    let x64 = f64s(&x);
    let s = rmb::feature(&x64, &r, eps);
    for n in 0..r.batch {
        assert_eq!(
            &y[n * row..n * row + k],
            &x[n * k..(n + 1) * k],
            "{tag}: sample {n}'s channels are not a copy"
        );
    }
    let extra: Vec<f32> = (0..r.batch)
        .flat_map(|n| y[n * row + k..(n + 1) * row].to_vec())
        .collect();
    let bound = vec![rel_s(&g) * s; extra.len()];
    check(&format!("{tag} s"), &extra, &vec![s; extra.len()], &bound);
    // Saved statistics: σ_j and s (the mean is checked through dx below).
    let saved = st.read(gpu).unwrap();
    let (mean, sigma) = rmb::column_stats(&x64, &r, eps);
    let sb: Vec<f64> = sigma.iter().map(|v| rel_sigma(&g) * v).collect();
    check(&format!("{tag} σ"), &saved[k..2 * k], &sigma, &sb);
    check(
        &format!("{tag} saved s"),
        &saved[2 * k..],
        &[s],
        &[rel_s(&g) * s],
    );

    let want = rmb::backward(&x64, &f64s(&dy), &r, eps);
    if r.batch == 1 {
        // Every x equals its column's mean: exactly dy's first channels, and s = sqrt(eps).
        let dy_c: Vec<f32> = dy.chunks(row).flat_map(|r| r[..k].to_vec()).collect();
        assert_eq!(dx, dy_c, "{tag}: dx at batch 1");
        let se = (EPS as f64).sqrt();
        assert!(
            extra.iter().all(|&v| (v as f64 - se).abs() <= 8.0 * U * se),
            "{tag}: s {:?} is not sqrt(eps) {se}",
            &extra[..1]
        );
    }
    let (nf, kf) = (r.batch as f64, k as f64);
    let dy_extra: Vec<f64> = (0..r.batch)
        .flat_map(|n| dy[n * row + k..(n + 1) * row].iter().map(|&v| v as f64))
        .collect();
    let gsum: f64 = dy_extra.iter().sum();
    let g_err = (r.per_channel().div_ceil(256) as f64 + 9.0)
        * U
        * dy_extra.iter().map(|v| v.abs()).sum::<f64>();
    let coef = gsum / (nf * kf);
    let mean_abs: Vec<f64> = (0..k)
        .map(|j| (0..r.batch).map(|n| x64[n * k + j].abs()).sum::<f64>() / nf)
        .collect();
    let bx: Vec<f64> = (0..r.len())
        .map(|i| {
            let (n, j) = (i / k, i % k);
            let e_mu = 2.0 * U * (mean[j].abs() + nf * (sigma[j] + nf * U * mean_abs[j]));
            let dev = (x64[i] - mean[j]).abs() / sigma[j];
            let term = coef.abs() * dev;
            coef.abs() * e_mu / sigma[j]
                + term * (rel_sigma(&g) + 6.0 * U)
                + g_err / (nf * kf) * dev
                + 2.0 * U * ((dy[n * row + j] as f64).abs() + term)
                + 1e-30
        })
        .collect();
    check(&format!("{tag} dx"), &dx, &want, &bx);
}

#[test]
fn forward_and_backward_match_reference() {
    // Batch 1 (every variance 0), batch 2, 5×7 images of 3 channels, the DCGAN-sized
    // N = 64, C = 128, 7×7, a batch of 256 images, and dense [N, F] inputs.
    let shapes: [&[usize]; 8] = [
        &[1, 3, 5, 7],
        &[2, 4, 3, 3],
        &[5, 3, 5, 7],
        &[64, 128, 7, 7],
        &[256, 8, 7, 7],
        &[7, 33],
        &[256, 100],
        &[1, 5],
    ];
    for (i, shape) in shapes.iter().enumerate() {
        for mag in [Magnitude::Unit, Magnitude::Offset] {
            compare(shape, 100 + 10 * i as u64, mag);
        }
    }
}

/// A batch whose column passes take 2·(N + 1) = 60,002 loop iterations, near llvmpipe's
/// 65,535 per invocation (see `Gpu::loop_limit`): loops cut short would leave σ and y partial.
#[test]
fn batches_near_the_cpu_loop_limit_match_reference() {
    compare(&[30_000, 2], 7, Magnitude::Unit);
    compare(&[30_000, 2], 8, Magnitude::Offset);
    // Past it a CPU adapter refuses the shape rather than computing the wrong thing.
    if gpu().loop_limit().is_some() {
        let g = geom(40_000, 1, 1);
        let err = mbstd::forward(
            gpu(),
            &g,
            &zeros(g.input_len()),
            &zeros(g.output_len()),
            &zeros(g.stats_len()),
            EPS,
        )
        .err()
        .expect("a batch past the loop limit");
        assert!(err.to_string().contains("loop limit"), "{err}");
    }
}

#[test]
fn results_are_bit_identical_and_backward_accumulates() {
    let gpu = gpu();
    let g = geom(64, 16, 49);
    let x = inputs(g.input_len(), 3, Magnitude::Unit);
    let dy = normal(g.output_len(), 4, 1.0);
    let prior = normal(g.input_len(), 5, 1.0);
    let xt = t(&x, &[g.input_len()]);
    let dyt = t(&dy, &[g.output_len()]);
    let outs: Vec<(Vec<f32>, Vec<f32>, Vec<f32>)> = (0..2)
        .map(|_| {
            let (yt, st, dxt) = (
                zeros(g.output_len()),
                zeros(g.stats_len()),
                zeros(g.input_len()),
            );
            let acc = t(&prior, &[g.input_len()]);
            let mut ks = mbstd::forward(gpu, &g, &xt, &yt, &st, EPS).unwrap();
            ks.extend(mbstd::backward(gpu, &g, &xt, &dyt, &st, &dxt, false).unwrap());
            ks.extend(mbstd::backward(gpu, &g, &xt, &dyt, &st, &acc, true).unwrap());
            run(gpu, &ks);
            (
                yt.read(gpu).unwrap(),
                dxt.read(gpu).unwrap(),
                acc.read(gpu).unwrap(),
            )
        })
        .collect();
    let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&outs[0].0), bits(&outs[1].0), "y differs between runs");
    assert_eq!(
        bits(&outs[0].1),
        bits(&outs[1].1),
        "dx differs between runs"
    );
    // Accumulating adds the same f32 dx to what was there: one rounding.
    let (dx, acc) = (&outs[0].1, &outs[0].2);
    for i in 0..dx.len() {
        assert_eq!(acc[i], prior[i] + dx[i], "accumulated dx [{i}]");
    }
}

#[test]
fn shape_errors_are_errors() {
    let gpu = gpu();
    let g = geom(4, 3, 5);
    let (x, y, st, dx) = (
        zeros(g.input_len()),
        zeros(g.output_len()),
        zeros(g.stats_len()),
        zeros(g.input_len()),
    );
    let is_shape = |r: Result<Vec<Kernel>, Error>, what: &str| match r {
        Err(Error::Shape { .. }) => {}
        Err(e) => panic!("{what}: not a shape error: {e}"),
        Ok(_) => panic!("{what}: accepted"),
    };
    let (short_x, short_y, short_st) = (
        zeros(g.input_len() - 1),
        zeros(g.input_len()),
        zeros(2 * g.columns()),
    );
    is_shape(mbstd::forward(gpu, &g, &short_x, &y, &st, EPS), "short x");
    is_shape(
        mbstd::forward(gpu, &g, &x, &short_y, &st, EPS),
        "y without the extra channel",
    );
    is_shape(
        mbstd::forward(gpu, &g, &x, &y, &short_st, EPS),
        "stats without s",
    );
    is_shape(mbstd::forward(gpu, &g, &x, &y, &st, 0.0), "eps 0");
    is_shape(
        mbstd::forward(gpu, &geom(0, 3, 5), &zeros(1), &zeros(1), &zeros(1), EPS),
        "batch 0",
    );
    is_shape(
        mbstd::backward(gpu, &g, &x, &zeros(g.input_len()), &st, &dx, false),
        "dy without the extra channel",
    );
    is_shape(
        mbstd::backward(gpu, &g, &x, &y, &st, &zeros(g.output_len()), false),
        "dx shaped like y",
    );
    assert!(matches!(
        MbstdGeom::of_shape(&[8]),
        Err(Error::Shape { .. })
    ));
    assert_eq!(MbstdGeom::of_shape(&[8, 6]).unwrap(), geom(8, 6, 1));
    assert_eq!(MbstdGeom::of_shape(&[8, 3, 5, 7]).unwrap(), geom(8, 3, 35));

    // The layer: one more channel, or feature; nothing to add it to is an error.
    assert_eq!(
        Layer::minibatch_std().output_shape(&[4, 6, 6]).unwrap(),
        vec![5, 6, 6]
    );
    assert_eq!(Layer::minibatch_std().output_shape(&[6]).unwrap(), vec![7]);
    assert!(Layer::minibatch_std().output_shape(&[]).is_err());
    assert!(Layer::minibatch_std().param_shapes(&[4, 6, 6]).is_empty());
}

// ---------------------------------------------------------------------------------------
// The layer in a tape against the references composed by hand.

fn record_and_run(
    model: Sequential,
    x: &[f32],
    in_shape: &[usize],
    r: &[f32],
) -> (Network, Vec<f32>, Vec<f32>) {
    let gpu = gpu();
    let net = Network::new(gpu, "D", model, 11).unwrap();
    let xt = Tensor::from_slice(gpu, x, in_shape, "x").unwrap();
    let state = Tensor::zeros(gpu, &[4], "state").unwrap();
    let rng = RngSpec {
        seed: 0,
        stream: 0,
        clock: Clock::ITERATION,
    };
    let tape = net.tape(gpu, &xt, Mode::Train, rng, &state).unwrap();
    let rt = Tensor::from_slice(gpu, r, &[in_shape[0], 1], "dy").unwrap();
    let dxt = Tensor::zeros(gpu, in_shape, "dx").unwrap();
    let mut kernels: Vec<_> = tape.forward().to_vec();
    kernels.extend(
        tape.backward(gpu, &rt, ParamGrads::Write, Some(&dxt))
            .unwrap(),
    );
    run(gpu, &kernels);
    let out = tape.output().read(gpu).unwrap();
    (net, out, dxt.read(gpu).unwrap())
}

// f32 through a 3×3 convolution (9 terms), minibatch std and a linear layer of 180 inputs:
// sums of at most a few hundred O(1) terms, so 1e-5 relative each, 1e-4 with headroom; the
// gradients also pass through ∂s/∂x's division by σ_j (O(0.3) here) and get 1e-3 relative,
// as in tests/tape.rs. A missing or doubled ∂s/∂x term is O(1/(N·K)) of dx per value but
// shows in the weight gradients' sums over the batch at well above these bounds (checked by
// the reference gradcheck and the op test above for the term itself).
#[test]
fn conv_minibatch_std_discriminator_matches_the_composed_references() {
    let gpu = gpu();
    let b = 5;
    let model = Sequential::new([1, 6, 6])
        .init(Init::Normal(0.3))
        .conv(4, 3, 1, 1)
        .minibatch_std()
        .flatten()
        .linear(1);
    assert_eq!(model.output_shape().unwrap(), vec![1]);
    let x = normal(b * 36, 21, 1.0);
    let r = normal(b, 22, 1.0);
    let (net, out, dx) = record_and_run(model, &x, &[b, 1, 6, 6], &r);

    let p = net.params();
    let param = |i: usize| f64s(&p.read(gpu, i).unwrap());
    let (wc, wl, bl) = (param(0), param(1), param(2));
    let gc = Conv2d::new(b, 1, 6, 6, 4, 3, 1, 1);
    let c_out = conv::conv2d(&f64s(&x), &wc, None, &gc); // [b, 4, 6, 6]
    let gm = Layout::new(b, 4, 36);
    let m_out = rmb::forward(&c_out, &gm, EPS as f64); // [b, 5, 6, 6]
    let y = dense::linear(&m_out, &wl, Some(&bl), b, 180, 1);
    assert_close("output", &out, &y, 1e-4, 1e-4);

    let (dm, dwl, dbl) = dense::linear_backward(&m_out, &wl, &f64s(&r), b, 180, 1);
    let dc = rmb::backward(&c_out, &dm, &gm, EPS as f64);
    let dwc = conv::conv2d_weight_grad(&f64s(&x), &dc, &gc);
    let dx_want = conv::conv2d_input_grad(&dc, &wc, &gc);
    let grads = p.grads.read(gpu).unwrap();
    let parts = p.split(&grads);
    for (name, got, want) in [
        ("conv weight", parts[0], &dwc),
        ("linear weight", parts[1], &dwl),
        ("linear bias", parts[2], &dbl),
    ] {
        assert_close(name, got, want, 1e-4, 1e-3);
    }
    assert_close("input gradient", &dx, &dx_want, 1e-4, 1e-3);
    // The ∂s/∂x term matters here: without it the conv weight gradient differs.
    let dc_copy: Vec<f64> = dm.chunks(180).flat_map(|row| row[..144].to_vec()).collect();
    let dwc_copy = conv::conv2d_weight_grad(&f64s(&x), &dc_copy, &gc);
    let gap = dwc
        .iter()
        .zip(&dwc_copy)
        .map(|(a, b)| (a - b).abs() / (1e-4 + 1e-3 * a.abs()))
        .fold(0.0, f64::max);
    eprintln!("std term / tolerance in dW: {gap}");
    assert!(gap > 10.0, "the std term hardly changes dW ({gap:e})");
}

#[test]
fn dense_minibatch_std_discriminator_matches_the_composed_references() {
    let gpu = gpu();
    let b = 6;
    let model = Sequential::new([8])
        .init(Init::Normal(0.5))
        .linear(5)
        .minibatch_std()
        .linear(1);
    assert_eq!(model.output_shape().unwrap(), vec![1]);
    let x = normal(b * 8, 31, 1.0);
    let r = normal(b, 32, 1.0);
    let (net, out, dx) = record_and_run(model, &x, &[b, 8], &r);

    let p = net.params();
    let param = |i: usize| f64s(&p.read(gpu, i).unwrap());
    let (w1, b1, w2, b2) = (param(0), param(1), param(2), param(3));
    let h = dense::linear(&f64s(&x), &w1, Some(&b1), b, 8, 5);
    let gm = Layout::new(b, 5, 1);
    let m = rmb::forward(&h, &gm, EPS as f64);
    let y = dense::linear(&m, &w2, Some(&b2), b, 6, 1);
    assert_close("output", &out, &y, 1e-4, 1e-4);
    let (dm, dw2, db2) = dense::linear_backward(&m, &w2, &f64s(&r), b, 6, 1);
    let dh = rmb::backward(&h, &dm, &gm, EPS as f64);
    let (dx_want, dw1, db1) = dense::linear_backward(&f64s(&x), &w1, &dh, b, 8, 5);
    let grads = p.grads.read(gpu).unwrap();
    let parts = p.split(&grads);
    for (name, got, want) in [
        ("first weight", parts[0], &dw1),
        ("first bias", parts[1], &db1),
        ("second weight", parts[2], &dw2),
        ("second bias", parts[3], &db2),
    ] {
        assert_close(name, got, want, 1e-4, 1e-3);
    }
    assert_close("input gradient", &dx, &dx_want, 1e-4, 1e-3);
}

// The second-order pass's kernels at O(1) magnitudes: ṡ and the curvature are sums over the
// batch and the K columns of O(1) terms divided by σ_j (≥ 0.3 or so here), so f32 rounding
// leaves about (N + K/256 + 32)·u ≈ 1e-5 relative; 1e-4 of the largest value is the bound.
// The copied channels of ẏ are exact.
#[test]
fn tangent_and_curvature_match_reference() {
    let gpu = gpu();
    for (i, shape) in [
        vec![3, 2, 5, 3],
        vec![1, 3, 2, 2],
        vec![5, 7],
        vec![4, 300, 1, 1],
        vec![64, 3, 4, 4],
    ]
    .into_iter()
    .enumerate()
    {
        let seed = 900 + 10 * i as u64;
        let g = MbstdGeom::of_shape(&shape).unwrap();
        let r = Layout::of_shape(&shape);
        let tag = format!("{shape:?}");
        let (x, xdot) = (
            inputs(r.len(), seed, Magnitude::Unit),
            normal(r.len(), seed + 1, 1.0),
        );
        let dydot = normal(rmb::output(&r).len(), seed + 2, 1.0);
        let c0 = normal(r.len(), seed + 3, 1.0);
        let mut out_shape = shape.clone();
        out_shape[1] += 1;
        let (xt, xdt) = (t(&x, &shape), t(&xdot, &shape));
        let (yt, st) = (zeros(g.output_len()), zeros(g.stats_len()));
        let (ydt, tst) = (zeros(g.output_len()), zeros(g.stats_len()));
        let (ddt, ct, cat) = (t(&dydot, &out_shape), zeros(g.input_len()), t(&c0, &shape));
        let mut ks = mbstd::forward(gpu, &g, &xt, &yt, &st, EPS).unwrap();
        ks.extend(mbstd::tangent(gpu, &g, &xt, &st, &xdt, &ydt, &tst).unwrap());
        ks.extend(mbstd::curvature(gpu, &g, &xt, &st, &xdt, &tst, &ddt, &ct, false).unwrap());
        ks.extend(mbstd::curvature(gpu, &g, &xt, &st, &xdt, &tst, &ddt, &cat, true).unwrap());
        run(gpu, &ks);

        let eps = EPS as f64;
        let (x64, xd64) = (f64s(&x), f64s(&xdot));
        let want_y = rmb::tangent(&x64, &xd64, &r, eps);
        let ydot = ydt.read(gpu).unwrap();
        let (k, row) = (r.per_sample(), rmb::output(&r).per_sample());
        for n in 0..r.batch {
            assert_eq!(
                &ydot[n * row..n * row + k],
                &xdot[n * k..(n + 1) * k],
                "{tag}: ẋ copied"
            );
        }
        let within = |what: &str, got: &[f32], want: &[f64]| {
            let scale = want.iter().fold(1e-3f64, |m, v| m.max(v.abs()));
            check(
                &format!("{tag} {what}"),
                got,
                want,
                &vec![1e-4 * scale; want.len()],
            );
        };
        within("ṡ", &ydot, &want_y);
        let want_c = rmb::curvature(&x64, &xd64, &f64s(&dydot), &r, eps);
        within("curvature", &ct.read(gpu).unwrap(), &want_c);
        let plus: Vec<f64> = want_c.iter().zip(&c0).map(|(w, &a)| w + a as f64).collect();
        within("accumulated curvature", &cat.read(gpu).unwrap(), &plus);
    }
}
