//! What the image-to-image examples share: the test digits shown in their grids, grids of
//! rows, a user's pictures in and out, another engine's translations read for judging, and
//! the task a checkpoint was trained for.

use std::path::{Path, PathBuf};

use counterfeit::data::idx::Digits;
use counterfeit::gan::translation::{SIDE, TASK_NOTE};
use counterfeit::io::checkpoint::Checkpoint;
use counterfeit::io::digit_image::{save_digit, DigitImage};
use counterfeit::io::grid;
use counterfeit::{Error, Result};

use super::out_folder;

/// Digits a grid row holds: one of each class.
pub const ROW: usize = 10;

/// The first `per_class` digits of each class, class by class within each round: a grid
/// row per round.
pub fn grid_indices(digits: &Digits, per_class: usize) -> Vec<usize> {
    let labels = &digits.labels;
    (0..per_class)
        .flat_map(|k| {
            (0..ROW as u8).filter_map(move |c| {
                labels
                    .iter()
                    .enumerate()
                    .filter(|(_, &l)| l == c)
                    .nth(k)
                    .map(|(i, _)| i)
            })
        })
        .collect()
}

/// The images at `indices` of `images` (28×28 each), in that order.
pub fn pick(images: &[f32], indices: &[usize]) -> Vec<f32> {
    let size = SIDE * SIDE;
    indices
        .iter()
        .flat_map(|&i| images[i * size..(i + 1) * size].iter().copied())
        .collect()
}

/// A grid of `ROW` digits a row: for each run of `ROW` digits, one row from each of `parts`
/// in turn (e.g. inputs, outputs, targets). Values in [−1, 1].
pub fn save_rows(path: &Path, parts: &[&[f32]]) -> Result<()> {
    let size = ROW * SIDE * SIDE;
    let bands = parts.first().map_or(0, |p| p.len() / size);
    let mut tiles = Vec::with_capacity(bands * parts.len() * size);
    for k in 0..bands {
        for part in parts {
            tiles.extend_from_slice(&part[k * size..(k + 1) * size]);
        }
    }
    let count = tiles.len() / (SIDE * SIDE);
    grid::save_grid(path, &tiles, count, SIDE, SIDE, ROW, (-1.0, 1.0))
}

/// Each picture to translate with where its translation goes: one file to `out`, or every
/// PNG of a folder into the folder `out` under its own name.
pub fn picture_files(input: &Path, out: Option<&Path>) -> Result<Vec<(PathBuf, PathBuf)>> {
    let Some(out) = out else {
        return Err(Error::Config(format!(
            "--translate {} needs --out: the picture (or, for a folder, the folder) to write",
            input.display()
        )));
    };
    if !input.is_dir() {
        if !input.exists() {
            return Err(Error::Config(format!(
                "--translate {}: no such file or folder",
                input.display()
            )));
        }
        if out.is_dir() {
            return Err(Error::Config(format!(
                "--out {}: is a folder; give the file to write",
                out.display()
            )));
        }
        return Ok(vec![(input.to_path_buf(), out.to_path_buf())]);
    }
    out_folder(out)?;
    let mut pngs: Vec<PathBuf> = std::fs::read_dir(input)
        .map_err(|e| Error::Config(format!("--translate {}: {e}", input.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x.eq_ignore_ascii_case("png")))
        .collect();
    pngs.sort();
    if pngs.is_empty() {
        return Err(Error::Config(format!(
            "--translate {}: the folder holds no .png files",
            input.display()
        )));
    }
    Ok(pngs
        .into_iter()
        .map(|p| {
            let name = p.file_name().expect("a file").to_owned();
            (p, out.join(name))
        })
        .collect())
}

/// The pictures as one batch of inputs in [−1, 1].
pub fn as_inputs(pictures: &[DigitImage]) -> Vec<f32> {
    pictures
        .iter()
        .flat_map(|p| p.pixels.iter().map(|&v| 2.0 * v - 1.0))
        .collect()
}

/// Writes each translation (`outputs` in [−1, 1], one per picture) where `files` says, in
/// its picture's polarity.
pub fn write_translations(
    files: &[(PathBuf, PathBuf)],
    pictures: &[DigitImage],
    outputs: &[f32],
) -> Result<()> {
    let size = SIDE * SIDE;
    for (i, ((from, to), picture)) in files.iter().zip(pictures).enumerate() {
        let unit: Vec<f32> = outputs[i * size..(i + 1) * size]
            .iter()
            .map(|&v| (v + 1.0) / 2.0)
            .collect();
        save_digit(to, &unit, SIDE, picture.inverted)?;
        println!("{} → {}", from.display(), to.display());
    }
    Ok(())
}

/// The F32 tensor `name` of the safetensors file at `path`, which must hold `count`
/// translations `[count, 1, 28, 28]`.
pub fn read_translations(path: &Path, name: &str, count: usize) -> Result<Vec<f32>> {
    let bytes = std::fs::read(path)
        .map_err(|e| Error::Config(format!("--judge-images {}: {e}", path.display())))?;
    let data_error = |message: String| Error::Data {
        path: path.to_path_buf(),
        message,
    };
    let st =
        safetensors::SafeTensors::deserialize(&bytes).map_err(|e| data_error(e.to_string()))?;
    let view = st
        .tensor(name)
        .map_err(|_| data_error(format!("holds no tensor {name:?}")))?;
    let want = [count, 1, SIDE, SIDE];
    if view.dtype() != safetensors::Dtype::F32 || view.shape() != want {
        return Err(data_error(format!(
            "{name} is {:?} {:?}; it must be F32 {want:?}, one translation per test digit",
            view.dtype(),
            view.shape()
        )));
    }
    Ok(bytemuck::pod_collect_to_vec(view.data()))
}

/// The notes of a checkpoint written by `trainer` (`pix2pix` or `cyclegan`), with the task
/// after `trainer/`; another trainer's checkpoint is refused, naming what it holds.
pub fn trained_task(ckpt: &Checkpoint, path: &Path, trainer: &str) -> Result<(String, Notes)> {
    let notes = Notes(ckpt.notes()?);
    let trained = notes.get(TASK_NOTE);
    match trained.and_then(|t| t.strip_prefix(&format!("{trainer}/"))) {
        Some(task) => Ok((task.to_string(), notes)),
        None => Err(Error::Config(format!(
            "--ckpt {}: not a {trainer} checkpoint ({}); give one written by {trainer}_mnist",
            path.display(),
            match trained {
                Some(t) => format!("it was trained for {t}"),
                None => "it holds no translation task".into(),
            }
        ))),
    }
}

/// A checkpoint's notes.
pub struct Notes(Vec<(String, String)>);

impl Notes {
    /// The note `key`, if kept.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The note `key` as a number, or an error naming the checkpoint.
    pub fn number(&self, key: &str, path: &Path) -> Result<usize> {
        self.get(key)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| Error::Config(format!("--ckpt {}: holds no {key}", path.display())))
    }
}

