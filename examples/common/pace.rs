//! The pace of a training loop: a steady estimate of the time left, durations as people say
//! them, and when to print a plain progress line where no bar can be drawn.

use std::collections::VecDeque;

/// The speed is measured over at least this many recent seconds, so the estimate neither
/// jumps with each step's jitter nor lags far behind a real change of speed.
const WINDOW_SECONDS: f32 = 20.0;
/// Steps this process must have run before the time left is estimated.
const MIN_STEPS: u64 = 3;

/// Steps per second over a sliding window of recent `(step, seconds)` readings. Only steps
/// recorded here count, so a resumed run's earlier steps do not make it look fast.
pub struct Pace {
    readings: VecDeque<(u64, f32)>,
    first: u64,
}

impl Pace {
    /// A pace that starts at `step` at time 0.
    pub fn new(step: u64) -> Pace {
        Pace {
            readings: VecDeque::from([(step, 0.0)]),
            first: step,
        }
    }

    /// Notes that `step` was reached `seconds` after the start.
    pub fn record(&mut self, step: u64, seconds: f32) {
        self.readings.push_back((step, seconds));
        // Keep the newest reading that is at least a window old as the window's start.
        while self.readings.len() > 2 && self.readings[1].1 <= seconds - WINDOW_SECONDS {
            self.readings.pop_front();
        }
    }

    /// Seconds per step over the window, once [`MIN_STEPS`] steps have been recorded.
    pub fn seconds_per_step(&self) -> Option<f32> {
        let (&(s0, t0), &(s1, t1)) = (self.readings.front()?, self.readings.back()?);
        (s1 >= self.first + MIN_STEPS && s1 > s0 && t1 > t0).then(|| (t1 - t0) / (s1 - s0) as f32)
    }

    /// Seconds until `last` is reached at the window's speed.
    pub fn seconds_left(&self, last: u64) -> Option<f32> {
        let (step, _) = *self.readings.back()?;
        Some(self.seconds_per_step()? * last.saturating_sub(step) as f32)
    }
}

/// A duration as people say it: "45 s", "4 min 10 s", "25 min", "2 h 05 min".
pub fn duration(seconds: f32) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s} s"),
        60..600 => format!("{} min {} s", s / 60, s % 60),
        _ => {
            let m = (s + 30) / 60;
            if m < 60 {
                format!("{m} min")
            } else {
                format!("{} h {:02} min", m / 60, m % 60)
            }
        }
    }
}

/// When a plain progress line is due: every `every_steps` steps or every `every_seconds`,
/// whichever comes first.
pub struct Cadence {
    every_steps: u64,
    every_seconds: f32,
    last_step: u64,
    last_seconds: f32,
}

impl Cadence {
    /// About twenty lines over `first..last`, and one at least every `every_seconds`.
    pub fn new(first: u64, last: u64, every_seconds: f32) -> Cadence {
        Cadence {
            every_steps: last.saturating_sub(first).div_ceil(20).max(1),
            every_seconds,
            last_step: first,
            last_seconds: 0.0,
        }
    }

    /// Whether a line is due at `step`, `seconds` after the start; if so, the next one is
    /// counted from here.
    pub fn due(&mut self, step: u64, seconds: f32) -> bool {
        let due = step >= self.last_step + self.every_steps
            || (step > self.last_step && seconds >= self.last_seconds + self.every_seconds);
        if due {
            (self.last_step, self.last_seconds) = (step, seconds);
        }
        due
    }
}
