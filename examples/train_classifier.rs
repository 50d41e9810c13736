//! Trains the digit classifier that judges generated samples, with counterfeit's own kernels.
//!
//!     cargo run --release --example train_classifier                  # bundled digits
//!     cargo run --release --example train_classifier -- --out models/mnist_classifier.safetensors
//!
//! The bundled 10,000 digits are split into a fixed training part (the first 9,000) and a
//! held-out part (the last 1,000); the held-out accuracy is reported after every epoch.
//! Beside the weights it writes the judge's statistics of the real training digits
//! (`<name>.real_features.safetensors`), which judged runs load instead of recomputing.

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use counterfeit::data::idx;
use counterfeit::eval::classifier::TRAIN_PART;
use counterfeit::eval::real_features::{self, Provenance};
use counterfeit::eval::{ClassifierConfig, ClassifierTrainer};
use counterfeit::{Dataset, Error, Gpu, Optimizer, Result};
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Parser)]
#[command(about = "Train counterfeit's digit classifier (the judge of the sample-quality metrics)")]
struct Args {
    /// Folder with train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz] (full MNIST
    /// or Fashion-MNIST); the 10,000 bundled digits when absent.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Digits held out for the accuracy figure, taken from the end of the data set
    /// [default: 1000 of the bundled digits, 10,000 with --data].
    #[arg(long)]
    held_out: Option<usize>,
    /// Passes over the training part.
    #[arg(long, default_value_t = 8)]
    epochs: usize,
    /// Batch size.
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Adam learning rate (β = 0.9, 0.999).
    #[arg(long, default_value_t = 1e-3)]
    lr: f32,
    /// The last this many epochs run at a tenth of --lr.
    #[arg(long, default_value_t = 3)]
    slow_epochs: usize,
    /// Seed for the weights and the data order.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Where to write the weights (safetensors).
    #[arg(long, default_value = "out/classifier/mnist_classifier.safetensors")]
    out: PathBuf,
}

fn main() {
    if let Err(e) = run(Args::parse()) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run(args: Args) -> Result<()> {
    if args.epochs == 0 {
        return Err(Error::Config("--epochs must be at least 1".into()));
    }
    let gpu = Gpu::new()?;
    println!("adapter: {}", gpu.describe());
    let (digits, default_held_out) = match &args.data {
        Some(dir) => (idx::load_dir(dir)?, 10_000),
        None => {
            let d = idx::bundled()?;
            let rest = d.len() - TRAIN_PART;
            (d, rest)
        }
    };
    let held_out = args.held_out.unwrap_or(default_held_out);
    let (train, test) = digits.split(digits.len().saturating_sub(held_out))?;
    let data = Dataset::from_digits(&gpu, &train, (0.0, 1.0))?;
    let per_epoch = train.len().div_ceil(args.batch);
    let config = ClassifierConfig {
        batch: args.batch,
        seed: args.seed,
        optimizer: Optimizer::Adam {
            lr: args.lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        },
        drop_at: Some((args.epochs.saturating_sub(args.slow_epochs) * per_epoch) as u64),
        lr_drop: 0.1,
        ..ClassifierConfig::default()
    };
    let mut trainer = ClassifierTrainer::new(&gpu, &data, config)?;
    println!(
        "{} training digits, {} held out; {} epochs of {per_epoch} steps at batch {}, the last {} at lr {:.1e}",
        train.len(),
        test.len(),
        args.epochs,
        args.batch,
        args.slow_epochs.min(args.epochs),
        args.lr * 0.1
    );
    let bar = ProgressBar::new((args.epochs * per_epoch) as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len}  {msg}  [{elapsed} < {eta}]")
            .expect("valid template"),
    );
    let start = Instant::now();
    let mut acc = 0.0;
    for epoch in 1..=args.epochs {
        for _ in 0..per_epoch {
            trainer.step()?;
            bar.inc(1);
        }
        let recent = trainer.recent()?;
        acc = trainer
            .classifier()
            .classify_digits(&test)?
            .accuracy(&test.labels);
        bar.suspend(|| {
            println!(
            "epoch {epoch}: training loss {:.4}, batch accuracy {:.2}%, held-out accuracy {:.2}%",
            recent.loss,
            100.0 * recent.accuracy,
            100.0 * acc
        )
        });
    }
    bar.finish();
    let classifier = trainer.finish();
    println!(
        "held-out accuracy {:.2}% on {} digits after {} epochs ({:.0} s on {})",
        100.0 * acc,
        test.len(),
        args.epochs,
        start.elapsed().as_secs_f32(),
        gpu.info().name
    );
    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    classifier.save(&args.out)?;
    println!("wrote {}", args.out.display());
    // The judge's reference Gaussian is always over the bundled training part; stored once
    // here, judged runs need not classify those digits at every start.
    let (judged, _) = idx::bundled()?.split(TRAIN_PART)?;
    let stats = real_features::path_for(&args.out);
    let real = real_features::fit(&classifier, &judged)?;
    real_features::save(&stats, &real, &Provenance::of(&args.out, &judged)?)?;
    println!(
        "wrote {} (the judge's statistics of the {} real training digits)",
        stats.display(),
        judged.len()
    );
    Ok(())
}
