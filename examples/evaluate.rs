//! Every sample-quality figure for a saved generator, judged by counterfeit's own classifier.
//!
//!     cargo run --release --example evaluate -- --ckpt out/dcgan_mnist/checkpoint.safetensors
//!     cargo run --release --example evaluate -- --real          # the real held-out digits
//!     cargo run --release --example evaluate -- --images samples.safetensors   # any engine's
//!
//! Works with the checkpoints of dcgan_mnist (dcgan28, dcgan64) and gan_mnist_mlp; the
//! generator is recognised from the checkpoint. A checkpoint with the moving average of G's
//! weights (dcgan_mnist --g-ema, saved as G_ema) is judged by it unless --no-ema is given.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Parser;
use counterfeit::eval::judge::to_judged_pixels;
use counterfeit::eval::swd::SwdOptions;
use counterfeit::eval::{Judge, Report};
use counterfeit::gan::{generate_batched, noise, recipes, EMA_NETWORK};
use counterfeit::io::checkpoint::Checkpoint;
use counterfeit::{Error, Gpu, Network, Result};
use safetensors::{Dtype, SafeTensors};

#[derive(Parser)]
#[command(
    about = "Measure FID, Inception-style score, mode coverage, Parzen log-likelihood and SWD"
)]
struct Args {
    /// Checkpoint of dcgan_mnist, gan_mnist_mlp or cgan_mnist whose generator is judged (a
    /// conditional one draws every class in turn).
    #[arg(long, required_unless_present_any = ["real", "images"])]
    ckpt: Option<PathBuf>,
    /// Judge the real held-out digits instead (the reference row).
    #[arg(long, conflicts_with_all = ["ckpt", "images"])]
    real: bool,
    /// Judge images from a safetensors file instead: one F32 tensor `images` of shape
    /// [n, 1, side, side] or [n, side, side] (e.g. another engine's samples).
    #[arg(long, conflicts_with = "ckpt")]
    images: Option<PathBuf>,
    /// Pixel range of --images, as MIN,MAX.
    #[arg(long, default_value = "-1,1", allow_hyphen_values = true)]
    range: String,
    /// Number of generated samples.
    #[arg(long, default_value_t = 10_000)]
    n: usize,
    /// Seed of the latent vectors.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Judge the trained G even when the checkpoint holds the moving average of its weights
    /// (G_ema, judged by default).
    #[arg(long)]
    no_ema: bool,
    /// Skip the Parzen-window log-likelihood (the slowest figure).
    #[arg(long)]
    no_parzen: bool,
    /// Skip the sliced Wasserstein distance to the training digits (Karras et al. 2018), per
    /// pyramid level, measured by default: 10,000 images at 4 patches took 26 s on lavapipe
    /// with 2 cores and another job running (74 s with two training jobs on the cores).
    #[arg(long)]
    no_swd: bool,
    /// Measure the SWD (the default; kept so that older command lines still run).
    #[arg(long, hide = true, conflicts_with = "no_swd")]
    swd: bool,
    /// Patches per image and pyramid level of the SWD (the paper: 128). Its time grows about
    /// linearly with the patch count.
    #[arg(long, default_value_t = 4)]
    swd_patches: usize,
    /// Classifier weights [default: the shipped models/mnist_classifier.safetensors].
    #[arg(long)]
    classifier: Option<PathBuf>,
}

