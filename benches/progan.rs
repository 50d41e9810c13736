//! What a `progan_mnist` iteration costs at each stage (the default networks and batch 32),
//! with the non-saturating loss and with WGAN-GP, and where the last stage's time goes per
//! kernel. Median wall time of `ITERS` iterations after `WARMUP` in each stage's steady part,
//! each ended by reading the losses back, as `docs/BENCHMARKS.md` prescribes.
//!
//!     cargo bench --bench progan

mod timing;

use counterfeit::gan::progressive::{ProGan, ProgressiveTrainer, Schedule};
use counterfeit::gan::{GanLoss, GradientPenalty};
use counterfeit::{Dataset, Gpu, Optimizer, TrainerConfig};

const WARMUP: u64 = 2;
const ITERS: u64 = 6;

fn main() -> counterfeit::Result<()> {
    let gpu = Gpu::new()?;
    println!("adapter: {}", gpu.describe());
    let data = Dataset::mnist(&gpu, None, (-1.0, 1.0))?;
    let spec = ProGan::mnist();
    let adam = Optimizer::Adam {
        lr: 1e-3,
        beta1: 0.0,
        beta2: 0.99,
        eps: 1e-8,
    };
    // Each stage's steady part is long enough to warm up and time; a fade lasts one step.
    let schedule = Schedule {
        stage_steps: WARMUP + ITERS,
        fade_steps: 1,
    };
    println!("{:<8} {:>6} {:>12}", "loss", "side", "ms/iteration");
    for (name, loss, penalty) in [
        ("bce", GanLoss::Bce, None),
        (
            "wgan-gp",
            GanLoss::Wasserstein,
            Some(GradientPenalty::Interpolates { lambda: 10.0 }),
        ),
    ] {
        let config = TrainerConfig {
            batch: 32,
            g_optimizer: adam,
            d_optimizer: adam,
            readback_every: 1_000_000,
            g_ema: Some(0.99),
            loss,
            penalty,
            ..TrainerConfig::dcgan()
        };
        let mut gan = ProgressiveTrainer::new(&gpu, spec.clone(), schedule, &data, config)?;
        for k in 0..spec.stages() {
            // Into stage k's steady part.
            while gan.steps()
                < schedule.stage_start(k) + if k > 0 { schedule.fade_steps } else { 0 }
            {
                gan.step()?;
            }
            let median = timing::median_ms(WARMUP as usize, ITERS as usize, || {
                gan.step()?;
                gan.flush()
            })?;
            println!("{name:<8} {:>6} {median:>12.1}", spec.side(k));
        }
        match gan.profile()? {
            Some(kernels) => {
                let total: f64 = kernels.iter().map(|k| k.1).sum();
                println!(
                    "  GPU time per kernel, one {name} iteration at 28×28 ({total:.1} ms in all):"
                );
                for (label, ms) in kernels.iter().take(14) {
                    println!("    {label:<24} {ms:>9.2} ms {:>5.1} %", 100.0 * ms / total);
                }
            }
            None => println!("  (the adapter has no timestamp queries inside passes)"),
        }
    }
    Ok(())
}
