//! The tape wires layers together correctly: a small network with every image layer kind
//! (transposed conv with output padding, batch norm, ReLU, strided conv with bias, flatten,
//! linear) against the same network composed from the CPU references, forward and backward,
//! including the running statistics and the input gradient.

mod common;

use common::*;
use counterfeit::nn::{Mode, RngSpec};
use counterfeit::ops::Clock;
use counterfeit::reference::batchnorm as bn;
use counterfeit::reference::conv::{self, Conv2d, ConvTranspose2d};
use counterfeit::reference::dense::{self, Act};
use counterfeit::reference::layout::Layout;
use counterfeit::tape::ParamGrads;
use counterfeit::{Init, Network, Sequential, Tensor};

#[test]
fn conv_bn_network_matches_the_composed_references() {
    let gpu = gpu();
    let (b, c, h, w) = (3usize, 2usize, 5usize, 5usize);
    let model = Sequential::new([c, h, w])
        .init(Init::Normal(0.3))
        .conv_transpose_padded(3, 3, 2, 1, 1) // [3, 10, 10]
        .batch_norm()
        .relu()
        .conv_bias(4, 3, 2, 1) // [4, 5, 5]
        .flatten()
        .linear(2);
    let net = Network::new(gpu, "N", model, 9).unwrap();
    let x = normal(b * c * h * w, 1, 1.0);
    let xt = Tensor::from_slice(gpu, &x, &[b, c, h, w], "x").unwrap();
    let state = Tensor::zeros(gpu, &[4], "state").unwrap();
    let rng = RngSpec {
        seed: 0,
        stream: 0,
        clock: Clock::ITERATION,
    };
    let tape = net.tape(gpu, &xt, Mode::Train, rng, &state).unwrap();
    let r = normal(b * 2, 2, 1.0);
    let rt = Tensor::from_slice(gpu, &r, &[b, 2], "dy").unwrap();
    let dxt = Tensor::zeros(gpu, &[b, c, h, w], "dx").unwrap();
    let mut kernels: Vec<_> = tape.forward().to_vec();
    kernels.extend(
        tape.backward(gpu, &rt, ParamGrads::Write, Some(&dxt))
            .unwrap(),
    );
    gpu.run(&kernels.iter().collect::<Vec<_>>()).unwrap();

    // The same computation from the references.
    let p = net.params();
    let param = |i: usize| f64s(&p.read(gpu, i).unwrap());
    let (wt, gamma, beta, wc, bc, wl, bl) = (
        param(0),
        param(1),
        param(2),
        param(3),
        param(4),
        param(5),
        param(6),
    );
    let gt = ConvTranspose2d::new(b, c, h, w, 3, 3, 2, 1, 1);
    let t_out = conv::conv_transpose2d(&f64s(&x), &wt, None, &gt); // [b, 3, 10, 10]
    let bg = Layout::new(b, 3, 100);
    let (n_out, mean, var) = bn::forward(&t_out, &gamma, &beta, &bg, 1e-5);
    let a_out = dense::activation(Act::Relu, &n_out);
    let gc = Conv2d::new(b, 3, 10, 10, 4, 3, 2, 1);
    let c_out = conv::conv2d(&a_out, &wc, Some(&bc), &gc); // [b, 4, 5, 5]
    let y = dense::linear(&c_out, &wl, Some(&bl), b, 100, 2);
    // f32 through five layers with sums of up to 100 terms: 1e-4 relative to O(1) values.
    assert_close("output", &tape.output().read(gpu).unwrap(), &y, 1e-4, 1e-4);

    let (dc, dwl, dbl) = dense::linear_backward(&c_out, &wl, &f64s(&r), b, 100, 2);
    let dwc = conv::conv2d_weight_grad(&a_out, &dc, &gc);
    let dbc = conv::conv2d_bias_grad(&dc, &gc);
    let da = conv::conv2d_input_grad(&dc, &wc, &gc);
    let dn = dense::activation_backward(Act::Relu, &n_out, &da);
    let (dt, dgamma, dbeta) = bn::backward(&t_out, &dn, &gamma, &bg, 1e-5);
    let dwt = conv::conv_transpose2d_weight_grad(&f64s(&x), &dt, &gt);
    let dx = conv::conv_transpose2d_input_grad(&dt, &wt, &gt);

    let grads = p.grads.read(gpu).unwrap();
    let parts = p.split(&grads);
    // Gradients pass back through batch norm's normalisation, which divides by the batch
    // standard deviation: allow 1e-3 relative.
    for (name, got, want) in [
        ("linear weight", parts[5], &dwl),
        ("linear bias", parts[6], &dbl),
        ("conv weight", parts[3], &dwc),
        ("conv bias", parts[4], &dbc),
        ("batch norm gamma", parts[1], &dgamma),
        ("batch norm beta", parts[2], &dbeta),
        ("conv_transpose weight", parts[0], &dwt),
    ] {
        assert_close(name, got, want, 1e-4, 1e-3);
    }
    assert_close("input gradient", &dxt.read(gpu).unwrap(), &dx, 1e-4, 1e-3);

    // Running statistics after one training forward (momentum 0.1, unbiased variance).
    let (_, (rm, rv)) = net.running_stats().next().unwrap();
    let m = (b * 100) as f64;
    let want_rm: Vec<f64> = mean.iter().map(|v| 0.1 * v).collect();
    let want_rv: Vec<f64> = var.iter().map(|v| 0.9 + 0.1 * v * m / (m - 1.0)).collect();
    assert_close("running mean", &rm.read(gpu).unwrap(), &want_rm, 1e-5, 1e-4);
    assert_close("running var", &rv.read(gpu).unwrap(), &want_rv, 1e-5, 1e-4);
}

#[test]
fn image_layers_reject_flat_inputs_with_a_hint() {
    let err = Sequential::new([784])
        .conv(8, 3, 1, 1)
        .output_shape()
        .unwrap_err();
    assert!(err.to_string().contains("reshape"), "{err}");
    let err = Sequential::new([1, 2, 2])
        .conv(8, 5, 1, 0)
        .output_shape()
        .unwrap_err();
    assert!(matches!(err, counterfeit::Error::Shape { .. }), "{err}");
}
