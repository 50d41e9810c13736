//! Every elementwise, loss, optimiser, RNG and data shader against its CPU reference, on sizes
//! that are not multiples of the 256-wide workgroup (1, 7, 33, 257, 1000) and on magnitudes up
//! to ±100.

mod checks;
mod common;

use common::*;
use counterfeit::data::resize;
use counterfeit::ops::activation::{self, Activation};
use counterfeit::ops::data::{gather, Gather};
use counterfeit::ops::dropout::{self, Mask};
use counterfeit::ops::rng::{fill, fill_at, Distribution};
use counterfeit::ops::{elementwise, maxout, Clock};
use counterfeit::philox;
use counterfeit::reference::dense::{self, Act};
use counterfeit::reference::{optim, shuffle};
use counterfeit::{Optimizer, Tensor};

const SIZES: [usize; 6] = [1, 4, 7, 33, 257, 1000];

fn t(data: &[f32]) -> Tensor {
    Tensor::from_slice(gpu(), data, &[data.len()], "t").unwrap()
}

/// A step counter tensor holding `step` iterations done.
fn state(step: u32) -> Tensor {
    Tensor::from_u32(gpu(), &[step, 0, 0, 0], "state").unwrap()
}

#[test]
fn activations_forward_and_backward() {
    let gpu = gpu();
    // Each kernel activation beside the reference's own.
    let acts = [
        (Activation::Relu, Act::Relu),
        (Activation::LeakyRelu(0.2), Act::LeakyRelu(0.2)),
        (Activation::Tanh, Act::Tanh),
        (Activation::Sigmoid, Act::Sigmoid),
    ];
    for &n in &SIZES {
        for scale in [1.0f32, 100.0] {
            let x = normal(n, n as u64, scale);
            let dy = normal(n, n as u64 + 1, 1.0);
            for (act, reference) in acts {
                let (xt, yt, dyt, dxt) = (t(&x), t(&x), t(&dy), t(&dy));
                let fwd = activation::forward(gpu, act, &xt, &yt).unwrap();
                let saved = if act.backward_uses_output() { &yt } else { &xt };
                let bwd = activation::backward(gpu, act, saved, &dyt, &dxt).unwrap();
                gpu.run(&[&fwd, &bwd]).unwrap();
                // exp/tanh on the GPU are accurate to a few ulp; 1e-6 absolute covers the
                // outputs bounded by 1 and 1e-6 relative the unbounded ReLU family.
                let want_y = dense::activation(reference, &f64s(&x));
                assert_close(
                    &format!("{act:?} forward n={n} scale={scale}"),
                    &yt.read(gpu).unwrap(),
                    &want_y,
                    2e-6,
                    1e-6,
                );
                let want_dx = dense::activation_backward(reference, &f64s(&x), &f64s(&dy));
                // The backward from the f32 output y loses relative precision when y is
                // near ±1 (1 − y² cancels): allow 1e-5 absolute.
                assert_close(
                    &format!("{act:?} backward n={n} scale={scale}"),
                    &dxt.read(gpu).unwrap(),
                    &want_dx,
                    1e-5,
                    1e-5,
                );
            }
        }
    }
}

#[test]
fn maxout_forward_and_backward() {
    let gpu = gpu();
    for &(units, pieces) in &[(1, 1), (7, 2), (33, 5), (257, 3)] {
        let x = normal(units * pieces, units as u64, 1.0);
        let dy = normal(units, 3, 1.0);
        let (xt, yt, dyt, dxt) = (t(&x), t(&dy), t(&dy), t(&x));
        let f = maxout::forward(gpu, &xt, &yt, pieces).unwrap();
        let b = maxout::backward(gpu, &xt, &dyt, &dxt, pieces).unwrap();
        gpu.run(&[&f, &b]).unwrap();
        // Pure selection: exact.
        assert_close(
            "maxout forward",
            &yt.read(gpu).unwrap(),
            &dense::maxout(&f64s(&x), pieces),
            0.0,
            0.0,
        );
        assert_close(
            "maxout backward",
            &dxt.read(gpu).unwrap(),
            &dense::maxout_backward(&f64s(&x), &f64s(&dy), pieces),
            0.0,
            0.0,
        );
    }
}

