//! The conditional generator that the web demo ships (`models/cgan_generator.safetensors`):
//! its output for fixed latent vectors and labels against the output of a native run stored
//! in `tests/golden/cgan_generator_output.f32` (written by the native test's ignored
//! `write_golden_output`).

use counterfeit::gan::conditional::{dcgan28_generator, generate_async};
use counterfeit::gan::dcgan::NZ;
use counterfeit::gan::noise;
use counterfeit::io::checkpoint::Checkpoint;
use counterfeit::{Gpu, Network, Noise};

use crate::common::assert_close;

pub const WEIGHTS: &[u8] = include_bytes!("../../models/cgan_generator.safetensors");
pub const GOLDEN: &[u8] = include_bytes!("../golden/cgan_generator_output.f32");
pub const CLASSES: usize = 10;

/// Two images of every digit, from fixed normal latent vectors, in one batch.
pub fn input() -> (Vec<f32>, Vec<u32>) {
    let labels: Vec<u32> = (0..2 * CLASSES as u32).map(|i| i % 10).collect();
    (noise(Noise::Normal, labels.len() * NZ, 2024), labels)
}

/// The shipped generator on `gpu`.
pub fn generator(gpu: &Gpu) -> Network {
    let file = Checkpoint::from_bytes(WEIGHTS.to_vec(), "cgan_generator.safetensors".as_ref())
        .expect("the shipped weights");
    let g = Network::new(gpu, "G", dcgan28_generator(CLASSES), 0).unwrap();
    file.load_network(gpu, "G", &g, false).unwrap();
    g
}

/// The shipped generator's images for [`input`].
pub async fn output(gpu: &Gpu) -> Vec<f32> {
    let (z, labels) = input();
    let g = generator(gpu);
    generate_async(gpu, &g, CLASSES, &z, &labels, labels.len())
        .await
        .unwrap()
}

/// Asserts that `gpu` draws what the native run stored, to within 1e-5. Kernel layouts and
/// adapters sum in other orders, so the last bits differ: against the run stored from
/// lavapipe's CPU layouts, lavapipe's GPU layouts differed by at most 5.4e-7 and Chromium's
/// SwiftShader by 1.2e-7 (measured), while a wrong kernel moves these tanh outputs in
/// (−1, 1) by 0.1 or more.
pub async fn matches_golden(gpu: &Gpu) {
    let got = output(gpu).await;
    let want: Vec<f64> = bytemuck_f32(GOLDEN).iter().map(|&v| v as f64).collect();
    assert_close(
        "shipped generator against the native run",
        &got,
        &want,
        1e-5,
        0.0,
    );
}

/// Little-endian f32s from bytes.
pub fn bytemuck_f32(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}
