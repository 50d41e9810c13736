//! The semi-supervised GAN (Salimans et al. 2016): a digit classifier that learns from a few
//! labelled digits, all the unlabelled ones and a generator trained by feature matching.
//!
//!     cargo run --release --example semisup_mnist -- --labels 100
//!     cargo run --release --example semisup_mnist -- --labels 20,50,100,200 --seeds 3
//!
//! The bundled 10,000 digits are split as the classifier's: the first 9,000 train (a
//! class-balanced random subset of them labelled), the last 1,000 are the test part and are
//! never trained on. Each run is compared with the same classifier trained on its labelled
//! digits alone. With `--data`, a folder holding full MNIST's training and t10k test files.

mod common;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use common::{exit_with, Finish, Ranks};
use counterfeit::data::idx::{self, Digits};
use counterfeit::eval::classifier::TRAIN_PART;
use counterfeit::gan::semisup::{labelled_subset, SemiConfig, SemiTrainer, CLASSES, LATENT};
use counterfeit::gan::{generate, noise, Noise};
use counterfeit::io::grid::save_grid;
use counterfeit::{Dataset, Error, Gpu, Optimizer, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Parser)]
#[command(
    about = "Semi-supervised GAN on MNIST digits: test error with few labels, against the same classifier trained on the labels alone"
)]
struct Args {
    /// Labelled digits per run (a multiple of 10: the same number of each class); a
    /// comma-separated list runs each in turn
    #[arg(long, value_delimiter = ',', default_value = "100")]
    labels: Vec<usize>,
    /// Seeds per label count (1, 2, ...): each picks other labelled digits, weights and noise
    #[arg(long, default_value_t = 1)]
    seeds: u64,
    /// Training steps per run (each: one labelled, one unlabelled and one generated batch)
    #[arg(long, default_value_t = 1500)]
    steps: u64,
    /// Batch size (labelled, unlabelled and generated batches alike; with --distributed, of
    /// all ranks together: each takes an equal share)
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// Adam learning rate of both networks (β = 0.5, 0.999)
    #[arg(long, default_value_t = 3e-3)]
    lr: f32,
    /// The last this fraction of the steps runs at a tenth of --lr
    #[arg(long, default_value_t = 0.3)]
    slow_fraction: f64,
    /// Units of D's hidden layers, comma-separated (the paper's 1000,500,250,250,250)
    #[arg(long, value_delimiter = ',', default_value = "1000,500,250,250,250")]
    hidden: Vec<usize>,
    /// Print the test error every this many steps (0: only at the end of each run)
    #[arg(long, default_value_t = 0)]
    eval_every: u64,
    /// Skip the comparison run that trains the classifier on the labelled digits alone
    #[arg(long)]
    no_baseline: bool,
    /// Folder with full MNIST (train-* and t10k-* IDX files, raw or .gz); the bundled digits
    /// when absent
    #[arg(long)]
    data: Option<PathBuf>,
    /// Output directory: results.md, results.csv and a grid of each run's generated digits
    #[arg(long, default_value = "out/semisup_mnist")]
    out: PathBuf,
    #[command(flatten)]
    ranks: common::RankArgs,
}

fn main() {
    let args = Args::parse();
    let ranks = Ranks::start(&args.ranks).unwrap_or_else(|e| exit_with(Err(e)));
    let outcome = run(args, &ranks).map(|()| Finish::Done);
    ranks.exit_with(outcome)
}

/// Test errors (fractions) of one label count, over the seeds.
struct Outcome {
    labels: usize,
    semi: Vec<f64>,
    alone: Vec<f64>,
}

