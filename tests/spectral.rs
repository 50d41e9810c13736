//! Spectral normalisation: the power iteration, the forward at W/σ and the gradient through σ
//! against the f64 references (dense and strided convolution weights, odd shapes, batch 1),
//! the reference gradient against finite differences, the kept u left alone outside
//! training, and what is refused.

mod common;

use common::*;
use counterfeit::nn::{Mode, RngSpec};
use counterfeit::ops::Clock;
use counterfeit::reference::conv::{self, Conv2d};
use counterfeit::reference::dense;
use counterfeit::reference::spectral as sn;
use counterfeit::tape::ParamGrads;
use counterfeit::{Init, Network, Sequential, Tensor};

#[test]
fn the_reference_gradient_through_sigma_matches_finite_differences() {
    let (rows, cols) = (3, 5);
    let w = f64s(&normal(rows * cols, 1, 1.0));
    let (u, v, _) = sn::power(&w, rows, &f64s(&normal(rows, 2, 1.0)));
    let r = f64s(&normal(rows * cols, 3, 1.0));
    let loss = |w: &[f64]| {
        let s = sn::sigma(w, &u, &v);
        w.iter().zip(&r).map(|(a, b)| a / s * b).sum::<f64>()
    };
    let numeric = numeric_grad(loss, &w, 1e-6);
    let got: Vec<f32> = sn::backward(&w, &r, &u, &v)
        .iter()
        .map(|&x| x as f32)
        .collect();
    assert_close("dW", &got, &numeric, 1e-7, 1e-6);
}

fn rng() -> RngSpec {
    RngSpec {
        seed: 0,
        stream: 0,
        clock: Clock::ITERATION,
    }
}

/// [2, 5, 5] → conv(3, k3, s2, p1, bias) → flatten → linear(5), both spectrally normalised.
fn check(b: usize, mode: Mode) {
    let gpu = gpu();
    let (c, h) = (2, 5);
    let model = Sequential::new([c, h, h])
        .init(Init::Normal(0.5))
        .spectral_norm()
        .conv_bias(3, 3, 2, 1)
        .flatten()
        .linear(5);
    let net = Network::new(gpu, "D", model, 7).unwrap();
    let kept: Vec<(Vec<f64>, Vec<f64>)> = net
        .spectral_vectors()
        .map(|(_, (u, v))| (f64s(&u.read(gpu).unwrap()), f64s(&v.read(gpu).unwrap())))
        .collect();
    assert_eq!(kept.len(), 2, "both weights are normalised");
    let x = normal(b * c * h * h, 8, 1.0);
    let xt = Tensor::from_slice(gpu, &x, &[b, c, h, h], "x").unwrap();
    let state = Tensor::zeros(gpu, &[4], "state").unwrap();
    let tape = net.tape(gpu, &xt, mode, rng(), &state).unwrap();
    let dy = normal(b * 5, 9, 1.0);
    let dyt = Tensor::from_slice(gpu, &dy, &[b, 5], "dy").unwrap();
    let mut kernels = tape.forward().to_vec();
    kernels.extend(tape.backward(gpu, &dyt, ParamGrads::Write, None).unwrap());
    gpu.run(&kernels.iter().collect::<Vec<_>>()).unwrap();

    let p = net.params();
    let param = |i: usize| f64s(&p.read(gpu, i).unwrap());
    let (wc, bc, wl, bl) = (param(0), param(1), param(2), param(3));
    // Training iterates once from the kept u; evaluation uses u and v as kept.
    let snapshot = |w: &[f64], rows: usize, (u, v): &(Vec<f64>, Vec<f64>)| match mode {
        Mode::Train => sn::power(w, rows, u),
        _ => (u.clone(), v.clone(), sn::sigma(w, u, v)),
    };
    let (uc, vc, sc) = snapshot(&wc, 3, &kept[0]);
    let (ul, vl, sl) = snapshot(&wl, 5, &kept[1]);
    let wc_n: Vec<f64> = wc.iter().map(|w| w / sc).collect();
    let wl_n: Vec<f64> = wl.iter().map(|w| w / sl).collect();
    let g = Conv2d::new(b, c, h, h, 3, 3, 2, 1);
    let hidden = conv::conv2d(&f64s(&x), &wc_n, Some(&bc), &g);
    let y = dense::linear(&hidden, &wl_n, Some(&bl), b, 27, 5);
    let tag = format!("batch {b}, {mode:?}");
    assert_close(
        &format!("output ({tag})"),
        &tape.output().read(gpu).unwrap(),
        &y,
        1e-5,
        1e-4,
    );

    let (dh, dwl_n, dbl) = dense::linear_backward(&hidden, &wl_n, &f64s(&dy), b, 27, 5);
    let dwc_n = conv::conv2d_weight_grad(&f64s(&x), &dh, &g);
    let dbc = conv::conv2d_bias_grad(&dh, &g);
    let grads = |i: usize| p.grad(i).read(gpu).unwrap();
    let want_wc = sn::backward(&wc, &dwc_n, &uc, &vc);
    let want_wl = sn::backward(&wl, &dwl_n, &ul, &vl);
    assert_close(&format!("conv dW ({tag})"), &grads(0), &want_wc, 1e-5, 1e-4);
    assert_close(&format!("conv db ({tag})"), &grads(1), &dbc, 1e-5, 1e-4);
    assert_close(
        &format!("linear dW ({tag})"),
        &grads(2),
        &want_wl,
        1e-5,
        1e-4,
    );
    assert_close(&format!("linear db ({tag})"), &grads(3), &dbl, 1e-5, 1e-4);

    let after: Vec<(Vec<f32>, Vec<f32>)> = net
        .spectral_vectors()
        .map(|(_, (u, v))| (u.read(gpu).unwrap(), v.read(gpu).unwrap()))
        .collect();
    assert_close(&format!("kept u ({tag})"), &after[0].0, &uc, 1e-6, 1e-5);
    assert_close(&format!("kept v ({tag})"), &after[1].1, &vl, 1e-6, 1e-5);
}

