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
//! - `walk.png`: a --steps × --steps grid of G(z + a·u + b·v) for one base z and two random
//!   orthonormal directions u, v, with a (across, left to right) and b (down, top to bottom)
//!   evenly spaced in [−radius, +radius]. For uniform noise every z is clamped into the box.
//!
//! For a conditional generator every image above has a label (--label, or pair i draws class
//! i mod classes and the walk class 0), and `labels.png` has --steps rows: one z per row with
//! each class across, so the style stays and the digit changes.

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use counterfeit::gan::latent::{clamp_to_support, gram_schmidt, lerp, slerp};
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
    /// The walk goes from −radius to +radius along each unit direction (in units of the noise's
    /// standard deviation for normal noise).
    #[arg(long, default_value_t = 2.0, allow_hyphen_values = true)]
    radius: f32,
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
    if !(args.radius.is_finite() && args.radius > 0.0) {
        return Err(Error::Config(format!(
            "--radius must be a positive number, not {}",
            args.radius
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
    let dirs = gram_schmidt(&[&raw[..nz], &raw[nz..]])?;
    let (u, v) = (&dirs[0], &dirs[1]);

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
    let base = latent(2 * pairs);
    let r = args.radius;
    let offsets: Vec<f32> = ts.iter().map(|t| -r + 2.0 * r * t).collect();
    for &b in &offsets {
        for &a in &offsets {
            z.extend((0..nz).map(|k| base[k] + a * u[k] + b * v[k]));
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
            "{steps}×{steps}, z + a·u + b·v for a (across) and b (down) in [{}, {r}], |z| = {:.2}",
            -r,
            norm(base)
        ),
    )?;
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