fn run(args: Args, ranks: &Ranks) -> Result<()> {
    check(&args)?;
    // Every rank trains; rank 0 alone measures, prints and writes.
    let root = ranks.is_root();
    let batch = ranks.share(args.batch)?;
    let gpu = ranks.gpu()?;
    ranks.announce(&gpu);
    let (train, test) = match &args.data {
        Some(dir) => (idx::load_dir(dir)?, idx::load_test_dir(dir)?),
        None => idx::bundled()?.split(TRAIN_PART)?,
    };
    let unlabelled = Dataset::from_digits(&gpu, &train, (0.0, 1.0))?;
    if !root {
        for &labels in &args.labels {
            for seed in 1..=args.seeds {
                let subset = labelled_subset(&train, labels / CLASSES, seed)?;
                let labelled = Dataset::from_digits(&gpu, &subset, (0.0, 1.0))?;
                for adversarial in methods(&args) {
                    let run = (&labelled, &unlabelled, seed, adversarial);
                    train_one(&gpu, &args, batch, run, None)?;
                }
            }
        }
        return Ok(());
    }
    println!(
        "{} training digits (labels used only for the chosen subset), {} test digits; {} steps per run",
        train.len(),
        test.len(),
        args.steps
    );
    std::fs::create_dir_all(&args.out).map_err(|e| Error::io(&args.out, e))?;
    let csv_path = args.out.join("results.csv");
    let mut csv = String::from("labels,seed,method,steps,test_error,seconds\n");
    let mut outcomes = Vec::new();
    for &labels in &args.labels {
        let mut outcome = Outcome {
            labels,
            semi: Vec::new(),
            alone: Vec::new(),
        };
        for seed in 1..=args.seeds {
            let subset = labelled_subset(&train, labels / CLASSES, seed)?;
            let labelled = Dataset::from_digits(&gpu, &subset, (0.0, 1.0))?;
            for adversarial in methods(&args) {
                let name = if adversarial {
                    "semi-supervised GAN"
                } else {
                    "labels alone"
                };
                let start = Instant::now();
                let run = (&labelled, &unlabelled, seed, adversarial);
                let trainer = train_one(&gpu, &args, batch, run, Some(&test))?;
                let error = trainer.test_error(&test)?;
                let secs = start.elapsed().as_secs_f64();
                println!(
                    "{labels} labels, seed {seed}, {name}: test error {:.2} % ({secs:.0} s)",
                    100.0 * error
                );
                writeln!(
                    csv,
                    "{labels},{seed},{},{},{error},{secs:.1}",
                    if adversarial {
                        "semisup"
                    } else {
                        "labels_alone"
                    },
                    args.steps
                )
                .expect("writing to a String");
                std::fs::write(&csv_path, &csv).map_err(|e| Error::io(&csv_path, e))?;
                if adversarial {
                    outcome.semi.push(error);
                    save_samples(&gpu, &trainer, &args, labels, seed)?;
                } else {
                    outcome.alone.push(error);
                }
            }
        }
        outcomes.push(outcome);
    }
    let table = table(&gpu, &args, &outcomes);
    println!("\n{table}");
    let md = args.out.join("results.md");
    std::fs::write(&md, &table).map_err(|e| Error::io(&md, e))?;
    println!(
        "wrote {}, {} and the sample grids",
        md.display(),
        csv_path.display()
    );
    Ok(())
}

fn check(args: &Args) -> Result<()> {
    if let Some(&bad) = args.labels.iter().find(|&&n| n == 0 || n % CLASSES != 0) {
        return Err(Error::Config(format!(
            "--labels {bad}: each count must be a positive multiple of {CLASSES} (as many of each class)"
        )));
    }
    if args.seeds == 0 || args.steps == 0 || args.batch == 0 {
        return Err(Error::Config(
            "--seeds, --steps and --batch must be at least 1".into(),
        ));
    }
    if !(0.0..1.0).contains(&args.slow_fraction) {
        return Err(Error::Config(format!(
            "--slow-fraction must be in [0, 1), got {}",
            args.slow_fraction
        )));
    }
    if args.hidden.is_empty() || args.hidden.contains(&0) {
        return Err(Error::Config("--hidden needs positive layer sizes".into()));
    }
    Ok(())
}

/// The runs of each label count and seed: the semi-supervised GAN, then (unless
/// `--no-baseline`) the classifier on the labels alone.
fn methods(args: &Args) -> Vec<bool> {
    if args.no_baseline {
        vec![true]
    } else {
        vec![true, false]
    }
}