#[test]
fn dropout_mask_matches_reference_and_is_shared_by_backward() {
    let gpu = gpu();
    for &n in &SIZES {
        for keep in [0.5f32, 0.8, 1.0] {
            let mask = Mask {
                keep,
                seed: 42,
                stream: 3,
                clock: Clock { mul: 2, add: 1 },
            };
            let st = state(5);
            let step = 5 * 2 + 1;
            let x = normal(n, 11, 1.0);
            let (xt, yt) = (t(&x), t(&x));
            gpu.run(&[&dropout::apply(gpu, mask, &st, &xt, &yt).unwrap()])
                .unwrap();
            let keep_mask: Vec<bool> = (0..n as u32)
                .map(|i| dense::kept(42, step, 3, i, keep))
                .collect();
            // x/keep in f32 vs f64: one rounding.
            let want = dense::dropout(&f64s(&x), &keep_mask, keep as f64);
            assert_close("dropout", &yt.read(gpu).unwrap(), &want, 0.0, 1e-6);
        }
    }
    // The fraction kept is close to `keep` (binomial: sd = sqrt(n·p·(1−p)) ≈ 0.0016·n).
    let n = 100_000;
    let mask = Mask {
        keep: 0.8,
        seed: 1,
        stream: 0,
        clock: Clock::ITERATION,
    };
    let (xt, yt) = (t(&vec![1.0; n]), t(&vec![0.0; n]));
    gpu.run(&[&dropout::apply(gpu, mask, &state(0), &xt, &yt).unwrap()])
        .unwrap();
    let kept = yt.read(gpu).unwrap().iter().filter(|&&v| v > 0.0).count() as f64 / n as f64;
    assert!((kept - 0.8).abs() < 0.01, "kept fraction {kept}");
}

#[test]
fn axpby_and_fill() {
    let gpu = gpu();
    for &n in &SIZES {
        let x = normal(n, 1, 1.0);
        let y = normal(n, 2, 1.0);
        let (xt, yt) = (t(&x), t(&y));
        gpu.run(&[&elementwise::axpby(gpu, 2.5, &xt, -0.5, &yt).unwrap()])
            .unwrap();
        let want: Vec<f64> = x
            .iter()
            .zip(&y)
            .map(|(&a, &b)| 2.5 * a as f64 - 0.5 * b as f64)
            .collect();
        assert_close("axpby", &yt.read(gpu).unwrap(), &want, 1e-6, 1e-6);
        gpu.run(&[&elementwise::fill(gpu, &yt, 3.0, &xt).unwrap()])
            .unwrap();
        assert_close("fill", &yt.read(gpu).unwrap(), &vec![3.0; n], 0.0, 0.0);
    }
}

/// The BCE kind of `shaders/gan_loss.wgsl`.
#[test]
fn bce_on_logits_is_stable_and_matches_reference() {
    block_on(checks::loss::bce_on_logits(gpu()));
}

#[test]
fn adam_matches_reference_over_steps() {
    block_on(checks::adam::adam_steps(gpu()));
}

#[test]
fn sgd_momentum_with_decay_and_ramp_matches_reference() {
    // An odd length and one divisible by 4 (where Adam takes vec4s: SGD must not).
    for n in [33, 36] {
        sgd_steps(n);
    }
}

