//! The conditional GAN: the label kernels against their reference, and the trainer's wiring —
//! reproducible, real labels beside their own images, fake labels drawn as the reference
//! draws them, no gradient into the labels, exact resume, and user mistakes as errors.

mod common;

use common::{assert_close, f64s, gpu};
use counterfeit::data::idx::{Digits, Images};
use counterfeit::gan::conditional::{self, ConditionalConfig, ConditionalTrainer, LABEL_STREAM};
use counterfeit::ops::{labels, Clock};
use counterfeit::reference::labels as reference;
use counterfeit::{Dataset, Error, GanLoss, Noise, Optimizer, Sequential, Tensor, TrainerConfig};

const CLASSES: usize = 3;
const SIDE: usize = 6;
const SIZE: usize = SIDE * SIDE;
const COUNT: usize = 37;
const NZ: usize = 8;

fn state(step: u32) -> Tensor {
    Tensor::from_u32(gpu(), &[step, 0, 0, 0], "state").unwrap()
}

#[test]
fn one_hot_matches_the_reference_on_awkward_sizes() {
    let gpu = gpu();
    for (batch, classes, spatial) in [
        (1, 1, 1),
        (1, 10, 1),
        (1, 3, 35),
        (7, 10, 784),
        (33, 7, 1),
        (65, 3, 13),
        (257, 10, 1),
    ] {
        // Every class, plus labels past the last class (all-zero rows).
        let l: Vec<u32> = (0..batch as u32)
            .map(|i| (i * 7 + 3) % (classes as u32 + 2))
            .collect();
        let lt = Tensor::from_u32(gpu, &l, "labels").unwrap();
        let out = Tensor::from_slice(
            gpu,
            &vec![f32::NAN; batch * classes * spatial],
            &[batch, classes, spatial],
            "out",
        )
        .unwrap();
        gpu.run(&[&labels::one_hot(gpu, &lt, &out, classes, spatial).unwrap()])
            .unwrap();
        let want: Vec<f32> = reference::one_hot(&l, classes, spatial)
            .into_iter()
            .map(|v| v as f32)
            .collect();
        assert_eq!(
            out.read(gpu).unwrap(),
            want,
            "batch {batch}, {classes} classes, spatial {spatial}"
        );
    }
    let lt = Tensor::from_u32(gpu, &[0, 1], "labels").unwrap();
    let out = Tensor::zeros(gpu, &[2, 3, 5], "out").unwrap();
    for (classes, spatial) in [(0, 5), (3, 4), (2, 5), (3, 0)] {
        assert!(
            matches!(
                labels::one_hot(gpu, &lt, &out, classes, spatial),
                Err(Error::Shape { .. })
            ),
            "{classes} classes over {spatial} positions into [2, 3, 5]"
        );
    }
}

/// A data-parallel rank draws labels `first..first + n` of the whole batch's labels.
#[test]
fn label_draws_from_an_offset_are_the_tail_of_the_whole_draw() {
    let gpu = gpu();
    let clock = Clock { mul: 3, add: 2 };
    let st = state(7);
    let step = 7 * 3 + 2;
    for (n, first, classes) in [(1, 1, 10), (7, 5, 3), (33, 64, 10)] {
        let out = Tensor::from_u32(gpu, &vec![u32::MAX; n], "labels").unwrap();
        let draw = (0x1234_5678_9abc, 5, clock);
        let k = labels::draw_at(gpu, classes, draw, first as u32, &st, &out).unwrap();
        gpu.run(&[&k]).unwrap();
        let whole = reference::draw(0x1234_5678_9abc, step, 5, first + n, classes as u32);
        assert_eq!(
            out.read_u32(gpu).unwrap(),
            whole[first..],
            "{n} labels from {first}"
        );
    }
}

