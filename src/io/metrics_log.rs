//! The per-step metrics as CSV and as a loss plot, written atomically, with the sample-quality
//! figures measured along the way.

use std::fmt::Write as _;
use std::path::Path;

use image::{GenericImage, Rgb, RgbImage};

use super::plot::{
    line_plot, line_plot_marked, text_panel, Mark, Series, YRange, DEFAULT_HEIGHT, DEFAULT_WIDTH,
};
pub use crate::metrics::QualityPoint;
use crate::{Error, Result, StepMetrics};

/// Writes `step,d_loss,g_loss,d_real,d_fake,d_fake_g,fid,score,classes_covered,eval_n,swd,
/// swd_28px,swd_14px,swd_7px,d_penalty,d_grad_norm` rows; the columns from `fid` to `swd_7px`
/// are filled on the steps where sample quality was measured (`swd`, the mean of the three
/// levels, and the levels only where the SWD was); the last two are D's gradient penalty and
/// input-gradient norm (0 without a penalty).
pub fn save_csv(path: &Path, history: &[StepMetrics], quality: &[QualityPoint]) -> Result<()> {
    let mut s = String::from(
        "step,d_loss,g_loss,d_real,d_fake,d_fake_g,fid,score,classes_covered,eval_n,swd,swd_28px,swd_14px,swd_7px,d_penalty,d_grad_norm\n",
    );
    for m in history {
        let _ = write!(
            s,
            "{},{},{},{},{},{}",
            m.step, m.d_loss, m.g_loss, m.d_real, m.d_fake, m.d_fake_g
        );
        match quality.iter().rev().find(|q| q.step == m.step) {
            Some(q) => {
                let _ = write!(
                    s,
                    ",{:.4},{:.4},{},{}",
                    q.fid, q.score, q.classes_covered, q.n
                );
                match (q.swd_mean(), q.swd) {
                    (Some(mean), Some([a, b, c])) => {
                        let _ = write!(s, ",{mean:.4},{a:.4},{b:.4},{c:.4}");
                    }
                    _ => s.push_str(",,,,"),
                }
            }
            None => s.push_str(",,,,,,,,"),
        }
        let _ = writeln!(s, ",{},{}", m.penalty, m.grad_norm);
    }
    super::atomic::write_atomic(path, s.as_bytes())
}

/// Colours of the quality curves.
const FID_COLOR: [u8; 3] = [120, 40, 160];
const SCORE_COLOR: [u8; 3] = [20, 140, 140];
const SWD_COLOR: [u8; 3] = [170, 90, 30];

/// Height of the losses' panel; D's probabilities fill the rest of [`DEFAULT_HEIGHT`] below.
const LOSSES_HEIGHT: u32 = DEFAULT_HEIGHT * 3 / 5;

/// Plots D and G loss against the step and, below them on an axis of their own from 0 to 1,
/// D(x) and D(G(z)); below those, when sample quality was measured, FID, the Inception-style
/// score and, when it was measured, the SWD's mean over its levels ×10³ (each as a number when
/// measured once). The picture is [`DEFAULT_WIDTH`]x[`DEFAULT_HEIGHT`], half as tall again
/// with the quality panels.
pub fn save_loss_plot(
    path: &Path,
    title: &str,
    history: &[StepMetrics],
    quality: &[QualityPoint],
) -> Result<()> {
    save_loss_plot_marked(path, title, history, quality, &[])
}

/// [`save_loss_plot`] with `marks` (e.g. where a growing network's stages begin) across the
/// losses' and D's outputs' panels.
pub fn save_loss_plot_marked(
    path: &Path,
    title: &str,
    history: &[StepMetrics],
    quality: &[QualityPoint],
    marks: &[Mark],
) -> Result<()> {
    let xs: Vec<f32> = history.iter().map(|m| m.step as f32).collect();
    let col = |f: fn(&StepMetrics) -> f32| history.iter().map(f).collect::<Vec<f32>>();
    let (d, g, dx, dgz) = (
        col(|m| m.d_loss),
        col(|m| m.g_loss),
        col(|m| m.d_real),
        col(|m| m.d_fake),
    );
    let losses = line_plot_marked(
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
        ],
        &xs,
        YRange::Data,
        marks,
        DEFAULT_WIDTH,
        LOSSES_HEIGHT,
    )?;
    let probabilities = line_plot_marked(
        "D's outputs",
        "step",
        &[
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
        YRange::Fixed(0.0, 1.0),
        marks,
        DEFAULT_WIDTH,
        DEFAULT_HEIGHT - LOSSES_HEIGHT,
    )?;
    let height = DEFAULT_HEIGHT
        + if quality.is_empty() {
            0
        } else {
            DEFAULT_HEIGHT / 2
        };
    let mut all = RgbImage::from_pixel(DEFAULT_WIDTH, height, Rgb([255, 255, 255]));
    let place = |all: &mut RgbImage, img: &RgbImage, x: u32, y: u32| {
        all.copy_from(img, x, y).map_err(|e| Error::Image {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    };
    place(&mut all, &losses, 0, 0)?;
    place(&mut all, &probabilities, 0, LOSSES_HEIGHT)?;
    if let Some(last) = quality.last() {
        // The SWD's panel only where some point has it (runs from before it have none); its
        // curve joins the points that have it.
        let with_swd: Vec<&QualityPoint> = quality.iter().filter(|q| q.swd.is_some()).collect();
        let panels = if with_swd.is_empty() { 2 } else { 3 };
        let (w, h) = (DEFAULT_WIDTH / panels, DEFAULT_HEIGHT / 2);
        let panel = |name: &str, points: &[&QualityPoint], f: fn(&QualityPoint) -> f64, color| {
            let last = points.last().copied().unwrap_or(last);
            // Runs measure on fewer samples along the way than at the end: say both (short
            // enough for a third of the plot's width).
            let title = match points.first() {
                Some(first) if first.n != last.n => format!("{name} (N {}/{})", first.n, last.n),
                _ => format!("{name} (N = {})", last.n),
            };
            let values: Vec<f32> = points.iter().map(|q| f(q) as f32).collect();
            if let [value] = values[..] {
                let at = format!("at step {}", last.step);
                return text_panel(&title, &format!("{value:.2}"), &at, w, h);
            }
            let qx: Vec<f32> = points.iter().map(|q| q.step as f32).collect();
            let series = [Series {
                name,
                values: &values,
                color,
            }];
            line_plot(&title, "step", &series, &qx, w, h)
        };
        let all_points: Vec<&QualityPoint> = quality.iter().collect();
        place(
            &mut all,
            &panel("FID", &all_points, |q| q.fid, FID_COLOR)?,
            0,
            DEFAULT_HEIGHT,
        )?;
        place(
            &mut all,
            &panel("score", &all_points, |q| q.score, SCORE_COLOR)?,
            w,
            DEFAULT_HEIGHT,
        )?;
        if !with_swd.is_empty() {
            let swd = |q: &QualityPoint| q.swd_mean().unwrap_or(f64::NAN);
            place(
                &mut all,
                &panel("SWD", &with_swd, swd, SWD_COLOR)?,
                2 * w,
                DEFAULT_HEIGHT,
            )?;
        }
    }
    super::grid::write_png_atomic(
        path,
        all.as_raw(),
        all.width(),
        all.height(),
        image::ExtendedColorType::Rgb8,
    )
}
