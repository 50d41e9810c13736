//! CycleGAN on digits: learn thin ↔ thick from two domains that share no digit.
//!
//!     cargo run --release --example cyclegan_mnist                       # the default run
//!     cargo run --release --example cyclegan_mnist -- --steps 300        # a short run
//!     cargo run --release --example cyclegan_mnist -- --translate my_digit.png --to thick \
//!         --ckpt out/cyclegan_thin_thick/checkpoint.safetensors --out thick.png
//!     cargo run --release --example cyclegan_mnist -- --judge-images other_engine.safetensors
//!
//! Domain A is the first half of the 9,000 bundled training digits thinned (2×2 erosion),
//! domain B the second half thickened (3×3 dilation). Every --sample-every steps a grid shows
//! ten test digits a row: thin, made thick, and back to thin; thick, made thin, and back. At
//! the end both directions are judged on the 1,000 test digits: label agreement, ink against
//! the target domain's, the round trip's L1, FID to the real test digits. A moving average of
//! each generator's weights (--g-ema) makes the grids, the judged translations and --translate's.
//! Writes grids, a loss plot, a metrics CSV and a checkpoint to --out.

mod common;

use std::path::Path;
use std::time::Instant;

use clap::Parser;
use common::translation::{self as translation_io, Schedule, Session};
use common::{
    check_flag, open_resume_since, prepare_out, Finish, Interrupt, Timeline, TrainingBar,
    CHECKPOINT,
};
use counterfeit::data::idx::{self, Digits};
use counterfeit::eval::classifier::TRAIN_PART;
use counterfeit::eval::translation::distances;
use counterfeit::eval::{TranslationJudge, TranslationReport};
use counterfeit::gan::translation::{
    self, cycle_discriminator28, resnet_generator28, CycleGan, CycleGanConfig, Domains, G_AB_EMA,
    G_BA_EMA, SIDE, TASK_NOTE,
};
use counterfeit::io::checkpoint::Checkpoint;
use counterfeit::io::digit_image::load_digit;
use counterfeit::ops::morphology::Transform;
use counterfeit::{Dataset, Error, GanLoss, Gpu, Network, Optimizer, Result};

/// Steps of the default run.
const DEFAULT_STEPS: usize = 6000;
/// The trainer and task in the checkpoint's notes.
const TRAINER: &str = "cyclegan";
const TASK: &str = "thin_thick";

