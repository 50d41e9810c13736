//! A conditional DCGAN on MNIST: ask for a digit, get that digit.
//!
//!     cargo run --release --example cgan_mnist                      # 3500 steps, bundled digits
//!     cargo run --release --example cgan_mnist -- --steps 200       # a short run
//!     cargo run --release --example cgan_mnist -- --sample out/cgan_mnist/checkpoint.safetensors
//!
//! G reads z (100 values) and the digit one-hot; D reads the image with ten constant label
//! maps stacked on its channel. Writes to --out: `classes_<step>.png` (one digit class per
//! row, one fixed z per column), `style_final.png` (one z per row, the classes 0–9 along the
//! columns), `losses.png`, `metrics.csv`, `accuracy.csv` and `checkpoint.safetensors`. At the
//! end the project's digit classifier reads 1,000 samples of every class and says how often
//! it sees the digit G was asked for. The grids and that figure use a moving average of G's
//! weights (--g-ema sets its decay, --no-g-ema turns it off).
//!
//! On lavapipe (the CPU Vulkan driver) of a 2-core machine a step takes about 1.2 s, so the
//! default run takes about 70 minutes there.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Parser;
use common::{
    check_flag, exit_with, open_resume, out_folder, prepare_out, Cadence, Finish, Interrupt, Ranks,
    Timeline, TrainingBar, CHECKPOINT,
};
use counterfeit::data::idx;
use counterfeit::eval::classifier::{bundled_weights, Classifier};
use counterfeit::eval::judge::to_judged_pixels;
use counterfeit::gan::conditional::{
    self, dcgan28_discriminator_with, dcgan28_generator, ConditionalConfig, ConditionalTrainer,
};
use counterfeit::gan::dcgan::{DOptions, NZ};
use counterfeit::gan::TrainingRecipe;
use counterfeit::gan::{noise, EMA_NETWORK};
use counterfeit::io::checkpoint::{self, Checkpoint};
use counterfeit::io::{grid, metrics_log};
use counterfeit::{Dataset, Error, Gpu, Network, Noise, Optimizer, Result, TrainerConfig};

/// Steps of the default run.
const DEFAULT_STEPS: usize = 3500;
/// Digit classes.
const CLASSES: usize = 10;
/// Image side.
const SIDE: usize = 28;
/// Seed of the latent vectors of the accuracy measurement (the same at every measurement).
const MEASURE_SEED: u64 = 7;
/// Offset from --seed of the style grid's latent vectors, so they differ from the class grid's.
const STYLE_SEED: u64 = 1000;
/// Samples per class of the final measurement (10,000 in all).
const FINAL_PER_CLASS: usize = 1000;
/// Samples per class of the measurements during training.
const PROGRESS_PER_CLASS: usize = 100;