fn sgd_steps(n: usize) {
    let gpu = gpu();
    let p0 = normal(n, 5, 1.0);
    let (lr, decay, min_lr, mom0, mom1, start, end) =
        (0.1f32, 1.5f32, 0.01f32, 0.5f32, 0.7f32, 1u32, 4u32);
    let opt = Optimizer::Sgd {
        lr,
        decay,
        min_lr,
        momentum0: mom0,
        momentum1: mom1,
        ramp_start: start,
        ramp_end: end,
    };
    let (p, g, v, unused) = (t(&p0), t(&p0), t(&vec![0.0; n]), t(&vec![0.0; n]));
    let (mut rp, mut rv) = (f64s(&p0), vec![0.0; n]);
    for step in 0..8u32 {
        let grad = normal(n, 50 + step as u64, 1.0);
        g.write(gpu, &grad).unwrap();
        gpu.run(&[&opt
            .step(gpu, Clock::ITERATION, &state(step), &p, &g, &v, &unused)
            .unwrap()])
            .unwrap();
        let (rate, mom) = optim::sgd_schedule(
            step,
            lr as f64,
            decay as f64,
            min_lr as f64,
            mom0 as f64,
            mom1 as f64,
            start,
            end,
        );
        optim::sgd(&mut rp, &f64s(&grad), &mut rv, rate, mom);
    }
    assert_close(
        &format!("sgd n={n}"),
        &p.read(gpu).unwrap(),
        &rp,
        1e-6,
        1e-5,
    );
}

/// A data-parallel rank draws elements `first..first + n` of the whole batch's draw.
#[test]
fn rng_draws_from_an_offset_match_reference_bit_for_bit() {
    let gpu = gpu();
    let clock = Clock { mul: 2, add: 1 };
    let st = state(4);
    let step = 4 * 2 + 1;
    for (n, first) in [(1, 0), (1, 1), (33, 7), (257, 1000), (65, u32::MAX - 70)] {
        let out = Tensor::zeros(gpu, &[n], "bits").unwrap();
        let draw = (0xfeed_beef, 9, clock);
        let k = fill_at(gpu, Distribution::Bits, draw, first, &st, &out).unwrap();
        gpu.run(&[&k]).unwrap();
        let want: Vec<u32> = (0..n as u32)
            .map(|i| philox::draw(0xfeed_beef, step, 9, first.wrapping_add(i))[0])
            .collect();
        assert_eq!(out.read_u32(gpu).unwrap(), want, "{n} draws from {first}");
    }
}

#[test]
fn rng_bits_and_uniforms_match_reference_bit_for_bit() {
    let gpu = gpu();
    let n = 1000;
    let clock = Clock { mul: 3, add: 2 };
    let st = state(7);
    let step = 7 * 3 + 2;
    let out = Tensor::zeros(gpu, &[n], "bits").unwrap();
    gpu.run(&[&fill(
        gpu,
        Distribution::Bits,
        0x1234_5678_9abc,
        5,
        clock,
        &st,
        &out,
    )
    .unwrap()])
        .unwrap();
    let want: Vec<u32> = (0..n as u32)
        .map(|i| philox::draw(0x1234_5678_9abc, step, 5, i)[0])
        .collect();
    assert_eq!(
        out.read_u32(gpu).unwrap(),
        want,
        "Philox words differ from the reference"
    );

    let dist = Distribution::Uniform {
        low: 0.0,
        high: 1.0,
    };
    gpu.run(&[&fill(gpu, dist, 9, 1, clock, &st, &out).unwrap()])
        .unwrap();
    let want: Vec<f32> = (0..n as u32)
        .map(|i| philox::to_unit(philox::draw(9, step, 1, i)[0]))
        .collect();
    assert_eq!(
        out.read(gpu).unwrap(),
        want,
        "uniforms differ from the reference"
    );

    // Normals go through log and cos, whose GPU versions are accurate to a few ulp, not
    // correctly rounded: compare to the f64 reference within 1e-5 absolute.
    let dist = Distribution::Normal {
        mean: 0.0,
        std: 1.0,
    };
    gpu.run(&[&fill(gpu, dist, 9, 1, clock, &st, &out).unwrap()])
        .unwrap();
    let want: Vec<f64> = (0..n as u32)
        .map(|i| {
            let r = philox::draw(9, step, 1, i);
            philox::to_normal(r[0], r[1])
        })
        .collect();
    assert_close("normals", &out.read(gpu).unwrap(), &want, 1e-5, 1e-5);
}

