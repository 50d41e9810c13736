//! Pictures of a trained generator's latent space: interpolations between latent vectors and a
//! walk along two directions.
//!
//!     cargo run --release --example latent -- --ckpt out/dcgan_mnist/checkpoint.safetensors
//!
//! Works with the checkpoints of dcgan_mnist (dcgan28, dcgan64), gan_mnist_mlp and cgan_mnist;
//! the generator, its noise and pixel range are recognised from the checkpoint. Writes to --out:
//!
//! - `lerp_pair<i>.png`, `slerp_pair<i>.png`: for each pair of random latent vectors, --steps
//!   images from z0 to z1 inclusive, by linear and by spherical interpolation;
//! - `interpolations.png`: all those strips as rows, pair by pair, lerp then slerp;
//! - `walk.png`: a --steps × --steps grid around one base z, turned along great circles
//!   towards two random directions u, v orthogonal to it (keeping |z|): by a across (left to
//!   right) and b down (top to bottom), both evenly spaced in [−angle, +angle], for a total
//!   turn of √(a² + b²). At the default 90° the middle of each edge is a quarter turn from z,
//!   as unrelated to it as a new random latent vector, so the digit changes across the grid;
//!   a straight step of a few units, z + a·u + b·v, hardly turns a z of norm ≈ √100 = 10 and
//!   shows one digit throughout. For uniform noise every z is clamped into the box. The run
//!   prints how much neighbouring images and the grid's corners differ, next to two random
//!   samples.
//!
//! For a conditional generator every image above has a label (--label, or pair i draws class
//! i mod classes and the walk class 0), and `labels.png` has --steps rows: one z per row with
//! each class across, so the style stays and the digit changes.

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use counterfeit::gan::latent::{clamp_to_support, gram_schmidt, lerp, slerp, turn};
use counterfeit::gan::{generate_batched, noise, recipes};
use counterfeit::io::checkpoint::Checkpoint;
use counterfeit::io::grid::save_grid;
use counterfeit::{Error, Gpu, Network, Noise, Result};

/// Refuse more generated images than this: a typo in --pairs or --steps should fail at once,
/// not after minutes of generating on a CPU adapter.
const MAX_IMAGES: usize = 10_000;

#[derive(Parser)]
#[command(
    about = "Draw interpolations and a two-direction walk through a generator's latent space"
)]
struct Args {
    /// Checkpoint of dcgan_mnist, gan_mnist_mlp or cgan_mnist whose generator is drawn.
    #[arg(long)]
    ckpt: PathBuf,
    /// Output directory.
    #[arg(long, default_value = "out/latent")]
    out: PathBuf,
    /// Seed of the latent vectors and the walk's directions.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Pairs of latent vectors to interpolate between.
    #[arg(long, default_value_t = 4)]
    pairs: usize,
    /// Images per interpolation, endpoints included; also the side of the walk grid.
    #[arg(long, default_value_t = 10)]
    steps: usize,
    /// The walk turns z by −angle to +angle degrees towards each of its two directions.
    #[arg(long, default_value_t = 90.0, allow_hyphen_values = true)]
    angle: f32,
    /// Conditional generators only: the class of every interpolation and of the walk
    /// (default: pair i draws class i mod classes, the walk class 0).
    #[arg(long)]
    label: Option<u32>,
}