/// Trains one run (labelled and unlabelled digits, seed, adversarial or not) of `batch` per
/// rank with a progress bar; returns the trained trainer. Without `test` (a rank other than
/// 0) nothing is shown or measured.
fn train_one(
    gpu: &Gpu,
    args: &Args,
    batch: usize,
    (labelled, unlabelled, seed, adversarial): (&Dataset, &Dataset, u64, bool),
    test: Option<&Digits>,
) -> Result<SemiTrainer> {
    let adam = Optimizer::Adam {
        lr: args.lr,
        beta1: 0.5,
        beta2: 0.999,
        eps: 1e-8,
    };
    let fast = ((1.0 - args.slow_fraction) * args.steps as f64).round() as u64;
    let config = SemiConfig {
        batch,
        hidden: args.hidden.clone(),
        d_optimizer: adam,
        g_optimizer: adam,
        drop_at: Some(fast),
        seed,
        adversarial,
        ..SemiConfig::default()
    };
    let mut trainer = SemiTrainer::new(gpu, labelled, unlabelled, config)?;
    let bar = ProgressBar::new(args.steps);
    if test.is_none() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len}  {msg}  [{elapsed} < {eta}]")
            .expect("valid template"),
    );
    while trainer.steps() < args.steps {
        trainer.step()?;
        bar.inc(1);
        if trainer.steps() % 100 == 0 || trainer.steps() == args.steps {
            let f = trainer.recent().inspect_err(|_| bar.abandon())?;
            bar.set_message(if adversarial {
                format!(
                    "labelled acc {:.1}%  D(x) {:.2}  D(G(z)) {:.2}  feature matching {:.4}",
                    100.0 * f.labelled_accuracy,
                    f.d_real,
                    f.d_fake,
                    f.feature_matching
                )
            } else {
                format!("labelled loss {:.4}", f.labelled_loss)
            });
        }
        let Some(test) = test else {
            continue;
        };
        if args.eval_every > 0 && trainer.steps() % args.eval_every == 0 {
            let error = trainer.test_error(test)?;
            let f = trainer.recent()?;
            bar.suspend(|| {
                println!(
                    "  step {}: test error {:.2} %, labelled loss {:.4}, D(x) {:.2}, D(G(z)) {:.2}",
                    trainer.steps(),
                    100.0 * error,
                    f.labelled_loss,
                    f.d_real,
                    f.d_fake
                )
            });
        }
    }
    bar.finish_and_clear();
    trainer.check_ranks_agree()?;
    Ok(trainer)
}

/// A 10×10 grid of the run's generated digits.
fn save_samples(
    gpu: &Gpu,
    trainer: &SemiTrainer,
    args: &Args,
    labels: usize,
    seed: u64,
) -> Result<()> {
    let Some(g) = trainer.generator() else {
        return Ok(());
    };
    let uniform = Noise::Uniform {
        low: 0.0,
        high: 1.0,
    };
    let images = generate(gpu, g, &noise(uniform, 100 * LATENT, seed))?;
    let path = args
        .out
        .join(format!("samples_{labels}_labels_seed{seed}.png"));
    save_grid(&path, &images, 100, 28, 28, 10, (0.0, 1.0))
}

/// Mean ± sample standard deviation, in percent.
fn mean_std(errors: &[f64]) -> String {
    let n = errors.len() as f64;
    let mean = errors.iter().sum::<f64>() / n;
    if errors.len() < 2 {
        return format!("{:.2} %", 100.0 * mean);
    }
    let var = errors.iter().map(|e| (e - mean).powi(2)).sum::<f64>() / (n - 1.0);
    format!("{:.2} ± {:.2} %", 100.0 * mean, 100.0 * var.sqrt())
}

/// The results as a Markdown table with the protocol above it.
fn table(gpu: &Gpu, args: &Args, outcomes: &[Outcome]) -> String {
    let mut s = format!(
        "Test error, mean ± std over {} seed(s); {} steps of batch {}, D {:?}; {}\n\n",
        args.seeds,
        args.steps,
        args.batch,
        args.hidden,
        gpu.info().name
    );
    s.push_str("| labels | semi-supervised GAN | labels alone |\n|---|---|---|\n");
    for o in outcomes {
        let alone = if o.alone.is_empty() {
            "–".to_string()
        } else {
            mean_std(&o.alone)
        };
        writeln!(s, "| {} | {} | {} |", o.labels, mean_std(&o.semi), alone)
            .expect("writing to a String");
    }
    s
}