/// Kolmogorov–Smirnov statistic of sorted samples against a CDF.
fn ks(mut x: Vec<f64>, cdf: impl Fn(f64) -> f64) -> f64 {
    x.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = x.len() as f64;
    x.iter()
        .enumerate()
        .map(|(i, &v)| {
            let c = cdf(v);
            (c - i as f64 / n).abs().max((c - (i + 1) as f64 / n).abs())
        })
        .fold(0.0, f64::max)
}

/// Standard normal CDF via erf's Abramowitz–Stegun 7.1.26 approximation (error < 1.5e-7).
fn normal_cdf(x: f64) -> f64 {
    let z = x.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.3275911 * z);
    let poly = t
        * (0.254829592
            + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    let erf = 1.0 - poly * (-z * z).exp();
    0.5 * (1.0 + if x >= 0.0 { erf } else { -erf })
}

#[test]
fn rng_distributions_pass_moments_and_kolmogorov_smirnov() {
    let gpu = gpu();
    let n = 200_000;
    let out = Tensor::zeros(gpu, &[n], "samples").unwrap();
    let st = state(3);
    // At n = 200k the KS critical value at α = 0.001 is 1.95/√n ≈ 0.0044; the mean's standard
    // error is σ/√n (0.00065 uniform, 0.0022 normal): bounds at ~5 standard errors.
    let dist = Distribution::Uniform {
        low: 0.0,
        high: 1.0,
    };
    gpu.run(&[&fill(gpu, dist, 2024, 0, Clock::ITERATION, &st, &out).unwrap()])
        .unwrap();
    let u = f64s(&out.read(gpu).unwrap());
    let mean = u.iter().sum::<f64>() / n as f64;
    let var = u.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
    assert!((mean - 0.5).abs() < 0.0035, "uniform mean {mean}");
    assert!((var - 1.0 / 12.0).abs() < 0.002, "uniform variance {var}");
    let d = ks(u, |x| x.clamp(0.0, 1.0));
    assert!(d < 0.0044, "uniform KS statistic {d}");

    let dist = Distribution::Normal {
        mean: 0.0,
        std: 1.0,
    };
    gpu.run(&[&fill(gpu, dist, 2024, 1, Clock::ITERATION, &st, &out).unwrap()])
        .unwrap();
    let z = f64s(&out.read(gpu).unwrap());
    let mean = z.iter().sum::<f64>() / n as f64;
    let var = z.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
    assert!(mean.abs() < 0.011, "normal mean {mean}");
    assert!((var - 1.0).abs() < 0.016, "normal variance {var}");
    let d = ks(z, normal_cdf);
    assert!(d < 0.0044, "normal KS statistic {d}");
}

#[test]
fn gather_follows_the_reference_permutation() {
    let gpu = gpu();
    let (count, size, batch) = (37usize, 5usize, 8usize);
    let bytes: Vec<u8> = (0..count * size).map(|i| (i * 7 % 256) as u8).collect();
    let mut words = vec![0u32; bytes.len().div_ceil(4)];
    for (i, &b) in bytes.iter().enumerate() {
        words[i / 4] |= (b as u32) << (8 * (i % 4));
    }
    let pixels = Tensor::from_u32(gpu, &words, "pixels").unwrap();
    let out = Tensor::zeros(gpu, &[batch, size], "batch").unwrap();
    let mut seen = vec![0usize; count];
    for step in 0..(count * 3 / batch) as u32 {
        let g = Gather {
            count,
            size,
            batch,
            seed: 77,
            scale: 2.0 / 255.0,
            shift: -1.0,
            clock: Clock::ITERATION,
            resize: None,
        };
        gpu.run(&[&gather(gpu, g, &state(step), &pixels, &out).unwrap()])
            .unwrap();
        let got = out.read(gpu).unwrap();
        let mut want = Vec::new();
        for b in 0..batch as u32 {
            let idx = shuffle::batch_index(step, batch as u32, b, count as u32, 77) as usize;
            seen[idx] += 1;
            want.extend((0..size).map(|p| bytes[idx * size + p] as f64 * 2.0 / 255.0 - 1.0));
        }
        assert_close(&format!("gather step {step}"), &got, &want, 1e-6, 0.0);
    }
    // Three epochs' worth of positions (minus a partial batch) visit every image 2–3 times.
    assert!(
        seen.iter().all(|&c| (2..=3).contains(&c)),
        "visits {seen:?}"
    );
}

