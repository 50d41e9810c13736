//! The sliced Wasserstein distance: the GPU row sort (`shaders/sort.wgsl`) against
//! `total_cmp` on lengths that neither a power of two nor the lanes of a row divide, the pyramid and the whole distance
//! against their f64 references, known answers (1-D sets through the projection-sort core,
//! a set against itself and against itself shifted or scaled), and real digits against
//! real digits and against noise.

mod common;

use common::*;
use counterfeit::eval::pyramid;
use counterfeit::eval::swd::{directions, sliced_distances, swd, Plan, SwdOptions, PATCH_LEN};
use counterfeit::ops::sort::sort_rows;
use counterfeit::reference::swd as reference;
use counterfeit::Tensor;

#[test]
fn row_sort_equals_total_cmp_sort_bit_for_bit() {
    let gpu = gpu();
    // Rows shorter than the 16 lanes of a row's workgroup (some lanes own nothing), lengths
    // that no lane count divides, 40,001 (10,000 images at 4 patches, plus one), and one row
    // too long for 16 lanes under a CPU adapter's loop limit (the 256-lane shape).
    for (len, rows) in [
        (1, 3),
        (3, 5),
        (17, 2),
        (100, 4),
        (1000, 3),
        (1024, 2),
        (4097, 3),
        (40_001, 2),
        (600_011, 1),
    ] {
        let mut data = normal(rows * len, len as u64, 3.0);
        // Ties, signed zeros, NaNs of both signs, sorted runs and values sharing their high
        // bytes: the awkward cases of a comparison network and of a radix sort's digits.
        for (i, v) in data.iter_mut().enumerate() {
            match i % 13 {
                0 => *v = 0.0,
                1 => *v = -0.0,
                2 => *v = 1.5,
                3 => *v = -(i as f32),
                4 => *v = f32::from_bits(0x3f80_0000 | (i as u32 & 0xff)),
                5 if i % 7 == 0 => *v = f32::NAN,
                6 if i % 5 == 0 => *v = -f32::NAN,
                _ => {}
            }
        }
        let t = Tensor::from_slice(gpu, &data, &[rows, len], "sort").unwrap();
        let kernels = sort_rows(gpu, &t, rows, len).unwrap();
        gpu.run(&kernels.iter().collect::<Vec<_>>()).unwrap();
        let got = t.read(gpu).unwrap();
        for r in 0..rows {
            let mut want = data[r * len..(r + 1) * len].to_vec();
            want.sort_by(f32::total_cmp);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(
                bits(&got[r * len..(r + 1) * len]),
                bits(&want),
                "{rows} rows of {len}, row {r}"
            );
        }
    }
}

#[test]
fn pyramid_matches_the_reference_and_keeps_constants_out_of_the_details() {
    let img = uniform(28 * 28, 5, 0.0, 1.0);
    let got = pyramid::laplacian(&img, 28);
    let want = reference::laplacian(&f64s(&img), 28);
    assert_eq!(got.len(), 3);
    // Each value is at most two 5-tap passes (down) and two more (up) of values in [0, 1]
    // in f32, ~20 roundings of 6e-8 on sums of order 1: 4e-6 leaves room, and a wrong tap,
    // edge or phase moves values by 1e-2 or more.
    for (l, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g.len(), (28 >> l) * (28 >> l), "level {l}");
        assert_close(&format!("level {l}"), g, w, 4e-6, 0.0);
    }
    // A constant image: mirrored edges keep blurs constant, and zero-insertion blurred with
    // 4× the kernel gives the constant back, so the detail levels are 0.
    let flat = reference::laplacian(&[0.75; 28 * 28], 28);
    assert!(flat[0].iter().chain(&flat[1]).all(|v| v.abs() < 1e-12));
    assert!(flat[2].iter().all(|v| (v - 0.75).abs() < 1e-12));
}

#[test]
fn one_dimensional_sets_give_their_hand_computed_distance() {
    let gpu = gpu();
    // Sorted a = [-1, 0.5, 2, 3, 7] against five 1s: |−2| + 0.5 + 1 + 2 + 6 = 11.5, over 5.
    // Every value and partial sum is exact in f32.
    let a = [2.0, -1.0, 7.0, 0.5, 3.0];
    let b = [1.0; 5];
    let d = sliced_distances(gpu, &a, &b, 1, &[1.0, -1.0]).unwrap();
    assert_eq!(d, vec![11.5 / 5.0, 11.5 / 5.0]);
    // Two columns, a direction along each: sorted [0, 1, 2] against [3, 4, 5] is 3 each,
    // and the second column of both sets is equal as a set (3 rows: padded to 4 in the sort).
    let a = [2.0, 9.0, 0.0, 8.0, 1.0, 7.0];
    let b = [5.0, 7.0, 3.0, 9.0, 4.0, 8.0];
    let d = sliced_distances(gpu, &a, &b, 2, &[1.0, 0.0, 0.0, 1.0]).unwrap();
    assert_eq!(d, vec![3.0, 0.0]);
}

fn small_options() -> SwdOptions {
    SwdOptions {
        patches_per_image: 5,
        directions: 37,
        repeats: 2,
        seed: 11,
    }
}

