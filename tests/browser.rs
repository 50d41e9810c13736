//! The kernel tests that matter most, run inside a browser on its WebGPU adapter:
//! `cargo test --target wasm32-unknown-unknown --test browser` (see the README for the
//! browser it needs). The checks are the native tests' own (`tests/checks/`), held to the same
//! tolerances; only the shapes are fewer, since a browser's CPU adapter is slow.
#![cfg(target_arch = "wasm32")]

mod checks;
mod common;

use checks::conv::{conv_layer, four_kernels, transposed_layer};
use counterfeit::Gpu;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

async fn gpu() -> Gpu {
    let gpu = Gpu::new_async()
        .await
        .expect("a WebGPU adapter in this browser");
    console_log!("adapter: {}", gpu.describe());
    gpu
}

#[wasm_bindgen_test]
async fn gemm_in_all_transpose_cases_at_awkward_sizes() {
    let gpu = gpu().await;
    for &(m, n, k) in &[(1, 1, 1), (7, 33, 65), (65, 7, 33), (33, 127, 7)] {
        for ta in [false, true] {
            for tb in [false, true] {
                checks::gemm::product(&gpu, m, n, k, ta, tb, false, false, 1.0).await;
            }
        }
    }
    checks::gemm::product(&gpu, 33, 65, 7, false, true, true, false, 1.0).await;
    checks::gemm::product(&gpu, 65, 33, 127, true, false, false, true, 1.0e3).await;
}

#[wasm_bindgen_test]
async fn convolutions_forward_and_both_backwards() {
    let gpu = gpu().await;
    #[rustfmt::skip]
    let layers = [
        conv_layer(2, 3, (5, 7), 7, 3, 1, 1),           // odd non-square, channels 3 → 7
        conv_layer(1, 7, (13, 13), 3, 4, 2, 1),         // stride 2, a ragged edge
        conv_layer(2, 3, (13, 13), 33, 3, 2, 0),        // 33 output channels: a tile and a sliver
        conv_layer(1, 1, (1, 1), 1, 1, 1, 0),           // the smallest there is
        transposed_layer(1, 4, (7, 7), 2, 4, 2, 1, 1),  // output padding: 7 → 15
        transposed_layer(2, 2, (1, 1), 3, 4, 1, 0, 0),  // 1x1 → 4x4
        transposed_layer(3, 2, (5, 5), 3, 3, 2, 1, 1),  // 5 → 10
    ];
    for (i, layer) in layers.iter().enumerate() {
        let seed = 1000 + 100 * i as u64;
        four_kernels(&gpu, layer, seed, 1.0, false, false).await;
        four_kernels(&gpu, layer, seed + 50, 1.0, true, true).await;
    }
}

#[wasm_bindgen_test]
async fn batch_norm_forward_and_backward() {
    let gpu = gpu().await;
    let cases = [
        (1, 1, 1),
        (1, 3, 35),
        (2, 33, 169),
        (64, 3, 35),
        (64, 33, 1),
    ];
    checks::batchnorm::against_reference(&gpu, None, &cases).await;
}

#[wasm_bindgen_test]
async fn gan_loss() {
    checks::loss::bce_on_logits(&gpu().await).await;
}

#[wasm_bindgen_test]
async fn adam() {
    checks::adam::adam_steps(&gpu().await).await;
}

/// The native suite's slanted-land test for one seed: every generated image is a face after
/// training, and was not before. The page's event loop runs at every flush, which completes
/// the metric readbacks.
#[wasm_bindgen_test]
async fn slanted_land_learns() {
    use counterfeit::gan::slanted_land as sl;
    use counterfeit::{Dataset, Trainer};
    let gpu = gpu().await;
    let seed = 1;
    let data =
        Dataset::from_bytes(&gpu, &sl::faces(64, seed), 64, &[sl::PIXELS], (0.0, 1.0)).unwrap();
    let config = sl::config(seed);
    let every = config.readback_every;
    let mut gan = Trainer::new(&gpu, sl::generator(), sl::discriminator(), &data, config).unwrap();
    let before = gan.samples_async().await.unwrap();
    let steps = 1500;
    for step in 1..=steps {
        gan.step().unwrap();
        if step % every == 0 {
            gan.flush_async().await.unwrap();
        }
    }
    gan.flush_async().await.unwrap();
    assert_eq!(
        gan.history().len(),
        steps,
        "every step's metrics are collected"
    );
    let after = gan.samples_async().await.unwrap();
    let faces = |images: &[f32]| images.chunks(4).filter(|im| sl::is_face(im, 0.3)).count();
    assert_eq!(faces(&after), 16, "faces after training: {after:?}");
    assert!(faces(&before) < 16, "faces before training: {before:?}");
}

/// The conditional generator the demo ships draws in the browser what it drew natively.
#[wasm_bindgen_test]
async fn shipped_generator_draws_as_natively() {
    checks::shipped_generator::matches_golden(&gpu().await).await;
}
