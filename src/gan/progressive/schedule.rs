//! When a progressive run grows: the first stage trains at the lowest resolution, each later
//! one fades its new blocks in and then trains steadily, and the last trains to the end.

use crate::ops::fade::Ramp;
use crate::{Error, Result};

/// The iterations of each part of a progressive run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// Iterations of the first stage, and of each later stage's steady part (the last stage
    /// trains until the run ends).
    pub stage_steps: u64,
    /// Iterations over which each new block fades in.
    pub fade_steps: u64,
}

/// A part of the run over which the networks stay the same: a stage's fade-in or its
/// steady training.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Phase {
    /// The stage: 0 at the lowest resolution.
    pub stage: usize,
    /// Whether the stage's new blocks are fading in.
    pub fading: bool,
    /// The iteration the stage began at.
    pub stage_start: u64,
    /// The iteration the phase ends at (`u64::MAX` for the last).
    pub end: u64,
}

impl Schedule {
    /// Errors unless both parts last at least one iteration.
    pub fn validate(&self) -> Result<()> {
        if self.stage_steps == 0 || self.fade_steps == 0 {
            return Err(Error::Config(format!(
                "a progressive schedule needs at least one step per stage and per fade-in, got {self:?}"
            )));
        }
        Ok(())
    }

    /// The iteration stage `k` begins at.
    pub fn stage_start(&self, k: usize) -> u64 {
        match k {
            0 => 0,
            k => self.stage_steps + (k as u64 - 1) * (self.fade_steps + self.stage_steps),
        }
    }

    /// Iterations until the last of `stages` stages has faded in.
    pub fn grown_after(&self, stages: usize) -> u64 {
        match stages {
            0 | 1 => 0,
            n => self.stage_start(n - 1) + self.fade_steps,
        }
    }

    /// The phase that runs iteration `t` (0-based) of a run of `stages` stages.
    pub fn phase_at(&self, stages: usize, t: u64) -> Phase {
        let mut stage = 0;
        while stage + 1 < stages && self.stage_start(stage + 1) <= t {
            stage += 1;
        }
        let start = self.stage_start(stage);
        let fading = stage > 0 && t < start + self.fade_steps;
        let end = if fading {
            start + self.fade_steps
        } else if stage + 1 < stages {
            self.stage_start(stage + 1)
        } else {
            u64::MAX
        };
        Phase {
            stage,
            fading,
            stage_start: start,
            end,
        }
    }
}

impl Phase {
    /// The fade-in's α ramp while fading.
    pub fn ramp(&self, schedule: &Schedule) -> Option<Ramp> {
        self.fading.then_some(Ramp {
            start: self.stage_start as u32,
            steps: schedule.fade_steps as u32,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_follow_each_other() {
        let s = Schedule {
            stage_steps: 10,
            fade_steps: 4,
        };
        let at = |t| s.phase_at(3, t);
        assert_eq!((at(0).stage, at(0).fading, at(0).end), (0, false, 10));
        assert_eq!((at(9).stage, at(10).stage, at(10).fading), (0, 1, true));
        assert_eq!(
            (at(13).fading, at(14).fading, at(14).end),
            (true, false, 24)
        );
        assert_eq!(
            (at(24).stage, at(24).fading, at(27).fading),
            (2, true, true)
        );
        assert_eq!(
            (at(28).stage, at(28).fading, at(28).end),
            (2, false, u64::MAX)
        );
        assert_eq!(s.phase_at(3, 1_000_000).stage, 2);
        assert_eq!(s.phase_at(1, 1_000).stage, 0);
        assert_eq!(s.grown_after(3), 28);
        let ramp = at(25).ramp(&s).unwrap();
        assert_eq!((ramp.start, ramp.steps), (24, 4));
        assert_eq!(
            (ramp.alpha(24), ramp.alpha(26), ramp.alpha(28)),
            (0.0, 0.5, 1.0)
        );
    }
}
