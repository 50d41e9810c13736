//! Gradient penalties: the second-order pass gives the gradient of a penalty on D's input
//! gradient with respect to D's parameters. Checked against finite differences of the same
//! penalty composed from the f64 references, through every layer kind a penalised D uses
//! (strided conv with bias, LeakyReLU, transposed conv, Tanh, flatten, linear, Sigmoid), on
//! odd sizes and batch 1, for WGAN-GP's penalty and R1's, and through spectrally normalised
//! weights.

mod common;

use common::*;
use counterfeit::nn::{Mode, RngSpec};
use counterfeit::ops::elementwise::fill;
use counterfeit::ops::penalty::{interpolate, norm_penalty, NormPenalty};
use counterfeit::ops::stabilise::Draws;
use counterfeit::ops::Clock;
use counterfeit::reference::conv::{self, Conv2d, ConvTranspose2d};
use counterfeit::reference::dense::{self, Act};
use counterfeit::reference::penalty as reference;
use counterfeit::reference::spectral;
use counterfeit::tape::ParamGrads;
use counterfeit::{Init, Network, Sequential, Tensor};

const C: usize = 2;
const H: usize = 5;

/// D: [2, 5, 5] → conv(3, k3, s2, p1, bias) → LeakyReLU(0.2) → conv_transpose(2, k3, s2, p1)
/// → Tanh → flatten → linear(4) → Sigmoid → linear(1).
fn model() -> Sequential {
    Sequential::new([C, H, H])
        .init(Init::Normal(0.4))
        .conv_bias(3, 3, 2, 1)
        .leaky_relu(0.2)
        .conv_transpose(2, 3, 2, 1)
        .tanh()
        .flatten()
        .linear(4)
        .sigmoid()
        .linear(1)
}

/// The same D from the references: its outputs' sum's gradient at `x` for parameters `p`
/// (in the network's order, concatenated), and that sum.
fn input_gradient(p: &[f64], x: &[f64], b: usize) -> (f64, Vec<f64>) {
    let (wc, rest) = p.split_at(3 * C * 9);
    let (bc, rest) = rest.split_at(3);
    let (wt, rest) = rest.split_at(3 * 2 * 9);
    let (wl, rest) = rest.split_at(4 * 50);
    let (bl, rest) = rest.split_at(4);
    let (wo, bo) = rest.split_at(4);
    let gc = Conv2d::new(b, C, H, H, 3, 3, 2, 1);
    let gt = ConvTranspose2d::new(b, 3, 3, 3, 2, 3, 2, 1, 0);
    let c = conv::conv2d(x, wc, Some(bc), &gc);
    let a = dense::activation(Act::LeakyRelu(0.2), &c);
    let t = conv::conv_transpose2d(&a, wt, None, &gt);
    let th = dense::activation(Act::Tanh, &t);
    let l = dense::linear(&th, wl, Some(bl), b, 50, 4);
    let s = dense::activation(Act::Sigmoid, &l);
    let y = dense::linear(&s, wo, Some(bo), b, 4, 1);
    let (ds, _, _) = dense::linear_backward(&s, wo, &vec![1.0; b], b, 4, 1);
    let dl = dense::activation_backward(Act::Sigmoid, &l, &ds);
    let (dth, _, _) = dense::linear_backward(&th, wl, &dl, b, 50, 4);
    let dt = dense::activation_backward(Act::Tanh, &t, &dth);
    let da = conv::conv_transpose2d_input_grad(&dt, wt, &gt);
    let dc = dense::activation_backward(Act::LeakyRelu(0.2), &c, &da);
    (y.iter().sum(), conv::conv2d_input_grad(&dc, wc, &gc))
}

#[test]
fn the_reference_input_gradient_matches_finite_differences() {
    let b = 2;
    let net = Network::new(gpu(), "D", model(), 3).unwrap();
    let p: Vec<f64> = (0..net.params().count())
        .flat_map(|i| f64s(&net.params().read(gpu(), i).unwrap()))
        .collect();
    let x = f64s(&normal(b * C * H * H, 5, 1.0));
    let numeric = numeric_grad(|x| input_gradient(&p, x, b).0, &x, 1e-6);
    let (_, g) = input_gradient(&p, &x, b);
    let got: Vec<f32> = g.iter().map(|&v| v as f32).collect();
    assert_close("reference ∂ΣD/∂x", &got, &numeric, 1e-6, 1e-5);
}