#[derive(Parser)]
#[command(
    about = "Train CycleGAN on digits: thin ↔ thick, unpaired (or translate your own pictures)"
)]
struct Args {
    /// Training steps (both generators' update, then both discriminators') [default: 6000].
    #[arg(long)]
    steps: Option<usize>,
    /// Images of each domain per step.
    #[arg(long, default_value_t = 4)]
    batch: usize,
    /// Channels of the generators' first level and of the discriminators' (each level down
    /// doubles them; the paper's 256×256 networks have 64).
    #[arg(long, default_value_t = 16)]
    width: usize,
    /// Residual blocks in each generator (the paper's 256×256 networks have 9).
    #[arg(long, default_value_t = 2)]
    blocks: usize,
    /// Adam learning rate for all four networks (β = 0.5, 0.999).
    #[arg(long, default_value_t = 2e-4)]
    lr: f32,
    /// The rate stays constant for this fraction of --steps, then falls linearly to zero by
    /// the last step, as the paper's does over its second 100 epochs (1: constant throughout).
    #[arg(long, default_value_t = 0.5)]
    decay_from: f32,
    /// λ, the weight of each cycle's L1 distance.
    #[arg(long, default_value_t = 10.0)]
    cycle_weight: f32,
    /// The identity loss's weight as a fraction of λ (0 leaves it out).
    #[arg(long, default_value_t = 0.5)]
    identity: f32,
    /// The adversarial loss: lsgan (least squares, the paper's), bce or hinge.
    #[arg(long, default_value = "lsgan")]
    loss: String,
    /// Decay of the moving average of each generator's weights kept beside it; the grids, the
    /// judged translations and --translate use the averages (the checkpoint holds them as
    /// G_AB_ema and G_BA_ema). The last iterate of a CycleGAN generator swings with its
    /// discriminator; the average is steadier.
    #[arg(long, default_value_t = 0.999)]
    g_ema: f32,
    /// Keep no moving average: translate with the generators' last weights, as the paper does.
    #[arg(long)]
    no_g_ema: bool,
    /// Earlier fakes each discriminator's pool keeps (half of each fake batch is drawn from it).
    #[arg(long, default_value_t = 50)]
    pool: usize,
    /// Seed for weights, data order and the pools.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output folder [default: out/cyclegan_thin_thick]; with --translate, the output picture
    /// (or folder, for a folder of pictures).
    #[arg(long)]
    out: Option<std::path::PathBuf>,
    /// Write a grid, the plot, the CSV and a checkpoint every this many steps.
    #[arg(long, default_value_t = 250)]
    sample_every: usize,
    /// Judge the test translations every this many steps (0: only at the end).
    #[arg(long, default_value_t = 500)]
    eval_every: usize,
    /// Do not judge the translations.
    #[arg(long)]
    no_eval: bool,
    /// Also print the final figures as JSON lines.
    #[arg(long)]
    json: bool,
    /// Continue training from a checkpoint written by an earlier run with the same settings.
    #[arg(long)]
    resume: Option<std::path::PathBuf>,
    /// Start afresh even though --out holds another run's checkpoint (it is replaced).
    #[arg(long)]
    overwrite: bool,
    /// Also write a checkpoint every this many minutes of training (0: only every
    /// --sample-every steps).
    #[arg(long, default_value_t = 10.0)]
    checkpoint_every: f64,
    /// Do not train: translate this PNG (any size, colour or grey), or every PNG in this
    /// folder, with a generator of --ckpt, into --out.
    #[arg(long, requires_all = ["ckpt", "to"])]
    translate: Option<std::path::PathBuf>,
    /// The checkpoint whose generators --translate uses (their moving averages, when the run
    /// kept them).
    #[arg(long, requires = "translate")]
    ckpt: Option<std::path::PathBuf>,
    /// With --translate: the direction, thick (thin → thick, G_AB) or thin (G_BA).
    #[arg(long, requires = "translate")]
    to: Option<String>,
    /// Do not train: judge these translations of the 1,000 test digits (a safetensors file
    /// with F32 tensors "thick" and "thin" [1000, 1, 28, 28] in [-1, 1]: the thinned test
    /// digits made thick and the thickened ones made thin, e.g. from
    /// scripts/pytorch_cyclegan_mnist.py) as a run's final ones are judged.
    #[arg(long, conflicts_with = "translate")]
    judge_images: Option<std::path::PathBuf>,
}

impl Args {
    fn check(&self) -> Result<()> {
        self.gan_loss()?;
        check_flag("--batch", self.batch, self.batch >= 1, "at least 1")?;
        check_flag("--width", self.width, self.width >= 1, "at least 1")?;
        check_flag(
            "--lr",
            self.lr,
            self.lr.is_finite() && self.lr > 0.0,
            "a positive number",
        )?;
        let f = self.decay_from;
        check_flag(
            "--decay-from",
            f,
            (0.0..=1.0).contains(&f),
            "a fraction from 0 to 1",
        )?;
        let w = self.cycle_weight;
        check_flag("--cycle-weight", w, w.is_finite() && w >= 0.0, "at least 0")?;
        let i = self.identity;
        check_flag("--identity", i, i.is_finite() && i >= 0.0, "at least 0")?;
        check_flag("--pool", self.pool, self.pool >= 1, "at least 1")?;
        let d = self.g_ema;
        check_flag("--g-ema", d, d > 0.0 && d < 1.0, "a decay in (0, 1)")?;
        let m = self.checkpoint_every;
        check_flag(
            "--checkpoint-every",
            m,
            m.is_finite() && m >= 0.0,
            "minutes, at least 0",
        )?;
        if let Some(to) = &self.to {
            check_flag("--to", to, to == "thick" || to == "thin", "thick or thin")?;
        }
        if self.steps == Some(0) {
            return Err(Error::Config("--steps 0: must be at least 1".into()));
        }
        Ok(())
    }

    fn gan_loss(&self) -> Result<GanLoss> {
        GanLoss::parse(&self.loss).ok_or_else(|| {
            Error::Config(format!("--loss {}: must be lsgan, bce or hinge", self.loss))
        })
    }

    /// The moving average's decay, unless --no-g-ema.
    fn average(&self) -> Option<f32> {
        (!self.no_g_ema).then_some(self.g_ema)
    }

