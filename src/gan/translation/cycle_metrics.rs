//! What a CycleGAN run logs each step: both discriminators' losses and outputs, both
//! generators' adversarial losses, and the unweighted L1 of both cycles and identities;
//! written as CSV and plotted.

use std::path::Path;

use super::metrics::{save_rows_csv, save_stacked};
use crate::io::plot::{line_plot_in, Series, YRange, DEFAULT_HEIGHT, DEFAULT_WIDTH};
use crate::step::Row;
use crate::Result;

/// Names of the metric slots, in slot order.
pub(crate) const SLOTS: [&str; 14] = [
    "D_A loss",
    "D_B loss",
    "G_AB adversarial loss",
    "G_BA adversarial loss",
    "cycle A L1",
    "cycle B L1",
    "identity A L1",
    "identity B L1",
    "D_A(a)",
    "D_A(fake a)",
    "D_B(b)",
    "D_B(fake b)",
    "D_A(G_BA(b)) in the G step",
    "D_B(G_AB(a)) in the G step",
];
pub(crate) const D_A: usize = 0;
pub(crate) const D_B: usize = 1;
pub(crate) const G_AB: usize = 2;
pub(crate) const G_BA: usize = 3;
pub(crate) const CYCLE_A: usize = 4;
pub(crate) const CYCLE_B: usize = 5;
pub(crate) const IDENTITY_A: usize = 6;
pub(crate) const IDENTITY_B: usize = 7;
pub(crate) const D_A_REAL: usize = 8;
pub(crate) const D_A_FAKE: usize = 9;
pub(crate) const D_B_REAL: usize = 10;
pub(crate) const D_B_FAKE: usize = 11;
pub(crate) const D_A_FAKE_G: usize = 12;
pub(crate) const D_B_FAKE_G: usize = 13;

/// The CSV's columns after `step`, in slot order.
const COLUMNS: [&str; 14] = [
    "d_a_loss",
    "d_b_loss",
    "g_ab_adversarial",
    "g_ba_adversarial",
    "cycle_a",
    "cycle_b",
    "identity_a",
    "identity_b",
    "d_a_real",
    "d_a_fake",
    "d_b_real",
    "d_b_fake",
    "d_a_fake_g",
    "d_b_fake_g",
];

/// The values logged for one CycleGAN step. A discriminator's loss is its loss on the real
/// batch plus its loss on the (pooled) fakes, each a mean over every patch; its outputs are
/// mean σ(logit) over the patches.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CycleMetrics {
    /// 1-based step number.
    pub step: u64,
    /// The values in slot order: see [`CycleMetrics::names`].
    pub values: [f32; 14],
}

impl CycleMetrics {
    /// What each of `values` is.
    pub fn names() -> &'static [&'static str; 14] {
        &SLOTS
    }

    /// D_A's loss.
    pub fn d_a(&self) -> f32 {
        self.values[D_A]
    }

    /// D_B's loss.
    pub fn d_b(&self) -> f32 {
        self.values[D_B]
    }

    /// G_AB's and G_BA's adversarial losses.
    pub fn g_adversarial(&self) -> (f32, f32) {
        (self.values[G_AB], self.values[G_BA])
    }

    /// mean |G_BA(G_AB(a)) − a| and mean |G_AB(G_BA(b)) − b|.
    pub fn cycles(&self) -> (f32, f32) {
        (self.values[CYCLE_A], self.values[CYCLE_B])
    }

    /// mean |G_BA(a) − a| and mean |G_AB(b) − b|.
    pub fn identities(&self) -> (f32, f32) {
        (self.values[IDENTITY_A], self.values[IDENTITY_B])
    }
}

impl Row for CycleMetrics {
    fn from_slots(step: u64, v: &[f32]) -> Self {
        let mut values = [0.0; 14];
        values.copy_from_slice(&v[..14]);
        CycleMetrics { step, values }
    }

    fn step(&self) -> u64 {
        self.step
    }

    fn slots(&self) -> Vec<f32> {
        self.values.to_vec()
    }
}

/// Writes a row per step (`step,d_a_loss,d_b_loss,g_ab_adversarial,...`), atomically.
pub fn save_cycle_csv(path: &Path, history: &[CycleMetrics]) -> Result<()> {
    save_rows_csv(path, &COLUMNS, history)
}

/// Plots the adversarial losses above the cycles' and identities' L1, atomically.
pub fn save_cycle_plot(path: &Path, title: &str, history: &[CycleMetrics]) -> Result<()> {
    let xs: Vec<f32> = history.iter().map(|m| m.step as f32).collect();
    let col = |i: usize| history.iter().map(|m| m.values[i]).collect::<Vec<f32>>();
    let cols: Vec<Vec<f32>> = (0..SLOTS.len()).map(col).collect();
    let series = |i: usize, color| Series {
        name: SLOTS[i],
        values: &cols[i],
        color,
    };
    let half = DEFAULT_HEIGHT / 2;
    let adversarial = line_plot_in(
        title,
        "step",
        &[
            series(D_A, [200, 40, 40]),
            series(D_B, [230, 150, 20]),
            series(G_AB, [40, 90, 200]),
            series(G_BA, [40, 160, 60]),
        ],
        &xs,
        YRange::Data,
        DEFAULT_WIDTH,
        half,
    )?;
    let l1 = line_plot_in(
        "L1 of the round trips and identities",
        "step",
        &[
            series(CYCLE_A, [120, 40, 160]),
            series(CYCLE_B, [20, 140, 140]),
            series(IDENTITY_A, [170, 90, 30]),
            series(IDENTITY_B, [90, 90, 90]),
        ],
        &xs,
        YRange::Data,
        DEFAULT_WIDTH,
        DEFAULT_HEIGHT - half,
    )?;
    save_stacked(path, &[&adversarial, &l1])
}
