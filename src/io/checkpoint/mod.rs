//! Checkpoints in the safetensors format: every parameter of each network (with Adam or
//! momentum state) under `<net>.<i>`, `<net>.m1.<i>`, `<net>.m2.<i>`, batch norm's running
//! statistics under `<net>.bn<layer>.mean|var`, spectral normalisation's power-iteration vectors
//! under `<net>.sn<layer>.u|v`, networks kept without moments (the moving
//! average of G's weights, `G_ema`), named f32 tensors (the replay buffer), the step counter, the per-step metrics
//! logged so far (`history`, so a resumed run's CSV and plot cover the whole run), the sample
//! quality measured along the run (`quality`, with `quality_swd` when the SWD was), and the
//! models' layer lists as metadata so a checkpoint is never loaded into the wrong model.
//! Writes are atomic (a temporary file flushed to the disk, then a rename), and create
//! missing folders.

mod read;
mod write;

pub use read::Checkpoint;
pub use write::{save, save_weights};
pub(crate) use write::{save_with, Extras};

use crate::Network;

const FORMAT: &str = "counterfeit-checkpoint-1";

fn describe(net: &Network) -> String {
    net.model().describe()
}

/// Columns of the `quality` tensor: step, n, FID, score, classes covered.
const QUALITY_COLS: usize = 5;

/// The `quality_swd` tensor, written beside `quality` when some point has the SWD: one row per
/// point, its SWD per pyramid level (NaN where not measured). A tensor of its own, so that
/// checkpoints without it (from before the SWD was measured) still load, and this version's
/// checkpoints still load in versions that do not know it.
const QUALITY_SWD: &str = "quality_swd";

/// The `history` tensor holds a row per step: the step (exact in f32 below 2^24), then the
/// trainer's metric slots (five for a GAN's [`StepMetrics`]).
const HISTORY: &str = "history";

/// Metadata keys of the notes start with this.
const NOTE: &str = "note.";
