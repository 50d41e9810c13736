//! pix2pix on digits: learn to turn a digit's outline (or its 7×7 copy) into the digit.
//!
//!     cargo run --release --example pix2pix_mnist                        # outline → digit
//!     cargo run --release --example pix2pix_mnist -- --task superres     # 7×7 → 28×28
//!     cargo run --release --example pix2pix_mnist -- --l1-only           # the baseline: no D
//!     cargo run --release --example pix2pix_mnist -- --translate my_outline.png \
//!         --ckpt out/pix2pix_outline/checkpoint.safetensors --out my_digit.png
//!     cargo run --release --example pix2pix_mnist -- --judge-images other_engine.safetensors
//!
//! Trains on the first 9,000 bundled digits and shows, every --sample-every steps, a grid of
//! twenty test digits (two of each class): rows of inputs, G's outputs and the targets. At
//! the end it judges G's translations of the 1,000 test digits: label agreement (the
//! classifier reads the source digit), L1 and PSNR to the targets, ink, and FID to the real
//! test digits. Writes grids, a loss plot, a metrics CSV and a checkpoint to --out.

mod common;

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Parser;
use common::translation::{self as translation_io, Schedule, Session};
use common::{
    check_flag, open_resume, prepare_out, Finish, Interrupt, Timeline, TrainingBar, CHECKPOINT,
};
use counterfeit::data::idx::{self, Digits};
use counterfeit::eval::classifier::TRAIN_PART;
use counterfeit::eval::{TranslationJudge, TranslationReport};
use counterfeit::gan::translation::{
    self, patch_discriminator28, unet28, PairedTask, Pairs, Pix2Pix, Pix2PixConfig, SIDE, TASK_NOTE,
};
use counterfeit::io::checkpoint::Checkpoint;
use counterfeit::io::digit_image::load_digit;
use counterfeit::{Dataset, Error, GanLoss, Gpu, Network, Optimizer, Result};

/// Steps of the default run.
const DEFAULT_STEPS: usize = 3000;
/// Test digits in the progress grids: the first `PER_CLASS` of each class.
const PER_CLASS: usize = 2;
/// The task's name in the checkpoint's notes, as `pix2pix/<task>`.
const TRAINER: &str = "pix2pix";

#[derive(Parser)]
#[command(
    about = "Train pix2pix on digits: outline → digit or 7×7 → 28×28 (or translate your own pictures)"
)]
struct Args {
    /// What to learn: outline (a digit's outline → the digit) or superres (the digit at 7×7 →
    /// 28×28).
    #[arg(long, default_value = "outline")]
    task: String,
    /// Training steps (one D and one G update each) [default: 3000].
    #[arg(long)]
    steps: Option<usize>,
    /// Channels of the first level of G and D (each level down doubles them; the paper's
    /// 256×256 networks have 64).
    #[arg(long, default_value_t = 32)]
    width: usize,
    /// Pairs per step.
    #[arg(long, default_value_t = 16)]
    batch: usize,
    /// Adam learning rate for both networks (β = 0.5, 0.999).
    #[arg(long, default_value_t = 2e-4)]
    lr: f32,
    /// λ, the weight of the L1 distance to the target in G's loss.
    #[arg(long, default_value_t = 100.0)]
    l1_weight: f32,
    /// The adversarial loss: bce (the paper's), lsgan (least squares) or hinge.
    #[arg(long, default_value = "bce")]
    loss: String,
    /// Train G on the L1 distance alone, without D: the baseline.
    #[arg(long)]
    l1_only: bool,
    /// Seed for weights, data order and dropout.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output folder [default: out/pix2pix_<task>, with _l1only for the baseline]; with
    /// --translate, the output picture (or folder, for a folder of pictures).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Write a grid, the plot, the CSV and a checkpoint every this many steps.
    #[arg(long, default_value_t = 250)]
    sample_every: usize,
    /// Judge the test translations every this many steps (0: only at the end).
    #[arg(long, default_value_t = 500)]
    eval_every: usize,
    /// Do not judge the translations.
    #[arg(long)]
    no_eval: bool,
    /// Also print the final figures as one JSON line.
    #[arg(long)]
    json: bool,
    /// Continue training from a checkpoint written by an earlier run with the same settings.
    #[arg(long)]
    resume: Option<PathBuf>,
    /// Start afresh even though --out holds another run's checkpoint (it is replaced).
    #[arg(long)]
    overwrite: bool,
    /// Also write a checkpoint every this many minutes of training (0: only every
    /// --sample-every steps).
    #[arg(long, default_value_t = 10.0)]
    checkpoint_every: f64,
    /// Do not train: translate this PNG (any size, colour or grey), or every PNG in this
    /// folder, with the generator of --ckpt, into --out.
    #[arg(long, requires = "ckpt")]
    translate: Option<PathBuf>,
    /// The checkpoint whose generator --translate uses.
    #[arg(long, requires = "translate")]
    ckpt: Option<PathBuf>,
    /// Do not train: judge these translations of the 1,000 test digits' inputs (a
    /// safetensors file with an F32 tensor "images" [1000, 1, 28, 28] in [-1, 1], e.g. from
    /// scripts/pytorch_pix2pix_mnist.py) as a run's final ones are judged.
    #[arg(long, conflicts_with = "translate")]
    judge_images: Option<PathBuf>,
}

