//! Goodfellow et al. 2014 on MNIST: an MLP generator against a maxout discriminator with
//! dropout, trained with SGD and momentum.
//!
//!     cargo run --release --example gan_mnist_mlp -- --steps 600 --out out/gan_mnist_mlp

mod common;

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Parser;
use common::{check_flag, exit_with, prepare_out, Finish, Interrupt, Ranks, Timeline, TrainingBar};
use counterfeit::data::idx;
use counterfeit::gan::{mlp, recipes};
use counterfeit::io::{grid, metrics_log};
use counterfeit::{Dataset, Error, Optimizer, Trainer, TrainerConfig};

#[derive(Parser)]
#[command(about = "Train the MLP/maxout GAN of Goodfellow et al. (2014) on MNIST digits")]
struct Args {
    /// Training steps (batches of 100, with --distributed split over the ranks). Overrides
    /// --epochs.
    #[arg(long)]
    steps: Option<usize>,
    /// Passes over the data (10,000 bundled digits = 100 steps per epoch).
    #[arg(long, default_value_t = 6)]
    epochs: usize,
    /// Seed for the weights, the noise, the dropout masks and the data order.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Folder with train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz]
    /// (full MNIST or Fashion-MNIST); the bundled 10,000 digits when absent.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Write a sample grid every this many steps (0: only at the end).
    #[arg(long, default_value_t = 100)]
    sample_every: usize,
    /// SGD learning rate (the paper: 0.1).
    #[arg(long, default_value_t = 0.1)]
    lr: f32,
    /// Directory for sample grids, the loss plot, the metrics CSV and the checkpoint.
    #[arg(long, default_value = "out/gan_mnist_mlp")]
    out: PathBuf,
    /// Measure FID and the Inception-style score every this many steps (0: only at the end).
    #[arg(long, default_value_t = 200)]
    eval_every: usize,
    /// Samples for the measurements during training (the final one uses 10,000).
    #[arg(long, default_value_t = 1000)]
    eval_n: usize,
    /// Do not measure sample quality.
    #[arg(long)]
    no_eval: bool,
    /// Also print the final measurement as one JSON line.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    ranks: common::RankArgs,
}

/// Samples of the final measurement.
const FINAL_EVAL_N: usize = 10_000;

const BATCH: usize = 100;

fn main() {
    let args = Args::parse();
    let ranks = Ranks::start(&args.ranks).unwrap_or_else(|e| exit_with(Err(e)));
    let outcome = run(args, &ranks);
    ranks.exit_with(outcome)
}

