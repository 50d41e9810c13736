//! What each `dcgan_mnist --recipe` costs per training iteration (dcgan28, batch 64), and what
//! its regulariser adds: every penalised recipe is timed with its penalty and again without
//! it (the same D, loss and D steps), so the ratio is the penalty's own cost. Median wall time
//! over `ITERS` iterations after `WARMUP`, each ended by reading the losses back, as
//! `docs/BENCHMARKS.md` prescribes (fewer iterations: a WGAN-GP iteration is five D steps).
//!
//!     cargo bench --bench recipes

mod timing;

use counterfeit::gan::dcgan::{Arch, DOptions};
use counterfeit::gan::TrainingRecipe;
use counterfeit::{Dataset, Gpu, Trainer, TrainerConfig};

const WARMUP: usize = 1;
const ITERS: usize = 6;

/// Median milliseconds per iteration of `recipe`, its penalty dropped unless `penalised`.
fn time(
    gpu: &Gpu,
    data: &Dataset,
    recipe: TrainingRecipe,
    penalised: bool,
) -> counterfeit::Result<f64> {
    let arch = Arch::Dcgan28;
    let base = TrainerConfig {
        batch: 64,
        readback_every: 1_000_000,
        ..TrainerConfig::dcgan()
    };
    let mut config = recipe.apply(base, recipe.lr());
    if !penalised {
        config.penalty = None;
    }
    let d = arch.discriminator_with(recipe.d_options(DOptions::default()))?;
    let mut gan = Trainer::new(gpu, arch.generator(), d, data, config)?;
    timing::median_ms(WARMUP, ITERS, || {
        gan.step()?;
        gan.flush()
    })
}

fn main() -> counterfeit::Result<()> {
    let gpu = Gpu::new()?;
    println!("adapter: {}", gpu.describe());
    let data = Dataset::mnist(&gpu, None, (-1.0, 1.0))?;
    println!(
        "{:<8} {:>8} {:>14} {:>16} {:>16} {:>8}",
        "recipe", "D steps", "ms/iteration", "ms/D step", "unpenalised ms", "ratio"
    );
    let mut lines = Vec::new();
    for name in ["dcgan", "sngan", "r1", "wgan-gp"] {
        let recipe = TrainingRecipe::parse(name)?;
        let d_steps = recipe.apply(TrainerConfig::dcgan(), recipe.lr()).d_steps;
        let ms = time(&gpu, &data, recipe, true)?;
        let penalised = matches!(
            recipe,
            TrainingRecipe::WganGp { .. } | TrainingRecipe::R1 { .. }
        );
        let plain = if penalised {
            Some(time(&gpu, &data, recipe, false)?)
        } else {
            None
        };
        let (plain_s, ratio_s) = match plain {
            Some(p) => (format!("{p:.1}"), format!("{:.2}", ms / p)),
            None => ("–".into(), "–".into()),
        };
        println!(
            "{name:<8} {d_steps:>8} {ms:>14.1} {:>16.1} {plain_s:>16} {ratio_s:>8}",
            ms / d_steps as f64
        );
        lines.push(format!(
            "{{\"peer\": \"counterfeit\", \"recipe\": \"{name}\", \"arch\": \"dcgan28\", \"batch\": 64, \"ms_per_iter_median\": {ms:.1}, \"d_steps\": {d_steps}, \"unpenalised_ms\": {}, \"adapter\": \"{}\"}}",
            plain.map_or("null".into(), |p| format!("{p:.1}")),
            gpu.info().name
        ));
    }
    for l in lines {
        println!("{l}");
    }
    Ok(())
}
