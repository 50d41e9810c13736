//! Graph networks: a U-Net-shaped network with two skips (channel concatenations), one
//! weighted add, a node read by several others (its gradients summed) and two outputs, on
//! odd sizes and batch 1, against the same network composed from the f64 references, forward
//! and backward; reruns are bit-identical; shape mistakes name the node and both shapes.

mod common;

use common::*;
use counterfeit::nn::{Graph, GraphBuilder, Mode, RngSpec};
use counterfeit::ops::Clock;
use counterfeit::reference::batchnorm as bn;
use counterfeit::reference::conv::{self, Conv2d, ConvTranspose2d};
use counterfeit::reference::dense::{self, Act};
use counterfeit::reference::layout::Layout;
use counterfeit::tape::ParamGrads;
use counterfeit::{Init, Network, Tensor};

const C: usize = 2;
const S: usize = 9;
const A: f64 = 0.5;
const B: f64 = 1.5;

/// x [2, 9, 9] → e1 conv+bias [3, 5, 5] → leaky → e2 conv [4, 3, 3] → BN → ReLU (output 2)
/// → convT [3, 5, 5] ⊕ leaky(e1) → convT [2, 9, 9] → 0.5·that + 1.5·x ⊕ x → conv+bias
/// [1, 9, 9] → tanh (output 1). x is read three times, leaky(e1) twice, the ReLU once and
/// as an output.
fn unet() -> Graph {
    let g = GraphBuilder::new();
    g.init(Init::Normal(0.4));
    let x = g.input([C, S, S]);
    let a1 = x.conv_bias(3, 3, 2, 1).leaky_relu(0.2);
    let r2 = a1.conv(4, 3, 2, 1).batch_norm().relu();
    let d1 = r2.conv_transpose(3, 3, 2, 1);
    let d2 = d1.concat(&a1).conv_transpose(2, 3, 2, 1);
    let y = d2
        .blend(A as f32, &x, B as f32)
        .concat(&x)
        .conv_bias(1, 3, 1, 1)
        .tanh();
    g.output(&y).output(&r2).build().unwrap()
}

fn scale(v: &[f64], s: f64) -> Vec<f64> {
    v.iter().map(|x| s * x).collect()
}

fn plus(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(x, y)| x + y).collect()
}

fn check_unet(batch: usize) {
    let gpu = gpu();
    let net = Network::new(gpu, "U", unet(), 5).unwrap();
    let x = normal(batch * C * S * S, 3, 1.0);
    let xt = Tensor::from_slice(gpu, &x, &[batch, C, S, S], "x").unwrap();
    let state = Tensor::zeros(gpu, &[4], "state").unwrap();
    let rng = RngSpec {
        seed: 0,
        stream: 0,
        clock: Clock::ITERATION,
    };
    let tape = net.tape(gpu, &xt, Mode::Train, rng, &state).unwrap();
    let dy = normal(batch * S * S, 4, 1.0);
    let dr = normal(batch * 4 * 9, 6, 0.5);
    let dyt = Tensor::from_slice(gpu, &dy, &[batch, 1, S, S], "dy").unwrap();
    let drt = Tensor::from_slice(gpu, &dr, &[batch, 4, 3, 3], "dr").unwrap();
    let dxt = Tensor::zeros(gpu, &[batch, C, S, S], "dx").unwrap();
    let mut kernels = tape.forward().to_vec();
    let back = tape.backward_from(gpu, &[&dyt, &drt], ParamGrads::Write, &[Some(&dxt)]);
    kernels.extend(back.unwrap());
    let run = || {
        gpu.run(&kernels.iter().collect::<Vec<_>>()).unwrap();
        (
            net.params().grads.read(gpu).unwrap(),
            dxt.read(gpu).unwrap(),
        )
    };
    let (grads, dx_got) = run();

    // The same network from the references.
    let p = net.params();
    let w = |i: usize| f64s(&p.read(gpu, i).unwrap());
    let xs = f64s(&x);
    let g1 = Conv2d::new(batch, C, S, S, 3, 3, 2, 1);
    let e1 = conv::conv2d(&xs, &w(0), Some(&w(1)), &g1);
    let leaky = Act::LeakyRelu(0.2);
    let a1 = dense::activation(leaky, &e1);
    let g2 = Conv2d::new(batch, 3, 5, 5, 4, 3, 2, 1);
    let e2 = conv::conv2d(&a1, &w(2), None, &g2);
    let bg = Layout::new(batch, 4, 9);
    let (n2, _, _) = bn::forward(&e2, &w(3), &w(4), &bg, 1e-5);
    let r2 = dense::activation(Act::Relu, &n2);
    let gt1 = ConvTranspose2d::new(batch, 4, 3, 3, 3, 3, 2, 1, 0);
    let d1 = conv::conv_transpose2d(&r2, &w(5), None, &gt1);
    let s1 = bn::concat_channels(&d1, &a1, batch, 25);
    let gt2 = ConvTranspose2d::new(batch, 6, 5, 5, 2, 3, 2, 1, 0);
    let d2 = conv::conv_transpose2d(&s1, &w(6), None, &gt2);
    let res = plus(&scale(&d2, A), &scale(&xs, B));
    let s2 = bn::concat_channels(&res, &xs, batch, S * S);
    let g3 = Conv2d::new(batch, 4, S, S, 1, 3, 1, 1);
    let o = conv::conv2d(&s2, &w(7), Some(&w(8)), &g3);
    let y = dense::activation(Act::Tanh, &o);
    // f32 through eight layers of O(1) values: 1e-4 relative.
    assert_close(
        "output",
        &tape.outputs()[0].read(gpu).unwrap(),
        &y,
        1e-4,
        1e-4,
    );
    assert_close(
        "features",
        &tape.outputs()[1].read(gpu).unwrap(),
        &r2,
        1e-4,
        1e-4,
    );

    let d_o = dense::activation_backward(Act::Tanh, &o, &f64s(&dy));
    let dw7 = conv::conv2d_weight_grad(&s2, &d_o, &g3);
    let db8 = conv::conv2d_bias_grad(&d_o, &g3);
    let ds2 = conv::conv2d_input_grad(&d_o, &w(7), &g3);
    let (dres, dx_concat) = bn::split_channels(&ds2, C, batch, S * S);
    let dd2 = scale(&dres, A);
    let dx_add = scale(&dres, B);
    let dw6 = conv::conv_transpose2d_weight_grad(&s1, &dd2, &gt2);
    let ds1 = conv::conv_transpose2d_input_grad(&dd2, &w(6), &gt2);
    let (dd1, da1_skip) = bn::split_channels(&ds1, 3, batch, 25);
    let dw5 = conv::conv_transpose2d_weight_grad(&r2, &dd1, &gt1);
    let dr2 = plus(
        &conv::conv_transpose2d_input_grad(&dd1, &w(5), &gt1),
        &f64s(&dr),
    );
    let dn2 = dense::activation_backward(Act::Relu, &n2, &dr2);
    let (de2, dgamma, dbeta) = bn::backward(&e2, &dn2, &w(3), &bg, 1e-5);
    let dw2 = conv::conv2d_weight_grad(&a1, &de2, &g2);
    let da1 = plus(&conv::conv2d_input_grad(&de2, &w(2), &g2), &da1_skip);
    let de1 = dense::activation_backward(leaky, &e1, &da1);
    let dw0 = conv::conv2d_weight_grad(&xs, &de1, &g1);
    let db1 = conv::conv2d_bias_grad(&de1, &g1);
    let dx_conv = conv::conv2d_input_grad(&de1, &w(0), &g1);
    let dx = plus(&plus(&dx_concat, &dx_add), &dx_conv);

    let parts = p.split(&grads);
    // Gradients pass back through batch norm, which divides by the batch's standard
    // deviation (9 values per channel at batch 1): 1e-3 relative, as the chain's tape test.
    for (name, got, want) in [
        ("e1 weight", parts[0], &dw0),
        ("e1 bias", parts[1], &db1),
        ("e2 weight", parts[2], &dw2),
        ("gamma", parts[3], &dgamma),
        ("beta", parts[4], &dbeta),
        ("d1 weight", parts[5], &dw5),
        ("d2 weight", parts[6], &dw6),
        ("out weight", parts[7], &dw7),
        ("out bias", parts[8], &db8),
    ] {
        assert_close(name, got, want, 1e-4, 1e-3);
    }
    assert_close("input gradient", &dx_got, &dx, 1e-4, 1e-3);

    // Summed gradients are added in a fixed order: a rerun gives the same bits.
    let (grads2, dx2) = run();
    assert!(
        grads == grads2 && dx_got == dx2,
        "a rerun changed the gradients"
    );
}