/// A translation run as the shared training loop drives it.
pub trait Session {
    /// One training step.
    fn step(&mut self) -> Result<()>;
    /// Steps run so far.
    fn steps(&self) -> u64;
    /// The latest metrics in words, once some have reached the CPU.
    fn progress(&self) -> Option<String>;
    /// The test translations judged now, in words; `None` when the run does not judge.
    fn judge(&mut self) -> Option<Result<String>>;
    /// Writes the grid `grid`, the checkpoint, the CSV and the plot.
    fn save(&mut self, grid: &str) -> Result<()>;
}

/// When the loop judges and writes.
pub struct Schedule<'a> {
    /// Steps of the whole run.
    pub steps: usize,
    /// A grid and a checkpoint every this many steps (0: never).
    pub sample_every: usize,
    /// Judging every this many steps (0: never).
    pub eval_every: usize,
    /// A checkpoint every this many minutes too (0: never).
    pub checkpoint_every: f64,
    /// Where the checkpoint goes.
    pub ckpt: &'a Path,
}

/// Trains `session` to `schedule.steps`, judging and writing on schedule. `Finish::Done`
/// when every step ran (the final judging and writing are the caller's), `Interrupted` when
/// a signal stopped it after saving.
pub fn train_loop(
    session: &mut impl Session,
    schedule: &Schedule,
    interrupt: &super::Interrupt,
    bar: &mut super::TrainingBar,
    time: &mut super::Timeline,
) -> Result<super::Finish> {
    let (steps, ckpt) = (schedule.steps, schedule.ckpt);
    let mut cadence = super::Cadence::minutes(schedule.checkpoint_every);
    let every = |n: usize, step: usize| n > 0 && step.is_multiple_of(n) && step < steps;
    while session.steps() < steps as u64 {
        if let Err(e) = session.step() {
            bar.abandon();
            if let Error::Diverged { .. } = e {
                eprintln!("the last good checkpoint is {}", ckpt.display());
            }
            return Err(e);
        }
        bar.update_with(session.steps(), session.progress());
        let step = session.steps() as usize;
        let grid = format!("translations_{step:06}.png");
        if every(schedule.eval_every, step) {
            let t = std::time::Instant::now();
            if let Some(q) = bar.pause(|| time.measuring(|| session.judge())) {
                let secs = t.elapsed().as_secs_f32();
                bar.println(&format!("step {step} ({secs:.0} s): {}", q?));
            }
        }
        if interrupt.requested() {
            bar.abandon();
            time.writing(|| session.save(&grid))?;
            println!("{}", time.summary());
            println!(
                "stopped at step {step} of {steps}: wrote {}; continue with --resume {}",
                ckpt.display(),
                ckpt.display()
            );
            return Ok(super::Finish::Interrupted);
        }
        if every(schedule.sample_every, step) || (cadence.due() && step < steps) {
            bar.pause(|| time.writing(|| session.save(&grid)))?;
            cadence.saved();
        }
    }
    bar.finish(session.steps());
    Ok(super::Finish::Done)
}
