//! The two kernel layouts (for GPUs and for CPU adapters, chosen with `Gpu::with_layouts`)
//! compute the same forward, input gradient and parameter gradients for a network that uses
//! every layout-dependent kernel: GEMM, convolution and transposed convolution (odd sizes,
//! strides 1 and 2) and batch norm in 2-D and 1-D, at batch 5 and batch 1. Whichever layout
//! the test adapter calls its own is checked against the f64 references elsewhere; this
//! holds the other one to it.

mod common;

use common::*;
use counterfeit::nn::{Mode, RngSpec};
use counterfeit::ops::Clock;
use counterfeit::tape::ParamGrads;
use counterfeit::{Gpu, Layouts, Network, Sequential, Tensor};

const C: usize = 3;
const S: usize = 9;

fn model() -> Sequential {
    Sequential::new([C, S, S])
        .conv(8, 4, 2, 1) // 9 → 4
        .batch_norm()
        .leaky_relu(0.2)
        .conv(6, 3, 1, 1)
        .conv_transpose(5, 4, 2, 1) // 4 → 8
        .batch_norm()
        .relu()
        .flatten()
        .linear(7)
        .batch_norm()
        .tanh()
        .linear(3)
}

/// Output, input gradient and parameter gradients of one training step's forward and
/// backward, with kernels built in `layouts`.
fn run(layouts: Layouts, batch: usize) -> [Vec<f32>; 3] {
    let gpu: &Gpu = &gpu().with_layouts(layouts);
    let net = Network::new(gpu, "layouts", model(), 3).unwrap();
    let x = normal(batch * C * S * S, 1, 1.0);
    let xt = Tensor::from_slice(gpu, &x, &[batch, C, S, S], "x").unwrap();
    let state = Tensor::zeros(gpu, &[4], "state").unwrap();
    let rng = RngSpec {
        seed: 0,
        stream: 0,
        clock: Clock::ITERATION,
    };
    let tape = net.tape(gpu, &xt, Mode::Train, rng, &state).unwrap();
    let dyt = Tensor::from_slice(gpu, &normal(batch * 3, 2, 1.0), &[batch, 3], "dy").unwrap();
    let dxt = Tensor::zeros(gpu, &[batch, C, S, S], "dx").unwrap();
    let mut kernels = tape.forward().to_vec();
    kernels.extend(
        tape.backward(gpu, &dyt, ParamGrads::Write, Some(&dxt))
            .unwrap(),
    );
    gpu.run(&kernels.iter().collect::<Vec<_>>()).unwrap();
    [
        tape.output().read(gpu).unwrap(),
        dxt.read(gpu).unwrap(),
        net.params().grads.read(gpu).unwrap(),
    ]
}

#[test]
fn gpu_and_cpu_layouts_compute_the_same_step() {
    for batch in [5, 1] {
        let cpu = run(Layouts::Cpu, batch);
        let with_cpu = gpu().pipeline_count();
        let gpu_run = run(Layouts::Gpu, batch);
        if batch == 5 {
            // Pipelines are cached by shader, entry point and specialisation.
            assert!(
                gpu().pipeline_count() > with_cpu,
                "the GPU layouts built no pipeline of their own"
            );
        }
        for (what, got, want) in [
            ("output", &gpu_run[0], &cpu[0]),
            ("input gradient", &gpu_run[1], &cpu[1]),
            ("parameter gradients", &gpu_run[2], &cpu[2]),
        ] {
            // Same sums in another order: f32 rounding of a few hundred terms, amplified by
            // batch norm's division by the standard deviation.
            let scale = want.iter().fold(0f32, |m, v| m.max(v.abs())) as f64;
            assert!(want.iter().all(|v| v.is_finite()), "{what}");
            assert_close(
                &format!("{what}, batch {batch}"),
                got,
                &f64s(want),
                1e-5 * scale,
                1e-4,
            );
        }
    }
}

#[test]
fn a_handle_keeps_the_layouts_it_was_given() {
    let gpu = gpu();
    assert_eq!(gpu.layouts(), Layouts::Adapter);
    let forced = gpu.with_layouts(Layouts::Gpu);
    assert_eq!(forced.layouts(), Layouts::Gpu);
    assert_eq!(gpu.layouts(), Layouts::Adapter, "the original is unchanged");
}
