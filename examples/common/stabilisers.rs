//! The stabiliser flags of the GAN examples.

/// The stabilisers every GAN trainer offers, as flags (all off by default: the plain recipe).
#[derive(clap::Args)]
#[command(next_help_heading = "Stabilisation")]
pub struct StabiliserArgs {
    /// Adversarial loss: bce (non-saturating G loss), hinge (D: relu(1 − D(x)) +
    /// relu(1 + D(G(z))), G: −D(G(z))) or lsgan (least squares, Mao et al. 2017: D:
    /// (D(x) − 1)² + D(G(z))², G: (D(G(z)) − 1)²). Only with --recipe dcgan: the other
    /// recipes choose their own.
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

impl StabiliserArgs {
    /// Each flag's range, named as the user typed it.
    pub fn check(&self) -> counterfeit::Result<()> {
        use super::check_flag;
        let unit = |v: f32| (0.0..=1.0).contains(&v);
        check_flag(
            "--loss",
            &self.loss,
            ["bce", "hinge", "lsgan"].contains(&self.loss.as_str()),
            "bce, hinge or lsgan",
        )?;
        check_flag(
            "--real-label",
            self.real_label,
            self.real_label > 0.0 && self.real_label <= 1.0,
            "in (0, 1]",
        )?;
        check_flag(
            "--label-flip",
            self.label_flip,
            unit(self.label_flip),
            "in [0, 1]",
        )?;
        check_flag(
            "--instance-noise",
            self.instance_noise,
            self.instance_noise.is_finite() && self.instance_noise >= 0.0,
            "a standard deviation, at least 0",
        )?;
        check_flag(
            "--replay-fraction",
            self.replay_fraction,
            unit(self.replay_fraction),
            "in [0, 1]",
        )?;
        check_flag(
            "--replay-capacity",
            self.replay_capacity,
            (1..=counterfeit::TrainerConfig::MAX_REPLAY_CAPACITY).contains(&self.replay_capacity),
            &format!("in 1..={}", counterfeit::TrainerConfig::MAX_REPLAY_CAPACITY),
        )?;
        check_flag("--d-steps", self.d_steps, self.d_steps >= 1, "at least 1")
    }

    /// The flags that make a run what it is, with their values, for checkpoints to keep.
    pub fn settings(&self) -> Vec<(String, String)> {
        [
            ("--loss", self.loss.clone()),
            ("--real-label", self.real_label.to_string()),
            ("--label-flip", self.label_flip.to_string()),
            ("--instance-noise", self.instance_noise.to_string()),
            ("--replay-fraction", self.replay_fraction.to_string()),
            ("--replay-capacity", self.replay_capacity.to_string()),
            ("--d-steps", self.d_steps.to_string()),
        ]
        .map(|(k, v)| (k.to_string(), v))
        .to_vec()
    }

    /// `config` with these stabilisers, for a run of `steps` steps.
    pub fn apply(
        &self,
        config: counterfeit::TrainerConfig,
        steps: usize,
    ) -> counterfeit::Result<counterfeit::TrainerConfig> {
        let loss = counterfeit::GanLoss::parse(&self.loss).ok_or_else(|| {
            counterfeit::Error::Config(format!(
                "unknown --loss {:?}: use bce, hinge or lsgan",
                self.loss
            ))
        })?;
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