#[test]
fn swd_matches_the_reference_with_the_same_draws() {
    let gpu = gpu();
    let (na, nb) = (13, 9);
    let a = uniform(na * 784, 1, 0.0, 1.0);
    // Smoother images for the other set, so that every level differs.
    let b: Vec<f32> = uniform(nb * 784, 2, 0.0, 1.0)
        .iter()
        .map(|v| v * v)
        .collect();
    let opts = small_options();
    let got = swd(gpu, &a, &b, 28, &opts).unwrap();
    let plan = Plan::new(&a, &b, 28, &opts).unwrap();
    assert_eq!((got.images, got.patches), (9, 45));
    let kept = |set: &[f32], keep: &[usize]| -> Vec<f64> {
        keep.iter()
            .flat_map(|&i| f64s(&set[i * 784..(i + 1) * 784]))
            .collect()
    };
    let dirs: Vec<Vec<Vec<f64>>> = (0..opts.repeats as u32)
        .map(|r| {
            directions(opts.seed, r, opts.directions, PATCH_LEN)
                .chunks(PATCH_LEN)
                .map(f64s)
                .collect()
        })
        .collect();
    let want = reference::swd(
        &kept(&a, &plan.keep_a),
        &kept(&b, &plan.keep_b),
        28,
        &plan.positions,
        &dirs,
    );
    // The GPU path rounds the pyramid, the normalised patches and the 49-term projections in
    // f32 (values of order 1 to 10: errors of order 1e-6 each). Sorting moves no value by
    // more than the largest such error, so each mean |a − b| moves by ~1e-6 and the ×10³
    // figure by ~1e-3 against figures of order 100: 1e-5 relative.
    for (l, (g, w)) in got.per_level.iter().zip(&want).enumerate() {
        assert!((g - w).abs() <= 1e-5 * w.abs(), "level {l}: {g} vs {w}");
        assert!(*w > 1.0, "level {l}: the sets should differ ({w})");
    }
}

#[test]
fn a_set_against_itself_shifted_or_scaled_is_zero() {
    let gpu = gpu();
    let a = uniform(6 * 784, 3, 0.0, 1.0);
    let opts = small_options();
    let same = swd(gpu, &a, &a, 28, &opts).unwrap();
    assert_eq!(
        same.per_level,
        vec![0.0; 3],
        "the same patches in both sets"
    );
    // Detail levels cancel a constant shift and the smallest level's normalisation removes
    // it (and any scale): what is left is f32 rounding of order 1e-7 in each projection,
    // 1e-4 after ×10³, against figures of order 100 for different sets.
    let shifted: Vec<f32> = a.iter().map(|v| v + 0.25).collect();
    let scaled: Vec<f32> = a.iter().map(|v| 3.0 * v).collect();
    for (what, b) in [("shifted", shifted), ("scaled", scaled)] {
        let r = swd(gpu, &a, &b, 28, &opts).unwrap();
        assert!(r.per_level.iter().all(|v| *v < 1e-2), "{what}: {r:?}");
    }
}

#[test]
fn held_out_digits_are_far_closer_to_training_digits_than_noise_is() {
    let gpu = gpu();
    let digits = counterfeit::data::idx::bundled().unwrap();
    let (train, held) = digits.split(9000).unwrap();
    let (train, held) = (train.images.to_f32(0.0, 1.0), held.images.to_f32(0.0, 1.0));
    let noise = uniform(1000 * 784, 9, 0.0, 1.0);
    let opts = SwdOptions {
        patches_per_image: 8,
        directions: 128,
        ..SwdOptions::default()
    };
    let real = swd(gpu, &held, &train, 28, &opts).unwrap();
    let fake = swd(gpu, &noise, &train, 28, &opts).unwrap();
    eprintln!("held-out vs train {real:?}\nnoise vs train {fake:?}");
    // Sampling noise alone separates two real sets; noise images share nothing with digits.
    // One run gives 20, 19, 31 against 197, 93, 702 (the 14-pixel level is the closest, a
    // factor of 4.8): a factor of 3 at every level leaves room for other seeds.
    for l in 0..3 {
        assert!(
            3.0 * real.per_level[l] < fake.per_level[l],
            "level {l}: {real:?} vs {fake:?}"
        );
    }
}

/// The time of the SWD of 10,000 images against 10,000 (the bundled digits against noise) at
/// `SWD_PATCHES` patches per image (default 16): `cargo test --release --test swd -- --ignored`.
#[test]
#[ignore]
fn time_of_10000_images() {
    let gpu = gpu();
    let digits = counterfeit::data::idx::bundled()
        .unwrap()
        .images
        .to_f32(0.0, 1.0);
    let noise = uniform(digits.len(), 4, 0.0, 1.0);
    let patches = std::env::var("SWD_PATCHES").map_or(16, |v| v.parse().unwrap());
    let opts = SwdOptions {
        patches_per_image: patches,
        ..SwdOptions::default()
    };
    let start = std::time::Instant::now();
    let r = swd(gpu, &noise, &digits, 28, &opts).unwrap();
    eprintln!(
        "{patches} patches per image: {:.1} s on {}: {r:?}",
        start.elapsed().as_secs_f64(),
        gpu.info().name
    );
}