#[derive(Parser)]
#[command(
    about = "Train a conditional DCGAN on MNIST digits: G draws the digit it is asked for (or sample from a saved generator)",
    after_help = "On an adapter that runs shaders on the CPU (lavapipe) a step takes about 1.2 s, so the \
                  default 3500 steps take about 70 minutes there; the run says so after its first steps."
)]
struct Args {
    /// Training steps (one G update each, after one D update; five with wgan-gp).
    #[arg(long, default_value_t = DEFAULT_STEPS)]
    steps: usize,
    /// Batch size (with --distributed, of all ranks together: each takes an equal share).
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Adam learning rate for both networks [default: 2e-4; 1e-4 for wgan-gp].
    #[arg(long)]
    lr: Option<f32>,
    /// How to train (each with its paper's settings, as dcgan_mnist's --recipe):
    /// dcgan: BCE, batch norm in D, Adam (0.5, 0.999), one D step per G step.
    /// sngan: hinge loss, spectral normalisation on every weight of D and no batch norm.
    /// wgan-gp: Wasserstein loss, λ·(‖∇D(x̂)‖ − 1)² at random points between a real and a
    /// fake digit's images (under the real digit's label), no batch norm in D, 5 D steps per
    /// G step, Adam 1e-4 (0, 0.9).
    /// r1: BCE plus γ/2·‖∇D‖² at the real digits, no batch norm in D.
    /// The penalties count D's gradient at the image, not at its label maps.
    #[arg(long, default_value = "dcgan", verbatim_doc_comment)]
    recipe: String,
    /// WGAN-GP's penalty weight λ.
    #[arg(long, default_value_t = 10.0)]
    gp_lambda: f32,
    /// R1's weight γ.
    #[arg(long, default_value_t = 10.0)]
    r1_gamma: f32,
    /// Take R1 every this many steps, scaled by it (lazy regularisation).
    #[arg(long, default_value_t = 1)]
    r1_every: u32,
    /// Seed for weights, noise, fake labels and data order (and the grids' latent vectors).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output directory.
    #[arg(long, default_value = "out/cgan_mnist")]
    out: PathBuf,
    /// Write the class grid, the plot, the CSV and a checkpoint every this many steps.
    #[arg(long, default_value_t = 250)]
    sample_every: usize,
    /// Measure class accuracy (100 samples per class) every this many steps (0: only at the
    /// end, with 1,000 per class).
    #[arg(long, default_value_t = 500)]
    eval_every: usize,
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
    /// Do not train: write the class and style grids from this checkpoint's generator.
    #[arg(long)]
    sample: Option<PathBuf>,
    /// With --sample: also write the sampled generator's weights alone (network "G", no
    /// optimiser state) to this file, as the web demo ships them in models/.
    #[arg(long, requires = "sample")]
    export_generator: Option<PathBuf>,
    /// Folder with train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz] (e.g. full
    /// MNIST); the 10,000 bundled digits when absent. Accuracy is then not measured.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Weights of the digit classifier that measures class accuracy [default: the crate's
    /// models/mnist_classifier.safetensors].
    #[arg(long)]
    classifier: Option<PathBuf>,
    /// Do not measure class accuracy.
    #[arg(long)]
    no_eval: bool,
    /// Decay of the moving average of G's weights kept beside G; grids and class accuracy
    /// use the average, and the checkpoint holds it as G_ema (--sample uses it too).
    #[arg(long, default_value_t = 0.99)]
    g_ema: f32,
    /// Keep no moving average: grids and class accuracy use G's last weights.
    #[arg(long)]
    no_g_ema: bool,
    #[command(flatten)]
    stabilisers: common::StabiliserArgs,
    #[command(flatten)]
    ranks: common::RankArgs,
}

impl Args {
    /// Every flag's range, checked before anything is loaded.
    fn check(&self) -> Result<()> {
        check_flag("--steps", self.steps, self.steps >= 1, "at least 1")?;
        check_flag("--batch", self.batch, self.batch >= 1, "at least 1")?;
        if let Some(lr) = self.lr {
            check_flag("--lr", lr, lr.is_finite() && lr > 0.0, "a positive number")?;
        }
        let d = self.g_ema;
        check_flag("--g-ema", d, d > 0.0 && d < 1.0, "a decay in (0, 1)")?;
        check_flag(
            "--recipe",
            &self.recipe,
            TrainingRecipe::parse(&self.recipe).is_ok(),
            "dcgan, sngan, wgan-gp or r1",
        )?;
        let l = self.gp_lambda;
        check_flag("--gp-lambda", l, l.is_finite() && l > 0.0, "above 0")?;
        let g = self.r1_gamma;
        check_flag("--r1-gamma", g, g.is_finite() && g > 0.0, "above 0")?;
        check_flag(
            "--r1-every",
            self.r1_every,
            self.r1_every >= 1,
            "at least 1",
        )?;
        if self.recipe != "dcgan" && self.stabilisers.loss != "bce" {
            return Err(Error::Config(format!(
                "--recipe {} chooses its own loss; --loss goes with --recipe dcgan",
                self.recipe
            )));
        }
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
        let g_ema = (!self.no_g_ema).then_some(self.g_ema);
        let mut s: Vec<(String, String)> = [
            ("--batch", self.batch.to_string()),
            ("--lr", self.effective_lr().to_string()),
            ("--recipe", self.recipe.clone()),
            ("--gp-lambda", self.gp_lambda.to_string()),
            ("--r1-gamma", self.r1_gamma.to_string()),
            ("--r1-every", self.r1_every.to_string()),
            ("--seed", self.seed.to_string()),
            ("--g-ema", format!("{g_ema:?}")),
        ]
        .map(|(k, v)| (k.to_string(), v))
        .to_vec();
        s.extend(self.stabilisers.settings());
        s
    }

