//! DCGAN on MNIST, the front door of counterfeit.
//!
//!     cargo run --release --example dcgan_mnist                      # dcgan28, bundled digits
//!     cargo run --release --example dcgan_mnist -- --steps 300       # a short run
//!     cargo run --release --example dcgan_mnist -- --sample out/dcgan_mnist/checkpoint.safetensors
//!     cargo run --release --example dcgan_mnist -- --recipe dcgan    # the DCGAN paper's recipe
//!     cargo run --release --example dcgan_mnist -- --recipe dcgan --loss hinge --g-ema 0.999 --real-label 0.9
//!     cargo run --release --example dcgan_mnist -- --recipe wgan-gp  # or sngan
//!     mpirun -np 2 target/release/examples/dcgan_mnist --distributed   # built with --features distributed
//!
//! Writes sample grids (one fixed z), a loss plot, a metrics CSV and a checkpoint to --out.
//! With --g-ema the grids, the quality measurements and --sample use the moving average of
//! G's weights (saved in the checkpoint as G_ema).

mod common;

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Parser;
use common::{
    check_flag, exit_with, open_resume_since, out_folder, prepare_out, Cadence, Finish, Interrupt,
    Ranks, Timeline, TrainingBar, CHECKPOINT,
};
use counterfeit::data::idx;
use counterfeit::gan::dcgan::{Arch, DOptions, NZ};
use counterfeit::gan::TrainingRecipe;
use counterfeit::gan::{recipes, EMA_NETWORK};
use counterfeit::io::{checkpoint::Checkpoint, grid, metrics_log};
use counterfeit::{Dataset, Error, Gpu, Network, Noise, Result, Trainer, TrainerConfig};

/// Steps of the default run: enough for clear digits of every class at batch 64.
const DEFAULT_STEPS: usize = 3000;