fn main() {
    if let Err(e) = run(Args::parse()) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run(args: Args) -> Result<()> {
    if args.n < 2 {
        return Err(Error::Config(format!("--n {}: must be at least 2", args.n)));
    }
    // The files and flags first: loading the judge takes a while.
    let range = parse_range(&args.range)?;
    let ckpt = match &args.ckpt {
        Some(path) => {
            let ckpt = Checkpoint::open(path).map_err(|e| Error::Config(format!("--ckpt {e}")))?;
            let recipe =
                recipes::identify(&ckpt).map_err(|e| Error::Config(format!("--ckpt {e}")))?;
            Some((path, ckpt, recipe))
        }
        None => None,
    };
    let images = match &args.images {
        Some(path) => Some((path, read_images(path)?)),
        None => None,
    };
    if let Some(path) = &args.classifier {
        if !path.is_file() {
            return Err(Error::Config(format!(
                "--classifier {}: no such file",
                path.display()
            )));
        }
    }
    let gpu = Gpu::new()?;
    println!("adapter: {}", gpu.describe());
    let start = Instant::now();
    let judge = match &args.classifier {
        Some(path) => Judge::with_weights(&gpu, path)?,
        None => Judge::bundled(&gpu)?,
    };
    let swd_options = SwdOptions {
        patches_per_image: args.swd_patches,
        ..SwdOptions::default()
    };
    let with_swd = |mut r: Report, images: &[f32]| -> Result<Report> {
        if !args.no_swd {
            let t = Instant::now();
            r.swd = Some(judge.swd(images, &swd_options)?);
            println!("(SWD: {:.1} s)", t.elapsed().as_secs_f32());
        }
        Ok(r)
    };
    let (label, report) = if args.real {
        let r = judge.real_reference(!args.no_parzen)?;
        let r = with_swd(r, judge.held_out())?;
        ("real held-out digits".to_string(), r)
    } else if let Some((path, (x, side))) = images {
        let images = to_judged_pixels(&x, side, range);
        println!(
            "{}: {} images of {side}×{side}",
            path.display(),
            images.len() / (28 * 28)
        );
        let r = with_swd(judge.judge(&images, !args.no_parzen)?, &images)?;
        (path.display().to_string(), r)
    } else {
        let (path, ckpt, recipe) = ckpt.expect("clap requires --ckpt without --real");
        let g = Network::new(&gpu, "G", recipe.generator.clone(), 0)?;
        let name = if !args.no_ema && ckpt.has_network(EMA_NETWORK)? {
            EMA_NETWORK
        } else {
            "G"
        };
        ckpt.load_network(&gpu, name, &g, false)?;
        let step = ckpt.state()?.map_or(0, |s| s.iterations);
        println!(
            "{}: {} generator ({name}) at step {step}; drawing {} samples",
            path.display(),
            recipe.name,
            args.n
        );
        // A conditional generator (cgan_mnist's) draws every class in turn.
        let z = noise(recipe.noise, args.n * recipe.nz(), args.seed);
        let x = generate_batched(&gpu, &g, &recipe.inputs(&z, &[])?, recipe.batch)?;
        let images = to_judged_pixels(&x, recipe.side, recipe.range);
        let r = with_swd(judge.judge(&images, !args.no_parzen)?, &images)?;
        let which = if name == EMA_NETWORK { " G_ema" } else { "" };
        (format!("{}{which} step {step}", recipe.name), r)
    };
    print!("{}", report.table(&label));
    println!("{}", report.json(&label));
    println!(
        "({:.1} s on {})",
        start.elapsed().as_secs_f32(),
        gpu.info().name
    );
    Ok(())
}

/// The tensor `images` of a safetensors file, with the image side.
fn read_images(path: &Path) -> Result<(Vec<f32>, usize)> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let bad = |message: String| Error::Data {
        path: path.to_path_buf(),
        message,
    };
    let st = SafeTensors::deserialize(&bytes).map_err(|e| bad(e.to_string()))?;
    let t = st
        .tensor("images")
        .map_err(|_| bad("has no tensor named images".into()))?;
    let side = match t.shape() {
        [_, 1, h, w] | [_, h, w] if h == w => *h,
        s => {
            return Err(bad(format!(
                "images are {s:?}, expected [n, 1, side, side]"
            )))
        }
    };
    if t.dtype() != Dtype::F32 {
        return Err(bad(format!("images are {:?}, expected F32", t.dtype())));
    }
    Ok((bytemuck::pod_collect_to_vec(t.data()), side))
}

/// `MIN,MAX` as two finite numbers with MIN < MAX.
fn parse_range(s: &str) -> Result<(f32, f32)> {
    let bad = || Error::Config(format!("--range {s:?} is not MIN,MAX (e.g. -1,1 or 0,1)"));
    let (lo, hi) = s.split_once(',').ok_or_else(bad)?;
    let lo: f32 = lo.trim().parse().map_err(|_| bad())?;
    let hi: f32 = hi.trim().parse().map_err(|_| bad())?;
    if !(lo.is_finite() && hi.is_finite() && lo < hi) {
        return Err(bad());
    }
    Ok((lo, hi))
}
