//! Where a run's wall time went: start-up with the first step, the training steps, the
//! quality measurements and writing files (grids, plots, CSV, checkpoints), said at the end
//! of every training example.

use std::time::{Duration, Instant};

use super::pace::duration;

/// The clock of a run, split by activity as it goes.
pub struct Timeline {
    launched: Instant,
    first_step: Option<Duration>,
    measuring: Duration,
    writing: Duration,
}

impl Timeline {
    /// A run that started (the process, not its first step) at `launched`.
    pub fn new(launched: Instant) -> Timeline {
        Timeline {
            launched,
            first_step: None,
            measuring: Duration::ZERO,
            writing: Duration::ZERO,
        }
    }

    /// Marks the end of the first step: everything before it is start-up.
    pub fn first_step_done(&mut self) {
        self.first_step.get_or_insert(self.launched.elapsed());
    }

    /// Runs `work`, counted as measuring sample quality.
    pub fn measuring<T>(&mut self, work: impl FnOnce() -> T) -> T {
        let t = Instant::now();
        let out = work();
        self.measuring += t.elapsed();
        out
    }

    /// Runs `work`, counted as writing files.
    pub fn writing<T>(&mut self, work: impl FnOnce() -> T) -> T {
        let t = Instant::now();
        let out = work();
        self.writing += t.elapsed();
        out
    }

    /// One line: the whole time and each part's share of it.
    pub fn summary(&self) -> String {
        split(
            self.launched.elapsed(),
            self.first_step.unwrap_or_default(),
            self.measuring,
            self.writing,
        )
    }
}

/// The line [`Timeline::summary`] prints for a run of `total` whose start-up and first step
/// took `first`; the training steps are what the other parts leave.
pub fn split(total: Duration, first: Duration, measuring: Duration, writing: Duration) -> String {
    let total_s = total.as_secs_f32().max(1e-6);
    let steps = total.saturating_sub(first + measuring + writing);
    let part = |d: Duration| {
        let s = d.as_secs_f32();
        format!("{} ({:.0} %)", duration(s), 100.0 * s / total_s)
    };
    format!(
        "time {}: start-up and first step {}, steps {}, measurements {}, writing {}",
        duration(total_s),
        part(first),
        part(steps),
        part(measuring),
        part(writing)
    )
}