#[test]
fn label_draws_match_the_reference_and_are_uniform() {
    let gpu = gpu();
    let clock = Clock { mul: 3, add: 2 };
    let st = state(7);
    let step = 7 * 3 + 2;
    for (n, classes) in [(1, 10), (7, 3), (257, 7), (1000, 10), (33, 1)] {
        let out = Tensor::from_u32(gpu, &vec![u32::MAX; n], "labels").unwrap();
        gpu.run(&[&labels::draw(gpu, classes, 0x1234_5678_9abc, 5, clock, &st, &out).unwrap()])
            .unwrap();
        let got = out.read_u32(gpu).unwrap();
        assert_eq!(
            got,
            reference::draw(0x1234_5678_9abc, step, 5, n, classes as u32),
            "{n} labels of {classes} classes"
        );
        assert!(got.iter().all(|&l| (l as usize) < classes));
    }
    // 30,000 draws of 10 classes: each count is 3000 ± 52 (binomial σ); allow 5σ.
    let n = 30_000;
    let out = Tensor::zeros(gpu, &[n], "labels").unwrap();
    gpu.run(&[&labels::draw(gpu, 10, 3, LABEL_STREAM, Clock::ITERATION, &st, &out).unwrap()])
        .unwrap();
    let mut counts = [0usize; 10];
    for l in out.read_u32(gpu).unwrap() {
        counts[l as usize] += 1;
    }
    assert!(
        counts.iter().all(|&c| c.abs_diff(3000) < 260),
        "counts {counts:?}"
    );
    assert!(matches!(
        labels::draw(gpu, 0, 3, 1, Clock::ITERATION, &st, &out),
        Err(Error::Shape { .. })
    ));
}

/// 37 labelled 6×6 images whose first pixel encodes their label (label·100 as a byte, the
/// rest pseudo-random), so a gathered image names the label it must come with.
fn digits() -> Digits {
    let labels: Vec<u8> = (0..COUNT).map(|i| ((i * 5 + 1) % CLASSES) as u8).collect();
    let pixels = (0..COUNT * SIZE)
        .map(|i| {
            if i % SIZE == 0 {
                labels[i / SIZE] * 100
            } else {
                ((i as u32).wrapping_mul(2_654_435_761) >> 24) as u8
            }
        })
        .collect();
    Digits {
        images: Images {
            count: COUNT,
            rows: SIDE,
            cols: SIDE,
            pixels,
        },
        labels,
    }
}

/// The data in [0, 1]: the label is round(first pixel · 255 / 100).
fn data() -> Dataset {
    Dataset::from_digits(gpu(), &digits(), (0.0, 1.0)).unwrap()
}

fn decode(first_pixel: f32) -> usize {
    (first_pixel * 255.0 / 100.0).round() as usize
}

/// How D reads the labels.
#[derive(Clone, Copy, Debug)]
enum Layout {
    /// `[36 + 3]`: the one-hot row after the flat image.
    Row,
    /// `[1 + 3, 6, 6]`: three label maps after the image channel.
    Maps,
}

fn models(layout: Layout) -> (Sequential, Sequential) {
    let g = Sequential::new([NZ + CLASSES])
        .linear(24)
        .relu()
        .linear(SIZE)
        .sigmoid();
    let d = match layout {
        Layout::Row => Sequential::new([SIZE + CLASSES]),
        Layout::Maps => Sequential::new([1 + CLASSES, SIDE, SIDE]).flatten(),
    };
    (g, d.linear(16).leaky_relu(0.2).linear(1))
}

fn config(seed: u64) -> ConditionalConfig {
    let recipe = ConditionalConfig::dcgan(CLASSES);
    ConditionalConfig {
        gan: TrainerConfig {
            batch: 16,
            seed,
            noise: Noise::Uniform {
                low: -1.0,
                high: 1.0,
            },
            d_steps: 2,
            readback_every: 7,
            sample_count: 4,
            ..recipe.gan
        },
        ..recipe
    }
}

fn trainer(layout: Layout, seed: u64) -> ConditionalTrainer {
    let (g, d) = models(layout);
    ConditionalTrainer::new(gpu(), g, d, &data(), config(seed)).unwrap()
}

fn losses(gan: &ConditionalTrainer) -> Vec<[u32; 5]> {
    gan.history()
        .iter()
        .map(|m| [m.d_loss, m.g_loss, m.d_real, m.d_fake, m.d_fake_g].map(f32::to_bits))
        .collect()
}

