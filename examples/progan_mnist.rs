//! Progressive growing (Karras et al. 2018) on MNIST: G and D start at 7×7, grow to 14×14
//! and then 28×28, each new block fading in.
//!
//!     cargo run --release --example progan_mnist                     # the default run
//!     cargo run --release --example progan_mnist -- --stage-steps 300 --fade-steps 300
//!     cargo run --release --example progan_mnist -- --sample out/progan_mnist/checkpoint.safetensors
//!
//! Writes sample grids (one fixed z, up-sampled to 28×28 at every stage so they line up), a
//! grid at the end of each stage, a loss plot with the stage boundaries, a metrics CSV and a
//! checkpoint to --out.

mod common;

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Parser;
use common::{
    check_flag, exit_with, open_resume, out_folder, prepare_out, Cadence, Finish, Interrupt, Ranks,
    Timeline, TrainingBar, CHECKPOINT,
};
use counterfeit::data::idx;
use counterfeit::eval::judge::{to_judged_pixels, Judge, Report};
use counterfeit::eval::swd::SwdOptions;
use counterfeit::gan::progressive::{ProGan, ProgressiveTrainer, Schedule};
use counterfeit::gan::{GanLoss, GradientPenalty, EMA_NETWORK};
use counterfeit::io::plot::Mark;
use counterfeit::io::{checkpoint::Checkpoint, grid, metrics_log};
use counterfeit::{Dataset, Error, Gpu, Network, Noise, Optimizer, Result, TrainerConfig};

#[derive(Parser)]
#[command(
    about = "Train a progressive GAN on MNIST digits: 7×7 → 14×14 → 28×28 (or sample from a saved one)",
    long_about = "Train a progressive GAN (Karras et al. 2018) on MNIST digits: G and D start at \
    7×7 (the digits average-pooled), grow to 14×14 and then 28×28, each new block fading in \
    over --fade-steps while the real images are blended the same way. Weights use the \
    equalised learning rate, G pixelwise feature normalisation, D a minibatch standard \
    deviation; the loss is the paper's WGAN-GP (Wasserstein loss with λ = 10, one D step; \
    the paper's small drift term on D's real outputs is left out), or the non-saturating \
    GAN loss, hinge or least squares.\n\n\
    The stages are 7, 14 and 28 pixels rather than the paper's 4×4 start on digits padded \
    to 32×32: 28 = 7·2², so every stage sees whole digits without padding and the last \
    is the digits' own size."
)]
struct Args {
    /// Folder with train-images-idx3-ubyte[.gz] (full MNIST or Fashion-MNIST, 28×28); the
    /// 10,000 bundled digits when absent.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Steps at 7×7, and steady steps after the fade-in at 14×14.
    #[arg(long, default_value_t = 600)]
    stage_steps: u64,
    /// Steps over which each new block's α rises from 0 to 1.
    #[arg(long, default_value_t = 600)]
    fade_steps: u64,
    /// Steady steps at 28×28 after its fade-in: the full-size stage is where the samples are
    /// judged, and it gains most from more steps.
    #[arg(long, default_value_t = 2800)]
    final_steps: u64,
    /// Training steps in all [default: the schedule, 2 × --stage-steps + 2 × --fade-steps +
    /// --final-steps].
    #[arg(long)]
    steps: Option<u64>,
    /// Channels of the blocks at 7, 14 and 28 pixels (G and D alike).
    #[arg(long, value_delimiter = ',', default_values_t = [64, 32, 16])]
    channels: Vec<usize>,
    /// Batch size (with --distributed, of all ranks together: each takes an equal share).
    #[arg(long, default_value_t = 32)]
    batch: usize,
    /// Adam learning rate for both networks (β = 0, 0.99, as in the paper).
    #[arg(long, default_value_t = 1e-3)]
    lr: f32,
    /// The loss: wgan-gp (the paper's: Wasserstein loss, gradient penalty λ = 10 on
    /// interpolates, one D step; each step costs about 1.7× a plain one at 28×28), bce
    /// (non-saturating), hinge or lsgan (least squares, which the paper also trained with).
    /// Without the penalty the runs measured cover fewer classes (README, "Progressive
    /// growing").
    #[arg(long, default_value = "wgan-gp")]
    loss: String,
    /// Decay of the moving average of G's weights that grids, measurements and --sample use
    /// (0: none). The paper's 0.999 suits its millions of images; over a few thousand steps
    /// it would still hold mostly the initial weights.
    #[arg(long, default_value_t = 0.99)]
    g_ema: f32,
    /// Seed for weights, noise and data order.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output directory.
    #[arg(long, default_value = "out/progan_mnist")]
    out: PathBuf,
    /// Write a sample grid, the plot, the CSV and a checkpoint every this many steps.
    #[arg(long, default_value_t = 250)]
    sample_every: u64,
    /// Continue training from a checkpoint written by an earlier run with the same settings
    /// (at any step: mid-stage and mid-fade too).
    #[arg(long)]
    resume: Option<PathBuf>,
    /// Start afresh even though --out holds another run's checkpoint (it is replaced).
    #[arg(long)]
    overwrite: bool,
    /// Also write a checkpoint every this many minutes of training (0: only every
    /// --sample-every steps).
    #[arg(long, default_value_t = 10.0)]
    checkpoint_every: f64,
    /// Do not train: write a grid of --n samples from this checkpoint's generator (a run
    /// that has finished growing).
    #[arg(long)]
    sample: Option<PathBuf>,
    /// Number of samples for --sample.
    #[arg(long, default_value_t = 64)]
    n: usize,
    /// With --sample: use the trained G even when the checkpoint holds the moving average.
    #[arg(long)]
    no_ema: bool,
    /// Measure FID and the Inception-style score every this many steps (0: only at the end),
    /// at the current stage's resolution up-sampled to 28×28.
    #[arg(long, default_value_t = 500)]
    eval_every: u64,
    /// Samples for the measurements during training (the final one uses 10,000).
    #[arg(long, default_value_t = 1000)]
    eval_n: usize,
    /// Do not measure sample quality.
    #[arg(long)]
    no_eval: bool,
    /// Also print the final measurement as one JSON line.
    #[arg(long)]
    json: bool,
    /// Patches per image and pyramid level of the sliced Wasserstein distance to the
    /// training digits in every measurement (the paper: 128; 0: no SWD).
    #[arg(long, default_value_t = 4)]
    swd_patches: usize,
    #[command(flatten)]
    ranks: common::RankArgs,
}

