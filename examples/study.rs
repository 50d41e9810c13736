//! The measured effect of the stabilisation tricks: dcgan28 on the bundled digits for a fixed
//! number of steps and several seeds per setting, each run judged by the digit classifier.
//!
//!     cargo run --release --example study                        # every setting, 3 seeds
//!     cargo run --release --example study -- --list              # the settings
//!     cargo run --release --example study -- --only baseline,ema --seeds 2 --steps 300
//!
//! Every finished run is appended to <out>/study.csv; runs already there are skipped, so an
//! interrupted study continues when started again. <out>/study.md holds the table: FID,
//! score and classes covered, mean ± sample standard deviation over the seeds.

use std::fmt::Write as _;
use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Parser;
use counterfeit::data::idx;
use counterfeit::eval::Judge;
use counterfeit::gan::dcgan::{Arch, DOptions};
use counterfeit::gan::recipes::{self, Recipe};
use counterfeit::{Dataset, Error, GanLoss, Gpu, Optimizer, Result, Trainer, TrainerConfig};
use indicatif::{ProgressBar, ProgressStyle};

const ARCH: Arch = Arch::Dcgan28;

/// The tricks and what each changes; each is a setting alone on top of the baseline.
const TRICKS: [(&str, &str); 11] = [
    ("baseline", "TrainerConfig::dcgan(), plain D"),
    ("smooth", "one-sided label smoothing, real_label 0.9"),
    ("flip", "label_flip 0.05"),
    ("noise", "instance_noise 0.1, annealed to 0"),
    ("dropout", "D dropout 0.3 before its last layer"),
    ("mbstd", "a minibatch std channel in D"),
    ("replay", "replay_fraction 0.25"),
    (
        "ema",
        "g_ema 1 − 10/steps (0.9 to 0.999), the average judged",
    ),
    ("hinge", "the hinge loss"),
    ("d2", "d_steps 2"),
    ("collapse", "G's Adam lr --collapse-lr, D's unchanged"),
];

/// Tricks that might repair the collapsing setting, each tried with it (`collapse+mbstd`, ...).
const REPAIRS: [&str; 4] = ["mbstd", "smooth", "noise", "ema"];

#[derive(Parser)]
#[command(
    about = "Measure what each stabilisation trick does: dcgan28 on the bundled digits, several \
             seeds per setting, FID, score and classes covered as mean ± std over the seeds"
)]
struct Args {
    /// Training steps per run.
    #[arg(long, default_value_t = 500)]
    steps: usize,
    /// Seeds per setting: 1 to N.
    #[arg(long, default_value_t = 3)]
    seeds: u64,
    /// Samples judged per run (FID, score, classes covered).
    #[arg(long, default_value_t = 2000)]
    eval_n: usize,
    /// Only these settings, comma-separated (e.g. baseline,ema,collapse+ema); see --list.
    #[arg(long, value_delimiter = ',')]
    only: Option<Vec<String>>,
    /// G's Adam learning rate in the collapse settings (50× the baseline's; D keeps 2e-4).
    /// At 1e-2 some seeds end on one repeated pattern within 150 steps; at 2e-3 G merely
    /// learns faster than the baseline at first.
    #[arg(long, default_value_t = 1e-2)]
    collapse_lr: f32,
    /// Output folder for study.csv (every run, appended as it finishes) and study.md (the
    /// table). Runs already in study.csv (same setting and seed) are skipped, so an
    /// interrupted study continues where it stopped when started again with the same flags;
    /// delete study.csv to start afresh.
    #[arg(long, default_value = "out/study")]
    out: PathBuf,
    /// Print the settings and what each one changes, and exit.
    #[arg(long)]
    list: bool,
}

/// Every setting, in the order they run: the baseline, each trick alone, then the collapsing
/// setting with each repair.
fn settings() -> Vec<String> {
    let alone = TRICKS.iter().map(|(t, _)| t.to_string());
    alone
        .chain(REPAIRS.map(|r| format!("collapse+{r}")))
        .collect()
}

/// The settings `--only` names (all when absent), each once, in the order given.
fn select(only: Option<&[String]>) -> Result<Vec<String>> {
    let all = settings();
    let Some(names) = only else { return Ok(all) };
    let mut chosen: Vec<String> = Vec::new();
    for name in names.iter().map(|n| n.trim()) {
        if !all.iter().any(|s| s == name) {
            return Err(Error::Config(format!(
                "unknown setting {name:?}; valid settings: {}",
                all.join(", ")
            )));
        }
        if !chosen.iter().any(|c| c == name) {
            chosen.push(name.to_string());
        }
    }
    Ok(chosen)
}