fn run(layout: Layout, seed: u64, steps: usize) -> (Vec<[u32; 5]>, Vec<u32>) {
    let mut gan = trainer(layout, seed);
    for _ in 0..steps {
        gan.step().unwrap();
    }
    gan.flush().unwrap();
    let samples = gan.samples().unwrap();
    (losses(&gan), samples.iter().map(|v| v.to_bits()).collect())
}

#[test]
fn same_seed_gives_bit_identical_runs() {
    let a = run(Layout::Row, 11, 20);
    assert_eq!(a.0.len(), 20);
    assert_eq!(
        a.1.len(),
        CLASSES * 4 * SIZE,
        "one row of samples per class"
    );
    assert_eq!(
        a,
        run(Layout::Row, 11, 20),
        "two runs with the same seed differ"
    );
    assert_ne!(
        a.0,
        run(Layout::Row, 12, 20).0,
        "another seed, the same losses"
    );
    assert!(a.0.iter().flatten().all(|&v| f32::from_bits(v).is_finite()));
}

/// Per sample, the class whose one-hot entries (or maps) are 1, checking they are exactly
/// one class's and that its map is constant.
fn classes_of(rows: &[f32], batch: usize, spatial: usize) -> Vec<usize> {
    let per = CLASSES * spatial;
    let tail = rows.len() / batch - per;
    rows.chunks_exact(rows.len() / batch)
        .map(|row| {
            let maps = &row[tail..];
            let on: Vec<usize> = (0..CLASSES)
                .filter(|&c| {
                    maps[c * spatial..(c + 1) * spatial]
                        .iter()
                        .all(|&v| v == 1.0)
                })
                .collect();
            assert_eq!(on.len(), 1, "label part {maps:?}");
            assert_eq!(maps.iter().filter(|&&v| v != 0.0).count(), spatial);
            on[0]
        })
        .collect()
}

#[test]
fn labels_follow_their_images_and_fake_labels_follow_the_reference() {
    let gpu = gpu();
    for (layout, spatial) in [(Layout::Row, 1), (Layout::Maps, SIZE)] {
        let mut gan = trainer(layout, 5);
        let mut seen = [0usize; CLASSES];
        for it in 0..6u32 {
            gan.step().unwrap();
            let t = gan.tensors();
            let b = 16;
            let real = t.real_input.read(gpu).unwrap();
            let real_labels = t.real_labels.read_u32(gpu).unwrap();
            let row = real.len() / b;
            let in_d = classes_of(&real, b, spatial);
            for n in 0..b {
                let image_says = decode(real[n * row]);
                assert_eq!(in_d[n], image_says, "{layout:?} step {it} sample {n}");
                assert_eq!(real_labels[n] as usize, image_says);
                seen[image_says] += 1;
            }

            // The last D step of iteration `it` (k = 2) drew these fake labels.
            let fake_labels = t.fake_labels.read_u32(gpu).unwrap();
            let step = it * 2 + 1;
            assert_eq!(
                fake_labels,
                reference::draw(5, step, LABEL_STREAM, b, CLASSES as u32),
                "{layout:?} step {it}"
            );
            let as_u32 = |v: Vec<usize>| v.into_iter().map(|c| c as u32).collect::<Vec<_>>();
            let g_in = t.g_input.read(gpu).unwrap();
            assert_eq!(as_u32(classes_of(&g_in, b, 1)), fake_labels, "G's one-hot");
            let fake = t.fake_input.read(gpu).unwrap();
            assert_eq!(
                as_u32(classes_of(&fake, b, spatial)),
                fake_labels,
                "D's fake labels"
            );
        }
        assert!(seen.iter().all(|&c| c > 0), "classes seen {seen:?}");
    }
}

