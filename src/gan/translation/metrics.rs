//! What a pix2pix run logs each step: D's loss and outputs, G's adversarial loss and its L1
//! distance to the targets; written as CSV and plotted.

use std::fmt::Write as _;
use std::path::Path;

use crate::io::plot::{line_plot_in, Series, YRange, DEFAULT_HEIGHT, DEFAULT_WIDTH};
use crate::step::Row;
use crate::{Error, Result};

/// Names of the metric slots, in slot order.
pub(crate) const SLOTS: [&str; 6] = [
    "D loss",
    "G adversarial loss",
    "L1",
    "D(x, y)",
    "D(x, G(x)) in the D step",
    "D(x, G(x)) in the G step",
];
pub(crate) const D_LOSS: usize = 0;
pub(crate) const G_ADV: usize = 1;
pub(crate) const L1: usize = 2;
pub(crate) const D_REAL: usize = 3;
pub(crate) const D_FAKE: usize = 4;
pub(crate) const D_FAKE_G: usize = 5;

/// The values logged for one pix2pix step (D's are 0 for the L1-only baseline).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pix2PixMetrics {
    /// 1-based step number.
    pub step: u64,
    /// D's loss on the real pairs plus its loss on the fake pairs, each the mean over every
    /// patch's logit.
    pub d_loss: f32,
    /// G's adversarial loss, the mean over every patch.
    pub g_adversarial: f32,
    /// mean |G(x) − y| over the batch's pixels, unweighted (G's loss adds λ times it).
    pub l1: f32,
    /// Mean σ(logit) over the real pairs' patches.
    pub d_real: f32,
    /// Mean σ(logit) over the fake pairs' patches in D's step.
    pub d_fake: f32,
    /// The same in G's step, after D's update.
    pub d_fake_g: f32,
}

impl Row for Pix2PixMetrics {
    fn from_slots(step: u64, v: &[f32]) -> Self {
        Pix2PixMetrics {
            step,
            d_loss: v[D_LOSS],
            g_adversarial: v[G_ADV],
            l1: v[L1],
            d_real: v[D_REAL],
            d_fake: v[D_FAKE],
            d_fake_g: v[D_FAKE_G],
        }
    }

    fn step(&self) -> u64 {
        self.step
    }

    fn slots(&self) -> Vec<f32> {
        vec![
            self.d_loss,
            self.g_adversarial,
            self.l1,
            self.d_real,
            self.d_fake,
            self.d_fake_g,
        ]
    }
}

/// Writes `step,d_loss,g_adversarial,l1,d_real,d_fake,d_fake_g` rows, atomically.
pub fn save_csv(path: &Path, history: &[Pix2PixMetrics]) -> Result<()> {
    let columns = [
        "d_loss",
        "g_adversarial",
        "l1",
        "d_real",
        "d_fake",
        "d_fake_g",
    ];
    save_rows_csv(path, &columns, history)
}

/// Writes a header of `step` and `columns`, then each row's step and slots, atomically.
pub(crate) fn save_rows_csv<M: Row>(path: &Path, columns: &[&str], rows: &[M]) -> Result<()> {
    let mut s = format!("step,{}\n", columns.join(","));
    for m in rows {
        let _ = write!(s, "{}", m.step());
        for v in m.slots() {
            let _ = write!(s, ",{v}");
        }
        s.push('\n');
    }
    crate::io::atomic::write_atomic(path, s.as_bytes())
}

/// Plots the losses (D's, G's adversarial one and the L1 distance, on one axis) above D's
/// outputs (0 to 1), atomically.
pub fn save_plot(path: &Path, title: &str, history: &[Pix2PixMetrics]) -> Result<()> {
    let xs: Vec<f32> = history.iter().map(|m| m.step as f32).collect();
    let col = |f: fn(&Pix2PixMetrics) -> f32| history.iter().map(f).collect::<Vec<f32>>();
    let (d, g, l1, dx, dgx) = (
        col(|m| m.d_loss),
        col(|m| m.g_adversarial),
        col(|m| m.l1),
        col(|m| m.d_real),
        col(|m| m.d_fake),
    );
    let top = DEFAULT_HEIGHT * 3 / 5;
    let series = |name, values, color| Series {
        name,
        values,
        color,
    };
    let losses = line_plot_in(
        title,
        "step",
        &[
            series("D loss", &d, [200, 40, 40]),
            series("G adversarial loss", &g, [40, 90, 200]),
            series("L1 to the target", &l1, [20, 140, 140]),
        ],
        &xs,
        YRange::Data,
        DEFAULT_WIDTH,
        top,
    )?;
    let outputs = line_plot_in(
        "D's outputs",
        "step",
        &[
            series("D(x, y)", &dx, [40, 160, 60]),
            series("D(x, G(x))", &dgx, [230, 150, 20]),
        ],
        &xs,
        YRange::Fixed(0.0, 1.0),
        DEFAULT_WIDTH,
        DEFAULT_HEIGHT - top,
    )?;
    save_stacked(path, &[&losses, &outputs])
}

/// Writes `panels` one above the other (each as wide as the first) as a PNG, atomically.
pub(crate) fn save_stacked(path: &Path, panels: &[&image::RgbImage]) -> Result<()> {
    let width = panels.first().map_or(1, |p| p.width());
    let height = panels.iter().map(|p| p.height()).sum();
    let mut all = image::RgbImage::new(width, height);
    let mut y = 0;
    for img in panels {
        image::GenericImage::copy_from(&mut all, *img, 0, y).map_err(|e| Error::Image {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        y += img.height();
    }
    crate::io::grid::write_png_atomic(
        path,
        all.as_raw(),
        all.width(),
        all.height(),
        image::ExtendedColorType::Rgb8,
    )
}
