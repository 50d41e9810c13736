//! The pieces between a generator and its figures: batched generation, recognising an
//! example's checkpoint, pixels for the judge, and the metrics log with quality columns.

mod common;

use common::gpu;
use counterfeit::eval::judge::to_judged_pixels;
use counterfeit::gan::{generate, generate_batched, recipes};
use counterfeit::io::checkpoint::{self, Checkpoint};
use counterfeit::io::metrics_log::{save_csv, save_loss_plot, QualityPoint};
use counterfeit::{Network, Sequential, StepMetrics};

fn temp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("counterfeit-eval-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn batched_generation_equals_generating_each_chunk() {
    // Batch norm in generate mode uses the batch's statistics, so each chunk of 4 must match
    // a separate run on exactly those 4 latent vectors; the last chunk (2 rows) is topped up
    // with the first rows, so it matches a run on its 2 rows plus rows 0 and 1.
    let g = Sequential::new([3])
        .linear(5)
        .batch_norm()
        .relu()
        .linear(6)
        .tanh();
    let net = Network::new(gpu(), "G", g, 3).unwrap();
    let z = common::normal(10 * 3, 5, 1.0);
    let got = generate_batched(gpu(), &net, &z, 4).unwrap();
    assert_eq!(got.len(), 10 * 6);
    for (c, rows) in [(0, 0..4), (1, 4..8)] {
        let want = generate(gpu(), &net, &z[rows.start * 3..rows.end * 3]).unwrap();
        assert_eq!(&got[c * 24..(c + 1) * 24], &want[..], "chunk {c}");
    }
    let mut last = z[24..30].to_vec();
    last.extend_from_slice(&z[..6]);
    let want = generate(gpu(), &net, &last).unwrap();
    assert_eq!(&got[48..60], &want[..12], "topped-up last chunk");
    assert!(
        generate_batched(gpu(), &net, &z[..4], 4).is_err(),
        "partial z"
    );
    assert!(generate_batched(gpu(), &net, &z, 0).is_err(), "batch 0");
}

#[test]
fn a_checkpoint_is_recognised_by_its_generator() {
    for recipe in recipes::all() {
        let path = temp(&format!("{}.safetensors", recipe.name));
        let g = Network::new(gpu(), "G", recipe.generator.clone(), 1).unwrap();
        checkpoint::save_weights(gpu(), &path, &[("G", &g)]).unwrap();
        let found = recipes::identify(&Checkpoint::open(&path).unwrap()).unwrap();
        assert_eq!(found.name, recipe.name);
    }
    let other = Network::new(gpu(), "G", Sequential::new([4]).linear(2), 1).unwrap();
    let path = temp("other.safetensors");
    checkpoint::save_weights(gpu(), &path, &[("G", &other)]).unwrap();
    let err = recipes::identify(&Checkpoint::open(&path).unwrap()).unwrap_err();
    assert!(err.to_string().contains("none of the examples'"), "{err}");
}

#[test]
fn judged_pixels_are_unit_range_and_28_by_28() {
    let x = [-1.0, 0.0, 1.0, 3.0];
    let side = 2;
    let got = to_judged_pixels(&x, side, (-1.0, 1.0));
    // 2×2 is resized to 28×28 bilinearly; the corners keep the corner values.
    assert_eq!(got.len(), 28 * 28);
    assert_eq!(got[0], 0.0);
    assert_eq!(
        got[28 * 28 - 1],
        1.0,
        "3.0 is clamped to the top of the range"
    );
    let same = to_judged_pixels(&vec![0.5; 28 * 28], 28, (0.0, 1.0));
    assert!(same.iter().all(|&v| v == 0.5));
}