#[test]
fn unet_matches_the_composed_references() {
    check_unet(3);
}

#[test]
fn unet_matches_the_composed_references_at_batch_1() {
    check_unet(1);
}

#[test]
fn shape_mistakes_name_the_node_and_both_shapes() {
    let g = GraphBuilder::new();
    let x = g.input([2, 8, 8]);
    let half = x.conv(4, 4, 2, 1).named("down");
    let err = half.concat(&x).named("skip");
    let err = g.output(&err).build().unwrap_err().to_string();
    assert!(
        err.contains("skip") && err.contains("[4, 4, 4]") && err.contains("[2, 8, 8]"),
        "{err}"
    );
    let g = GraphBuilder::new();
    let x = g.input([3]);
    let y = x.linear(4).add(&x);
    let err = g.output(&y).build().unwrap_err().to_string();
    assert!(err.contains("[4]") && err.contains("[3]"), "{err}");
    // Nodes of two graphs cannot be joined; building says so.
    let (g1, g2) = (GraphBuilder::new(), GraphBuilder::new());
    let y = g1.input([3]).add(&g2.input([3]));
    assert!(g1.output(&y).build().is_err());
    assert!(
        GraphBuilder::new().build().is_err(),
        "a graph needs an output"
    );
}

#[test]
fn parameters_are_named_like_pytorch_modules() {
    let gpu = gpu();
    let g = GraphBuilder::new();
    let x = g.input([1, 5, 5]);
    let y = x.conv_bias(2, 3, 1, 1).named("conv1").batch_norm().relu();
    let net = Network::new(gpu, "N", g.output(&y).build().unwrap(), 1).unwrap();
    let names: Vec<String> = net.param_names().into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        [
            "conv1.weight",
            "conv1.bias",
            "1.weight",
            "1.bias",
            "1.running_mean",
            "1.running_var"
        ]
    );
    let w: Vec<f32> = (0..18).map(|i| i as f32).collect();
    net.write_param(gpu, "conv1.weight", &w).unwrap();
    assert_eq!(net.read_param(gpu, "conv1.weight").unwrap(), w);
    let err = net.write_param(gpu, "conv1.weight", &w[..5]).unwrap_err();
    assert!(err.to_string().contains("18"), "{err}");
    assert!(net.read_param(gpu, "conv2.weight").is_err());
}
