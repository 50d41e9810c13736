//! What the GAN training examples share: the progress bar of a training loop.

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

/// The judge for a training run: `None`, with a note, when measuring is `off` (a flag, or data
/// the judge does not know) or the classifier weights are missing.
#[allow(dead_code)]
pub fn judge_for_run(
    gpu: &Gpu,
    off: bool,
) -> counterfeit::Result<Option<counterfeit::eval::judge::Judge>> {
    if off {
        println!("note: sample quality is not measured (--no-eval, --data or --digit)");
        return Ok(None);
    }
    let judge = counterfeit::eval::judge::Judge::shipped(gpu)?;
    if judge.is_none() {
        println!(
            "note: no classifier weights at {}; sample quality is not measured (train them with the train_classifier example)",
            counterfeit::eval::classifier::bundled_weights().display()
        );
    }
    Ok(judge)
}

/// Judges the run's sampling generator now and logs the figures with its history.
#[allow(dead_code)]
pub fn measure(
    judge: &counterfeit::eval::judge::Judge,
    run: &mut counterfeit::gan::GanRun,
    recipe: &counterfeit::gan::recipes::Recipe,
    n: usize,
    with_parzen: bool,
) -> counterfeit::Result<counterfeit::eval::judge::Report> {
    let report = judge.measure(run.sampling_generator(), recipe, n, with_parzen)?;
    run.add_quality(report.at(run.steps()));
    Ok(report)
}

/// The stabilisers every GAN trainer offers, as flags (all off by default: the plain recipe).
#[derive(clap::Args)]
#[command(next_help_heading = "Stabilisation")]
#[allow(dead_code)]
pub struct StabiliserArgs {
    /// Adversarial loss: bce (non-saturating G loss) or hinge (D: relu(1 − D(x)) +
    /// relu(1 + D(G(z))), G: −D(G(z))).
    #[arg(long, default_value = "bce")]
    pub loss: String,
    /// D's target for real digits; below 1 is one-sided label smoothing (e.g. 0.9).
    #[arg(long, default_value_t = 1.0)]
    pub real_label: f32,
    /// Fraction of D's targets flipped (real ↔ fake) each D step, e.g. 0.05.
    #[arg(long, default_value_t = 0.0)]
    pub label_flip: f32,
    /// Standard deviation of Gaussian noise added to every image D sees (real and fake),
    /// falling linearly to 0 over --instance-noise-steps; e.g. 0.1.
    #[arg(long, default_value_t = 0.0)]
    pub instance_noise: f32,
    /// Steps over which the instance noise falls to 0 [default: the whole run].
    #[arg(long)]
    pub instance_noise_steps: Option<u32>,
    /// Fraction of D's fake batch replaced by earlier fakes from a replay buffer, e.g. 0.5.
    #[arg(long, default_value_t = 0.0)]
    pub replay_fraction: f32,
    /// Fakes the replay buffer holds.
    #[arg(long, default_value_t = 1024)]
    pub replay_capacity: usize,
    /// D updates per G update (k of Goodfellow et al. 2014).
    #[arg(long, default_value_t = 1)]
    pub d_steps: usize,
}

#[allow(dead_code)]
impl StabiliserArgs {
    /// `config` with these stabilisers, for a run of `steps` steps.
    pub fn apply(
        &self,
        config: counterfeit::TrainerConfig,
        steps: usize,
    ) -> counterfeit::Result<counterfeit::TrainerConfig> {
        let loss = match self.loss.as_str() {
            "bce" => counterfeit::GanLoss::Bce,
            "hinge" => counterfeit::GanLoss::Hinge,
            other => {
                return Err(counterfeit::Error::Config(format!(
                    "unknown --loss {other:?}: use bce or hinge"
                )))
            }
        };
        Ok(counterfeit::TrainerConfig {
            d_steps: self.d_steps,
            loss,
            real_label: self.real_label,
            label_flip: self.label_flip,
            instance_noise: self.instance_noise,
            instance_noise_steps: self
                .instance_noise_steps
                .unwrap_or(steps.min(u32::MAX as usize) as u32),
            replay_fraction: self.replay_fraction,
            replay_capacity: self.replay_capacity,
            ..config
        })
    }
}
