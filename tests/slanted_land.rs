//! The first lesson's GAN learns to draw faces for every seed.

mod common;

use common::gpu;
use counterfeit::gan::slanted_land as sl;
use counterfeit::{Dataset, Trainer};

/// A few hundred steps separate the faces; 1500 leaves a wide margin for every seed.
const STEPS: usize = 1500;

#[test]
fn every_generated_image_is_a_face_for_several_seeds() {
    let gpu = gpu();
    for seed in [1u64, 2, 3, 4] {
        let data =
            Dataset::from_bytes(gpu, &sl::faces(64, seed), 64, &[sl::PIXELS], (0.0, 1.0)).unwrap();
        let mut gan = Trainer::new(
            gpu,
            sl::generator(),
            sl::discriminator(),
            &data,
            sl::config(seed),
        )
        .unwrap();
        let before = gan.samples().unwrap();
        for _ in 0..STEPS {
            gan.step().unwrap();
        }
        gan.flush().unwrap();
        assert_eq!(
            gan.history().len(),
            STEPS,
            "every step's metrics are collected"
        );
        let after = gan.samples().unwrap();
        let faces = after.chunks(4).filter(|im| sl::is_face(im, 0.3)).count();
        assert_eq!(
            faces, 16,
            "seed {seed}: {faces}/16 faces after training: {after:?}"
        );
        // The test could fail: an untrained G does not draw faces.
        assert!(
            before.chunks(4).filter(|im| sl::is_face(im, 0.3)).count() < 16,
            "seed {seed}: faces before training"
        );
    }
}
