//! The per-step metrics as CSV, written atomically.

use std::fmt::Write as _;
use std::path::Path;

use crate::{Error, Result, StepMetrics};

/// Writes `step,d_loss,g_loss,d_real,d_fake,d_fake_g` rows.
pub fn save_csv(path: &Path, history: &[StepMetrics]) -> Result<()> {
    let mut s = String::from("step,d_loss,g_loss,d_real,d_fake,d_fake_g\n");
    for m in history {
        let _ = writeln!(
            s,
            "{},{},{},{},{},{}",
            m.step, m.d_loss, m.g_loss, m.d_real, m.d_fake, m.d_fake_g
        );
    }
    let tmp = path.with_extension("csv.tmp");
    std::fs::write(&tmp, s).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}
