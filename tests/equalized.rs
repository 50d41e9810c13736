//! The equalised learning rate (`equalized_lr()`): weights stored at unit variance and used at
//! He's constant √(2 / fan-in) times their value give exactly the network whose weights hold
//! the scaled values, with the stored weights' gradients scaled by the same constant, also
//! when a second backward adds to them.

mod common;

use common::*;
use counterfeit::nn::{Mode, RngSpec};
use counterfeit::tape::ParamGrads;
use counterfeit::{Clock, Init, Network, Sequential, Tensor};

const B: usize = 3;
const IN: [usize; 3] = [3, 6, 6];

fn model() -> Sequential {
    Sequential::new(IN)
        .init(Init::Normal(0.02))
        .conv(4, 3, 2, 1) // [4, 3, 3], fan-in 3·3·3
        .leaky_relu(0.2)
        .conv_transpose(2, 4, 2, 1) // [2, 6, 6], fan-in 2·4·4 (PyTorch's)
        .flatten()
        .linear(5) // fan-in 72
}

/// He's constant of each weight of `model`, by parameter name.
fn scales() -> Vec<(&'static str, f32)> {
    [
        ("0.weight", 27.0f64),
        ("2.weight", 32.0),
        ("4.weight", 72.0),
    ]
    .map(|(n, fan_in)| (n, (2.0 / fan_in).sqrt() as f32))
    .to_vec()
}

/// Output, input gradient and each parameter's gradient by name.
type Step = (Vec<f32>, Vec<f32>, Vec<(String, Vec<f32>)>);

/// Output, input gradient and every parameter's gradient after a Write backward and, when
/// `twice`, an Accumulate backward of a second tape on the same input.
fn step(net: &Network, x: &[f32], dy: &[f32], twice: bool) -> Step {
    let gpu = gpu();
    let xt = Tensor::from_slice(gpu, x, &[B, 3, 6, 6], "x").unwrap();
    let dyt = Tensor::from_slice(gpu, dy, &[B, 5], "dy").unwrap();
    let dxt = Tensor::zeros(gpu, &[B, 3, 6, 6], "dx").unwrap();
    let state = Tensor::zeros(gpu, &[4], "state").unwrap();
    let rng = RngSpec {
        seed: 0,
        stream: 0,
        clock: Clock::ITERATION,
    };
    let tape = net.tape(gpu, &xt, Mode::Train, rng, &state).unwrap();
    let mut k = tape.forward().to_vec();
    k.extend(
        tape.backward(gpu, &dyt, ParamGrads::Write, Some(&dxt))
            .unwrap(),
    );
    let second = net.tape(gpu, &xt, Mode::Train, rng, &state).unwrap();
    if twice {
        k.extend_from_slice(second.forward());
        k.extend(
            second
                .backward(gpu, &dyt, ParamGrads::Accumulate, None)
                .unwrap(),
        );
    }
    gpu.run(&k.iter().collect::<Vec<_>>()).unwrap();
    let grads = net.params().grads.read(gpu).unwrap();
    let parts = net.params().split(&grads);
    let named = net
        .param_names()
        .into_iter()
        .zip(parts)
        .map(|((n, _), g)| (n, g.to_vec()))
        .collect();
    (
        tape.output().read(gpu).unwrap(),
        dxt.read(gpu).unwrap(),
        named,
    )
}

#[test]
fn scaled_use_equals_scaled_storage_and_scales_the_gradients() {
    let gpu = gpu();
    let eq = Network::new(gpu, "eq", model().equalized_lr(), 4).unwrap();
    let plain = Network::new(gpu, "plain", model(), 4).unwrap();
    // The plain network holds what the equalised one uses: c·w, the biases as they are.
    for (name, _) in eq.param_names() {
        let mut v = eq.read_param(gpu, &name).unwrap();
        if let Some((_, c)) = scales().into_iter().find(|(n, _)| *n == name) {
            v.iter_mut().for_each(|w| *w *= c);
        }
        plain.write_param(gpu, &name, &v).unwrap();
    }
    let x = normal(B * 3 * 36, 1, 1.0);
    let dy = normal(B * 5, 2, 1.0);
    for twice in [false, true] {
        let (y_eq, dx_eq, g_eq) = step(&eq, &x, &dy, twice);
        let (y, dx, g) = step(&plain, &x, &dy, twice);
        // c·w is one f32 rounding on either side, the same one: the runs are bit-identical.
        assert_eq!(y_eq, y, "forward");
        assert_eq!(dx_eq, dx, "input gradient");
        for ((name, ge), (_, gp)) in g_eq.iter().zip(&g) {
            let c = scales()
                .into_iter()
                .find(|(n, _)| n == name)
                .map_or(1.0, |(_, c)| c);
            // The stored weight's gradient is c times the used one's: one more rounding.
            let want: Vec<f64> = gp.iter().map(|&v| (c * v) as f64).collect();
            let big = want.iter().fold(1e-30f64, |m, v| m.max(v.abs()));
            assert_close(
                &format!("{name} gradient, twice {twice}"),
                ge,
                &want,
                4.0 * f32::EPSILON as f64 * big,
                0.0,
            );
        }
    }
}

#[test]
fn equalised_weights_start_at_unit_variance_and_the_model_says_so() {
    let gpu = gpu();
    let m = Sequential::new([256])
        .init(Init::Normal(0.02))
        .linear(256)
        .batch_norm()
        .linear(1);
    let eq = Network::new(gpu, "eq", m.clone().equalized_lr(), 9).unwrap();
    let std =
        |v: &[f32]| (v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>() / v.len() as f64).sqrt();
    let w = eq.read_param(gpu, "0.weight").unwrap();
    assert!((std(&w) - 1.0).abs() < 0.02, "weight std {}", std(&w));
    assert!(eq
        .read_param(gpu, "0.bias")
        .unwrap()
        .iter()
        .all(|&b| b == 0.0));
    // Batch norm's scale is not a weight to equalise.
    let gamma = eq.read_param(gpu, "1.weight").unwrap();
    assert!(
        (std(&gamma) - 1.0).abs() < 0.1,
        "batch norm's γ keeps its init: {}",
        std(&gamma)
    );
    let plain = Network::new(gpu, "plain", m.clone(), 9).unwrap();
    let w = plain.read_param(gpu, "0.weight").unwrap();
    assert!(
        (std(&w) - 0.02).abs() < 0.002,
        "plain weight std {}",
        std(&w)
    );
    // A checkpoint of one is not the other's.
    assert!(m
        .clone()
        .equalized_lr()
        .graph()
        .describe()
        .ends_with("equalized_lr"));
    assert!(!m.graph().describe().contains("equalized"));
}