fn run(args: Args, ranks: &Ranks) -> counterfeit::Result<Finish> {
    let mut time = Timeline::new(Instant::now());
    let root = ranks.is_root();
    let batch = ranks.share(BATCH)?;
    let digits = match &args.data {
        Some(dir) => idx::load_dir(dir)?,
        None => idx::bundled()?,
    };
    let steps = args
        .steps
        .unwrap_or(args.epochs * digits.len().div_ceil(BATCH));
    if steps == 0 {
        return Err(Error::Config(
            "--steps/--epochs must give at least one step".into(),
        ));
    }
    // Flags and the output folder before the slow parts (the GPU, the judge).
    check_flag(
        "--lr",
        args.lr,
        args.lr.is_finite() && args.lr > 0.0,
        "a positive number",
    )?;
    check_flag("--eval-n", args.eval_n, args.eval_n >= 2, "at least 2")?;
    if root {
        prepare_out(&args.out, false, true)?;
    }
    let interrupt = Interrupt::install();
    let gpu = ranks.gpu()?;
    ranks.announce(&gpu);
    let data = Dataset::from_digits(&gpu, &digits, (0.0, 1.0))?;
    let side = data.shape()[1];
    let pixels = data.shape().iter().product::<usize>();

    let g = mlp::generator(pixels);
    let d = mlp::discriminator(pixels);
    // Momentum ramps from 0.5 to 0.7 over the run's first ~third, the learning rate decays by
    // 1.000004 per update (the paper's pylearn2 settings, with the ramp shortened to fit).
    let sgd = Optimizer::Sgd {
        lr: args.lr,
        decay: 1.000004,
        min_lr: 1e-6,
        momentum0: 0.5,
        momentum1: 0.7,
        ramp_start: 0,
        ramp_end: (steps / 3).max(1) as u32,
    };
    let config = TrainerConfig {
        batch,
        seed: args.seed,
        noise: mlp::noise(),
        g_optimizer: sgd,
        d_optimizer: sgd,
        readback_every: 10,
        sample_count: 100,
        ..TrainerConfig::dcgan()
    };
    // Rank 0 alone measures (its parameters are every rank's).
    let judge = match root {
        true => common::judge_for_run(&gpu, args.no_eval || args.data.is_some())?,
        false => None,
    };
    let recipe = recipes::by_name("mlp")?;
    let start = Instant::now();
    let mut gan = Trainer::new(&gpu, g, d, &data, config)?;
    // G's output bias starts at the logit of each pixel's mean over the data (pylearn2's
    // init_bias from marginals), so G begins at the average digit.
    let n = digits.images.count as f64;
    let marginals: Vec<f32> = (0..pixels)
        .map(|p| {
            let mean = (0..digits.images.count)
                .map(|i| digits.images.image(i)[p] as f64)
                .sum::<f64>()
                / (255.0 * n);
            let m = mean.clamp(1e-3, 1.0 - 1e-3);
            (m / (1.0 - m)).ln() as f32
        })
        .collect();
    let g_params = gan.generator().params();
    g_params.write(&gpu, g_params.count() - 1, &marginals)?;
    let mut bar = TrainingBar::new(&gpu, steps as u64, 0, BATCH);
    if !root {
        bar = bar.silent();
    }
    bar.println(&format!(
        "built {} dispatches per step in {:.2} s",
        gan.dispatches(),
        start.elapsed().as_secs_f32()
    ));
    let ckpt = args.out.join("checkpoint.safetensors");
    for step in 1..=steps {
        if let Err(e) = gan.step() {
            bar.abandon();
            return Err(e);
        }
        if step == 1 {
            time.first_step_done();
        }
        bar.update(step as u64, gan.metrics());
        if let Some(judge) = &judge {
            if args.eval_every > 0 && step % args.eval_every == 0 && step < steps {
                let t = Instant::now();
                let q = bar.pause(|| {
                    time.measuring(|| {
                        common::measure(judge, &mut gan, &recipe, args.eval_n, false, false)
                    })
                })?;
                let secs = t.elapsed().as_secs_f32();
                bar.println(&format!("step {step}: {} ({secs:.0} s)", q.summary()));
            }
        }
        if ranks.any(interrupt.requested())? {
            bar.abandon();
            // The others leave only after rank 0 has saved: mpirun ends the whole job
            // as soon as one rank exits with the interrupted status.
            if !root {
                ranks.wait_for_all()?;
                return Ok(Finish::Interrupted);
            }
            let grid = args.out.join(format!("samples_{step:06}.png"));
            time.writing(|| save(&mut gan, &grid, &args.out, &ckpt, side))?;
            println!("{}", time.summary());
            println!(
                "stopped at step {step} of {steps}: wrote {}",
                ckpt.display()
            );
            ranks.wait_for_all()?;
            return Ok(Finish::Interrupted);
        }
        if root && args.sample_every > 0 && step % args.sample_every == 0 && step < steps {
            let grid = args.out.join(format!("samples_{step:06}.png"));
            bar.pause(|| time.writing(|| save(&mut gan, &grid, &args.out, &ckpt, side)))?;
        }
    }
    gan.flush()?;
    bar.finish(steps as u64);
    ranks.agree(&gan)?;
    if !root {
        return Ok(Finish::Done);
    }
    if let Some(judge) = &judge {
        println!("measuring the final samples (N = {FINAL_EVAL_N}) ...");
        let t = Instant::now();
        let q = time
            .measuring(|| common::measure(judge, &mut gan, &recipe, FINAL_EVAL_N, true, false))?;
        let label = format!("mlp step {steps}");
        print!("{}", q.table(&label));
        if args.json {
            println!("{}", q.json(&label));
        }
        println!("({:.0} s)", t.elapsed().as_secs_f32());
    }
    let last = args.out.join("samples_final.png");
    time.writing(|| save(&mut gan, &last, &args.out, &ckpt, side))?;
    println!(
        "wrote {}, losses.png, metrics.csv and {}",
        last.display(),
        ckpt.display()
    );
    println!("{}", time.summary());
    Ok(Finish::Done)
}

/// Grid, checkpoint, CSV and loss plot.
fn save(
    gan: &mut Trainer,
    grid_path: &Path,
    out: &Path,
    ckpt: &Path,
    side: usize,
) -> counterfeit::Result<()> {
    let x = gan.samples()?;
    grid::save_grid(grid_path, &x, 100, side, side, 10, (0.0, 1.0))?;
    gan.save(ckpt)?;
    metrics_log::save_csv(&out.join("metrics.csv"), gan.history(), gan.quality())?;
    metrics_log::save_loss_plot(
        &out.join("losses.png"),
        "GAN MLP on MNIST",
        gan.history(),
        gan.quality(),
    )
}