#[test]
fn the_label_channels_gradient_is_not_passed_to_g() {
    let gpu = gpu();
    for (layout, spatial) in [(Layout::Row, 1), (Layout::Maps, SIZE)] {
        let mut gan = trainer(layout, 9);
        for _ in 0..3 {
            gan.step().unwrap();
        }
        let t = gan.tensors();
        let whole = t.d_input_grad.read(gpu).unwrap();
        let to_g = t.g_output_grad.read(gpu).unwrap();
        let b = 16;
        assert_eq!(to_g.len(), b * SIZE, "G receives image values only");
        assert_eq!(whole.len(), b * (SIZE + CLASSES * spatial));
        let row = whole.len() / b;
        let mut label_part = 0.0f64;
        for n in 0..b {
            let image = &whole[n * row..n * row + SIZE];
            assert_eq!(
                image.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                to_g[n * SIZE..(n + 1) * SIZE]
                    .iter()
                    .map(|v| v.to_bits())
                    .collect::<Vec<_>>(),
                "{layout:?} sample {n}: G's gradient is not D's image gradient"
            );
            label_part += whole[n * row + SIZE..(n + 1) * row]
                .iter()
                .map(|v| v.abs() as f64)
                .sum::<f64>();
        }
        // D does respond to the labels, so leaving them out is a real difference.
        assert!(
            label_part > 0.0,
            "{layout:?}: no gradient at the labels at all"
        );
    }
}