#[test]
fn gather_feistel_width_matches_the_reference() {
    // The kernels' half width against the reference's own search for the smallest one,
    // around every power of four (where it steps) and at the data set sizes used.
    let mut counts: Vec<usize> = (0..=300).collect();
    for e in 2..16u32 {
        let p = 1usize << (2 * e);
        counts.extend([p - 1, p, p + 1]);
    }
    counts.extend([10_000, 60_000, 70_000, 1 << 31]);
    for count in counts {
        assert_eq!(
            counterfeit::ops::data::half_bits(count),
            shuffle::half_bits(count as u32),
            "count {count}"
        );
    }
}

#[test]
fn max_norm_constraint_matches_reference() {
    let gpu = gpu();
    for &(rows, cols) in &[(1, 1), (7, 33), (240, 784)] {
        let w0 = normal(rows * cols, rows as u64, 0.2);
        let w = Tensor::from_slice(gpu, &w0, &[rows, cols], "w").unwrap();
        gpu.run(&[&counterfeit::ops::constraint::max_norm(gpu, &w, 1.5).unwrap()])
            .unwrap();
        let mut want = f64s(&w0);
        dense::max_norm(&mut want, rows, 1.5);
        // A sum of `cols` squares in f32, then one scale: relative 1e-5.
        assert_close(
            &format!("max_norm {rows}x{cols}"),
            &w.read(gpu).unwrap(),
            &want,
            1e-7,
            1e-5,
        );
        let norms: Vec<f64> = want
            .chunks(cols)
            .map(|r| r.iter().map(|v| v * v).sum::<f64>().sqrt())
            .collect();
        assert!(norms.iter().all(|&n| n <= 1.5 + 1e-6));
    }
}

#[test]
fn gather_with_bilinear_resize_matches_reference() {
    let gpu = gpu();
    let (count, sh, sw, batch) = (5usize, 5usize, 7usize, 3usize);
    let bytes: Vec<u8> = (0..count * sh * sw).map(|i| (i * 37 % 256) as u8).collect();
    let mut words = vec![0u32; bytes.len().div_ceil(4)];
    for (i, &b) in bytes.iter().enumerate() {
        words[i / 4] |= (b as u32) << (8 * (i % 4));
    }
    let pixels = Tensor::from_u32(gpu, &words, "pixels").unwrap();
    for (oh, ow) in [(13usize, 11usize), (3, 2), (5, 7)] {
        let out = Tensor::zeros(gpu, &[batch, oh * ow], "batch").unwrap();
        let g = Gather {
            count,
            size: oh * ow,
            batch,
            seed: 3,
            scale: 1.0,
            shift: 0.0,
            clock: Clock::ITERATION,
            resize: Some((sh, sw, oh, ow)),
        };
        gpu.run(&[&gather(gpu, g, &state(1), &pixels, &out).unwrap()])
            .unwrap();
        let mut want = Vec::new();
        for b in 0..batch as u32 {
            let idx = shuffle::batch_index(1, batch as u32, b, count as u32, 3) as usize;
            let img: Vec<f64> = bytes[idx * sh * sw..(idx + 1) * sh * sw]
                .iter()
                .map(|&v| v as f64)
                .collect();
            want.extend(resize::bilinear(&img, sh, sw, oh, ow));
        }
        // Byte values up to 255 interpolated in f32: 1e-4 absolute.
        assert_close(
            &format!("resize to {oh}x{ow}"),
            &out.read(gpu).unwrap(),
            &want,
            1e-4,
            1e-6,
        );
    }
}