    fn out(&self) -> std::path::PathBuf {
        self.out
            .clone()
            .unwrap_or_else(|| format!("out/cyclegan_{TASK}").into())
    }

    /// What the run is, as checkpoints keep it: the task first, then the flags that shape it.
    fn settings(&self) -> Vec<(String, String)> {
        [
            (TASK_NOTE, format!("{TRAINER}/{TASK}")),
            ("--batch", self.batch.to_string()),
            ("--width", self.width.to_string()),
            ("--blocks", self.blocks.to_string()),
            ("--lr", self.lr.to_string()),
            ("--decay-from", self.decay_from.to_string()),
            ("--cycle-weight", self.cycle_weight.to_string()),
            ("--identity", self.identity.to_string()),
            ("--loss", self.loss.clone()),
            ("--pool", self.pool.to_string()),
            ("--g-ema", format!("{:?}", self.average())),
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
    if let (Some(input), Some(ckpt), Some(to)) = (&args.translate, &args.ckpt, &args.to) {
        return translate_pictures(args, input, ckpt, to).map(|()| Finish::Done);
    }
    if let Some(images) = &args.judge_images {
        return judge_file(args, images).map(|()| Finish::Done);
    }
    train(args, launched)
}

/// The test digits thinned and thickened (values in [−1, 1]), with their labels.
struct TestSet {
    digits: Digits,
    thin: Vec<f32>,
    thick: Vec<f32>,
}

/// Both directions' figures on the test digits.
struct Figures {
    to_thick: TranslationReport,
    to_thin: TranslationReport,
    /// Mean |G_BA(G_AB(a)) − a| and |G_AB(G_BA(b)) − b| per pixel in [0, 1].
    cycles: (f64, f64),
}

impl Figures {
    fn summary(&self) -> String {
        let mut s = format!(
            "thin → thick: {}\n  thick → thin: {}",
            self.to_thick.summary(),
            self.to_thin.summary()
        );
        if !self.cycles.0.is_nan() {
            let (a, b) = self.cycles;
            s += &format!("\n  round trips' L1: thin {a:.4}, thick {b:.4}");
        }
        s
    }
}

impl TestSet {
    fn new(gpu: &Gpu, digits: Digits) -> Result<TestSet> {
        let data = Dataset::from_digits(gpu, &digits, (-1.0, 1.0))?;
        Ok(TestSet {
            thin: data.transformed(gpu, Transform::Erode2x2)?.values(gpu)?,
            thick: data.transformed(gpu, Transform::Dilate)?.values(gpu)?,
            digits,
        })
    }

    /// Judges translations to thick and to thin (and their round trips back, when given),
    /// all in [−1, 1] and one per test digit.
    fn judge(
        &self,
        judge: &TranslationJudge,
        (to_thick, to_thin): (&[f32], &[f32]),
        round_trips: Option<(&[f32], &[f32])>,
    ) -> Result<Figures> {
        let unit = |v: &[f32]| v.iter().map(|&x| (x + 1.0) / 2.0).collect::<Vec<f32>>();
        let labels = &self.digits.labels;
        let (thin, thick) = (unit(&self.thin), unit(&self.thick));
        let cycles = match round_trips {
            Some((back_thin, back_thick)) => (
                distances(&unit(back_thin), &thin, SIDE * SIDE).0,
                distances(&unit(back_thick), &thick, SIDE * SIDE).0,
            ),
            None => (f64::NAN, f64::NAN),
        };
        Ok(Figures {
            to_thick: judge.judge(&unit(to_thick), &thick, labels)?,
            to_thin: judge.judge(&unit(to_thin), &thin, labels)?,
            cycles,
        })
    }

    /// Both directions and both round trips through `gan`'s generators, judged.
    fn judge_gan(&self, judge: &TranslationJudge, gan: &CycleGan) -> Result<Figures> {
        let to_thick = gan.a_to_b(&self.thin)?;
        let to_thin = gan.b_to_a(&self.thick)?;
        let back_thin = gan.b_to_a(&to_thick)?;
        let back_thick = gan.a_to_b(&to_thin)?;
        self.judge(
            judge,
            (&to_thick, &to_thin),
            Some((&back_thin, &back_thick)),
        )
    }
}

fn train(args: &Args, launched: Instant) -> Result<Finish> {
    let out = args.out();
    let steps = args.steps.unwrap_or(DEFAULT_STEPS);
    prepare_out(&out, args.resume.is_some(), args.overwrite)?;
    if let Some(path) = &args.resume {
        // Checkpoints from before --g-ema translated with the generators themselves.
        open_resume_since(path, &args.settings(), steps as u64, &[("--g-ema", "None")])?;
    }
    let interrupt = Interrupt::install();
    let gpu = &Gpu::new()?;
    println!("adapter: {}", gpu.describe());
    let (train_digits, test) = idx::bundled()?.split(TRAIN_PART)?;
    let domains = Domains::thin_thick(gpu, &train_digits, (-1.0, 1.0))?;
    let test = TestSet::new(gpu, test)?;
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
    // Updates are counted from 0: the last one, `steps` − 1, still moves a little.
    let decay_from = (args.decay_from as f64 * steps as f64).round() as u32;
    let adam = match decay_from < steps as u32 {
        true => adam.decaying(decay_from, steps as u32)?,
        false => adam,
    };
    let config = CycleGanConfig {
        batch: args.batch,
        seed: args.seed,
        cycle_weight: args.cycle_weight,
        identity_fraction: args.identity,
        loss: args.gan_loss()?,
        pool_capacity: args.pool,
        g_optimizer: adam,
        d_optimizer: adam,
        g_ema: args.average(),
        ..CycleGanConfig::paper(args.batch)
    };
    let g = resnet_generator28(args.width, args.blocks)?;
    let d = cycle_discriminator28(args.width)?;
    let mut gan = CycleGan::new(gpu, g, d, &domains, config)?;
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
    bar.println(&format!(
        "CycleGAN thin ↔ thick on {} thin and {} thick digits, batch {}: {} dispatches per step; first step after {:.2} s",
        domains.a.len(),
        domains.b.len(),
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
    let at = translation_io::grid_indices(&test.digits, 1);
    let mut run = Run {
        grid: (
            translation_io::pick(&test.thin, &at),
            translation_io::pick(&test.thick, &at),
        ),
        gan,
        test,
        judge,
        out: &out,
        ckpt: &ckpt,
    };
    if let Finish::Interrupted =
        translation_io::train_loop(&mut run, &schedule, &interrupt, &mut bar, &mut time)?
    {
        return Ok(Finish::Interrupted);
    }
    if let Some(judge) = &run.judge {
        let test = &run.test;
        println!(
            "judging both directions on the {} test digits ...",
            test.digits.len()
        );
        let q = time.measuring(|| test.judge_gan(judge, &run.gan))?;
        println!("CycleGAN step {}:\n  {}", run.gan.steps(), q.summary());
        // What the classifier makes of the real digits of each domain, for comparison.
        let real = time.measuring(|| test.judge(judge, (&test.thick, &test.thin), None))?;
        println!(
            "  the real test digits, thick: label agreement {:.1} %; thin: {:.1} %",
            100.0 * real.to_thick.agreement,
            100.0 * real.to_thin.agreement
        );
        if args.json {
            let label = format!("cyclegan step {}", run.gan.steps());
            println!("{}", q.to_thick.json(&format!("{label} to thick")));
            println!("{}", q.to_thin.json(&format!("{label} to thin")));
        }
    }
    time.writing(|| run.save("translations_final.png"))?;
    println!(
        "wrote grids of thin → thick → thin and thick → thin → thick, losses.png, metrics.csv and {} to {}",
        ckpt.display(),
        out.display()
    );
    println!("{}", time.summary());
    Ok(Finish::Done)
}

/// A CycleGAN run with what it is judged on and where it writes.
struct Run<'a> {
    gan: CycleGan,
    test: TestSet,
    judge: Option<TranslationJudge>,
    /// The grid's thin and thick test digits.
    grid: (Vec<f32>, Vec<f32>),
    out: &'a Path,
    ckpt: &'a Path,
}

impl Session for Run<'_> {
    fn step(&mut self) -> Result<()> {
        self.gan.step()
    }

    fn steps(&self) -> u64 {
        self.gan.steps()
    }

    fn progress(&self) -> Option<String> {
        self.gan.metrics().map(|m| {
            let (g_ab, g_ba) = m.g_adversarial();
            let (c_a, c_b) = m.cycles();
            format!(
                "D_A {:.3} D_B {:.3} G_AB {:.3} G_BA {:.3} cycle {c_a:.4}/{c_b:.4}",
                m.d_a(),
                m.d_b(),
                g_ab,
                g_ba,
            )
        })
    }

    fn judge(&mut self) -> Option<Result<String>> {
        let judge = self.judge.as_ref()?;
        let q = self.test.judge_gan(judge, &self.gan);
        Some(q.map(|q| format!("\n  {}", q.summary())))
    }

    /// Grid, checkpoint, CSV and plot; the checkpoint only after the metrics proved finite.
    fn save(&mut self, grid: &str) -> Result<()> {
        let gan = &mut self.gan;
        gan.flush()?;
        let (thin, thick) = &self.grid;
        let to_thick = gan.a_to_b(thin)?;
        let to_thin = gan.b_to_a(thick)?;
        let parts = [
            &thin[..],
            &to_thick,
            &gan.b_to_a(&to_thick)?,
            thick,
            &to_thin,
            &gan.a_to_b(&to_thin)?,
        ];
        translation_io::save_rows(&self.out.join(grid), &parts)?;
        gan.save(self.ckpt)?;
        translation::save_cycle_csv(&self.out.join("metrics.csv"), gan.history())?;
        let title = "CycleGAN thin ↔ thick";
        translation::save_cycle_plot(&self.out.join("losses.png"), title, gan.history())
    }
}

/// `--translate`: one picture to one picture, or a folder of PNGs to a folder.
fn translate_pictures(args: &Args, input: &Path, ckpt_path: &Path, to: &str) -> Result<()> {
    let ckpt = Checkpoint::open(ckpt_path).map_err(|e| Error::Config(format!("--ckpt {e}")))?;
    let (_, notes) = translation_io::trained_task(&ckpt, ckpt_path, TRAINER)?;
    let (name, average) = match to {
        "thick" => ("G_AB", G_AB_EMA),
        _ => ("G_BA", G_BA_EMA),
    };
    // The generator's moving average translates when the run kept one, as in its grids.
    let name = match ckpt.has_network(average)? {
        true => average,
        false => name,
    };
    if !ckpt.has_network(name)? {
        return Err(Error::Config(format!(
            "--ckpt {}: has no {name}, the generator to {to}; it cannot translate --to {to}",
            ckpt_path.display()
        )));
    }
    let width = notes.number("--width", ckpt_path)?;
    let blocks = notes.number("--blocks", ckpt_path)?;
    let files = translation_io::picture_files(input, args.out.as_deref())?;
    let pictures = files
        .iter()
        .map(|(from, _)| load_digit(from, SIDE))
        .collect::<Result<Vec<_>>>()?;
    let gpu = &Gpu::new()?;
    let g = Network::new(gpu, name, resnet_generator28(width, blocks)?, 0)?;
    ckpt.load_network(gpu, name, &g, false)?;
    // Instance norm: each picture is translated on its own statistics, whatever the batch.
    let inputs = translation_io::as_inputs(&pictures);
    let outputs = counterfeit::gan::generate_batched(gpu, &g, &inputs, pictures.len())?;
    translation_io::write_translations(&files, &pictures, &outputs)?;
    println!(
        "made {} picture(s) {to} with {name} of {}",
        files.len(),
        ckpt_path.display()
    );
    Ok(())
}

/// `--judge-images`: another engine's translations of the test digits, judged as ours are.
fn judge_file(args: &Args, path: &Path) -> Result<()> {
    let (_, test) = idx::bundled()?.split(TRAIN_PART)?;
    let n = test.len();
    let to_thick = translation_io::read_translations(path, "thick", n)?;
    let to_thin = translation_io::read_translations(path, "thin", n)?;
    let back = match (
        translation_io::read_translations(path, "thin_round_trip", n),
        translation_io::read_translations(path, "thick_round_trip", n),
    ) {
        (Ok(a), Ok(b)) => Some((a, b)),
        _ => None,
    };
    let gpu = &Gpu::new()?;
    let test = TestSet::new(gpu, test)?;
    let judge = TranslationJudge::bundled(gpu)?;
    let round_trips = back.as_ref().map(|(a, b)| (&a[..], &b[..]));
    let q = test.judge(&judge, (&to_thick, &to_thin), round_trips)?;
    println!("{}:\n  {}", path.display(), q.summary());
    if args.json {
        let label = path.display().to_string();
        println!("{}", q.to_thick.json(&format!("{label} to thick")));
        println!("{}", q.to_thin.json(&format!("{label} to thin")));
    }
    Ok(())
}