/// The weight average's decay: it averages about the last tenth of the run (a fixed 0.999
/// would still hold most of the initial G after a few hundred steps).
fn ema_decay(steps: usize) -> f32 {
    (1.0 - 10.0 / steps as f32).clamp(0.9, 0.999)
}

/// The configuration and D's options of setting `name` (a valid one; the seed is set per run).
fn plan(name: &str, steps: usize, collapse_lr: f32) -> (TrainerConfig, DOptions) {
    let (mut c, mut d) = (TrainerConfig::dcgan(), DOptions::default());
    for trick in name.split('+') {
        match trick {
            "smooth" => c.real_label = 0.9,
            "flip" => c.label_flip = 0.05,
            "noise" => {
                c.instance_noise = 0.1;
                c.instance_noise_steps = u32::try_from(steps).unwrap_or(u32::MAX);
            }
            "dropout" => d.dropout = 0.3,
            "mbstd" => d.minibatch_std = true,
            "replay" => c.replay_fraction = 0.25,
            "ema" => c.g_ema = Some(ema_decay(steps)),
            "hinge" => c.loss = GanLoss::Hinge,
            "d2" => c.d_steps = 2,
            "collapse" => {
                if let Optimizer::Adam { lr, .. } = &mut c.g_optimizer {
                    *lr = collapse_lr;
                }
            }
            _ => {}
        }
    }
    (c, d)
}

/// What setting `name` changes, in words.
fn describe(name: &str) -> String {
    let about = |t| {
        TRICKS
            .iter()
            .find(|(n, _)| *n == t)
            .map_or("?", |(_, a)| *a)
    };
    name.split('+').map(about).collect::<Vec<_>>().join("; ")
}

/// One finished run, a row of study.csv; a diverged run has NaN metrics.
#[derive(Clone, Debug, PartialEq)]
struct Row {
    setting: String,
    seed: u64,
    steps: usize,
    fid: f64,
    score: f64,
    classes: f64,
    wall_s: f64,
}

const HEADER: &str = "setting,seed,steps,fid,score,classes,wall_s";

impl Row {
    fn csv(&self) -> String {
        format!(
            "{},{},{},{:.4},{:.4},{:.0},{:.1}",
            self.setting, self.seed, self.steps, self.fid, self.score, self.classes, self.wall_s
        )
    }

    fn parse(line: &str) -> Option<Row> {
        let f: Vec<&str> = line.trim().split(',').collect();
        let [setting, seed, steps, fid, score, classes, wall_s] = f[..] else {
            return None;
        };
        Some(Row {
            setting: setting.to_string(),
            seed: seed.parse().ok()?,
            steps: steps.parse().ok()?,
            fid: fid.parse().ok()?,
            score: score.parse().ok()?,
            classes: classes.parse().ok()?,
            wall_s: wall_s.parse().ok()?,
        })
    }
}

/// The rows of an earlier study.csv (none when there is none), all of `steps` steps.
fn load(path: &Path, steps: usize) -> Result<Vec<Row>> {
    let text = match fs::read_to_string(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        read => read.map_err(|e| Error::io(path, e))?,
    };
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let problem = match Row::parse(line) {
            _ if line.trim().is_empty() || line.trim() == HEADER => continue,
            Some(row) if row.steps == steps => {
                rows.push(row);
                continue;
            }
            Some(row) => format!("is a run of {} steps, not --steps {steps}", row.steps),
            None => format!("is not a row of {HEADER}"),
        };
        return Err(Error::Data {
            path: path.to_path_buf(),
            message: format!("line {} {problem}; use another --out", i + 1),
        });
    }
    Ok(rows)
}

/// Appends `row` to study.csv, with the header first when the file is new or empty.
fn append(path: &Path, row: &Row) -> Result<()> {
    let fresh = fs::metadata(path).map_or(true, |m| m.len() == 0);
    let header = if fresh {
        HEADER.to_owned() + "\n"
    } else {
        String::new()
    };
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| writeln!(f, "{header}{}", row.csv()))
        .map_err(|e| Error::io(path, e))
}

/// What every run shares.
struct Study {
    gpu: Gpu,
    data: Dataset,
    judge: Judge,
    recipe: Recipe,
}

