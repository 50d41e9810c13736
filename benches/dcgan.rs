//! One DCGAN training iteration, timed as `docs/BENCHMARKS.md` prescribes: median wall time over
//! 20 iterations after 5 warm-up iterations, each ended by reading the two losses back.
//! Prints a table (with the CPU time of recording and submitting a step, "encode ms") and one
//! JSON line per network and batch with the PyTorch peer's keys.
//! For dcgan28 at batch 64 it also times what a run does outside its steps: writing a
//! checkpoint, and one periodic quality measurement (1,000 samples: FID, score, SWD).
//!
//!     cargo bench --bench dcgan                 # dcgan28 at B = 1, 64, 256 and dcgan64 at B = 64
//!     cargo bench --bench dcgan -- dcgan28 64   # one network and batch

// This benchmark times its own loop (min, max and the submission besides the median).
#[allow(dead_code)]
mod timing;

use std::time::Instant;

use counterfeit::eval::judge::Judge;
use counterfeit::eval::swd::SwdOptions;
use counterfeit::gan::dcgan::Arch;
use counterfeit::gan::recipes;
use counterfeit::{Dataset, Gpu, Trainer, TrainerConfig};

const WARMUP: usize = 5;
const ITERS: usize = 20;

fn main() -> counterfeit::Result<()> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let runs: Vec<(Arch, usize)> = match args.as_slice() {
        [arch, batch] => vec![(
            Arch::parse(arch)?,
            batch
                .parse()
                .map_err(|_| counterfeit::Error::Config(format!("bad batch {batch}")))?,
        )],
        _ => vec![
            (Arch::Dcgan28, 64),
            (Arch::Dcgan28, 1),
            (Arch::Dcgan28, 256),
            (Arch::Dcgan64, 64),
        ],
    };
    let gpu = Gpu::new()?;
    let adapter = gpu.info().name.clone();
    let backend = format!("{:?}", gpu.info().backend).to_lowercase();
    println!(
        "adapter: {}  ({:?})",
        gpu.describe(),
        gpu.info().device_type
    );
    println!(
        "{:<8} {:>5} {:>10} {:>9} {:>9} {:>9} {:>9} {:>12} {:>10}",
        "arch",
        "batch",
        "median ms",
        "min ms",
        "max ms",
        "img/s",
        "GFLOP/s",
        "first it ms",
        "encode ms"
    );
    let mut lines = Vec::new();
    for (arch, batch) in runs {
        // Real batches come from the bundled digits; their content does not change the cost.
        let data = Dataset::mnist(&gpu, None, (-1.0, 1.0))?;
        let data = if arch.side() == 28 {
            data
        } else {
            data.resized(arch.side(), arch.side())?
        };
        let config = TrainerConfig {
            batch,
            readback_every: 1_000_000,
            ..TrainerConfig::dcgan()
        };
        let start = Instant::now();
        let mut gan = Trainer::new(&gpu, arch.generator(), arch.discriminator(), &data, config)?;
        let built_ms = start.elapsed().as_secs_f64() * 1e3;
        gan.step()?;
        gan.flush()?;
        let first_ms = start.elapsed().as_secs_f64() * 1e3;
        // The first step waits for the pipelines still compiling aside.
        println!(
            "  first iteration {first_ms:.0} ms: recording {built_ms:.0} ms, then the first step {:.0} ms",
            first_ms - built_ms
        );
        let mut times = Vec::new();
        // The CPU's share: recording and submitting the step, before waiting for the GPU.
        let mut encode = Vec::new();
        for i in 0..WARMUP - 1 + ITERS {
            let t = Instant::now();
            gan.step()?;
            let submitted = t.elapsed().as_secs_f64() * 1e3;
            gan.flush()?; // waits for the GPU and reads the losses back
            if i >= WARMUP - 1 {
                times.push(t.elapsed().as_secs_f64() * 1e3);
                encode.push(submitted);
            }
        }
        times.sort_by(|a, b| a.partial_cmp(b).unwrap());
        encode.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let encode_ms = timing::median(&mut encode);
        if batch == 64 || !gpu.is_cpu() {
            match gan.profile()? {
                Some(kernels) => {
                    let total: f64 = kernels.iter().map(|k| k.1).sum();
                    println!("  GPU time per kernel, one {} iteration at batch {batch} ({total:.1} ms in all):", arch.name());
                    for (label, ms) in kernels.iter().take(12) {
                        println!("    {label:<20} {ms:>9.2} ms {:>5.1} %", 100.0 * ms / total);
                    }
                }
                None => println!("  (the adapter has no timestamp queries inside passes: no per-kernel breakdown)"),
            }
        }
        if batch == 64 && arch == Arch::Dcgan28 {
            outside_the_steps(&gpu, &mut gan, arch)?;
        }
        if !gpu.is_cpu() {
            synced_iteration(&gpu, &mut gan)?;
        }
        let med = (times[ITERS / 2 - 1] + times[ITERS / 2]) / 2.0;
        let gflop = arch.flop_per_iter(batch) / 1e9;
        println!(
            "{:<8} {:>5} {:>10.1} {:>9.1} {:>9.1} {:>9.1} {:>9.2} {:>12.0} {:>10.2}",
            arch.name(),
            batch,
            med,
            times[0],
            times[ITERS - 1],
            batch as f64 / med * 1e3,
            gflop / (med / 1e3),
            first_ms,
            encode_ms
        );
        lines.push(format!(
            "{{\"peer\": \"counterfeit\", \"arch\": \"{}\", \"batch\": {}, \"ms_per_iter_median\": {:.2}, \"ms_min\": {:.2}, \"ms_max\": {:.2}, \"gflop_per_iter\": {:.3}, \"gflops_achieved\": {:.2}, \"adapter\": \"{}\", \"backend\": \"{}\", \"first_iter_ms\": {:.0}, \"encode_ms_median\": {:.2}}}",
            arch.name(), batch, med, times[0], times[ITERS - 1], gflop, gflop / (med / 1e3), adapter, backend, first_ms, encode_ms
        ));
    }
    for l in lines {
        println!("{l}");
    }
    Ok(())
}

