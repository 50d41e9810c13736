//! The progress of a training loop: a bar on a terminal, plain lines in a log.

use std::io::IsTerminal;
use std::time::Instant;

use counterfeit::gan::StepMetrics;
use counterfeit::Gpu;
use indicatif::{ProgressBar, ProgressStyle};

use super::pace::{duration, Cadence, Pace};

/// Where stderr is not a terminal (piped, redirected, under nohup) the bar is not drawn, so a
/// plain line is printed instead at least this often.
const PLAIN_EVERY_SECONDS: f32 = 30.0;
/// The note on a CPU adapter's pace waits this long: steps are queued ahead of the GPU (up
/// to a few readbacks' worth), so early step counts run ahead of the work done, and the
/// pace's window must start after the queue has filled to give the steady speed.
const NOTE_AFTER_SECONDS: f32 = 45.0;

/// A progress bar over training steps that shows the losses, the speed and the time left.
/// The speed leaves out the steps before `first` (start-up, or a resumed run's) and the time
/// spent in [`TrainingBar::pause`]; on an adapter that runs shaders on the CPU it says once
/// the speed has settled how long the rest will take. When stderr is not a terminal the same
/// figures go to stderr as plain lines every so many steps or seconds.
pub struct TrainingBar {
    bar: ProgressBar,
    adapter: Option<String>,
    steps: u64,
    first: u64,
    batch: usize,
    timer: Instant,
    paused: f32,
    pace: Pace,
    /// The latest metrics as text, kept for updates that bring none.
    losses: String,
    /// Set when plain lines stand in for the bar.
    plain: Option<Cadence>,
    /// Where a growing run stands (stage, fade), shown before the losses.
    stage: String,
    /// Nothing is drawn or printed (a data-parallel run's ranks other than 0).
    silent: bool,
}

impl TrainingBar {
    /// A bar for steps `first..steps` of `batch` images each, standing at `first`.
    pub fn new(gpu: &Gpu, steps: u64, first: u64, batch: usize) -> TrainingBar {
        let bar = ProgressBar::new(steps);
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len}  {msg}").expect("valid template"),
        );
        bar.set_position(first);
        let plain = (!std::io::stderr().is_terminal())
            .then(|| Cadence::new(first, steps, PLAIN_EVERY_SECONDS));
        TrainingBar {
            bar,
            adapter: gpu.is_cpu().then(|| gpu.info().name.clone()),
            steps,
            first,
            batch,
            timer: Instant::now(),
            paused: 0.0,
            pace: Pace::new(first),
            losses: String::new(),
            plain,
            stage: String::new(),
            silent: false,
        }
    }

    /// The same bar, drawing and printing nothing: for ranks other than 0, whose progress is
    /// rank 0's.
    pub fn silent(mut self) -> TrainingBar {
        self.bar
            .set_draw_target(indicatif::ProgressDrawTarget::hidden());
        self.adapter = None;
        self.plain = None;
        self.silent = true;
        self
    }

    /// Shows `stage` (e.g. a growing run's resolution and fade-in) before the losses.
    pub fn set_stage(&mut self, stage: String) {
        self.stage = stage;
    }

    /// Training seconds since the bar started, paused time left out.
    pub fn seconds(&self) -> f32 {
        (self.timer.elapsed().as_secs_f32() - self.paused).max(1e-6)
    }

    /// Moves the bar to `step` and shows the latest metrics, the speed and the time left.
    pub fn update(&mut self, step: u64, metrics: Option<&StepMetrics>) {
        let line = metrics.map(|m| {
            format!(
                "D {:.3} G {:.3} D(x) {:.2} D(G(z)) {:.2}",
                m.d_loss, m.g_loss, m.d_real, m.d_fake
            )
        });
        self.update_with(step, line);
    }

    /// [`TrainingBar::update`] for any trainer: `losses` is its latest metrics in words.
    pub fn update_with(&mut self, step: u64, losses: Option<String>) {
        let done = step.saturating_sub(self.first) as f32;
        let secs = self.seconds();
        self.pace.record(step, secs);
        if let (true, Some(per_step)) = (
            done >= 5.0 && secs >= NOTE_AFTER_SECONDS,
            self.pace.seconds_per_step(),
        ) {
            if let Some(name) = self.adapter.take() {
                let left = self.steps.saturating_sub(step);
                self.println(&format!(
                    "note: {name} runs shaders on the CPU: about {per_step:.2} s/step, so the \
                     remaining {left} steps take ~{}. Use --steps to shorten.",
                    duration(per_step * left as f32)
                ));
            }
        }
        if let Some(line) = losses {
            self.losses = line;
        }
        // The first steps are queued faster than they run: no speed until the pace has one.
        let pace = self
            .pace
            .seconds_per_step()
            .zip(self.pace.seconds_left(self.steps));
        let (speed, per_step, left) = match pace {
            Some((per_step, left)) => (
                format!("{:.0} img/s", self.batch as f32 / per_step),
                format!(" ({per_step:.2} s/step)"),
                format!("{} left", duration(left)),
            ),
            None => (
                "measuring speed".into(),
                String::new(),
                "time left unknown".into(),
            ),
        };
        // The metrics reach the CPU a few steps late: nothing to show before that.
        let losses = match self.losses.as_str() {
            "" => String::new(),
            l => format!("{l}  "),
        };
        let losses = match self.stage.as_str() {
            "" => losses,
            s => format!("{s}  {losses}"),
        };
        let wall = self.timer.elapsed().as_secs_f32();
        self.bar
            .set_message(format!("{losses}{speed}  [{}, {left}]", duration(wall)));
        self.bar.set_position(step);
        if self.plain.as_mut().is_some_and(|c| c.due(step, wall)) {
            eprintln!(
                "step {step}/{}  {losses}{speed}{per_step}  {left}",
                self.steps
            );
        }
    }

    /// Runs `work` (a measurement, say) outside the speed's clock.
    pub fn pause<T>(&mut self, work: impl FnOnce() -> T) -> T {
        let t = Instant::now();
        let out = work();
        self.paused += t.elapsed().as_secs_f32();
        out
    }

    /// Prints a line above the bar.
    pub fn println(&self, line: &str) {
        if self.silent {
            return;
        }
        self.bar.suspend(|| println!("{line}"));
    }

    /// Leaves the bar where it stopped (before an error is returned).
    pub fn abandon(&self) {
        self.bar.abandon();
    }

    /// Completes the bar at `step` and prints the speed of the steps after `first`.
    pub fn finish(&self, step: u64) {
        self.bar.finish();
        let timed = step.saturating_sub(self.first);
        if timed > 0 && !self.silent {
            let secs = self.seconds();
            println!(
                "steps {}–{step} in {secs:.1} s ({:.3} s/step, {:.0} img/s)",
                self.first + 1,
                secs / timed as f32,
                (timed as usize * self.batch) as f32 / secs
            );
        }
    }
}