#[test]
fn metrics_csv_carries_quality_on_measured_steps() {
    let history: Vec<StepMetrics> = (1..=4)
        .map(|s| StepMetrics {
            step: s,
            d_loss: 1.0,
            g_loss: 2.0,
            d_real: 0.5,
            d_fake: 0.25,
            d_fake_g: 0.125,
            penalty: 0.0,
            grad_norm: 0.0,
        })
        .collect();
    // Step 2 measured before the SWD was part of the measurements, step 3 with it.
    let quality = [
        QualityPoint {
            step: 2,
            n: 1000,
            fid: 42.5,
            score: 8.25,
            classes_covered: 10,
            swd: None,
        },
        QualityPoint {
            step: 3,
            n: 1000,
            fid: 40.0,
            score: 8.5,
            classes_covered: 9,
            swd: Some([30.0, 20.5, 40.0]),
        },
    ];
    let csv = temp("metrics.csv");
    save_csv(&csv, &history, &quality).unwrap();
    let text = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "step,d_loss,g_loss,d_real,d_fake,d_fake_g,fid,score,classes_covered,eval_n,swd,swd_28px,swd_14px,swd_7px,d_penalty,d_grad_norm"
    );
    assert_eq!(lines[1], "1,1,2,0.5,0.25,0.125,,,,,,,,,0,0");
    assert_eq!(
        lines[2],
        "2,1,2,0.5,0.25,0.125,42.5000,8.2500,10,1000,,,,,0,0"
    );
    assert_eq!(
        lines[3],
        "3,1,2,0.5,0.25,0.125,40.0000,8.5000,9,1000,30.1667,30.0000,20.5000,40.0000,0,0"
    );
    assert!(lines
        .iter()
        .all(|l| l.split(',').count() == lines[0].split(',').count()));
    let png = temp("losses.png");
    save_loss_plot(&png, "t", &history, &quality).unwrap();
    let img = image::open(&png).unwrap();
    assert!(
        img.height() > 480,
        "the quality panels are below the losses"
    );
    save_loss_plot(&png, "t", &history, &[]).unwrap();
    assert_eq!(image::open(&png).unwrap().height(), 480);
}

/// Rows of `img` that hold at least one pixel of colour `c`.
fn rows_with(img: &image::RgbImage, c: [u8; 3]) -> Vec<u32> {
    (0..img.height())
        .filter(|&y| (0..img.width()).any(|x| img.get_pixel(x, y).0 == c))
        .collect()
}

#[test]
fn the_loss_plot_gives_probabilities_their_own_axis() {
    // Losses up to 5 and probabilities in 0..1, as a diverging run would log them.
    let history: Vec<StepMetrics> = (1..=300)
        .map(|s| StepMetrics {
            step: s,
            d_loss: 0.2 + s as f32 / 60.0,
            g_loss: 0.7,
            d_real: 0.9,
            d_fake: 0.1 + s as f32 / 1000.0,
            d_fake_g: 0.1,
            penalty: 0.0,
            grad_norm: 0.0,
        })
        .collect();
    let (red, green) = ([200, 40, 40], [40, 160, 60]);
    let fid_colour = [120, 40, 160];
    let point = |step: u64, fid: f64| QualityPoint {
        step,
        n: 500,
        fid,
        score: 3.0,
        classes_covered: 10,
        swd: None,
    };
    let png = temp("panels.png");
    save_loss_plot(&png, "t", &history, &[]).unwrap();
    let img = image::open(&png).unwrap().to_rgb8();
    assert_eq!(img.dimensions(), (800, 480));
    let (losses, probs) = (rows_with(&img, red), rows_with(&img, green));
    assert!(!losses.is_empty() && !probs.is_empty());
    assert!(
        losses.last() < probs.first(),
        "D(x) is drawn in a panel below the losses: rows {:?}.. vs {:?}..",
        losses.last(),
        probs.first()
    );

    // Measured once: the FID is written out, not drawn as a lone dot.
    save_loss_plot(&png, "t", &history, &[point(300, 42.0)]).unwrap();
    let img = image::open(&png).unwrap().to_rgb8();
    assert_eq!(img.dimensions(), (800, 720));
    assert!(rows_with(&img, fid_colour).is_empty(), "one FID is text");
    save_loss_plot(&png, "t", &history, &[point(150, 60.0), point(300, 42.0)]).unwrap();
    let img = image::open(&png).unwrap().to_rgb8();
    assert_eq!(img.dimensions(), (800, 720));
    let curve = rows_with(&img, fid_colour);
    assert!(
        curve.iter().all(|&y| y >= 480),
        "the FID curve is below the losses"
    );
    assert!(
        curve.len() > 20,
        "two FIDs are a curve: {} rows",
        curve.len()
    );
    let swd_colour = [170, 90, 30];
    assert!(
        rows_with(&img, swd_colour).is_empty(),
        "no SWD panel without the SWD"
    );

    // With the SWD: a third panel, its curve joining the points that have it (a run resumed
    // from a checkpoint of before the SWD has points without).
    let with_swd = |step: u64, fid: f64, swd: f64| QualityPoint {
        swd: Some([swd, swd / 2.0, swd * 2.0]),
        ..point(step, fid)
    };
    let points = [
        point(100, 70.0),
        with_swd(200, 60.0, 90.0),
        with_swd(300, 42.0, 50.0),
    ];
    save_loss_plot(&png, "t", &history, &points).unwrap();
    let img = image::open(&png).unwrap().to_rgb8();
    assert_eq!(img.dimensions(), (800, 720));
    let swd_curve = rows_with(&img, swd_colour);
    assert!(
        swd_curve.len() > 20 && swd_curve.iter().all(|&y| y >= 480),
        "the SWD curve is below the losses: {} rows",
        swd_curve.len()
    );
    let columns = |c: [u8; 3]| -> Vec<u32> {
        (0..img.width())
            .filter(|&x| (0..img.height()).any(|y| img.get_pixel(x, y).0 == c))
            .collect()
    };
    assert!(
        columns(fid_colour).last() < columns(swd_colour).first(),
        "the SWD has a panel of its own, right of the FID's"
    );
}