/// Runs `net`'s forward on `x` in training mode, its input gradient `g` of Σ D, `penalty`
/// on it, and the second-order pass into zeroed parameter gradients. Returns g, the
/// penalty's gradient v at g, and the metrics (the penalty in slot 0, the mean norm in 1).
fn penalise(net: &Network, x: &[f32], penalty: NormPenalty) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let gpu = gpu();
    let b = x.len() / (C * H * H);
    let xt = Tensor::from_slice(gpu, x, &[b, C, H, H], "x").unwrap();
    let state = Tensor::zeros(gpu, &[4], "state").unwrap();
    let rng = RngSpec {
        seed: 0,
        stream: 0,
        clock: Clock::ITERATION,
    };
    let tape = net.tape(gpu, &xt, Mode::Train, rng, &state).unwrap();
    let ones = Tensor::from_slice(gpu, &vec![1.0; b], &[b, 1], "ones").unwrap();
    let g = Tensor::zeros(gpu, &[b, C, H, H], "g").unwrap();
    let v = Tensor::zeros(gpu, &[b, C, H, H], "v").unwrap();
    let metrics = Tensor::zeros(gpu, &[2], "metrics").unwrap();
    let mut kernels = tape.forward().to_vec();
    kernels.extend(
        tape.backward(gpu, &ones, ParamGrads::Skip, Some(&g))
            .unwrap(),
    );
    kernels.push(norm_penalty(gpu, penalty, &g, &v, &metrics).unwrap());
    let p = net.params();
    for i in 0..p.count() {
        kernels.push(fill(gpu, &p.grad(i), 0.0, &ones).unwrap());
    }
    kernels.extend(tape.second_order(gpu, &v, &[&ones]).unwrap());
    gpu.run(&kernels.iter().collect::<Vec<_>>()).unwrap();
    let read = |t: &Tensor| t.read(gpu).unwrap();
    (read(&g), read(&v), read(&metrics))
}

fn check_penalty(b: usize, weight: f32, center: f32, seed: u64) {
    let grad = |p: &[f64], x: &[f64], b: usize| input_gradient(p, x, b).1;
    check_penalty_of(model(), grad, b, weight, center, seed);
}

/// The penalty's parts and its parameter gradient for D `model`, whose input gradient the
/// references give as `grad(params, x, batch)`.
fn check_penalty_of(
    model: Sequential,
    grad: impl Fn(&[f64], &[f64], usize) -> Vec<f64>,
    b: usize,
    weight: f32,
    center: f32,
    seed: u64,
) {
    let gpu = gpu();
    let net = Network::new(gpu, "D", model, seed).unwrap();
    let x = normal(b * C * H * H, seed + 1, 1.0);
    let penalty = NormPenalty {
        weight,
        center,
        slot: 0,
        part: None,
    };
    let (g, v, m) = penalise(&net, &x, penalty);
    let p = net.params();
    let params: Vec<f64> = (0..p.count())
        .flat_map(|i| f64s(&p.read(gpu, i).unwrap()))
        .collect();
    let (w, c) = (weight as f64, center as f64);
    let pen = |params: &[f64]| reference::norm_penalty(&grad(params, &f64s(&x), b), b, w, c).0;
    let g_ref = grad(&params, &f64s(&x), b);
    let (p_ref, norm_ref, v_ref) = reference::norm_penalty(&g_ref, b, w, c);
    let tag = format!("batch {b}, weight {weight}, center {center}");
    assert_close(&format!("g ({tag})"), &g, &g_ref, 1e-5, 1e-4);
    assert_close(&format!("v ({tag})"), &v, &v_ref, 1e-5, 1e-3);
    assert_close(
        &format!("penalty ({tag})"),
        &m,
        &[p_ref, norm_ref],
        1e-6,
        1e-4,
    );

    assert_matches_differences(&net, pen, &params, &tag);
}