impl Args {
    fn check(&self) -> Result<()> {
        PairedTask::parse(&self.task).map_err(|_| {
            Error::Config(format!("--task {}: must be outline or superres", self.task))
        })?;
        self.gan_loss()?;
        check_flag("--batch", self.batch, self.batch >= 1, "at least 1")?;
        check_flag("--width", self.width, self.width >= 1, "at least 1")?;
        check_flag(
            "--lr",
            self.lr,
            self.lr.is_finite() && self.lr > 0.0,
            "a positive number",
        )?;
        let w = self.l1_weight;
        let ok = w.is_finite() && (w > 0.0 || (w == 0.0 && !self.l1_only));
        check_flag("--l1-weight", w, ok, "above 0 (or 0, with D)")?;
        let m = self.checkpoint_every;
        check_flag(
            "--checkpoint-every",
            m,
            m.is_finite() && m >= 0.0,
            "minutes, at least 0",
        )?;
        if self.steps == Some(0) {
            return Err(Error::Config("--steps 0: must be at least 1".into()));
        }
        Ok(())
    }

    fn task(&self) -> PairedTask {
        PairedTask::parse(&self.task).expect("checked")
    }

    fn gan_loss(&self) -> Result<GanLoss> {
        GanLoss::parse(&self.loss).ok_or_else(|| {
            Error::Config(format!("--loss {}: must be bce, lsgan or hinge", self.loss))
        })
    }

    fn out(&self) -> PathBuf {
        self.out.clone().unwrap_or_else(|| {
            let baseline = if self.l1_only { "_l1only" } else { "" };
            PathBuf::from(format!("out/pix2pix_{}{baseline}", self.task))
        })
    }

    /// What the run is, as checkpoints keep it: the task first, then the flags that shape it.
    fn settings(&self) -> Vec<(String, String)> {
        [
            (TASK_NOTE, format!("{TRAINER}/{}", self.task)),
            ("--batch", self.batch.to_string()),
            ("--width", self.width.to_string()),
            ("--lr", self.lr.to_string()),
            ("--l1-weight", self.l1_weight.to_string()),
            ("--loss", self.loss.clone()),
            ("--l1-only", self.l1_only.to_string()),
            ("--seed", self.seed.to_string()),
        ]
        .map(|(k, v)| (k.to_string(), v))
        .to_vec()
    }
}

fn main() {
    let launched = Instant::now();
    let args = Args::parse();
    common::exit_with(run(&args, launched))
}

fn run(args: &Args, launched: Instant) -> Result<Finish> {
    args.check()?;
    if let (Some(input), Some(ckpt)) = (&args.translate, &args.ckpt) {
        return translate_pictures(args, input, ckpt).map(|()| Finish::Done);
    }
    if let Some(images) = &args.judge_images {
        return judge_file(args, images).map(|()| Finish::Done);
    }
    train(args, launched)
}

/// The test digits (the last 1,000 bundled) with the task's inputs: values in [−1, 1].
struct TestSet {
    digits: Digits,
    inputs: Vec<f32>,
    targets: Vec<f32>,
}

impl TestSet {
    fn new(gpu: &Gpu, task: PairedTask, digits: Digits) -> Result<TestSet> {
        let data = Dataset::from_digits(gpu, &digits, (-1.0, 1.0))?;
        let pairs = task.pairs(gpu, &data)?;
        Ok(TestSet {
            inputs: pairs.inputs.values(gpu)?,
            targets: pairs.targets.values(gpu)?,
            digits,
        })
    }

    /// Judges `outputs` (in [−1, 1], one per test digit).
    fn judge(&self, judge: &TranslationJudge, outputs: &[f32]) -> Result<TranslationReport> {
        let unit = |v: &[f32]| v.iter().map(|&x| (x + 1.0) / 2.0).collect::<Vec<f32>>();
        judge.judge(&unit(outputs), &unit(&self.targets), &self.digits.labels)
    }
}