/// Samples of the final measurement.
const FINAL_EVAL_N: usize = 10_000;
/// Samples in each grid.
const GRID_N: usize = 64;
/// The digits' side, which every grid is shown at.
const SIDE: usize = 28;

impl Args {
    fn check(&self) -> Result<()> {
        check_flag(
            "--stage-steps",
            self.stage_steps,
            self.stage_steps >= 1,
            "at least 1",
        )?;
        check_flag(
            "--fade-steps",
            self.fade_steps,
            self.fade_steps >= 1,
            "at least 1",
        )?;
        if let Some(s) = self.steps {
            check_flag("--steps", s, s >= 1, "at least 1")?;
        }
        let c = &self.channels;
        check_flag(
            "--channels",
            format!("{c:?}"),
            c.len() == 3 && c.iter().all(|&n| n >= 1),
            "three channel counts of at least 1, for 7, 14 and 28 pixels (e.g. 64,32,16)",
        )?;
        check_flag(
            "--batch",
            self.batch,
            self.batch >= 2,
            "at least 2 (D's minibatch standard deviation needs two samples)",
        )?;
        check_flag(
            "--lr",
            self.lr,
            self.lr.is_finite() && self.lr > 0.0,
            "a positive number",
        )?;
        check_flag(
            "--loss",
            &self.loss,
            ["bce", "hinge", "lsgan", "wgan-gp"].contains(&self.loss.as_str()),
            "bce, hinge, lsgan or wgan-gp",
        )?;
        check_flag(
            "--g-ema",
            self.g_ema,
            (0.0..1.0).contains(&self.g_ema),
            "a decay in [0, 1) (0: none)",
        )?;
        check_flag("--n", self.n, self.n >= 1, "at least 1")?;
        check_flag("--eval-n", self.eval_n, self.eval_n >= 1, "at least 1")?;
        let m = self.checkpoint_every;
        check_flag(
            "--checkpoint-every",
            m,
            m.is_finite() && m >= 0.0,
            "minutes, at least 0",
        )
    }