/// `net`'s parameter gradients against central differences of `pen` at `params`, within
/// 1e-3 of the largest entry (f32 kernels through up to eight layers against f64
/// differences); the gradient must not be trivially 0.
fn assert_matches_differences(
    net: &Network,
    pen: impl Fn(&[f64]) -> f64,
    params: &[f64],
    tag: &str,
) {
    let p = net.params();
    let numeric = numeric_grad(pen, params, 1e-6);
    let got: Vec<f32> = (0..p.count())
        .flat_map(|i| p.grad(i).read(gpu()).unwrap())
        .collect();
    let scale = numeric.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    assert!(
        scale > 1e-3,
        "the penalty's gradient is not trivially 0 ({tag})"
    );
    assert_close(
        &format!("∂P/∂θ ({tag})"),
        &got,
        &numeric,
        1e-3 * scale,
        1e-3,
    );
}

#[test]
fn wgan_gp_penalty_gradient_matches_finite_differences() {
    check_penalty(3, 10.0, 1.0, 11);
}

#[test]
fn r1_penalty_gradient_matches_finite_differences() {
    check_penalty(3, 5.0, 0.0, 12);
}

#[test]
fn penalty_gradient_at_batch_one() {
    check_penalty(1, 10.0, 1.0, 13);
    check_penalty(1, 0.5, 0.0, 14);
}

#[test]
fn interpolates_match_the_reference() {
    // All of each sample mixed, and only its first 4 of 7 values (a conditional D's image
    // before its label maps, which stay a's).
    let gpu = gpu();
    let (b, size) = (5, 7);
    let a = normal(b * size, 1, 1.0);
    let c = normal(b * size, 2, 1.0);
    let at = Tensor::from_slice(gpu, &a, &[b, size], "a").unwrap();
    let ct = Tensor::from_slice(gpu, &c, &[b, size], "b").unwrap();
    let state = Tensor::from_u32(gpu, &[3, 0, 0, 0], "state").unwrap();
    let draws = Draws {
        seed: 77,
        stream: 9,
        clock: Clock { mul: 2, add: 1 },
    };
    for part in [None, Some(4)] {
        let mixed = Tensor::zeros(gpu, &[b, size], "mixed").unwrap();
        let k = interpolate(gpu, draws, &state, (&at, &ct), &mixed, part).unwrap();
        gpu.run(&[&k]).unwrap();
        let (a, c) = (f64s(&a), f64s(&c));
        let mixes = part.unwrap_or(size);
        let want = reference::interpolate((&a, &c), (size, mixes), 77, 3 * 2 + 1, 9);
        let got = mixed.read(gpu).unwrap();
        assert_close("interpolates", &got, &want, 1e-6, 1e-6);
        // Each mixed value lies between its pair; the copied ones are a's exactly.
        for (i, (&m, (&x, &y))) in got.iter().zip(a.iter().zip(&c)).enumerate() {
            if i % size < mixes {
                let (lo, hi) = (x.min(y) - 1e-6, x.max(y) + 1e-6);
                assert!((lo..=hi).contains(&(m as f64)), "{i}: {m} outside {x}, {y}");
            } else {
                assert_eq!(m as f64, x, "{i}");
            }
        }
    }
    let mixed = Tensor::zeros(gpu, &[b, size], "mixed").unwrap();
    for bad in [Some(0), Some(size + 1)] {
        let err = interpolate(gpu, draws, &state, (&at, &ct), &mixed, bad).err();
        assert!(err.is_some(), "part {bad:?} accepted");
    }
}

