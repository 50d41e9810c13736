//! The per-step metrics as CSV and as a loss plot, written atomically, with the sample-quality
//! figures measured along the way.

use std::fmt::Write as _;
use std::path::Path;

use image::{GenericImage, Rgb, RgbImage};

use super::plot::{line_plot, Series, DEFAULT_HEIGHT, DEFAULT_WIDTH};
pub use crate::metrics::QualityPoint;
use crate::{Error, Result, StepMetrics};

/// Writes `step,d_loss,g_loss,d_real,d_fake,d_fake_g,fid,score,classes_covered,eval_n`
/// rows; the last four are filled on the steps where sample quality was measured.
pub fn save_csv(path: &Path, history: &[StepMetrics], quality: &[QualityPoint]) -> Result<()> {
    let mut s = String::from(
        "step,d_loss,g_loss,d_real,d_fake,d_fake_g,fid,score,classes_covered,eval_n\n",
    );
    for m in history {
        let _ = write!(
            s,
            "{},{},{},{},{},{}",
            m.step, m.d_loss, m.g_loss, m.d_real, m.d_fake, m.d_fake_g
        );
        match quality.iter().rev().find(|q| q.step == m.step) {
            Some(q) => {
                let _ = writeln!(
                    s,
                    ",{:.4},{:.4},{},{}",
                    q.fid, q.score, q.classes_covered, q.n
                );
            }
            None => s.push_str(",,,,\n"),
        }
    }
    super::atomic::write_atomic(path, s.as_bytes())
}

/// Plots D loss, G loss, D(x) and D(G(z)) against the step; below them, when sample quality
/// was measured, FID and the Inception-style score.
pub fn save_loss_plot(
    path: &Path,
    title: &str,
    history: &[StepMetrics],
    quality: &[QualityPoint],
) -> Result<()> {
    let xs: Vec<f32> = history.iter().map(|m| m.step as f32).collect();
    let col = |f: fn(&StepMetrics) -> f32| history.iter().map(f).collect::<Vec<f32>>();
    let (d, g, dx, dgz) = (
        col(|m| m.d_loss),
        col(|m| m.g_loss),
        col(|m| m.d_real),
        col(|m| m.d_fake),
    );
    let losses = line_plot(
        title,
        "step",
        &[
            Series {
                name: "D loss",
                values: &d,
                color: [200, 40, 40],
            },
            Series {
                name: "G loss",
                values: &g,
                color: [40, 90, 200],
            },
            Series {
                name: "D(x)",
                values: &dx,
                color: [40, 160, 60],
            },
            Series {
                name: "D(G(z))",
                values: &dgz,
                color: [230, 150, 20],
            },
        ],
        &xs,
        DEFAULT_WIDTH,
        DEFAULT_HEIGHT,
    )?;
    let img = if quality.is_empty() {
        losses
    } else {
        let qx: Vec<f32> = quality.iter().map(|q| q.step as f32).collect();
        let fid: Vec<f32> = quality.iter().map(|q| q.fid as f32).collect();
        let score: Vec<f32> = quality.iter().map(|q| q.score as f32).collect();
        let half = DEFAULT_WIDTH / 2;
        let panel = |name: &str, values: &[f32], color: [u8; 3]| {
            line_plot(
                &format!("{name} (N = {})", quality[quality.len() - 1].n),
                "step",
                &[Series {
                    name,
                    values,
                    color,
                }],
                &qx,
                half,
                DEFAULT_HEIGHT / 2,
            )
        };
        let mut all = RgbImage::from_pixel(
            DEFAULT_WIDTH,
            DEFAULT_HEIGHT + DEFAULT_HEIGHT / 2,
            Rgb([255, 255, 255]),
        );
        let place = |all: &mut RgbImage, img: &RgbImage, x: u32, y: u32| {
            all.copy_from(img, x, y).map_err(|e| Error::Image {
                path: path.to_path_buf(),
                message: e.to_string(),
            })
        };
        place(&mut all, &losses, 0, 0)?;
        place(
            &mut all,
            &panel("FID", &fid, [120, 40, 160])?,
            0,
            DEFAULT_HEIGHT,
        )?;
        place(
            &mut all,
            &panel("score", &score, [20, 140, 140])?,
            half,
            DEFAULT_HEIGHT,
        )?;
        all
    };
    super::grid::write_png_atomic(
        path,
        img.as_raw(),
        img.width(),
        img.height(),
        image::ExtendedColorType::Rgb8,
    )
}