/// Trains `setting` with `seed` and judges its generator (the weight average under `ema`, as
/// `Trainer::sampling_generator` gives). A divergence is a result (NaN metrics), not an error.
fn run_one(s: &Study, args: &Args, setting: &str, seed: u64, bar: &ProgressBar) -> Result<Row> {
    let (mut config, d) = plan(setting, args.steps, args.collapse_lr);
    config.seed = seed;
    let start = Instant::now();
    let (g, d) = (ARCH.generator(), ARCH.discriminator_with(d)?);
    let mut gan = Trainer::new(&s.gpu, g, d, &s.data, config)?;
    let trained = train(&mut gan, args.steps, bar);
    bar.inc((args.steps as u64).saturating_sub(gan.steps()));
    let wall_s = start.elapsed().as_secs_f64();
    let mut row = Row {
        setting: setting.to_string(),
        seed,
        steps: args.steps,
        fid: f64::NAN,
        score: f64::NAN,
        classes: f64::NAN,
        wall_s,
    };
    let line = match trained {
        Ok(()) => {
            let t = Instant::now();
            let q = s
                .judge
                .measure(gan.sampling_generator(), &s.recipe, args.eval_n, false)?;
            (row.fid, row.score) = (q.fid, q.score);
            row.classes = q.coverage.covered as f64;
            let judging = t.elapsed().as_secs_f64();
            format!(
                "FID {:.2}, score {:.2}, {} classes, {wall_s:.0} s (+{judging:.0} s judging)",
                q.fid, q.score, q.coverage.covered
            )
        }
        Err(e @ Error::Diverged { .. }) => format!("{e}; recorded as diverged, {wall_s:.0} s"),
        Err(e) => return Err(e),
    };
    bar.suspend(|| println!("{setting} seed {seed}: {line}"));
    Ok(row)
}

/// `steps` training steps, then every metric read back (a NaN in them is `Error::Diverged`).
fn train(gan: &mut Trainer, steps: usize, bar: &ProgressBar) -> Result<()> {
    while gan.steps() < steps as u64 {
        gan.step()?;
        bar.inc(1);
    }
    gan.flush()
}

/// `mean ± sample std` of `values` with `decimals` decimals; "–" for none.
fn mean_std(values: &[f64], decimals: usize) -> String {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    match values.len() {
        0 => "–".into(),
        1 => format!("{mean:.decimals$}"),
        _ => format!("{mean:.decimals$} ± {:.decimals$}", var.sqrt()),
    }
}

/// The markdown table of every setting with runs among seeds 1..=`seeds`, in run order.
fn table(rows: &[Row], seeds: u64, header: &str) -> String {
    let mut md = format!("{header}\n\n| setting | FID ↓ | score ↑ | classes | s/run |\n");
    md += "|---|---|---|---|---|\n";
    for name in settings() {
        let of = |r: &&Row| r.setting == name && (1..=seeds).contains(&r.seed);
        let runs: Vec<&Row> = rows.iter().filter(of).collect();
        if runs.is_empty() {
            continue;
        }
        let ok: Vec<&Row> = runs.iter().copied().filter(|r| !r.fid.is_nan()).collect();
        let column = |f: fn(&Row) -> f64, decimals| {
            mean_std(&ok.iter().map(|r| f(r)).collect::<Vec<_>>(), decimals)
        };
        let mut notes = Vec::new();
        if (runs.len() as u64) < seeds {
            notes.push(format!("{} of {seeds} seeds", runs.len()));
        }
        if ok.len() < runs.len() {
            notes.push(format!("{} diverged", runs.len() - ok.len()));
        }
        let note = match notes.len() {
            0 => String::new(),
            _ => format!(" ({})", notes.join(", ")),
        };
        let wall: Vec<f64> = runs.iter().map(|r| r.wall_s).collect();
        let (fid, score) = (column(|r| r.fid, 2), column(|r| r.score, 2));
        let (classes, wall) = (column(|r| r.classes, 1), mean_std(&wall, 0));
        let _ = writeln!(
            md,
            "| `{name}`{note} | {fid} | {score} | {classes} | {wall} |"
        );
    }
    md
}