#[test]
fn a_penalty_on_part_of_each_sample_matches_the_reference() {
    // A conditional D's input: 7 image values, then 4 label-map values per sample; batch 5
    // with one zero image gradient (no direction: 0 for WGAN-GP, 2γ·g for R1).
    let gpu = gpu();
    let (b, size, part) = (5, 11, 7);
    let mut g = normal(b * size, 31, 1.5);
    g[2 * size..2 * size + part].fill(0.0);
    let gt = Tensor::from_slice(gpu, &g, &[b, size], "g").unwrap();
    for (weight, center) in [(10.0f32, 1.0f32), (3.0, 0.0)] {
        let v = Tensor::from_slice(gpu, &vec![9.0; b * size], &[b, size], "v").unwrap();
        let metrics = Tensor::zeros(gpu, &[2], "metrics").unwrap();
        let penalty = NormPenalty {
            weight,
            center,
            slot: 0,
            part: Some(part),
        };
        let k = norm_penalty(gpu, penalty, &gt, &v, &metrics).unwrap();
        gpu.run(&[&k]).unwrap();
        let (p, n, want) =
            reference::norm_penalty_of_part(&f64s(&g), b, part, weight as f64, center as f64);
        let tag = format!("center {center}");
        assert_close(
            &format!("v ({tag})"),
            &v.read(gpu).unwrap(),
            &want,
            1e-6,
            1e-5,
        );
        assert_close(
            &format!("P ({tag})"),
            &metrics.read(gpu).unwrap(),
            &[p, n],
            1e-6,
            1e-5,
        );
    }
    let bad = NormPenalty {
        weight: 1.0,
        center: 1.0,
        slot: 0,
        part: Some(size + 1),
    };
    let m = Tensor::zeros(gpu, &[2], "m").unwrap();
    assert!(norm_penalty(gpu, bad, &gt, &gt, &m).is_err());
}

#[test]
fn batch_norm_in_a_penalised_d_is_refused_with_the_reason() {
    let gpu = gpu();
    let model = Sequential::new([4])
        .linear(3)
        .batch_norm()
        .leaky_relu(0.2)
        .linear(1);
    let net = Network::new(gpu, "D", model, 1).unwrap();
    let x = Tensor::from_slice(gpu, &normal(8, 1, 1.0), &[2, 4], "x").unwrap();
    let state = Tensor::zeros(gpu, &[4], "state").unwrap();
    let rng = RngSpec {
        seed: 0,
        stream: 0,
        clock: Clock::ITERATION,
    };
    let tape = net.tape(gpu, &x, Mode::Train, rng, &state).unwrap();
    let ones = Tensor::from_slice(gpu, &[1.0, 1.0], &[2, 1], "ones").unwrap();
    let v = Tensor::zeros(gpu, &[2, 4], "v").unwrap();
    let err = tape
        .second_order(gpu, &v, &[&ones])
        .err()
        .expect("refused")
        .to_string();
    assert!(
        err.contains("batch_norm") && err.contains("per sample"),
        "{err}"
    );
}

/// A spectrally normalised D: [2, 5, 5] → conv(3, k3, s2, p1, bias) → LeakyReLU(0.2) →
/// flatten → linear(4) → Tanh → linear(1).
fn sn_model() -> Sequential {
    Sequential::new([C, H, H])
        .init(Init::Normal(0.4))
        .spectral_norm()
        .conv_bias(3, 3, 2, 1)
        .leaky_relu(0.2)
        .flatten()
        .linear(4)
        .tanh()
        .linear(1)
}

/// `sn_model`'s input gradient from the references, each weight divided by uᵀWv for the
/// snapshot vectors (held constant, as the power iteration's are).
fn sn_input_gradient(p: &[f64], x: &[f64], b: usize, uv: &[(Vec<f64>, Vec<f64>)]) -> Vec<f64> {
    let (wc, rest) = p.split_at(3 * C * 9);
    let (bc, rest) = rest.split_at(3);
    let (wl, rest) = rest.split_at(4 * 27);
    let (bl, rest) = rest.split_at(4);
    let (wo, _) = rest.split_at(4);
    let norm = |w: &[f64], k: usize| {
        let s = spectral::sigma(w, &uv[k].0, &uv[k].1);
        w.iter().map(|v| v / s).collect::<Vec<f64>>()
    };
    let (wc, wl, wo) = (norm(wc, 0), norm(wl, 1), norm(wo, 2));
    let gc = Conv2d::new(b, C, H, H, 3, 3, 2, 1);
    let c = conv::conv2d(x, &wc, Some(bc), &gc);
    let a = dense::activation(Act::LeakyRelu(0.2), &c);
    let l = dense::linear(&a, &wl, Some(bl), b, 27, 4);
    let t = dense::activation(Act::Tanh, &l);
    let (dt, _, _) = dense::linear_backward(&t, &wo, &vec![1.0; b], b, 4, 1);
    let dl = dense::activation_backward(Act::Tanh, &l, &dt);
    let (da, _, _) = dense::linear_backward(&a, &wl, &dl, b, 27, 4);
    let dc = dense::activation_backward(Act::LeakyRelu(0.2), &c, &da);
    conv::conv2d_input_grad(&dc, &wc, &gc)
}