    fn spec(&self) -> ProGan {
        ProGan {
            channels: self.channels.clone(),
            ..ProGan::mnist()
        }
    }

    fn schedule(&self) -> Schedule {
        Schedule {
            stage_steps: self.stage_steps,
            fade_steps: self.fade_steps,
        }
    }

    fn steps(&self) -> u64 {
        let s = self.schedule();
        self.steps
            .unwrap_or(s.grown_after(self.spec().stages()) + self.final_steps)
    }

    /// The flags that make the run what it is, as checkpoints keep them.
    fn settings(&self) -> Vec<(String, String)> {
        [
            ("--stage-steps", self.stage_steps.to_string()),
            ("--fade-steps", self.fade_steps.to_string()),
            ("--channels", format!("{:?}", self.channels)),
            ("--batch", self.batch.to_string()),
            ("--lr", self.lr.to_string()),
            ("--loss", self.loss.clone()),
            ("--g-ema", self.g_ema.to_string()),
            ("--seed", self.seed.to_string()),
            ("--data", format!("{:?}", self.data)),
        ]
        .map(|(k, v)| (k.to_string(), v))
        .to_vec()
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
    match &args.sample {
        Some(ckpt) => sample(ckpt, &args).map(|()| Finish::Done),
        None => train(&args, ranks, launched),
    }
}

fn sample(ckpt: &Path, args: &Args) -> Result<()> {
    let file = Checkpoint::open(ckpt).map_err(|e| Error::Config(format!("--sample {e}")))?;
    out_folder(&args.out)?;
    let gpu = &Gpu::new()?;
    println!("adapter: {}", gpu.describe());
    let spec = args.spec();
    let g = Network::new(gpu, "G", spec.generator(spec.stages() - 1, None)?, 0)?;
    let name = if !args.no_ema && file.has_network(EMA_NETWORK)? {
        println!("sampling the moving average of G's weights ({EMA_NETWORK}; --no-ema for G)");
        EMA_NETWORK
    } else {
        "G"
    };
    file.load_network(gpu, name, &g, false).map_err(|e| {
        Error::Config(format!(
            "--sample {e} (only a run that has finished growing, with these --channels, can be sampled)"
        ))
    })?;
    let z = counterfeit::gan::noise(Noise::Normal, args.n * spec.nz, args.seed);
    let x = counterfeit::gan::generate(gpu, &g, &z)?;
    let path = args.out.join("sampled.png");
    let cols = (args.n as f64).sqrt().ceil() as usize;
    grid::save_grid(&path, &x, args.n, SIDE, SIDE, cols, (-1.0, 1.0))?;
    println!(
        "wrote {} ({} samples from {})",
        path.display(),
        args.n,
        ckpt.display()
    );
    Ok(())
}

fn train(args: &Args, ranks: &Ranks, launched: Instant) -> Result<Finish> {
    let root = ranks.is_root();
    let batch = ranks.share(args.batch)?;
    let digits = match &args.data {
        Some(dir) => idx::load_dir(dir)?,
        None => idx::bundled()?,
    };
    if digits.images.rows != SIDE || digits.images.cols != SIDE {
        return Err(Error::Config(format!(
            "--data holds {}×{} images; the progressive networks grow to {SIDE}×{SIDE}",
            digits.images.rows, digits.images.cols
        )));
    }
    let steps = args.steps();
    if root {
        prepare_out(&args.out, args.resume.is_some(), args.overwrite)?;
    }
    if let Some(path) = &args.resume {
        open_resume(path, &args.settings(), steps)?;
    }
    let interrupt = Interrupt::install();
    let gpu = &ranks.gpu()?;
    ranks.announce(gpu);
    let data = Dataset::from_digits(gpu, &digits, (-1.0, 1.0))?;
    let adam = Optimizer::Adam {
        lr: args.lr,
        beta1: 0.0,
        beta2: 0.99,
        eps: 1e-8,
    };
    let config = TrainerConfig {
        batch,
        seed: args.seed,
        g_optimizer: adam,
        d_optimizer: adam,
        readback_every: 10,
        sample_count: GRID_N,
        g_ema: (args.g_ema > 0.0).then_some(args.g_ema),
        // Checked in `check`.
        loss: match args.loss.as_str() {
            "wgan-gp" => GanLoss::Wasserstein,
            loss => GanLoss::parse(loss).unwrap_or(GanLoss::Bce),
        },
        penalty: (args.loss == "wgan-gp").then_some(GradientPenalty::Interpolates { lambda: 10.0 }),
        ..TrainerConfig::dcgan()
    };
    // Rank 0 alone measures (its parameters are every rank's).
    let judge = match root {
        true => common::judge_for_run(gpu, args.no_eval || args.data.is_some())?,
        false => None,
    };
    let mut gan = ProgressiveTrainer::new(gpu, args.spec(), args.schedule(), &data, config)?;
    gan.set_notes(args.settings());
    if let Some(ckpt) = &args.resume {
        gan.resume(ckpt)?;
        if root {
            println!("resumed from {} at step {}", ckpt.display(), gan.steps());
        }
    }
    gan.step()?;
    gpu.wait()?;
    let first = gan.steps();
    let s = args.schedule();
    let mut time = Timeline::new(launched);
    time.first_step_done();
    let mut bar = TrainingBar::new(gpu, steps, first, args.batch);
    if !root {
        bar = bar.silent();
    }
    bar.println(&format!(
        "progressive GAN ({}) on {} digits, batch {}: {} steps at 7×7, then per stage {} fading in and {} steady, {} steps in all; first step after {:.2} s",
        args.loss,
        data.len(),
        args.batch,
        s.stage_steps,
        s.fade_steps,
        s.stage_steps,
        steps,
        launched.elapsed().as_secs_f32()
    ));
    let ckpt = args.out.join(CHECKPOINT);
    let mut cadence = Cadence::minutes(args.checkpoint_every);
    while gan.steps() < steps {
        if let Err(e) = gan.step() {
            bar.abandon();
            if let Error::Diverged { .. } = e {
                eprintln!("the last good checkpoint is {}", ckpt.display());
            }
            return Err(e);
        }
        let step = gan.steps();
        let grid = format!("samples_{step:06}.png");
        bar.set_stage(where_it_stands(&gan));
        bar.update(step, gan.metrics());
        let phase = gan.phase();
        if let Some(judge) = &judge {
            if args.eval_every > 0 && step.is_multiple_of(args.eval_every) && step < steps {
                let t = Instant::now();
                let q = bar.pause(|| {
                    time.measuring(|| {
                        measure(judge, &mut gan, args.eval_n, args.seed, args.swd_patches)
                    })
                })?;
                let secs = t.elapsed().as_secs_f32();
                bar.println(&format!(
                    "step {step} ({}): {} ({secs:.0} s)",
                    where_it_stands(&gan),
                    q.summary()
                ));
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
            time.writing(|| save(&mut gan, &args.out, &grid, &ckpt))?;
            println!("{}", time.summary());
            println!(
                "stopped at step {step} of {steps}: wrote {}; continue with --resume {}",
                ckpt.display(),
                ckpt.display()
            );
            ranks.wait_for_all()?;
            return Ok(Finish::Interrupted);
        }
        // The last step of a stage's steady training: its grid, before the networks grow.
        if root && !phase.fading && step == phase.end {
            let name = format!("stage_{}px.png", gan.side());
            bar.pause(|| time.writing(|| save_grid(&gan, &args.out.join(&name))))?;
            bar.println(&format!("step {step}: wrote {name}"));
        }
        let on_step = args.sample_every > 0 && step.is_multiple_of(args.sample_every);
        if root && (on_step || cadence.due()) && step < steps {
            bar.pause(|| time.writing(|| save(&mut gan, &args.out, &grid, &ckpt)))?;
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
        let q =
            time.measuring(|| measure(judge, &mut gan, FINAL_EVAL_N, args.seed, args.swd_patches))?;
        let label = format!("progan28 step {}", gan.steps());
        print!("{}", q.table(&label));
        if args.json {
            println!("{}", q.json(&label));
        }
        println!("({:.0} s)", t.elapsed().as_secs_f32());
    }
    time.writing(|| {
        save_grid(&gan, &args.out.join(format!("stage_{}px.png", gan.side())))?;
        save(&mut gan, &args.out, "samples_final.png", &ckpt)
    })?;
    println!(
        "wrote sample grids, stage grids, losses.png, metrics.csv and {} to {}",
        ckpt.display(),
        args.out.display()
    );
    println!("{}", time.summary());
    Ok(Finish::Done)
}

/// The stage's resolution and, while a block fades in, α.
fn where_it_stands(gan: &ProgressiveTrainer) -> String {
    let side = gan.side();
    if gan.phase().fading {
        format!("{side}×{side} α {:.2}", gan.alpha())
    } else {
        format!("{side}×{side}")
    }
}

/// Judges `n` samples of the generator as it stands (fade included), up-sampled to 28×28,
/// and logs the figures with the run's history.
fn measure(
    judge: &Judge,
    gan: &mut ProgressiveTrainer,
    n: usize,
    seed: u64,
    swd_patches: usize,
) -> Result<Report> {
    let x = to_judged_pixels(&gan.draw(n, seed)?, gan.side(), (-1.0, 1.0));
    let mut report = judge.judge(&x, n >= FINAL_EVAL_N)?;
    if swd_patches > 0 {
        let options = SwdOptions {
            patches_per_image: swd_patches,
            ..SwdOptions::default()
        };
        report.swd = Some(judge.swd(&x, &options)?);
    }
    let at = report.at(gan.steps());
    gan.add_quality(at);
    Ok(report)
}

/// `images` of `side` pixels repeated into 28×28 ones, so grids of every stage line up.
fn to_full_size(images: &[f32], side: usize) -> Vec<f32> {
    let f = SIDE / side;
    images
        .chunks_exact(side * side)
        .flat_map(|img| (0..SIDE * SIDE).map(move |i| img[(i / SIDE / f) * side + (i % SIDE) / f]))
        .collect()
}

/// The fixed-z grid at 28×28.
fn save_grid(gan: &ProgressiveTrainer, path: &Path) -> Result<()> {
    let x = to_full_size(&gan.samples()?, gan.side());
    grid::save_grid(path, &x, GRID_N, SIDE, SIDE, 8, (-1.0, 1.0))
}

/// Grid, checkpoint, CSV and plot; the checkpoint only after the metrics proved finite.
fn save(gan: &mut ProgressiveTrainer, out: &Path, grid_name: &str, ckpt: &Path) -> Result<()> {
    gan.flush()?;
    save_grid(gan, &out.join(grid_name))?;
    gan.save(ckpt)?;
    metrics_log::save_csv(&out.join("metrics.csv"), gan.history(), gan.quality())?;
    // Where each stage begins and where its fade-in ends.
    let (s, spec) = (gan.schedule(), gan.spec());
    let mut labels = Vec::new();
    for k in 1..spec.stages() {
        let side = spec.side(k);
        labels.push((s.stage_start(k), format!("{side}x{side} fades in")));
        labels.push((s.stage_start(k) + s.fade_steps, format!("{side}x{side}")));
    }
    let marks: Vec<Mark> = labels
        .iter()
        .map(|(x, label)| Mark {
            x: *x as f32,
            label,
        })
        .collect();
    metrics_log::save_loss_plot_marked(
        &out.join("losses.png"),
        "progressive GAN on MNIST",
        gan.history(),
        gan.quality(),
        &marks,
    )
}