    /// The training recipe with the flags' settings.
    fn recipe(&self) -> Result<TrainingRecipe> {
        let recipe = TrainingRecipe::parse(&self.recipe)?;
        Ok(recipe.with_weights(self.gp_lambda, self.r1_gamma, self.r1_every))
    }

    /// Both networks' learning rate: --lr, or the recipe's.
    fn effective_lr(&self) -> f32 {
        common::recipe_lr(&self.recipe, self.lr)
    }

    fn classifier(&self) -> PathBuf {
        self.classifier.clone().unwrap_or_else(bundled_weights)
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

/// The class grid's latent vectors: one per column, the trainer's fixed z for `seed`.
fn class_grid(gpu: &Gpu, g: &Network, seed: u64) -> Result<Vec<f32>> {
    let z = noise(Noise::Normal, CLASSES * NZ, seed);
    let z: Vec<f32> = (0..CLASSES).flat_map(|_| z.iter().copied()).collect();
    let labels: Vec<u32> = (0..CLASSES * CLASSES)
        .map(|i| (i / CLASSES) as u32)
        .collect();
    conditional::generate(gpu, g, CLASSES, &z, &labels, CLASSES * CLASSES)
}

/// One latent vector per row, the classes along the columns: what stays when only the label
/// changes.
fn style_grid(gpu: &Gpu, g: &Network, seed: u64) -> Result<Vec<f32>> {
    let z = noise(Noise::Normal, CLASSES * NZ, seed + STYLE_SEED);
    let z: Vec<f32> = z
        .chunks_exact(NZ)
        .flat_map(|zr| (0..CLASSES).flat_map(move |_| zr.iter().copied()))
        .collect();
    let labels: Vec<u32> = (0..CLASSES * CLASSES)
        .map(|i| (i % CLASSES) as u32)
        .collect();
    conditional::generate(gpu, g, CLASSES, &z, &labels, CLASSES * CLASSES)
}

fn save_grid(path: &Path, x: &[f32]) -> Result<()> {
    grid::save_grid(path, x, CLASSES * CLASSES, SIDE, SIDE, CLASSES, (-1.0, 1.0))
}

fn sample(ckpt: &Path, args: &Args) -> Result<()> {
    let ckpt_file = Checkpoint::open(ckpt).map_err(|e| Error::Config(format!("--sample {e}")))?;
    out_folder(&args.out)?;
    let gpu = &Gpu::new()?;
    println!("adapter: {}", gpu.describe());
    let g = Network::new(gpu, "G", dcgan28_generator(CLASSES), 0)?;
    let name = if ckpt_file.has_network(EMA_NETWORK)? {
        println!("sampling the moving average of G's weights ({EMA_NETWORK})");
        EMA_NETWORK
    } else {
        "G"
    };
    ckpt_file.load_network(gpu, name, &g, false)?;
    let classes = args.out.join("classes_sampled.png");
    save_grid(&classes, &class_grid(gpu, &g, args.seed)?)?;
    let style = args.out.join("style_sampled.png");
    save_grid(&style, &style_grid(gpu, &g, args.seed)?)?;
    if let Some(path) = &args.export_generator {
        checkpoint::save_weights(gpu, path, &[("G", &g)])?;
        println!("wrote {name}'s weights to {} as G", path.display());
    }
    println!(
        "wrote {} (a class per row) and {} (a z per row) from {}",
        classes.display(),
        style.display(),
        ckpt.display()
    );
    Ok(())
}

/// Class accuracy as the classifier sees it.
struct Accuracy {
    n: usize,
    overall: f64,
    per_class: [f64; CLASSES],
}

/// Generates `per_class` samples of every class (classes interleaved, so each generator batch
/// mixes them as training batches do) and classifies them.
fn measure(
    gpu: &Gpu,
    g: &Network,
    classifier: &Classifier,
    per_class: usize,
    batch: usize,
) -> Result<Accuracy> {
    let n = per_class * CLASSES;
    let z = noise(Noise::Normal, n * NZ, MEASURE_SEED);
    let labels: Vec<u32> = (0..n).map(|i| (i % CLASSES) as u32).collect();
    let x = conditional::generate(gpu, g, CLASSES, &z, &labels, batch)?;
    let predicted = classifier
        .classify(&to_judged_pixels(&x, SIDE, (-1.0, 1.0)))?
        .predictions();
    let mut hits = [0usize; CLASSES];
    for (&p, &l) in predicted.iter().zip(&labels) {
        if p == l as usize {
            hits[l as usize] += 1;
        }
    }
    Ok(Accuracy {
        n,
        overall: hits.iter().sum::<usize>() as f64 / n as f64,
        per_class: hits.map(|h| h as f64 / per_class as f64),
    })
}

fn log_accuracy(out: &Path, step: u64, a: &Accuracy) -> Result<()> {
    let path = out.join("accuracy.csv");
    let new = !path.exists();
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    let mut line = String::new();
    if new {
        line.push_str("step,n,accuracy");
        for c in 0..CLASSES {
            line.push_str(&format!(",class_{c}"));
        }
        line.push('\n');
    }
    line.push_str(&format!("{step},{},{:.4}", a.n, a.overall));
    for p in a.per_class {
        line.push_str(&format!(",{p:.4}"));
    }
    line.push('\n');
    f.write_all(line.as_bytes())
        .map_err(|e| Error::io(&path, e))
}

fn train(args: &Args, ranks: &Ranks, launched: Instant) -> Result<Finish> {
    let root = ranks.is_root();
    let batch = ranks.share(args.batch)?;
    let digits = match &args.data {
        Some(dir) => idx::load_dir(dir)?,
        None => idx::bundled()?,
    };
    // Everything a user can get wrong is checked before the slow parts (the GPU, the judge).
    if root {
        prepare_out(&args.out, args.resume.is_some(), args.overwrite)?;
    }
    if let Some(path) = &args.resume {
        open_resume(path, &args.settings(), args.steps as u64)?;
    }
    let interrupt = Interrupt::install();
    let gpu = &ranks.gpu()?;
    ranks.announce(gpu);
    let data = Dataset::from_digits(gpu, &digits, (-1.0, 1.0))?;
    if root && args.resume.is_none() {
        // A fresh run starts a fresh accuracy log; a resumed one appends to its own.
        let log = args.out.join("accuracy.csv");
        if log.exists() {
            std::fs::remove_file(&log).map_err(|e| Error::io(&log, e))?;
        }
    }
    // Rank 0 alone measures (its parameters are every rank's).
    let classifier = if !root {
        None
    } else if args.no_eval || args.data.is_some() {
        println!("note: class accuracy is not measured (--no-eval or --data)");
        None
    } else if !args.classifier().exists() {
        println!(
            "note: no classifier weights at {}; class accuracy is not measured (train them with the train_classifier example)",
            args.classifier().display()
        );
        None
    } else {
        Some(Classifier::load(gpu, &args.classifier())?)
    };
    let adam = Optimizer::Adam {
        lr: args.effective_lr(),
        beta1: 0.5,
        beta2: 0.999,
        eps: 1e-8,
    };
    let recipe = ConditionalConfig::dcgan(CLASSES);
    let gan = TrainerConfig {
        batch,
        seed: args.seed,
        g_optimizer: adam,
        d_optimizer: adam,
        g_ema: (!args.no_g_ema).then_some(args.g_ema),
        ..recipe.gan
    };
    let training = args.recipe()?;
    let config = ConditionalConfig {
        gan: training.apply(
            args.stabilisers.apply(gan, args.steps)?,
            args.effective_lr(),
        ),
        ..recipe
    };
    let d = dcgan28_discriminator_with(CLASSES, training.d_options(DOptions::default()));
    let mut gan = ConditionalTrainer::new(gpu, dcgan28_generator(CLASSES), d, &data, config)?;
    gan.set_notes(args.settings());
    if let Some(ckpt) = &args.resume {
        gan.resume(ckpt)?;
        if root {
            println!("resumed from {} at step {}", ckpt.display(), gan.steps());
        }
    }
    let steps = args.steps as u64;
    gan.step()?;
    gpu.wait()?;
    // Speeds below count the steps after this first one (which includes start-up work).
    let first = gan.steps();
    let mut time = Timeline::new(launched);
    time.first_step_done();
    let mut bar = TrainingBar::new(gpu, steps, first, args.batch);
    if !root {
        bar = bar.silent();
    }
    bar.println(&format!(
        "conditional dcgan28 on {} digits, batch {}: {} dispatches per step; first step after {:.2} s",
        data.len(),
        args.batch,
        gan.dispatches(),
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
        bar.update(step, gan.metrics());
        if let Some(c) = &classifier {
            if args.eval_every > 0 && step.is_multiple_of(args.eval_every as u64) && step < steps {
                let g = gan.sampling_generator();
                let a = bar.pause(|| {
                    time.measuring(|| measure(gpu, g, c, PROGRESS_PER_CLASS, args.batch))
                })?;
                log_accuracy(&args.out, step, &a)?;
                bar.println(&format!(
                    "step {step}: the classifier sees the asked digit in {:.1} % of {} samples",
                    100.0 * a.overall,
                    a.n
                ));
            }
        }
        let grid = format!("classes_{step:06}.png");
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
        let on_step = args.sample_every > 0 && step.is_multiple_of(args.sample_every as u64);
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
    time.writing(|| {
        save(&mut gan, &args.out, "classes_final.png", &ckpt)?;
        save_grid(
            &args.out.join("style_final.png"),
            &style_grid(gpu, gan.sampling_generator(), args.seed)?,
        )
    })?;
    if let Some(c) = &classifier {
        println!(
            "measuring class accuracy on {} samples ({FINAL_PER_CLASS} per class) ...",
            FINAL_PER_CLASS * CLASSES
        );
        let t = Instant::now();
        let a = time.measuring(|| {
            measure(
                gpu,
                gan.sampling_generator(),
                c,
                FINAL_PER_CLASS,
                args.batch,
            )
        })?;
        log_accuracy(&args.out, gan.steps(), &a)?;
        let per: Vec<String> = a
            .per_class
            .iter()
            .enumerate()
            .map(|(c, p)| format!("{c}: {:.1}", 100.0 * p))
            .collect();
        println!(
            "step {}: the classifier sees the asked digit in {:.2} % of {} samples ({:.0} s)\nper class (%): {}",
            gan.steps(),
            100.0 * a.overall,
            a.n,
            t.elapsed().as_secs_f32(),
            per.join(", ")
        );
    }
    println!(
        "wrote classes_*.png (a class per row), style_final.png (a z per row), losses.png, metrics.csv and {} to {}",
        ckpt.display(),
        args.out.display()
    );
    println!("{}", time.summary());
    Ok(Finish::Done)
}

/// Class grid, checkpoint, CSV and plot; the checkpoint only after the metrics proved finite.
fn save(gan: &mut ConditionalTrainer, out: &Path, grid_name: &str, ckpt: &Path) -> Result<()> {
    gan.flush()?;
    let x = gan.samples()?;
    grid::save_grid(
        &out.join(grid_name),
        &x,
        CLASSES * gan.config().gan.sample_count,
        SIDE,
        SIDE,
        gan.config().gan.sample_count,
        (-1.0, 1.0),
    )?;
    gan.save(ckpt)?;
    metrics_log::save_csv(&out.join("metrics.csv"), gan.history(), &[])?;
    metrics_log::save_loss_plot(
        &out.join("losses.png"),
        "conditional dcgan28 on MNIST",
        gan.history(),
        &[],
    )
}