#[derive(Parser)]
#[command(about = "Train a DCGAN on MNIST digits (or sample from a saved generator)")]
struct Args {
    /// Network: dcgan28 (28×28, the default) or dcgan64 (the PyTorch example's 64×64 network;
    /// digits are resized on the GPU).
    #[arg(long, default_value = "dcgan28")]
    arch: String,
    /// Folder with train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz] (full MNIST or
    /// Fashion-MNIST); the 10,000 bundled digits when absent.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Train on one digit class only (0–9).
    #[arg(long)]
    digit: Option<u8>,
    /// Training steps (--d-steps D updates and one G update each) [default: 3000].
    #[arg(long, conflicts_with = "epochs")]
    steps: Option<usize>,
    /// Passes over the data instead of --steps.
    #[arg(long)]
    epochs: Option<usize>,
    /// Batch size (with --distributed, of all ranks together: each takes an equal share).
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// How to train (each with its paper's settings; the generator is the same):
    /// r1, the default (Mescheder et al. 2018): BCE plus γ/2·‖∇D(x)‖² on real digits, no batch
    /// norm in D, Adam (0.5, 0.999). Measured, it draws better than dcgan from about 2000 steps
    /// on, per step and per hour (README, "Which recipe draws best per hour"); its penalty
    /// needs a second backward through D, so a step costs about 1.2 times dcgan's.
    /// dcgan (Radford et al. 2016): BCE, batch norm in D, Adam (0.5, 0.999), one D step per G
    /// step; the default before r1, and the one --loss and the label flags were made for.
    /// sngan (Miyato et al. 2018): hinge loss, spectral normalisation on every weight of D and
    /// no batch norm, Adam (0.5, 0.999), one D step, a moving average of G (0.999).
    /// wgan-gp (Gulrajani et al. 2017): Wasserstein loss, gradient penalty λ·(‖∇D(x̂)‖ − 1)² at
    /// random points between real and fake digits, no batch norm in D, 5 D steps per G step,
    /// Adam 1e-4 (0, 0.9); a step costs about 4 times dcgan's.
    #[arg(long, default_value = "r1", verbatim_doc_comment)]
    recipe: String,
    /// WGAN-GP's penalty weight λ.
    #[arg(long, default_value_t = 10.0)]
    gp_lambda: f32,
    /// R1's weight γ.
    #[arg(long, default_value_t = 10.0)]
    r1_gamma: f32,
    /// Take R1 every this many steps, scaled by it (lazy regularisation, StyleGAN2 uses 16).
    #[arg(long, default_value_t = 1)]
    r1_every: u32,
    /// Adam learning rate for both networks [default: 2e-4; 1e-4 for wgan-gp].
    #[arg(long)]
    lr: Option<f32>,
    /// Seed for weights, noise and data order.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output directory.
    #[arg(long, default_value = "out/dcgan_mnist")]
    out: PathBuf,
    /// Write a sample grid, the plot, the CSV and a checkpoint every this many steps.
    #[arg(long, default_value_t = 250)]
    sample_every: usize,
    /// Continue training from a checkpoint written by an earlier run with the same settings.
    #[arg(long)]
    resume: Option<PathBuf>,
    /// Start afresh even though --out holds another run's checkpoint (it is replaced).
    #[arg(long)]
    overwrite: bool,
    /// Also write a checkpoint every this many minutes of training (0: only every
    /// --sample-every steps), so a stopped or crashed run loses little.
    #[arg(long, default_value_t = 10.0)]
    checkpoint_every: f64,
    /// Do not train: write a grid of --n samples from this checkpoint's generator.
    #[arg(long)]
    sample: Option<PathBuf>,
    /// Number of samples for --sample.
    #[arg(long, default_value_t = 64)]
    n: usize,
    /// Measure FID, the Inception-style score and the SWD every this many steps (0: only at
    /// the end).
    #[arg(long, default_value_t = 500)]
    eval_every: usize,
    /// Samples for the measurements during training (the final one uses 10,000).
    #[arg(long, default_value_t = 1000)]
    eval_n: usize,
    /// Do not measure sample quality.
    #[arg(long)]
    no_eval: bool,
    /// Measure sample quality without the sliced Wasserstein distance (it adds a few seconds
    /// to each measurement on 1,000 samples on a CPU adapter, and about half a minute to the
    /// final one on 10,000).
    #[arg(long)]
    no_swd: bool,
    /// Also print the final measurement as one JSON line.
    #[arg(long)]
    json: bool,
    /// With --sample: use the trained G even when the checkpoint holds the moving average
    /// of its weights (G_ema, which is used by default).
    #[arg(long)]
    no_ema: bool,

    /// Keep a moving average of G's weights with this decay (e.g. 0.999) and sample,
    /// measure and checkpoint it as well.
    #[arg(long)]
    g_ema: Option<f32>,
    /// Dropout in D before its last layer, dropping with this probability (e.g. 0.3).
    #[arg(long, default_value_t = 0.0)]
    d_dropout: f32,
    /// A minibatch standard-deviation channel in D before its last layer.
    #[arg(long)]
    minibatch_std: bool,
    #[command(flatten)]
    stabilisers: common::StabiliserArgs,
    #[command(flatten)]
    ranks: common::RankArgs,
}

/// Samples of the final measurement.
const FINAL_EVAL_N: usize = 10_000;

impl Args {
    /// The training recipe with the flags' settings.
    fn recipe(&self) -> Result<TrainingRecipe> {
        let recipe = TrainingRecipe::parse(&self.recipe)?;
        Ok(recipe.with_weights(self.gp_lambda, self.r1_gamma, self.r1_every))
    }

    /// Both networks' learning rate: --lr, or the recipe's.
    fn effective_lr(&self) -> f32 {
        common::recipe_lr(&self.recipe, self.lr)
    }

