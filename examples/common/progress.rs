//! The progress bar of a training loop.

use std::time::Instant;

use counterfeit::gan::StepMetrics;
use counterfeit::Gpu;
use indicatif::{ProgressBar, ProgressStyle};

/// A progress bar over training steps that shows the losses and the speed. The speed leaves
/// out the steps before `first` (start-up, or a resumed run's) and the time spent in
/// [`TrainingBar::pause`]; on an adapter that runs shaders on the CPU it says after a few
/// steps how long the rest will take.
pub struct TrainingBar {
    bar: ProgressBar,
    adapter: Option<String>,
    steps: u64,
    first: u64,
    batch: usize,
    timer: Instant,
    paused: f32,
}

impl TrainingBar {
    /// A bar for steps `first..steps` of `batch` images each, standing at `first`.
    pub fn new(gpu: &Gpu, steps: u64, first: u64, batch: usize) -> TrainingBar {
        let bar = ProgressBar::new(steps);
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len}  {msg}  [{elapsed} < {eta}]")
                .expect("valid template"),
        );
        bar.set_position(first);
        TrainingBar {
            bar,
            adapter: gpu.is_cpu().then(|| gpu.info().name.clone()),
            steps,
            first,
            batch,
            timer: Instant::now(),
            paused: 0.0,
        }
    }

    /// Training seconds since the bar started, paused time left out.
    pub fn seconds(&self) -> f32 {
        (self.timer.elapsed().as_secs_f32() - self.paused).max(1e-6)
    }

    /// Moves the bar to `step` and shows the latest metrics and the speed.
    pub fn update(&mut self, step: u64, metrics: Option<&StepMetrics>) {
        let done = step.saturating_sub(self.first) as f32;
        let secs = self.seconds();
        if done >= 5.0 {
            if let Some(name) = self.adapter.take() {
                let left = self.steps.saturating_sub(step);
                let per_step = secs / done;
                self.println(&format!(
                    "note: {name} runs shaders on the CPU: about {per_step:.1} s/step, so the \
                     remaining {left} steps take ~{:.0} min. Use --steps to shorten.",
                    per_step * left as f32 / 60.0
                ));
            }
        }
        if let Some(m) = metrics {
            self.bar.set_message(format!(
                "D {:.3} G {:.3} D(x) {:.2} D(G(z)) {:.2}  {:.0} img/s",
                m.d_loss,
                m.g_loss,
                m.d_real,
                m.d_fake,
                done * self.batch as f32 / secs
            ));
        }
        self.bar.set_position(step);
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
        if timed > 0 {
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