#[test]
fn penalty_gradient_through_spectral_norm_matches_finite_differences() {
    let gpu = gpu();
    for (b, weight, center) in [(3, 10.0f32, 1.0f32), (1, 2.0, 0.0)] {
        let net = Network::new(gpu, "D", sn_model(), 21).unwrap();
        let x = normal(b * C * H * H, 22, 1.0);
        let p = net.params();
        let params: Vec<f64> = (0..p.count())
            .flat_map(|i| f64s(&p.read(gpu, i).unwrap()))
            .collect();
        // The snapshot the training forward takes: one iteration from the kept u.
        let weights = [(0, 3), (2, 4), (4, 1)];
        let uv: Vec<(Vec<f64>, Vec<f64>)> = net
            .spectral_vectors()
            .zip(weights)
            .map(|((_, (u, _)), (i, rows))| {
                let w = f64s(&p.read(gpu, i).unwrap());
                let (u, v, _) = spectral::power(&w, rows, &f64s(&u.read(gpu).unwrap()));
                (u, v)
            })
            .collect();
        let penalty = NormPenalty {
            weight,
            center,
            slot: 0,
            part: None,
        };
        let (g, _, _) = penalise(&net, &x, penalty);

        let (w, c) = (weight as f64, center as f64);
        let tag = format!("spectral norm, batch {b}, center {center}");
        let g_ref = sn_input_gradient(&params, &f64s(&x), b, &uv);
        assert_close(&format!("g ({tag})"), &g, &g_ref, 1e-5, 1e-4);
        let pen = |q: &[f64]| {
            let g = sn_input_gradient(q, &f64s(&x), b, &uv);
            reference::norm_penalty(&g, b, w, c).0
        };
        assert_matches_differences(&net, pen, &params, &tag);
    }
}

/// ProGAN's last D block in small: [2, 5, 5] → conv(3, k3, s2, p1, bias) → LeakyReLU(0.2) →
/// minibatch std → Tanh → flatten → linear(1). The samples meet in minibatch std, so each
/// one's input gradient depends on the others.
fn mbstd_model() -> Sequential {
    Sequential::new([C, H, H])
        .init(Init::Normal(0.4))
        .conv_bias(3, 3, 2, 1)
        .leaky_relu(0.2)
        .minibatch_std()
        .tanh()
        .flatten()
        .linear(1)
}

fn mbstd_input_gradient(p: &[f64], x: &[f64], b: usize) -> Vec<f64> {
    use counterfeit::reference::layout::Layout;
    use counterfeit::reference::minibatch_std as rmb;
    let eps = counterfeit::ops::minibatch_std::EPS as f64;
    let (wc, rest) = p.split_at(3 * C * 9);
    let (bc, rest) = rest.split_at(3);
    // The output bias has no part in the input gradient.
    let (wo, _) = rest.split_at(4 * 9);
    let gc = Conv2d::new(b, C, H, H, 3, 3, 2, 1);
    let lm = Layout::new(b, 3, 9);
    let c = conv::conv2d(x, wc, Some(bc), &gc);
    let a = dense::activation(Act::LeakyRelu(0.2), &c);
    let m = rmb::forward(&a, &lm, eps);
    let th = dense::activation(Act::Tanh, &m);
    let (dth, _, _) = dense::linear_backward(&th, wo, &vec![1.0; b], b, 36, 1);
    let dm = dense::activation_backward(Act::Tanh, &m, &dth);
    let da = rmb::backward(&a, &dm, &lm, eps);
    let dc = dense::activation_backward(Act::LeakyRelu(0.2), &c, &da);
    conv::conv2d_input_grad(&dc, wc, &gc)
}

#[test]
fn penalty_gradient_through_minibatch_std_matches_finite_differences() {
    check_penalty_of(mbstd_model(), mbstd_input_gradient, 3, 10.0, 1.0, 41);
    check_penalty_of(mbstd_model(), mbstd_input_gradient, 4, 5.0, 0.0, 42);
    check_penalty_of(mbstd_model(), mbstd_input_gradient, 1, 10.0, 1.0, 43);
}
