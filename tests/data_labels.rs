//! `gather_labels` picks the labels of exactly the samples `gather` picks, following the CPU
//! reference of the per-epoch permutation (`reference::shuffle::batch_index`), and a data set
//! made from labelled digits carries its labels on the GPU.

mod common;

use common::*;
use counterfeit::data::idx::{self, Digits, Images};
use counterfeit::ops::data::{gather, gather_labels, Gather};
use counterfeit::ops::Clock;
use counterfeit::reference::shuffle;
use counterfeit::{Dataset, Error, Tensor};

fn state(step: u32) -> Tensor {
    Tensor::from_u32(gpu(), &[step, 0, 0, 0], "state").unwrap()
}

#[test]
fn gathered_labels_belong_to_the_gathered_images() {
    let gpu = gpu();
    // Image i holds its own index in its first byte, so each gathered image names itself.
    let (count, size, batch) = (37usize, 6usize, 8usize);
    let pixels: Vec<u8> = (0..count * size)
        .map(|i| {
            if i % size == 0 {
                (i / size) as u8
            } else {
                (i * 7 % 256) as u8
            }
        })
        .collect();
    let labels: Vec<u8> = (0..count).map(|i| ((i * 5 + 3) % 10) as u8).collect();
    let digits = Digits {
        images: Images {
            count,
            rows: 2,
            cols: 3,
            pixels: pixels.clone(),
        },
        labels: labels.clone(),
    };
    let data = Dataset::from_digits(gpu, &digits, (0.0, 255.0)).unwrap();
    let label_t = data.label_tensor().expect("digits have labels");
    // The same bytes as the data set uploads, for `gather` (its pixels are crate-private).
    let mut words = vec![0u32; pixels.len().div_ceil(4)];
    for (i, &b) in pixels.iter().enumerate() {
        words[i / 4] |= (b as u32) << (8 * (i % 4));
    }
    let pixel_t = Tensor::from_u32(gpu, &words, "pixels").unwrap();
    let images = Tensor::zeros(gpu, &[batch, size], "images").unwrap();
    let out = Tensor::from_u32(gpu, &[u32::MAX; 8], "labels").unwrap();

    // One tick per iteration, and the second of two sub-steps per iteration (k = 2 D steps).
    for clock in [Clock::ITERATION, Clock { mul: 2, add: 1 }] {
        let mut seen = vec![0usize; count];
        // Three epochs' worth of iterations with one tick each (more with two); epoch
        // boundaries fall inside batches (37 is prime).
        for it in 0..(count * 3 / batch) as u32 {
            let g = Gather {
                count,
                size,
                batch,
                seed: 91,
                scale: 1.0,
                shift: 0.0,
                clock,
                resize: None,
            };
            let st = state(it);
            gpu.run(&[
                &gather(gpu, g, &st, &pixel_t, &images).unwrap(),
                &gather_labels(gpu, g, &st, label_t, &out).unwrap(),
            ])
            .unwrap();
            let got = out.read_u32(gpu).unwrap();
            let img = images.read(gpu).unwrap();
            let step = it * clock.mul + clock.add;
            for b in 0..batch {
                let idx =
                    shuffle::batch_index(step, batch as u32, b as u32, count as u32, 91) as usize;
                seen[idx] += 1;
                assert_eq!(
                    got[b], labels[idx] as u32,
                    "{clock:?} step {step} sample {b}"
                );
                // The image gathered beside it is that sample too.
                assert_eq!(
                    img[b * size] as usize,
                    idx,
                    "{clock:?} step {step} sample {b}"
                );
            }
        }
        if clock == Clock::ITERATION {
            // Three epochs (minus a partial batch) visit every sample 2–3 times.
            assert!(
                seen.iter().all(|&c| (2..=3).contains(&c)),
                "visits {seen:?}"
            );
        }
    }
}

#[test]
fn datasets_carry_their_labels_on_the_gpu() {
    let gpu = gpu();
    let digits = idx::bundled().unwrap();
    let data = Dataset::from_digits(gpu, &digits, (-1.0, 1.0)).unwrap();
    let want: Vec<u32> = digits.labels.iter().map(|&l| l as u32).collect();
    assert_eq!(data.label_tensor().unwrap().read_u32(gpu).unwrap(), want);

    let unlabelled = Dataset::from_bytes(gpu, &[0u8; 12], 3, &[4], (0.0, 1.0)).unwrap();
    assert!(unlabelled.label_tensor().is_none());

    // Labels that do not match the images are refused.
    let mut bad = digits.clone();
    bad.labels.pop();
    assert!(matches!(
        Dataset::from_digits(gpu, &bad, (0.0, 1.0)),
        Err(Error::Shape { .. })
    ));
}

#[test]
fn gather_labels_checks_its_tensors() {
    let gpu = gpu();
    let g = Gather {
        count: 10,
        size: 1,
        batch: 4,
        seed: 1,
        scale: 1.0,
        shift: 0.0,
        clock: Clock::ITERATION,
        resize: None,
    };
    let labels = Tensor::from_u32(gpu, &[0; 10], "labels").unwrap();
    let out = Tensor::from_u32(gpu, &[0; 4], "out").unwrap();
    assert!(gather_labels(gpu, g, &state(0), &labels, &out).is_ok());
    let short = Tensor::from_u32(gpu, &[0; 9], "labels").unwrap();
    assert!(matches!(
        gather_labels(gpu, g, &state(0), &short, &out),
        Err(Error::Shape { .. })
    ));
    let wrong = Tensor::from_u32(gpu, &[0; 5], "out").unwrap();
    assert!(matches!(
        gather_labels(gpu, g, &state(0), &labels, &wrong),
        Err(Error::Shape { .. })
    ));
}