    /// Every flag's range, checked before anything is loaded.
    fn check(&self) -> Result<()> {
        check_flag(
            "--arch",
            &self.arch,
            Arch::parse(&self.arch).is_ok(),
            "dcgan28 or dcgan64",
        )?;
        check_flag("--batch", self.batch, self.batch >= 1, "at least 1")?;
        check_flag(
            "--recipe",
            &self.recipe,
            TrainingRecipe::parse(&self.recipe).is_ok(),
            "dcgan, sngan, wgan-gp or r1",
        )?;
        if let Some(lr) = self.lr {
            check_flag("--lr", lr, lr.is_finite() && lr > 0.0, "a positive number")?;
        }
        let positive = |v: f32| v.is_finite() && v > 0.0;
        check_flag(
            "--gp-lambda",
            self.gp_lambda,
            positive(self.gp_lambda),
            "above 0",
        )?;
        check_flag(
            "--r1-gamma",
            self.r1_gamma,
            positive(self.r1_gamma),
            "above 0",
        )?;
        check_flag(
            "--r1-every",
            self.r1_every,
            self.r1_every >= 1,
            "at least 1",
        )?;
        if self.recipe != "dcgan" && self.stabilisers.loss != "bce" {
            return Err(Error::Config(format!(
                "--recipe {} (r1 is the default) chooses its own loss; --loss goes with \
                 --recipe dcgan",
                self.recipe
            )));
        }
        check_flag("--n", self.n, self.n >= 1, "at least 1")?;
        check_flag("--eval-n", self.eval_n, self.eval_n >= 1, "at least 1")?;
        if let Some(d) = self.digit {
            check_flag("--digit", d, d <= 9, "a digit, 0 to 9")?;
        }
        if let Some(decay) = self.g_ema {
            check_flag(
                "--g-ema",
                decay,
                decay > 0.0 && decay < 1.0,
                "a decay in (0, 1)",
            )?;
        }
        let p = self.d_dropout;
        check_flag(
            "--d-dropout",
            p,
            (0.0..1.0).contains(&p),
            "a probability in [0, 1)",
        )?;
        let m = self.checkpoint_every;
        check_flag(
            "--checkpoint-every",
            m,
            m.is_finite() && m >= 0.0,
            "minutes, at least 0",
        )?;
        self.stabilisers.check()
    }

    /// The flags that make the run what it is, as checkpoints keep them.
    fn settings(&self) -> Vec<(String, String)> {
        let mut s: Vec<(String, String)> = [
            ("--arch", self.arch.clone()),
            ("--batch", self.batch.to_string()),
            ("--recipe", self.recipe.clone()),
            ("--lr", self.effective_lr().to_string()),
            ("--gp-lambda", self.gp_lambda.to_string()),
            ("--r1-gamma", self.r1_gamma.to_string()),
            ("--r1-every", self.r1_every.to_string()),
            ("--seed", self.seed.to_string()),
            ("--digit", format!("{:?}", self.digit)),
            ("--g-ema", format!("{:?}", self.g_ema)),
            ("--d-dropout", self.d_dropout.to_string()),
            ("--minibatch-std", self.minibatch_std.to_string()),
        ]
        .map(|(k, v)| (k.to_string(), v))
        .to_vec();
        s.extend(self.stabilisers.settings());
        s
    }
}

fn main() {
    let launched = Instant::now();
    let args = Args::parse();
    let ranks = Ranks::start(&args.ranks).unwrap_or_else(|e| exit_with(Err(e)));
    let outcome = run(args, &ranks, launched);
    ranks.exit_with(outcome)
}

fn run(args: Args, ranks: &Ranks, launched: Instant) -> Result<Finish> {
    args.check()?;
    let arch = Arch::parse(&args.arch)?;
    match &args.sample {
        Some(ckpt) => sample(arch, ckpt, &args).map(|()| Finish::Done),
        None => train(arch, &args, ranks, launched),
    }
}

