//! The per-step metrics as CSV and as a loss plot, written atomically.

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

/// Plots D loss, G loss, D(x) and D(G(z)) against the step.
pub fn save_loss_plot(path: &Path, title: &str, history: &[StepMetrics]) -> Result<()> {
    let xs: Vec<f32> = history.iter().map(|m| m.step as f32).collect();
    let col = |f: fn(&StepMetrics) -> f32| history.iter().map(f).collect::<Vec<f32>>();
    let (d, g, dx, dgz) = (
        col(|m| m.d_loss),
        col(|m| m.g_loss),
        col(|m| m.d_real),
        col(|m| m.d_fake),
    );
    super::plot::save_line_plot(
        path,
        title,
        "step",
        &[
            super::plot::Series {
                name: "D loss",
                values: &d,
                color: [200, 40, 40],
            },
            super::plot::Series {
                name: "G loss",
                values: &g,
                color: [40, 90, 200],
            },
            super::plot::Series {
                name: "D(x)",
                values: &dx,
                color: [40, 160, 60],
            },
            super::plot::Series {
                name: "D(G(z))",
                values: &dgz,
                color: [230, 150, 20],
            },
        ],
        &xs,
    )
}
