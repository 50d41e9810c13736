//! A training run's output folder and checkpoint: one run per folder, and a run resumed
//! only with the settings it was started with. Checked before anything slow is loaded.

use std::path::Path;

use counterfeit::io::checkpoint::Checkpoint;
use counterfeit::{Error, Result};

/// The checkpoint's file name in the output folder.
pub const CHECKPOINT: &str = "checkpoint.safetensors";

/// Checks `--out`: a file there is an error, and a fresh run (not `resuming`) into a folder
/// that holds another run's checkpoint is refused unless `overwrite`. Creates the folder.
pub fn prepare_out(out: &Path, resuming: bool, overwrite: bool) -> Result<()> {
    out_folder(out)?;
    let ckpt = out.join(CHECKPOINT);
    if !resuming && !overwrite && ckpt.exists() {
        let at = Checkpoint::open(&ckpt)
            .ok()
            .and_then(|c| c.state().ok().flatten())
            .map_or(String::new(), |s| format!(" at step {}", s.iterations));
        return Err(Error::Config(format!(
            "--out {} already holds a run (its checkpoint is{at}): continue it with --resume {}, \
             write this run elsewhere with --out DIR, or replace it with --overwrite",
            out.display(),
            ckpt.display()
        )));
    }
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))
}

/// Errors when `--out` names a file (the folder itself is made when first written to).
pub fn out_folder(out: &Path) -> Result<()> {
    if out.is_file() {
        return Err(Error::Config(format!(
            "--out {}: is a file, not a folder",
            out.display()
        )));
    }
    Ok(())
}

/// Opens the checkpoint of `--resume`, refusing one whose run had other `settings` (flags and
/// their values as this run has them) or that is already at `steps`.
pub fn open_resume(path: &Path, settings: &[(String, String)], steps: u64) -> Result<Checkpoint> {
    open_resume_since(path, settings, steps, &[])
}

/// As [`open_resume`], where `unrecorded` gives the value a flag had in runs from before their
/// checkpoints recorded it (a flag added later whose default is not what they ran).
pub fn open_resume_since(
    path: &Path,
    settings: &[(String, String)],
    steps: u64,
    unrecorded: &[(&str, &str)],
) -> Result<Checkpoint> {
    let flag = |e: Error| Error::Config(format!("--resume {e}"));
    let ckpt = Checkpoint::open(path).map_err(flag)?;
    let at = ckpt
        .state()
        .map_err(flag)?
        .ok_or_else(|| {
            Error::Config(format!(
                "--resume {}: holds networks only, not a run to continue (use it with --sample)",
                path.display()
            ))
        })?
        .iterations as u64;
    let mut notes = ckpt.notes()?;
    for (key, value) in unrecorded {
        if !notes.iter().any(|(k, _)| k == key) {
            notes.push((key.to_string(), value.to_string()));
        }
    }
    for (key, old) in notes {
        if let Some((_, new)) = settings.iter().find(|(k, _)| *k == key) {
            if *new != old {
                return Err(Error::Config(format!(
                    "--resume {}: that run used {key} {old}, this one {key} {new}; give it the \
                     same settings to continue it",
                    path.display()
                )));
            }
        }
    }
    if at >= steps {
        return Err(Error::Config(format!(
            "--resume {}: the run is already at step {at}; ask for more with --steps (above {at})",
            path.display()
        )));
    }
    Ok(ckpt)
}

/// Errors naming `flag` unless `ok`: `what` says what the value must be.
pub fn check_flag(flag: &str, value: impl std::fmt::Display, ok: bool, what: &str) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(Error::Config(format!("{flag} {value}: must be {what}")))
    }
}