fn test_digits() -> Result<Digits> {
    Ok(idx::bundled()?.split(TRAIN_PART)?.1)
}

fn train(args: &Args, launched: Instant) -> Result<Finish> {
    let task = args.task();
    let out = args.out();
    let steps = args.steps.unwrap_or(DEFAULT_STEPS);
    prepare_out(&out, args.resume.is_some(), args.overwrite)?;
    if let Some(path) = &args.resume {
        open_resume(path, &args.settings(), steps as u64)?;
    }
    let interrupt = Interrupt::install();
    let gpu = &Gpu::new()?;
    println!("adapter: {}", gpu.describe());
    let (train_digits, test) = idx::bundled()?.split(TRAIN_PART)?;
    let data = Dataset::from_digits(gpu, &train_digits, (-1.0, 1.0))?;
    let pairs: Pairs = task.pairs(gpu, &data)?;
    let test = TestSet::new(gpu, task, test)?;
    let judge = match args.no_eval {
        true => None,
        false => Some(TranslationJudge::bundled(gpu)?),
    };
    let adam = Optimizer::Adam {
        lr: args.lr,
        beta1: 0.5,
        beta2: 0.999,
        eps: 1e-8,
    };
    let config = Pix2PixConfig {
        batch: args.batch,
        seed: args.seed,
        l1_weight: args.l1_weight,
        loss: args.gan_loss()?,
        adversarial: !args.l1_only,
        g_optimizer: adam,
        d_optimizer: adam,
        readback_every: 10,
    };
    let d = match args.l1_only {
        true => None,
        false => Some(patch_discriminator28(2, args.width)?),
    };
    let mut gan = Pix2Pix::new(gpu, unet28(args.width)?, d, &pairs, config)?;
    gan.set_notes(args.settings());
    if let Some(ckpt) = &args.resume {
        gan.resume(ckpt)?;
        println!("resumed from {} at step {}", ckpt.display(), gan.steps());
    }
    gan.step()?;
    gpu.wait()?;
    let first = gan.steps();
    let mut time = Timeline::new(launched);
    time.first_step_done();
    let mut bar = TrainingBar::new(gpu, steps as u64, first, args.batch);
    let what = match args.l1_only {
        true => "L1 only, no D",
        false => "U-Net G, PatchGAN D",
    };
    bar.println(&format!(
        "pix2pix {} ({what}) on {} pairs, batch {}: {} dispatches per step; first step after {:.2} s",
        task.name(),
        pairs.len(),
        args.batch,
        gan.dispatches(),
        launched.elapsed().as_secs_f32()
    ));
    let ckpt = out.join(CHECKPOINT);
    let schedule = Schedule {
        steps,
        sample_every: args.sample_every,
        eval_every: args.eval_every,
        checkpoint_every: args.checkpoint_every,
        ckpt: &ckpt,
    };
    let at = translation_io::grid_indices(&test.digits, PER_CLASS);
    let mut run = Run {
        grid: (
            translation_io::pick(&test.inputs, &at),
            translation_io::pick(&test.targets, &at),
        ),
        gan,
        test,
        judge,
        out: &out,
        ckpt: &ckpt,
        task,
        l1_only: args.l1_only,
    };
    if let Finish::Interrupted =
        translation_io::train_loop(&mut run, &schedule, &interrupt, &mut bar, &mut time)?
    {
        return Ok(Finish::Interrupted);
    }
    if let Some(judge) = &run.judge {
        println!(
            "judging the translations of the {} test digits ...",
            run.test.digits.len()
        );
        let outputs = run.gan.translate(&run.test.inputs)?;
        let q = time.measuring(|| run.test.judge(judge, &outputs))?;
        let label = format!(
            "pix2pix {}{} step {}",
            task.name(),
            if args.l1_only { " L1 only" } else { "" },
            run.gan.steps()
        );
        println!("{label}: {}", q.summary());
        if args.json {
            println!("{}", q.json(&label));
        }
    }
    time.writing(|| run.save("translations_final.png"))?;
    println!(
        "wrote grids of input | output | target, losses.png, metrics.csv and {} to {}",
        ckpt.display(),
        out.display()
    );
    println!("{}", time.summary());
    Ok(Finish::Done)
}

/// A pix2pix run with what it is judged on and where it writes.
struct Run<'a> {
    gan: Pix2Pix,
    test: TestSet,
    judge: Option<TranslationJudge>,
    /// The grid's test inputs and targets.
    grid: (Vec<f32>, Vec<f32>),
    out: &'a Path,
    ckpt: &'a Path,
    task: PairedTask,
    l1_only: bool,
}