fn main() {
    if let Err(e) = run(Args::parse()) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run(args: Args) -> Result<()> {
    let (pairs, steps) = (args.pairs, args.steps);
    if pairs == 0 {
        return Err(Error::Config("--pairs must be at least 1".into()));
    }
    if steps < 2 {
        return Err(Error::Config(
            "--steps must be at least 2 (both endpoints are drawn)".into(),
        ));
    }
    if !(args.angle.is_finite() && args.angle > 0.0 && args.angle <= 180.0) {
        return Err(Error::Config(format!(
            "--angle must be a number of degrees in (0, 180], not {}",
            args.angle
        )));
    }
    // The checkpoint first: a wrong path fails before the adapter is opened.
    let ckpt = Checkpoint::open(&args.ckpt)?;
    let recipe = recipes::identify(&ckpt)?;
    let classes = recipe.classes;
    match args.label {
        Some(_) if classes == 0 => {
            return Err(Error::Config(format!(
                "--label needs a conditional generator; this checkpoint's is {}",
                recipe.name
            )))
        }
        Some(l) if l as usize >= classes => {
            return Err(Error::Config(format!(
                "--label {l} is not one of the generator's {classes} classes"
            )))
        }
        _ => {}
    }
    let interp = pairs.checked_mul(steps).and_then(|n| n.checked_mul(2));
    let total = interp
        .zip(steps.checked_mul(steps + classes))
        .and_then(|(a, b)| a.checked_add(b));
    let (interp, total) = match (interp, total) {
        (Some(i), Some(n)) if n <= MAX_IMAGES => (i, n),
        _ => {
            return Err(Error::Config(format!(
                "--pairs {pairs} and --steps {steps} ask for more than {MAX_IMAGES} images \
                 (2·pairs·steps + steps² + steps·classes)"
            )))
        }
    };
    std::fs::create_dir_all(&args.out).map_err(|e| Error::io(&args.out, e))?;
    let gpu = Gpu::new()?;
    println!("adapter: {}", gpu.describe());
    let g = Network::new(&gpu, "G", recipe.generator.clone(), 0)?;
    ckpt.load_network(&gpu, "G", &g, false)?;
    let step = ckpt.state()?.map_or(0, |s| s.iterations);
    println!(
        "{}: {} generator at step {step}; drawing {total} images",
        args.ckpt.display(),
        recipe.name
    );
    let start = Instant::now();

    let nz = recipe.nz();
    // Two latent vectors per pair, the walk's base, then the label grid's rows.
    let zs = noise(recipe.noise, (2 * pairs + 1 + steps) * nz, args.seed);
    let latent = |i: usize| &zs[i * nz..(i + 1) * nz];
    // Directions from isotropic Gaussian draws whatever the noise, so every direction is as
    // likely; taken from indices past the latents', since the same Philox counters would
    // give values tied to them.
    let raw = noise(Noise::Normal, (2 * pairs + 3 + steps) * nz, args.seed);
    let raw = &raw[(2 * pairs + 1 + steps) * nz..];
    let base = latent(2 * pairs);
    let dirs = gram_schmidt(&[base, &raw[..nz], &raw[nz..]])?;
    let (u, v) = (&dirs[1], &dirs[2]);

    let ts: Vec<f32> = (0..steps).map(|i| i as f32 / (steps - 1) as f32).collect();
    let mut z = Vec::with_capacity(total * nz);
    // One label per image (used by a conditional generator only).
    let mut labels = Vec::with_capacity(total);
    let class = |default: usize| {
        args.label
            .unwrap_or(default.checked_rem(classes).unwrap_or(0) as u32)
    };
    for p in 0..pairs {
        let (z0, z1) = (latent(2 * p), latent(2 * p + 1));
        for interpolate in [lerp, slerp] {
            for &t in &ts {
                z.extend(interpolate(z0, z1, t)?);
                labels.push(class(p));
            }
        }
    }
    let r = args.angle.to_radians();
    let offsets: Vec<f32> = ts.iter().map(|t| -r + 2.0 * r * t).collect();
    for &b in &offsets {
        for &a in &offsets {
            z.extend(turn(base, u, v, a, b)?);
            labels.push(class(0));
        }
    }
    let walked = z.len() / nz;
    for row in 0..steps * (classes > 0) as usize {
        for c in 0..classes as u32 {
            z.extend_from_slice(latent(2 * pairs + 1 + row));
            labels.push(c);
        }
    }
    // A no-op for normal noise; lerp stays in the box, slerp and the walk may leave it.
    clamp_to_support(recipe.noise, &mut z);

    // One call for everything with the training batch as the chunk: batch-norm generators
    // normalise with batch statistics, which should be those of a training-sized batch.
    let x = generate_batched(&gpu, &g, &recipe.inputs(&z, &labels)?, recipe.batch)?;
    let side = recipe.side;
    let per = side * side;
    let save = |name: &str, images: &[f32], cols: usize, what: String| -> Result<()> {
        let path = args.out.join(name);
        let count = images.len() / per;
        save_grid(&path, images, count, side, side, cols, recipe.range)?;
        println!("wrote {} ({what})", path.display());
        Ok(())
    };
    for p in 0..pairs {
        for (k, kind) in ["lerp", "slerp"].into_iter().enumerate() {
            let first = (2 * p + k) * steps;
            save(
                &format!("{kind}_pair{p}.png"),
                &x[first * per..(first + steps) * per],
                steps,
                format!("pair {p}, {kind}, {steps} steps"),
            )?;
        }
    }
    save(
        "interpolations.png",
        &x[..interp * per],
        steps,
        format!("{} rows: each pair's lerp then slerp", 2 * pairs),
    )?;
    save(
        "walk.png",
        &x[interp * per..walked * per],
        steps,
        format!(
            "{steps}×{steps}, z turned by a (across) and b (down) in [−{0}°, {0}°], |z| = {1:.2}",
            args.angle,
            norm(base)
        ),
    )?;
    let walk = &x[interp * per..walked * per];
    let ends: Vec<f32> = (0..pairs)
        .flat_map(|p| {
            let (a, b) = (2 * p * steps, (2 * p + 1) * steps - 1);
            x[a * per..(a + 1) * per]
                .iter()
                .chain(&x[b * per..(b + 1) * per])
        })
        .copied()
        .collect();
    let spread = WalkSpread::measure(walk, steps, per, recipe.range);
    println!(
        "walk: neighbouring images differ by {:.2}, opposite corners by {:.2}; two random \
         samples by {:.2} (root-mean-square pixel difference)",
        spread.neighbours,
        spread.corners,
        mean_distance(&ends, per, recipe.range)
    );
    if classes > 0 {
        save(
            "labels.png",
            &x[walked * per..],
            classes,
            format!("{steps} rows: one z each, classes 0..{classes} across"),
        )?;
    }
    println!(
        "({:.1} s for the images on {})",
        start.elapsed().as_secs_f32(),
        gpu.info().name
    );
    Ok(())
}

fn norm(v: &[f32]) -> f32 {
    v.iter().map(|x| x * x).sum::<f32>().sqrt()
}

/// How much a walk grid changes: between neighbouring tiles and between opposite corners.
struct WalkSpread {
    neighbours: f32,
    corners: f32,
}

impl WalkSpread {
    /// For a `side`×`side` grid of images of `per` values in `range`.
    fn measure(grid: &[f32], side: usize, per: usize, range: (f32, f32)) -> WalkSpread {
        let tile = |r: usize, c: usize| &grid[(r * side + c) * per..(r * side + c + 1) * per];
        let mut near = Vec::new();
        for r in 0..side {
            for c in 0..side {
                if c + 1 < side {
                    near.push(rms(tile(r, c), tile(r, c + 1), range));
                }
                if r + 1 < side {
                    near.push(rms(tile(r, c), tile(r + 1, c), range));
                }
            }
        }
        let last = side - 1;
        WalkSpread {
            neighbours: near.iter().sum::<f32>() / near.len() as f32,
            corners: (rms(tile(0, 0), tile(last, last), range)
                + rms(tile(0, last), tile(last, 0), range))
                / 2.0,
        }
    }
}

/// The mean of [`rms`] over every pair of the images in `images` (`per` values each).
fn mean_distance(images: &[f32], per: usize, range: (f32, f32)) -> f32 {
    let all: Vec<&[f32]> = images.chunks_exact(per).collect();
    let mut d = Vec::new();
    for (i, a) in all.iter().enumerate() {
        for b in &all[i + 1..] {
            d.push(rms(a, b, range));
        }
    }
    d.iter().sum::<f32>() / d.len().max(1) as f32
}

/// The root-mean-square difference of two images, with `range` mapped to 0..1.
fn rms(a: &[f32], b: &[f32], range: (f32, f32)) -> f32 {
    let scale = 1.0 / (range.1 - range.0);
    let sum: f32 = a
        .iter()
        .zip(b)
        .map(|(x, y)| ((x - y) * scale).powi(2))
        .sum();
    (sum / a.len() as f32).sqrt()
}