fn sample(arch: Arch, ckpt: &Path, args: &Args) -> Result<()> {
    let ckpt_file = Checkpoint::open(ckpt).map_err(|e| Error::Config(format!("--sample {e}")))?;
    out_folder(&args.out)?;
    let gpu = &Gpu::new()?;
    println!("adapter: {}", gpu.describe());
    let g = Network::new(gpu, "G", arch.generator(), 0)?;
    let name = if !args.no_ema && ckpt_file.has_network(EMA_NETWORK)? {
        println!("sampling the moving average of G's weights ({EMA_NETWORK}; --no-ema for G)");
        EMA_NETWORK
    } else {
        "G"
    };
    ckpt_file.load_network(gpu, name, &g, false)?;
    let z = counterfeit::gan::noise(Noise::Normal, args.n * NZ, args.seed);
    let x = counterfeit::gan::generate(gpu, &g, &z)?;
    let path = args.out.join("sampled.png");
    let cols = (args.n as f64).sqrt().ceil() as usize;
    grid::save_grid(
        &path,
        &x,
        args.n,
        arch.side(),
        arch.side(),
        cols,
        (-1.0, 1.0),
    )?;
    println!(
        "wrote {} ({} samples from {})",
        path.display(),
        args.n,
        ckpt.display()
    );
    Ok(())
}