impl Session for Run<'_> {
    fn step(&mut self) -> Result<()> {
        self.gan.step()
    }

    fn steps(&self) -> u64 {
        self.gan.steps()
    }

    fn progress(&self) -> Option<String> {
        self.gan.metrics().map(|m| match self.l1_only {
            true => format!("L1 {:.4}", m.l1),
            false => format!(
                "D {:.3} G {:.3} L1 {:.4} D(x,y) {:.2} D(x,G(x)) {:.2}",
                m.d_loss, m.g_adversarial, m.l1, m.d_real, m.d_fake
            ),
        })
    }

    fn judge(&mut self) -> Option<Result<String>> {
        let judge = self.judge.as_ref()?;
        let q = self
            .gan
            .translate(&self.test.inputs)
            .and_then(|outputs| self.test.judge(judge, &outputs));
        Some(q.map(|q| q.summary()))
    }

    /// Grid, checkpoint, CSV and plot; the checkpoint only after the metrics proved finite.
    fn save(&mut self, grid: &str) -> Result<()> {
        let gan = &mut self.gan;
        gan.flush()?;
        let (inputs, targets) = &self.grid;
        let outputs = gan.translate(inputs)?;
        translation_io::save_rows(&self.out.join(grid), &[inputs, &outputs, targets])?;
        gan.save(self.ckpt)?;
        translation::save_csv(&self.out.join("metrics.csv"), gan.history())?;
        let what = if self.l1_only { ", L1 only" } else { "" };
        let title = format!("pix2pix {}{what}", self.task.name());
        translation::save_plot(&self.out.join("losses.png"), &title, gan.history())
    }
}

/// `--translate`: one picture to one picture, or a folder of PNGs to a folder.
fn translate_pictures(args: &Args, input: &Path, ckpt_path: &Path) -> Result<()> {
    let ckpt = Checkpoint::open(ckpt_path).map_err(|e| Error::Config(format!("--ckpt {e}")))?;
    let (task, notes) = translation_io::trained_task(&ckpt, ckpt_path, TRAINER)?;
    let task = PairedTask::parse(&task)?;
    let width = notes.number("--width", ckpt_path)?;
    let files = translation_io::picture_files(input, args.out.as_deref())?;
    // Read every picture first: one that cannot be read stops the run before any is written.
    let pictures = files
        .iter()
        .map(|(from, _)| load_digit(from, SIDE))
        .collect::<Result<Vec<_>>>()?;
    let gpu = &Gpu::new()?;
    let g = Network::new(gpu, "G", unet28(width)?, 0)?;
    ckpt.load_network(gpu, "G", &g, false)?;
    let mut inputs = translation_io::as_inputs(&pictures);
    if task == PairedTask::SuperResolution {
        // G learnt from 7×7 copies: give it one, whatever the picture's detail.
        inputs = pixelate(&inputs, translation::SUPERRES_FACTOR);
    }
    // A training-sized batch keeps batch norm's statistics representative.
    let batch = notes.number("--batch", ckpt_path)?;
    let outputs = translation::translate(gpu, &g, &inputs, batch)?;
    translation_io::write_translations(&files, &pictures, &outputs)?;
    println!(
        "translated {} picture(s) with the {} generator of {}",
        files.len(),
        task.name(),
        ckpt_path.display()
    );
    Ok(())
}

/// Each image's `n`×`n` tiles replaced by their mean, as the task's inputs were made.
fn pixelate(images: &[f32], n: usize) -> Vec<f32> {
    let mut out = images.to_vec();
    for img in out.chunks_mut(SIDE * SIDE) {
        for ty in (0..SIDE).step_by(n) {
            for tx in (0..SIDE).step_by(n) {
                let cells: Vec<usize> = (ty..(ty + n).min(SIDE))
                    .flat_map(|y| (tx..(tx + n).min(SIDE)).map(move |x| y * SIDE + x))
                    .collect();
                let mean = cells.iter().map(|&i| img[i]).sum::<f32>() / cells.len() as f32;
                cells.iter().for_each(|&i| img[i] = mean);
            }
        }
    }
    out
}

/// `--judge-images`: another engine's translations of the test digits, judged as ours are.
fn judge_file(args: &Args, path: &Path) -> Result<()> {
    let test = test_digits()?;
    let outputs = translation_io::read_translations(path, "images", test.len())?;
    let gpu = &Gpu::new()?;
    let test = TestSet::new(gpu, args.task(), test)?;
    let q = test.judge(&TranslationJudge::bundled(gpu)?, &outputs)?;
    let label = format!("{} ({})", path.display(), args.task);
    println!("{label}: {}", q.summary());
    if args.json {
        println!("{}", q.json(&label));
    }
    Ok(())
}