#[test]
fn quality_points_keep_their_swd_in_a_checkpoint_and_old_ones_load_without() {
    let g = Network::new(gpu(), "G", Sequential::new([3]).linear(2), 1).unwrap();
    let point = |step: u64, swd: Option<[f64; 3]>| QualityPoint {
        step,
        n: 1000,
        fid: 50.0 / step as f64,
        score: 4.5,
        classes_covered: 8,
        swd,
    };
    let path = temp("quality.safetensors");
    // Points without the SWD are written as before it existed: no quality_swd tensor.
    let old = [point(500, None), point(1000, None)];
    checkpoint::save(gpu(), &path, &[("G", &g)], None, &[], &old).unwrap();
    let ckpt = Checkpoint::open(&path).unwrap();
    assert!(!ckpt.has_tensor("quality_swd").unwrap());
    assert_eq!(ckpt.quality().unwrap(), old);
    // A run resumed from such a checkpoint adds points with the SWD.
    let mixed = [old[0], old[1], point(1500, Some([31.5, 20.25, 44.25]))];
    checkpoint::save(gpu(), &path, &[("G", &g)], None, &[], &mixed).unwrap();
    let ckpt = Checkpoint::open(&path).unwrap();
    assert!(ckpt.has_tensor("quality_swd").unwrap());
    assert_eq!(ckpt.quality().unwrap(), mixed);
    assert_eq!(mixed[2].swd_mean(), Some(32.0));
}

#[test]
fn a_conditional_recipe_appends_a_label_to_each_latent_vector() {
    let cgan = recipes::by_name("cgan28").unwrap();
    assert_eq!((cgan.nz(), cgan.classes), (recipes::NZ, 10));
    let z: Vec<f32> = (0..3 * recipes::NZ).map(|i| i as f32).collect();
    let width = recipes::NZ + 10;
    let hot = |input: &[f32], row: usize| -> usize {
        let labels = &input[row * width + recipes::NZ..(row + 1) * width];
        assert_eq!(labels.iter().sum::<f32>(), 1.0);
        labels.iter().position(|&v| v == 1.0).unwrap()
    };
    // Every class in turn without labels; the given ones cycled otherwise.
    let input = cgan.inputs(&z, &[]).unwrap();
    assert_eq!(input.len(), 3 * width);
    assert_eq!((hot(&input, 0), hot(&input, 1), hot(&input, 2)), (0, 1, 2));
    assert_eq!(
        &input[width..width + recipes::NZ],
        &z[recipes::NZ..2 * recipes::NZ]
    );
    let input = cgan.inputs(&z, &[7, 4]).unwrap();
    assert_eq!((hot(&input, 0), hot(&input, 1), hot(&input, 2)), (7, 4, 7));
    assert!(cgan.inputs(&z, &[10]).is_err(), "label past the classes");
    // An unconditional recipe takes z as it is.
    let dcgan = recipes::by_name("dcgan28").unwrap();
    assert_eq!((dcgan.nz(), dcgan.classes), (recipes::NZ, 0));
    assert_eq!(dcgan.inputs(&z, &[3]).unwrap(), z);
}
