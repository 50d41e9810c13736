//! What the GAN training examples share: the progress of a training loop, the stabiliser
//! flags, and judging a run's samples.

// Each example uses a part of what is here.
#![allow(dead_code, unused_imports)]

mod interrupt;
mod pace;
mod progress;
mod ranks;
mod recipe;
mod run_folder;
mod stabilisers;
mod timeline;
pub mod translation;

pub use interrupt::{Cadence, Interrupt, INTERRUPTED_EXIT};
pub use progress::TrainingBar;
pub use ranks::{RankArgs, Ranks};
pub use recipe::recipe_lr;
pub use run_folder::{
    check_flag, open_resume, open_resume_since, out_folder, prepare_out, CHECKPOINT,
};
pub use stabilisers::StabiliserArgs;
pub use timeline::Timeline;

use counterfeit::Gpu;

/// How a training run ended.
pub enum Finish {
    /// Every step ran.
    Done,
    /// A signal stopped it after saving; the process exits with [`INTERRUPTED_EXIT`].
    Interrupted,
}

/// Ends the process as a run ended: 0, [`INTERRUPTED_EXIT`] after a stop, or 1 with the
/// error's sentence.
pub fn exit_with(outcome: counterfeit::Result<Finish>) -> ! {
    match outcome {
        Ok(Finish::Done) => std::process::exit(0),
        Ok(Finish::Interrupted) => std::process::exit(INTERRUPTED_EXIT),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}

/// The judge for a training run: `None`, with a note, when measuring is `off` (a flag, or data
/// the judge does not know) or the classifier weights are missing.
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

/// Patches per image and pyramid level of the SWD measured along a run, as `evaluate`'s default.
pub const SWD_PATCHES: usize = 4;

/// Judges the run's sampling generator now (with the sliced Wasserstein distance at its
/// default options when `with_swd`) and logs the figures with its history.
pub fn measure(
    judge: &counterfeit::eval::judge::Judge,
    run: &mut counterfeit::gan::GanRun,
    recipe: &counterfeit::gan::recipes::Recipe,
    n: usize,
    with_parzen: bool,
    with_swd: bool,
) -> counterfeit::Result<counterfeit::eval::judge::Report> {
    let g = run.sampling_generator();
    let report = if with_swd {
        let swd = counterfeit::eval::swd::SwdOptions {
            patches_per_image: SWD_PATCHES,
            ..Default::default()
        };
        judge.measure_with_swd(g, recipe, n, with_parzen, &swd)?
    } else {
        judge.measure(g, recipe, n, with_parzen)?
    };
    run.add_quality(report.at(run.steps()));
    Ok(report)
}