#[test]
fn spectral_norm_matches_the_reference_in_training() {
    check(3, Mode::Train);
    check(1, Mode::Train);
}

#[test]
fn spectral_norm_keeps_u_outside_training() {
    check(2, Mode::Eval);
}

#[test]
fn the_first_sigma_is_close_to_the_largest_singular_value() {
    // 15 host iterations at construction: σ of a 6×4 matrix within 1e-3 of the true one,
    // which 200 more iterations of the reference give.
    let gpu = gpu();
    let model = Sequential::new([4])
        .init(Init::Normal(1.0))
        .spectral_norm()
        .linear(6);
    let net = Network::new(gpu, "D", model, 3).unwrap();
    let w = f64s(&net.params().read(gpu, 0).unwrap());
    let (u, v) = net
        .spectral_vectors()
        .next()
        .map(|(_, (u, v))| (u.clone(), v.clone()))
        .unwrap();
    let first = sn::sigma(
        &w,
        &f64s(&u.read(gpu).unwrap()),
        &f64s(&v.read(gpu).unwrap()),
    );
    let mut uu = f64s(&u.read(gpu).unwrap());
    let mut s = 0.0;
    for _ in 0..200 {
        let (a, _, b) = sn::power(&w, 6, &uu);
        uu = a;
        s = b;
    }
    assert!(
        (first - s).abs() < 1e-3 * s,
        "first σ {first}, converged {s}"
    );
}

#[test]
fn spectral_norm_refuses_transposed_convolutions_and_equalized_weights() {
    let gpu = gpu();
    let t = Sequential::new([2, 3, 3])
        .spectral_norm()
        .conv_transpose(2, 3, 2, 1);
    let err = Network::new(gpu, "G", t, 1)
        .err()
        .expect("refused")
        .to_string();
    assert!(err.contains("dense and convolution weights only"), "{err}");
    let both = Sequential::new([4])
        .spectral_norm()
        .equalized_lr()
        .linear(2);
    let err = Network::new(gpu, "D", both, 1)
        .err()
        .expect("refused")
        .to_string();
    assert!(err.contains("use one"), "{err}");
}