fn train(arch: Arch, args: &Args, ranks: &Ranks, launched: Instant) -> Result<Finish> {
    let root = ranks.is_root();
    let batch = ranks.share(args.batch)?;
    let mut digits = match &args.data {
        Some(dir) => idx::load_dir(dir)?,
        None => idx::bundled()?,
    };
    if let Some(d) = args.digit {
        digits = digits.only_digit(d)?;
    }
    let steps = match (args.steps, args.epochs) {
        (Some(s), _) => s,
        (None, Some(e)) => e * digits.len().div_ceil(args.batch),
        (None, None) => DEFAULT_STEPS,
    };
    if steps == 0 {
        return Err(Error::Config(
            "--steps/--epochs must give at least one step".into(),
        ));
    }
    // Everything a user can get wrong is checked before the slow parts (the GPU, the judge).
    if root {
        prepare_out(&args.out, args.resume.is_some(), args.overwrite)?;
    }
    if let Some(path) = &args.resume {
        // Checkpoints from before --recipe existed are dcgan runs.
        open_resume_since(
            path,
            &args.settings(),
            steps as u64,
            &[("--recipe", "dcgan")],
        )?;
    }
    let interrupt = Interrupt::install();
    let gpu = &ranks.gpu()?;
    ranks.announce(gpu);
    let mut data = Dataset::from_digits(gpu, &digits, (-1.0, 1.0))?;
    if arch.side() != digits.images.rows || arch.side() != digits.images.cols {
        data = data.resized(arch.side(), arch.side())?;
    }
    let training = args.recipe()?;
    let recipe = TrainerConfig {
        batch,
        seed: args.seed,
        readback_every: 10,
        sample_count: 64,
        g_ema: args.g_ema,
        ..TrainerConfig::dcgan()
    };
    let config = args.stabilisers.apply(recipe, steps)?;
    let config = training.apply(config, args.effective_lr());
    let d = arch.discriminator_with(training.d_options(DOptions {
        dropout: args.d_dropout,
        minibatch_std: args.minibatch_std,
        ..DOptions::default()
    }))?;
    // Rank 0 alone measures (its parameters are every rank's).
    let judge = match root {
        true => common::judge_for_run(
            gpu,
            args.no_eval || args.data.is_some() || args.digit.is_some(),
        )?,
        false => None,
    };
    let recipe = recipes::by_name(arch.name())?;
    let mut gan = Trainer::new(gpu, arch.generator(), d, &data, config)?;
    gan.set_notes(args.settings());
    if let Some(ckpt) = &args.resume {
        gan.resume(ckpt)?;
        if root {
            println!("resumed from {} at step {}", ckpt.display(), gan.steps());
        }
    }
    gan.step()?;
    gpu.wait()?;
    // Speeds below count the steps after this first one (which includes start-up work).
    let first = gan.steps();
    let mut time = Timeline::new(launched);
    time.first_step_done();
    let mut bar = TrainingBar::new(gpu, steps as u64, first, args.batch);
    if !root {
        bar = bar.silent();
    }
    bar.println(&format!(
        "{} ({}) on {} digits, batch {}: {} dispatches per step; first step after {:.2} s",
        arch.name(),
        training.name(),
        data.len(),
        args.batch,
        gan.dispatches(),
        launched.elapsed().as_secs_f32()
    ));
    if ranks.count() > 1 {
        bar.println(&format!(
            "{} ranks, {batch} samples each; gradients averaged over the ranks",
            ranks.count()
        ));
    }
    if args.g_ema.is_some() {
        bar.println("grids and quality measurements use the moving average of G's weights");
    }
    let ckpt = args.out.join(CHECKPOINT);
    let mut cadence = Cadence::minutes(args.checkpoint_every);
    while gan.steps() < steps as u64 {
        if let Err(e) = gan.step() {
            bar.abandon();
            if let Error::Diverged { .. } = e {
                eprintln!("the last good checkpoint is {}", ckpt.display());
            }
            return Err(e);
        }
        bar.update(gan.steps(), gan.metrics());
        let step = gan.steps() as usize;
        let grid = format!("samples_{step:06}.png");
        if let Some(judge) = &judge {
            if args.eval_every > 0 && step.is_multiple_of(args.eval_every) && step < steps {
                let t = Instant::now();
                let q = bar.pause(|| {
                    time.measuring(|| {
                        common::measure(judge, &mut gan, &recipe, args.eval_n, false, !args.no_swd)
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
            time.writing(|| save(&mut gan, arch, &args.out, &grid, &ckpt))?;
            println!("{}", time.summary());
            println!(
                "stopped at step {step} of {steps}: wrote {}; continue with --resume {}",
                ckpt.display(),
                ckpt.display()
            );
            ranks.wait_for_all()?;
            return Ok(Finish::Interrupted);
        }
        let on_step = args.sample_every > 0 && step.is_multiple_of(args.sample_every);
        if root && (on_step || cadence.due()) && step < steps {
            bar.pause(|| time.writing(|| save(&mut gan, arch, &args.out, &grid, &ckpt)))?;
            cadence.saved();
        }
    }
    bar.finish(gan.steps());
    ranks.agree(&gan)?;
    if !root {
        return Ok(Finish::Done);
    }
    if let Some(judge) = &judge {
        println!("measuring the final samples (N = {FINAL_EVAL_N}) ...");
        let t = Instant::now();
        let q = time.measuring(|| {
            common::measure(judge, &mut gan, &recipe, FINAL_EVAL_N, true, !args.no_swd)
        })?;
        let label = format!("{} step {}", arch.name(), gan.steps());
        print!("{}", q.table(&label));
        if args.json {
            println!("{}", q.json(&label));
        }
        println!("({:.0} s)", t.elapsed().as_secs_f32());
    }
    time.writing(|| save(&mut gan, arch, &args.out, "samples_final.png", &ckpt))?;
    println!(
        "wrote sample grids, losses.png, metrics.csv and {} to {}",
        ckpt.display(),
        args.out.display()
    );
    println!("{}", time.summary());
    Ok(Finish::Done)
}

/// Grid, checkpoint, CSV and plot; the checkpoint only after the metrics proved finite.
fn save(gan: &mut Trainer, arch: Arch, out: &Path, grid_name: &str, ckpt: &Path) -> Result<()> {
    gan.flush()?;
    let x = gan.samples()?;
    grid::save_grid(
        &out.join(grid_name),
        &x,
        64,
        arch.side(),
        arch.side(),
        8,
        (-1.0, 1.0),
    )?;
    gan.save(ckpt)?;
    metrics_log::save_csv(&out.join("metrics.csv"), gan.history(), gan.quality())?;
    metrics_log::save_loss_plot(
        &out.join("losses.png"),
        &format!("{} on MNIST", arch.name()),
        gan.history(),
        gan.quality(),
    )
}