/// Where a synchronised iteration's wall time goes on a GPU: recording and submitting the
/// step, waiting for the queue, then reading the losses back; beside it, a wait on an idle
/// queue, and the time per step when 50 steps run with one readback at the end (as training
/// runs them, reading back every few hundred steps).
fn synced_iteration(gpu: &Gpu, gan: &mut Trainer) -> counterfeit::Result<()> {
    let (mut submit, mut wait, mut read, mut idle) = (vec![], vec![], vec![], vec![]);
    for _ in 0..ITERS {
        let t = Instant::now();
        gan.step()?;
        submit.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        gpu.wait()?;
        wait.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        gan.flush()?;
        read.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        gpu.wait()?;
        idle.push(t.elapsed().as_secs_f64() * 1e3);
    }
    const RUN: usize = 50;
    let t = Instant::now();
    for _ in 0..RUN {
        gan.step()?;
    }
    gan.flush()?;
    let pipelined = t.elapsed().as_secs_f64() * 1e3 / RUN as f64;
    println!(
        "  a synchronised iteration: submit {:.2} ms, wait for the queue {:.2} ms, read the losses back {:.2} ms (a wait on an idle queue {:.3} ms); {RUN} steps with one readback: {pipelined:.2} ms per step",
        timing::median(&mut submit),
        timing::median(&mut wait),
        timing::median(&mut read),
        timing::median(&mut idle)
    );
    Ok(())
}

/// Times a checkpoint write and one periodic quality measurement of `gan`.
fn outside_the_steps(gpu: &Gpu, gan: &mut Trainer, arch: Arch) -> counterfeit::Result<()> {
    let dir = std::env::temp_dir().join(format!("counterfeit-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| counterfeit::Error::io(&dir, e))?;
    let t = Instant::now();
    gan.save(&dir.join("checkpoint.safetensors"))?;
    let save_ms = t.elapsed().as_secs_f64() * 1e3;
    let _ = std::fs::remove_dir_all(&dir);
    let measure = match Judge::shipped(gpu)? {
        Some(judge) => {
            let recipe = recipes::by_name(arch.name())?;
            let swd = SwdOptions {
                patches_per_image: 4,
                ..Default::default()
            };
            let t = Instant::now();
            judge.measure_with_swd(gan.sampling_generator(), &recipe, 1000, false, &swd)?;
            format!("{:.1} s", t.elapsed().as_secs_f64())
        }
        None => "not timed (no classifier weights)".into(),
    };
    println!(
        "  outside the steps ({} at batch 64): checkpoint write {save_ms:.0} ms, a quality measurement of 1,000 samples (FID, score, SWD) {measure}",
        arch.name()
    );
    Ok(())
}