fn main() {
    if let Err(e) = run(Args::parse()) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run(args: Args) -> Result<()> {
    let settings = select(args.only.as_deref())?;
    let lr_ok = args.collapse_lr > 0.0 && args.collapse_lr.is_finite();
    if args.steps == 0 || args.seeds == 0 || args.eval_n < 2 || !lr_ok {
        return Err(Error::Config(
            "--steps and --seeds must be at least 1, --eval-n 2, --collapse-lr positive".into(),
        ));
    }
    if args.list {
        for name in &settings {
            println!("{name:<16} {}", describe(name));
        }
        println!(
            "collapse: G's Adam lr {:?} (--collapse-lr)",
            args.collapse_lr
        );
        return Ok(());
    }
    fs::create_dir_all(&args.out).map_err(|e| Error::io(&args.out, e))?;
    let (csv, md) = (args.out.join("study.csv"), args.out.join("study.md"));
    let mut rows = load(&csv, args.steps)?;
    let pending: Vec<(&str, u64)> = (1..=args.seeds)
        .flat_map(|seed| settings.iter().map(move |s| (s.as_str(), seed)))
        .filter(|&(s, seed)| !rows.iter().any(|r| r.setting == s && r.seed == seed))
        .collect();
    let gpu = Gpu::new()?;
    println!("adapter: {}", gpu.describe());
    let study = Study {
        judge: Judge::shipped(&gpu)?
            .ok_or_else(|| Error::Config("the study needs the classifier's weights".into()))?,
        data: Dataset::from_digits(&gpu, &idx::bundled()?, (-1.0, 1.0))?,
        recipe: recipes::by_name(ARCH.name())?,
        gpu,
    };
    let header = format!(
        "{} on the {} bundled digits, {} steps, seeds 1–{}, {} samples judged per run, \
         collapse lr {:?}; mean ± sample std over the seeds (diverged runs left out); \
         s/run: building and training, judging excluded. Adapter: {}.",
        ARCH.name(),
        study.data.len(),
        args.steps,
        args.seeds,
        args.eval_n,
        args.collapse_lr,
        study.gpu.describe()
    );
    let write_table = |rows: &[Row]| {
        let text = table(rows, args.seeds, &header);
        fs::write(&md, &text).map_err(|e| Error::io(&md, e))?;
        Ok::<_, Error>(text)
    };
    let (todo, done) = (pending.len(), rows.len());
    println!("{todo} runs to do ({done} runs in {})", csv.display());
    let bar = ProgressBar::new((todo * args.steps) as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} steps  {msg}  [{elapsed} < {eta}]")
            .expect("valid template"),
    );
    for (i, &(setting, seed)) in pending.iter().enumerate() {
        bar.set_message(format!("run {}/{todo}: {setting} seed {seed}", i + 1));
        let row = run_one(&study, &args, setting, seed, &bar)?;
        append(&csv, &row)?;
        rows.push(row);
        write_table(&rows)?;
    }
    bar.finish_and_clear();
    let text = write_table(&rows)?;
    println!("\n{text}\nwrote {} and {}", md.display(), csv.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn every_setting_gives_a_valid_configuration() {
        Args::command().debug_assert();
        assert_eq!(settings().len(), 15);
        for name in settings() {
            let (config, d) = plan(&name, 500, 2e-3);
            config.validate().unwrap();
            ARCH.discriminator_with(d).unwrap();
            assert!(!describe(&name).contains('?'), "{name}");
        }
        let (c, _) = plan("collapse+noise", 500, 2e-3);
        assert!(matches!(c.g_optimizer, Optimizer::Adam { lr, .. } if lr == 2e-3));
        assert_eq!(c.d_optimizer, Optimizer::dcgan_adam());
        assert_eq!((c.instance_noise, c.instance_noise_steps), (0.1, 500));
    }

    #[test]
    fn only_selects_known_settings() {
        let names = |s: &str| s.split(',').map(String::from).collect::<Vec<_>>();
        let chosen = select(Some(&names("ema, baseline,ema,collapse+ema"))).unwrap();
        assert_eq!(chosen, ["ema", "baseline", "collapse+ema"]);
        assert_eq!(select(None).unwrap(), settings());
        let e = select(Some(&names("baseline,smooth+flip"))).unwrap_err();
        let e = e.to_string();
        assert!(
            e.contains("\"smooth+flip\"") && e.contains("collapse+mbstd"),
            "{e}"
        );
    }

    #[test]
    fn rows_round_trip_and_divergence_is_noted() {
        let row = Row {
            setting: "collapse+ema".into(),
            seed: 2,
            steps: 500,
            fid: 12.5,
            score: 5.25,
            classes: 9.0,
            wall_s: 530.5,
        };
        assert_eq!(Row::parse(&row.csv()), Some(row.clone()));
        let nan = f64::NAN;
        let diverged = Row::parse(
            &Row {
                fid: nan,
                score: nan,
                classes: nan,
                ..row
            }
            .csv(),
        );
        let md = table(&[diverged.unwrap()], 3, "h");
        assert!(
            md.contains("`collapse+ema` (1 of 3 seeds, 1 diverged) | – |"),
            "{md}"
        );
    }
}
