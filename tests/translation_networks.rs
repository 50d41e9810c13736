//! The image-to-image networks: their shapes, a forward and backward at batch 1 and 3 with
//! every parameter reached, and the PatchGAN's patches: a change to one input pixel moves only
//! the logits whose `PATCH_SIDE`-pixel square holds it.

mod common;

use common::{gpu, normal};
use counterfeit::gan::translation::{
    cycle_discriminator28, patch_discriminator28, resnet_generator28, unet28, PATCHES, PATCH_SIDE,
    SIDE,
};
use counterfeit::nn::{Mode, RngSpec};
use counterfeit::tape::ParamGrads;
use counterfeit::{Clock, Graph, Network, Tensor};

fn rng() -> RngSpec {
    RngSpec {
        seed: 1,
        stream: 0,
        clock: Clock::ITERATION,
    }
}

/// `model`'s output for `x`, and every parameter's gradient for an all-ones output gradient.
fn run(model: Graph, x: &[f32], shape: &[usize], mode: Mode) -> (Vec<f32>, Vec<f32>) {
    let gpu = gpu();
    let net = Network::new(gpu, "net", model, 3).unwrap();
    let xt = Tensor::from_slice(gpu, x, shape, "x").unwrap();
    let state = Tensor::zeros(gpu, &[4], "state").unwrap();
    let tape = net.tape(gpu, &xt, mode, rng(), &state).unwrap();
    let out = tape.output().clone();
    let mut k = tape.forward().to_vec();
    if mode == Mode::Train {
        let dy = Tensor::from_slice(gpu, &vec![1.0; out.len()], out.shape(), "dy").unwrap();
        k.extend(tape.backward(gpu, &dy, ParamGrads::Write, None).unwrap());
    }
    gpu.run(&k.iter().collect::<Vec<_>>()).unwrap();
    let grads = net.params().grads.read(gpu).unwrap();
    (out.read(gpu).unwrap(), grads)
}

#[test]
fn shapes_and_a_training_step_at_batch_1_and_3() {
    let image = [1, SIDE, SIDE];
    assert_eq!(unet28(64).unwrap().output_shape().unwrap(), image);
    assert_eq!(
        resnet_generator28(32, 2).unwrap().output_shape().unwrap(),
        image
    );
    for c in [1, 2] {
        let d = patch_discriminator28(c, 64).unwrap();
        assert_eq!(d.input_shape(), [c, SIDE, SIDE]);
        assert_eq!(d.output_shape().unwrap(), [1, PATCHES, PATCHES]);
    }
    let d = cycle_discriminator28(16).unwrap();
    assert_eq!(d.output_shape().unwrap(), [1, PATCHES, PATCHES]);
    for batch in [1, 3] {
        let n = batch * SIDE * SIDE;
        let nets = [
            ("U-Net", unet28(64).unwrap(), 1),
            ("residual G", resnet_generator28(32, 2).unwrap(), 1),
            ("PatchGAN", patch_discriminator28(2, 64).unwrap(), 2),
            ("CycleGAN's PatchGAN", cycle_discriminator28(16).unwrap(), 1),
        ];
        for (name, model, c) in nets {
            let x = normal(c * n, 7, 1.0);
            let (y, grads) = run(model, &x, &[batch, c, SIDE, SIDE], Mode::Train);
            assert!(y.iter().all(|v| v.is_finite()), "{name} at batch {batch}");
            assert!(
                grads.iter().all(|v| v.is_finite()),
                "{name} at batch {batch}"
            );
            // Most parameters get a gradient (padding between parameters stays 0).
            let reached = grads.iter().filter(|g| **g != 0.0).count();
            assert!(
                reached * 10 > grads.len() * 9,
                "{name}: {reached} of {}",
                grads.len()
            );
        }
    }
}

#[test]
fn a_patchgan_logit_sees_only_its_patch() {
    let x = normal(2 * SIDE * SIDE, 9, 1.0);
    // Evaluation mode: batch norm per element, so nothing mixes positions.
    let (base, _) = run(
        patch_discriminator28(2, 64).unwrap(),
        &x,
        &[1, 2, SIDE, SIDE],
        Mode::Eval,
    );
    for (py, px) in [(0, 0), (13, 13), (27, 5)] {
        let mut moved = x.clone();
        moved[SIDE * SIDE + py * SIDE + px] += 3.0; // the second channel
        let (y, _) = run(
            patch_discriminator28(2, 64).unwrap(),
            &moved,
            &[1, 2, SIDE, SIDE],
            Mode::Eval,
        );
        for i in 0..PATCHES {
            for j in 0..PATCHES {
                // Logit (i, j) sees rows 4i − 3 ..= 4i + 6 and the same columns.
                let sees = |p: usize, o: usize| {
                    (p as i64 - (4 * o as i64 - 3)) >= 0 && (4 * o as i64 + 6 - p as i64) >= 0
                };
                let changed = y[i * PATCHES + j] != base[i * PATCHES + j];
                assert_eq!(
                    changed,
                    sees(py, i) && sees(px, j),
                    "pixel ({py}, {px}), logit ({i}, {j})"
                );
            }
        }
    }
    assert_eq!(PATCH_SIDE, 6 + 3 + 1);
}
