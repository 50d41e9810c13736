//! The image transforms of the image-to-image tasks (`shaders/morphology.wgsl`): erosion
//! (3×3 and 2×2),
//! dilation, the outline and pixelation against the byte reference bit for bit, on image sizes
//! whose pixel counts are not multiples of a packed word, one-pixel and one-row images, tiles
//! that do not divide the image; known answers; and a transformed data set of real digits.

mod common;

use common::gpu;
use counterfeit::data::idx;
use counterfeit::ops::morphology::{transform, Transform};
use counterfeit::reference::morphology as reference;
use counterfeit::{Dataset, Tensor};

/// `t` of `images` (count × h × w bytes) on the GPU.
fn on_gpu(t: Transform, images: &[u8], (count, h, w): (usize, usize, usize)) -> Vec<u8> {
    let gpu = gpu();
    let pack = |b: &[u8]| {
        let mut words = vec![0u32; b.len().div_ceil(4)];
        for (i, &v) in b.iter().enumerate() {
            words[i / 4] |= (v as u32) << (8 * (i % 4));
        }
        words
    };
    let src = Tensor::from_u32(gpu, &pack(images), "src").unwrap();
    // Garbage in the destination, padding included: every word must be written whole.
    let dst = Tensor::from_u32(gpu, &vec![0xdead_beef; images.len().div_ceil(4)], "dst").unwrap();
    gpu.run(&[&transform(gpu, t, (count, h, w), &src, &dst).unwrap()])
        .unwrap();
    let words = dst.read_u32(gpu).unwrap();
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    // The padding bytes of the last word are written as 0.
    assert!(bytes[images.len()..].iter().all(|&b| b == 0));
    bytes[..images.len()].to_vec()
}

fn random_bytes(n: usize, seed: u32) -> Vec<u8> {
    (0..n as u32)
        .map(|i| (i.wrapping_add(seed).wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect()
}

#[test]
fn transforms_match_the_reference_bit_for_bit() {
    let transforms = [
        Transform::Erode,
        Transform::Erode2x2,
        Transform::Dilate,
        Transform::Outline,
        Transform::Pixelate(1),
        Transform::Pixelate(2),
        Transform::Pixelate(3),
        Transform::Pixelate(4),
        Transform::Pixelate(7),
    ];
    for (count, h, w) in [
        (1, 1, 1),
        (3, 5, 7),
        (2, 28, 28),
        (1, 1, 9),
        (1, 9, 1),
        (5, 3, 3),
    ] {
        let images = random_bytes(count * h * w, (h * 31 + w) as u32);
        for t in transforms {
            let want = reference::transform(t, &images, h, w);
            assert_eq!(
                on_gpu(t, &images, (count, h, w)),
                want,
                "{t:?} of {count}×{h}×{w}"
            );
        }
    }
}

#[test]
fn known_answers() {
    // One lit pixel in a dark 5×5 image: dilation grows it to its 3×3 square, erosion removes
    // it, the outline is the square.
    let mut dot = vec![0u8; 25];
    dot[2 * 5 + 2] = 200;
    let square: Vec<u8> = (0..25)
        .map(|i| {
            if (1..4).contains(&(i / 5)) && (1..4).contains(&(i % 5)) {
                200
            } else {
                0
            }
        })
        .collect();
    assert_eq!(on_gpu(Transform::Dilate, &dot, (1, 5, 5)), square);
    assert_eq!(on_gpu(Transform::Erode, &dot, (1, 5, 5)), vec![0; 25]);
    // A lit 2×2 block in a dark 4×4 image: the 3×3 square erodes it away, the 2×2 block
    // keeps its top-left pixel, the one whose block it fills.
    let mut block = vec![0u8; 16];
    for i in [5, 6, 9, 10] {
        block[i] = 90;
    }
    assert_eq!(on_gpu(Transform::Erode, &block, (1, 4, 4)), vec![0; 16]);
    let mut corner = vec![0u8; 16];
    corner[5] = 90;
    assert_eq!(on_gpu(Transform::Erode2x2, &block, (1, 4, 4)), corner);
    assert_eq!(on_gpu(Transform::Outline, &dot, (1, 5, 5)), square);
    // A flat image has no outline and pixelates to itself.
    let flat = vec![77u8; 30];
    assert_eq!(on_gpu(Transform::Outline, &flat, (1, 5, 6)), vec![0; 30]);
    assert_eq!(on_gpu(Transform::Pixelate(4), &flat, (1, 5, 6)), flat);
    // A 2×2 tile of 0, 1, 1, 1 has mean 0.75, which rounds to 1; of 0, 0, 0, 1 to 0.
    assert_eq!(
        on_gpu(Transform::Pixelate(2), &[0, 1, 1, 1], (1, 2, 2)),
        vec![1; 4]
    );
    assert_eq!(
        on_gpu(Transform::Pixelate(2), &[0, 0, 0, 1], (1, 2, 2)),
        vec![0; 4]
    );
}

#[test]
fn a_transformed_data_set_holds_the_transformed_digits_and_their_labels() {
    let gpu = gpu();
    let (digits, _) = idx::bundled().unwrap().split(300).unwrap();
    let data = Dataset::from_digits(gpu, &digits, (-1.0, 1.0)).unwrap();
    for t in [
        Transform::Outline,
        Transform::Pixelate(4),
        Transform::Erode,
        Transform::Erode2x2,
    ] {
        let out = data.transformed(gpu, t).unwrap();
        assert_eq!(out.len(), 300);
        assert_eq!(out.shape(), data.shape());
        assert_eq!(out.labels(), data.labels());
        let want = reference::transform(t, &digits.images.pixels, 28, 28);
        assert_eq!(out.bytes(gpu).unwrap(), want, "{t:?}");
        // The source is left as it was.
        assert_eq!(data.bytes(gpu).unwrap(), digits.images.pixels);
    }
    let flat = Dataset::from_bytes(gpu, &[1; 14], 2, &[7], (0.0, 1.0)).unwrap();
    assert!(flat.transformed(gpu, Transform::Outline).is_err());
}