#[test]
fn resuming_from_a_checkpoint_continues_exactly() {
    let dir = std::env::temp_dir().join(format!("counterfeit-cgan-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ckpt.safetensors");
    let mut a = trainer(Layout::Maps, 4);
    for _ in 0..10 {
        a.step().unwrap();
    }
    a.save(&path).unwrap();
    for _ in 0..10 {
        a.step().unwrap();
    }
    a.flush().unwrap();

    let mut b = trainer(Layout::Maps, 4);
    b.resume(&path).unwrap();
    assert_eq!(b.steps(), 10);
    for _ in 0..10 {
        b.step().unwrap();
    }
    b.flush().unwrap();
    assert_eq!(b.history().len(), 20);
    assert_eq!(losses(&a), losses(&b), "resumed run differs");
    assert_eq!(
        a.samples().unwrap(),
        b.samples().unwrap(),
        "resumed generator differs"
    );

    // A checkpoint of other models (here: D for another layout) is refused.
    let mut c = trainer(Layout::Row, 4);
    let err = c.resume(&path).expect_err("different D");
    assert!(err.to_string().contains("but the model is"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// `config` with every stabiliser of the plain trainer switched on.
fn stabilised(seed: u64) -> ConditionalConfig {
    let mut c = config(seed);
    c.gan = TrainerConfig {
        loss: GanLoss::Hinge,
        real_label: 0.9,
        label_flip: 0.1,
        instance_noise: 0.1,
        instance_noise_steps: 20,
        replay_fraction: 0.5,
        replay_capacity: 40,
        g_ema: Some(0.9),
        ..c.gan
    };
    c
}

#[test]
fn every_stabiliser_trains_and_resumes_exactly() {
    let dir = std::env::temp_dir().join(format!("counterfeit-cgan-stab-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ckpt.safetensors");
    let new = || {
        let (g, d) = models(Layout::Maps);
        ConditionalTrainer::new(gpu(), g, d, &data(), stabilised(8)).unwrap()
    };
    let mut a = new();
    for _ in 0..4 {
        a.step().unwrap();
    }
    a.save(&path).unwrap();
    for _ in 0..4 {
        a.step().unwrap();
    }
    a.flush().unwrap();
    let mut b = new();
    b.resume(&path).unwrap();
    for _ in 0..4 {
        b.step().unwrap();
    }
    b.flush().unwrap();
    assert_eq!(losses(&a), losses(&b), "resumed run differs");
    assert!(losses(&a)
        .iter()
        .flatten()
        .all(|&v| f32::from_bits(v).is_finite()));
    assert_ne!(
        losses(&a),
        run(Layout::Maps, 8, 8).0,
        "the stabilisers change nothing"
    );

    // A checkpoint without the replayed labels cannot resume a run that replays.
    let mut plain = trainer(Layout::Maps, 8);
    plain.step().unwrap();
    plain.save(&path).unwrap();
    let err = new()
        .resume(&path)
        .expect_err("no replay buffer in the checkpoint");
    assert!(err.to_string().contains("replay"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn replayed_fakes_keep_their_label_maps() {
    // Every fake replayed; the ring holds two batches, so the first batch's slots are
    // still there after the second step has stored its own.
    let mut c = config(2);
    c.gan.d_steps = 1;
    c.gan.replay_fraction = 1.0;
    c.gan.replay_capacity = 2 * c.gan.batch;
    let b = c.gan.batch;
    let (g, d) = models(Layout::Maps);
    let mut gan = ConditionalTrainer::new(gpu(), g, d, &data(), c).unwrap();
    gan.step().unwrap();
    gan.step().unwrap();
    let read = |t: &Tensor| t.read(gpu()).unwrap();
    let fake = read(gan.tensors().fake_input);
    let (images, maps) = gan.replay_buffer().expect("replay is on");
    let (images, maps) = (read(images), read(maps));
    let per = (1 + CLASSES) * SIZE;
    let mut sources = std::collections::BTreeSet::new();
    for sample in fake.chunks_exact(per) {
        let (image, label) = sample.split_at(SIZE);
        let slot = (0..b)
            .find(|&s| images[s * SIZE..(s + 1) * SIZE] == *image)
            .expect("every fake comes from the first batch's slots");
        assert_eq!(
            label,
            &maps[slot * CLASSES * SIZE..(slot + 1) * CLASSES * SIZE],
            "a replayed fake came without its own label maps"
        );
        sources.insert(slot);
    }
    assert!(sources.len() > 1, "the draws picked one slot for all");
    classes_of(&maps, 2 * b, SIZE);
}

#[test]
fn user_mistakes_are_errors() {
    let gpu = gpu();
    let new = |g: Sequential, d: Sequential, data: &Dataset, config: ConditionalConfig| {
        ConditionalTrainer::new(gpu, g, d, data, config)
            .err()
            .expect("a mistake")
    };
    let (g, d) = models(Layout::Maps);

    // Data without labels.
    let unlabelled = Dataset::from_bytes(
        gpu,
        &digits().images.pixels,
        COUNT,
        &[1, SIDE, SIDE],
        (0.0, 1.0),
    )
    .unwrap();
    let err = new(g.clone(), d.clone(), &unlabelled, config(1));
    assert!(
        matches!(err, Error::Config(_)) && err.to_string().contains("labels"),
        "{err}"
    );

    // Labels past the class count: the data has classes 0..3, the config says 2.
    let two = ConditionalConfig {
        classes: 2,
        ..config(1)
    };
    let err = new(g.clone(), d.clone(), &data(), two);
    assert!(
        matches!(err, Error::Config(_)) && err.to_string().contains("label 2"),
        "{err}"
    );

    // Models for 3 classes, a config for 4: D's input does not fit.
    let four = ConditionalConfig {
        classes: 4,
        ..config(1)
    };
    let err = new(g.clone(), d.clone(), &data(), four);
    assert!(
        matches!(err, Error::Shape { .. }) && err.to_string().contains("D reads"),
        "{err}"
    );

    // G without room for the label; G making the wrong size.
    let small_g = Sequential::new([CLASSES]).linear(SIZE);
    let err = new(small_g, d.clone(), &data(), config(1));
    assert!(
        matches!(err, Error::Shape { .. }) && err.to_string().contains("G reads"),
        "{err}"
    );
    let wrong_g = Sequential::new([NZ + CLASSES]).linear(SIZE + 1);
    assert!(matches!(
        new(wrong_g, d.clone(), &data(), config(1)),
        Error::Shape { .. }
    ));

    // One class is no condition; batch 0 is refused as for Trainer.
    let one = ConditionalConfig {
        classes: 1,
        ..config(1)
    };
    assert!(matches!(
        new(g.clone(), d.clone(), &data(), one),
        Error::Config(_)
    ));
    let mut empty = config(1);
    empty.gan.batch = 0;
    assert!(matches!(
        new(g.clone(), d, &data(), empty),
        Error::Config(_)
    ));

    // Sampling with a label past the classes.
    let gan = trainer(Layout::Row, 1);
    let err = conditional::generate(gpu, gan.generator(), CLASSES, &[0.0; NZ], &[3], 4)
        .expect_err("label 3 of 3 classes");
    assert!(matches!(err, Error::Config(_)), "{err}");
    assert!(matches!(
        conditional::generate(gpu, gan.generator(), CLASSES, &[0.0; NZ + 1], &[0], 4),
        Err(Error::Shape { .. })
    ));
}

/// Three classes of 6×6 images, a bright band of two rows each (rows 2c, 2c + 1), with a
/// little noise: after a short training, G draws class c's band when asked for class c (a G
/// that ignored the label would hit a third; ten seeds all hit 90 of 90 when this was written).
#[test]
fn a_tiny_conditional_gan_learns_to_draw_the_asked_class() {
    let gpu = gpu();
    let count = 60;
    let labels: Vec<u8> = (0..count).map(|i| (i % CLASSES) as u8).collect();
    let pixels = (0..count * SIZE)
        .map(|i| {
            let (img, px) = (i / SIZE, i % SIZE);
            let band = (px / SIDE) / 2 == labels[img] as usize;
            let jitter = ((i as u32).wrapping_mul(2_654_435_761) >> 27) as u8;
            if band {
                255 - jitter
            } else {
                jitter
            }
        })
        .collect();
    let digits = Digits {
        images: Images {
            count,
            rows: SIDE,
            cols: SIDE,
            pixels,
        },
        labels,
    };
    let data = Dataset::from_digits(gpu, &digits, (0.0, 1.0)).unwrap();
    // A linear output: a saturated sigmoid G, stuck drawing the wrong band, learns too slowly.
    let g = Sequential::new([NZ + CLASSES])
        .linear(32)
        .relu()
        .linear(SIZE);
    let d = Sequential::new([SIZE + CLASSES])
        .linear(32)
        .leaky_relu(0.2)
        .linear(1);
    let adam = Optimizer::Adam {
        lr: 2e-3,
        beta1: 0.5,
        beta2: 0.999,
        eps: 1e-8,
    };
    let mut cfg = config(3);
    cfg.gan.d_steps = 1;
    cfg.gan.g_optimizer = adam;
    cfg.gan.d_optimizer = adam;
    let mut gan = ConditionalTrainer::new(gpu, g, d, &data, cfg).unwrap();
    for _ in 0..1000 {
        gan.step().unwrap();
    }
    gan.flush().unwrap();
    let per = 30;
    let z = counterfeit::gan::noise(
        Noise::Uniform {
            low: -1.0,
            high: 1.0,
        },
        CLASSES * per * NZ,
        77,
    );
    let asked: Vec<u32> = (0..(CLASSES * per) as u32)
        .map(|i| i % CLASSES as u32)
        .collect();
    let x = conditional::generate(gpu, gan.generator(), CLASSES, &z, &asked, 16).unwrap();
    let hits = x
        .chunks_exact(SIZE)
        .zip(&asked)
        .filter(|(img, &c)| {
            let band = |b: usize| img[b * 2 * SIDE..(b + 1) * 2 * SIDE].iter().sum::<f32>();
            (0..CLASSES).max_by(|&a, &b| band(a).total_cmp(&band(b))) == Some(c as usize)
        })
        .count();
    assert!(
        hits * 10 >= asked.len() * 9,
        "{hits} of {} samples show the asked class",
        asked.len()
    );
}

#[test]
fn the_weight_average_is_sampled_saved_and_resumed() {
    let decay = 0.75f32;
    let with_ema = |seed| {
        let (g, d) = models(Layout::Maps);
        let mut c = config(seed);
        c.gan.g_ema = Some(decay);
        ConditionalTrainer::new(gpu(), g, d, &data(), c).unwrap()
    };
    let mut a = with_ema(6);
    let read = |t: &Tensor| t.read(gpu()).unwrap();
    let g = a.generator().params().values.clone();
    let ema = a.ema_generator().unwrap().params().values.clone();
    let mut want = f64s(&read(&g));
    assert_eq!(read(&ema), read(&g), "the average starts as G");
    for step in 1..=3 {
        a.step().unwrap();
        for (w, &v) in want.iter_mut().zip(&read(&g)) {
            *w = decay as f64 * *w + (1.0 - decay as f64) * v as f64;
        }
        assert_close(
            &format!("average, step {step}"),
            &read(&ema),
            &want,
            1e-6,
            1e-6,
        );
    }
    assert!(std::ptr::eq(
        a.sampling_generator(),
        a.ema_generator().unwrap()
    ));
    // The fixed-z samples come from the average: the same as G's only if the two agree.
    let from_ema = a.samples().unwrap();
    let plain = trainer(Layout::Maps, 6);
    assert!(plain.ema_generator().is_none());

    // Saved and resumed with the run.
    let dir = std::env::temp_dir().join(format!("counterfeit-cgan-ema-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ckpt.safetensors");
    a.save(&path).unwrap();
    let mut b = with_ema(6);
    b.resume(&path).unwrap();
    assert_eq!(b.samples().unwrap(), from_ema);
    a.step().unwrap();
    b.step().unwrap();
    assert_eq!(
        read(&b.ema_generator().unwrap().params().values),
        read(&ema)
    );
    // Resuming a checkpoint without an average restarts it from G.
    let mut p = trainer(Layout::Maps, 6);
    p.step().unwrap();
    p.save(&path).unwrap();
    let mut c = with_ema(6);
    c.resume(&path).unwrap();
    let (cg, ce) = (c.generator(), c.ema_generator().unwrap());
    assert_eq!(read(&ce.params().values), read(&cg.params().values));
    std::fs::remove_dir_all(&dir).ok();
    let mut bad = config(1);
    bad.gan.g_ema = Some(1.0);
    let (g, d) = models(Layout::Maps);
    let err = ConditionalTrainer::new(gpu(), g, d, &data(), bad)
        .err()
        .unwrap();
    assert!(err.to_string().contains("g_ema"), "{err}");
}

#[test]
fn penalties_count_the_images_gradient_not_the_label_maps() {
    // A linear D's input gradient is its weight row for every sample: R1 must measure the
    // image's part of it alone, γ/2·‖w_image‖², and WGAN-GP λ(‖w_image‖ − 1)².
    let g = Sequential::new([NZ + CLASSES]).linear(SIZE).sigmoid();
    let d = Sequential::new([SIZE + CLASSES]).linear(1);
    let base = config(3);
    let penalised = |penalty| ConditionalConfig {
        gan: TrainerConfig {
            penalty: Some(penalty),
            readback_every: 1,
            d_steps: 1,
            ..base.gan.clone()
        },
        ..base.clone()
    };
    let r1 = counterfeit::GradientPenalty::Real {
        gamma: 2.0,
        every: 1,
    };
    let mut gan =
        ConditionalTrainer::new(gpu(), g.clone(), d.clone(), &data(), penalised(r1)).unwrap();
    let w = gan.discriminator().params().read(gpu(), 0).unwrap();
    gan.step().unwrap();
    gan.flush().unwrap();
    let m = gan.history()[0];
    let image: f64 = w[..SIZE].iter().map(|&v| v as f64 * v as f64).sum();
    assert_close("‖w_image‖", &[m.grad_norm], &[image.sqrt()], 1e-6, 1e-5);
    assert_close("γ/2·‖w_image‖²", &[m.penalty], &[image], 1e-6, 1e-5);

    // WGAN-GP the same: at any interpolate the gradient is w, and λ(‖w_image‖ − 1)² is the
    // penalty (the interpolates keep the real label maps: `tests/penalty.rs`).
    let gp = counterfeit::GradientPenalty::Interpolates { lambda: 10.0 };
    let mut gan = ConditionalTrainer::new(gpu(), g, d, &data(), penalised(gp)).unwrap();
    let w = gan.discriminator().params().read(gpu(), 0).unwrap();
    gan.step().unwrap();
    gan.flush().unwrap();
    let m = gan.history()[0];
    let norm = w[..SIZE]
        .iter()
        .map(|&v| v as f64 * v as f64)
        .sum::<f64>()
        .sqrt();
    assert_close("‖w_image‖", &[m.grad_norm], &[norm], 1e-6, 1e-5);
    let want = 10.0 * (norm - 1.0).powi(2);
    assert_close("λ(‖w_image‖ − 1)²", &[m.penalty], &[want], 1e-6, 1e-5);
}
