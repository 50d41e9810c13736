//! GEMM throughput on the current adapter: 1024³ and 2048³ in all three transpose cases used
//! by Linear layers, and the Linear shapes of gan_mnist_mlp (batch 100); then the three
//! convolution kernels (forward, input-grad, weight-grad) on dcgan28's convolutions at
//! batch 64, where a training step spends most of its time.
//!
//!     cargo bench --bench gemm            (COUNTERFEIT_ADAPTER / WGPU_BACKEND pick the adapter)
//!     cargo bench --bench gemm -- 1024    (only the cases whose name holds one of the words)
//!
//! Timing: 2 warm-up runs, then the median of repeated runs of a batch of dispatches in one
//! submission, each batch ended by waiting for the queue. First the adapter's FMA-only
//! ceiling for the GEMM kernel's shape is measured the same way (a loop of FMAs on the same
//! register tile, no loads), and every case is also given as a share of it: on machines
//! whose speed varies from one sitting to the next, the share is the figure that compares.
//! The convolutions are given as shares of that ceiling and of the one for their own tile.
//! Where the kernels have subgroup variants (CPU adapters with subgroups), each case is also
//! timed with the plain kernels in the same run.

use std::time::Instant;

use counterfeit::gpu::Kernel;
use counterfeit::ops::conv::{self, ConvGeom};
use counterfeit::ops::gemm::gemm;
use counterfeit::ops::peak::{flop, fma_peak, PeakShape};
use counterfeit::{Gpu, Tensor};

/// The median seconds of one of `reps` dispatches of `kernel` in one submission, after two
/// warm-up runs.
fn median_seconds(
    gpu: &Gpu,
    kernel: &Kernel,
    reps: usize,
    runs: usize,
) -> counterfeit::Result<f64> {
    let batch: Vec<&_> = std::iter::repeat_n(kernel, reps).collect();
    for _ in 0..2 {
        gpu.run(&batch)?;
    }
    let mut times = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        gpu.run(&batch)?;
        times.push(t.elapsed().as_secs_f64() / reps as f64);
    }
    times.sort_by(|x, y| x.partial_cmp(y).unwrap());
    Ok(times[times.len() / 2])
}

/// GFLOP/s of FMAs alone in a kernel's register tile: 64k invocations, enough rounds for
/// about half a second at 40 GFLOP/s.
fn ceiling(gpu: &Gpu, shape: PeakShape) -> counterfeit::Result<f64> {
    let invocations = 1 << 16;
    // The same FMAs per invocation for either tile: 1200 rounds of the GEMM's 128.
    let iters = 153_600 / shape.floats();
    let out = Tensor::zeros(gpu, &[invocations], "peak")?;
    let kernel = fma_peak(gpu, shape, iters, (0.5, 1e-3), &out)?;
    let secs = median_seconds(gpu, &kernel, 1, 5)?;
    Ok(flop(shape, invocations, iters) / secs / 1e9)
}

/// (name, m, n, k, trans_a, trans_b): Linear forward is x·Wᵀ, input-grad dY·W, weight-grad dYᵀ·X.
fn cases() -> Vec<(String, usize, usize, usize, bool, bool)> {
    let mut v = Vec::new();
    for s in [1024usize, 2048] {
        v.push((format!("{s}^3 forward   (A·Bᵀ)"), s, s, s, false, true));
        v.push((format!("{s}^3 input-grad (A·B)"), s, s, s, false, false));
        v.push((format!("{s}^3 weight-grad (Aᵀ·B)"), s, s, s, true, false));
    }
    for (inp, out) in [
        (100usize, 1200usize),
        (1200, 1200),
        (1200, 784),
        (784, 1200),
    ] {
        let b = 100;
        v.push((
            format!("mlp {inp}->{out} forward"),
            b,
            out,
            inp,
            false,
            true,
        ));
        v.push((
            format!("mlp {inp}->{out} input-grad"),
            b,
            inp,
            out,
            false,
            false,
        ));
        v.push((
            format!("mlp {inp}->{out} weight-grad"),
            out,
            inp,
            b,
            true,
            false,
        ));
    }
    v
}

/// dcgan28's convolutions at batch 64, each as the conv whose three kernels its layer runs:
/// G's transposed convolutions are the input-grad of these geometries (and their input-grad
/// the forward).
fn conv_cases() -> counterfeit::Result<Vec<(&'static str, ConvGeom)>> {
    Ok(vec![
        (
            "D 1->64 28->14",
            ConvGeom::conv(64, 1, 28, 28, 64, 4, 2, 1)?,
        ),
        (
            "D 64->128 14->7",
            ConvGeom::conv(64, 64, 14, 14, 128, 4, 2, 1)?,
        ),
        (
            "G 256->128 7->14",
            ConvGeom::conv(64, 128, 14, 14, 256, 4, 2, 1)?,
        ),
        (
            "G 128->1 14->28",
            ConvGeom::conv(64, 1, 28, 28, 128, 4, 2, 1)?,
        ),
    ])
}

/// GFLOP/s of the three kernels of `g`: forward, input-grad, weight-grad.
fn conv_gflops(gpu: &Gpu, g: &ConvGeom) -> counterfeit::Result<[f64; 3]> {
    let filled =
        |len: usize, v: f32, what: &str| Tensor::from_slice(gpu, &vec![v; len], &[len], what);
    let x = filled(g.input_len(), 0.5, "x")?;
    let w = filled(g.weight_len(), 0.25, "w")?;
    let y = filled(g.output_len(), 0.125, "y")?;
    let dx = filled(g.input_len(), 0.0, "dx")?;
    let dw = filled(g.weight_len(), 0.0, "dw")?;
    let kernels = [
        conv::forward(gpu, g, &x, &w, None, &y, false)?,
        conv::input_grad(gpu, g, &y, &w, &dx, false)?,
        conv::weight_grad(gpu, g, &x, &y, &dw, false)?,
    ];
    let flop = g.flops();
    let reps = ((2e9 / flop).ceil() as usize).clamp(1, 200);
    let mut out = [0.0; 3];
    for (o, k) in out.iter_mut().zip(&kernels) {
        *o = flop / median_seconds(gpu, k, reps, 5)? / 1e9;
    }
    Ok(out)
}

fn main() -> counterfeit::Result<()> {
    let gpu = Gpu::new()?;
    println!(
        "adapter: {}  ({:?})",
        gpu.describe(),
        gpu.info().device_type
    );
    let peak = ceiling(&gpu, PeakShape::Gemm)?;
    println!("FMA-only ceiling in the GEMM's register tile: {peak:.1} GFLOP/s");
    // The plain kernels, timed beside the subgroup variants where those run.
    let plain = gpu.subgroup_kernels().then(|| gpu.with_subgroups(false));
    println!(
        "{:<32} {:>10} {:>10} {:>10} {:>14}",
        "case",
        "ms",
        "GFLOP/s",
        "of ceiling",
        if plain.is_some() { "plain GFLOP/s" } else { "" }
    );
    // cargo passes `--bench` along; the other words pick cases.
    let words: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let picked = |name: &str| words.is_empty() || words.iter().any(|w| name.contains(w.as_str()));
    for (name, m, n, k, ta, tb) in cases().into_iter().filter(|c| picked(&c.0)) {
        let flop = 2.0 * (m * n * k) as f64;
        let gflops = |gpu: &Gpu| -> counterfeit::Result<f64> {
            let a_shape = if ta { [k, m] } else { [m, k] };
            let b_shape = if tb { [n, k] } else { [k, n] };
            let a = Tensor::from_slice(gpu, &vec![0.5; m * k], &a_shape, "a")?;
            let b = Tensor::from_slice(gpu, &vec![0.25; k * n], &b_shape, "b")?;
            let c = Tensor::zeros(gpu, &[m, n], "c")?;
            let kernel = gemm(gpu, &a, ta, &b, tb, None, &c, false)?;
            // Enough dispatches per submission to take ≳ 0.2 s at ~10 GFLOP/s.
            let reps = ((2e9 / flop).ceil() as usize).clamp(1, 200);
            let runs = if flop > 1e10 { 3 } else { 5 };
            Ok(flop / median_seconds(gpu, &kernel, reps, runs)? / 1e9)
        };
        let g = gflops(&gpu)?;
        let beside = match &plain {
            Some(p) => format!("{:>14.2}", gflops(p)?),
            None => String::new(),
        };
        println!(
            "{name:<32} {:>10.3} {:>10.2} {:>9.0} % {beside}",
            flop / g / 1e6,
            g,
            100.0 * g / peak
        );
    }
    let convs: Vec<_> = conv_cases()?
        .into_iter()
        .filter(|c| picked(&format!("conv {}", c.0)))
        .collect();
    if convs.is_empty() {
        return Ok(());
    }
    let conv_peak = ceiling(&gpu, PeakShape::Conv)?;
    println!(
        "FMA-only ceiling in the convolutions' register tile: {conv_peak:.1} GFLOP/s \
         ({:.0} % of the GEMM's)",
        100.0 * conv_peak / peak
    );
    println!(
        "{:<24} {:>24} {:>24} {:>24}",
        "conv, batch 64", "forward GFLOP/s", "input-grad", "weight-grad"
    );
    println!(
        "{:<24} {:>24} {:>24} {:>24}",
        "", "(% of GEMM's | conv's)", "", ""
    );
    for (name, g) in convs {
        let cell = |v: f64| {
            format!(
                "{v:.2} ({:.0} | {:.0} %)",
                100.0 * v / peak,
                100.0 * v / conv_peak
            )
        };
        let [f, dx, dw] = conv_gflops(&gpu, &g)?;
        println!(
            "{name:<24} {:>24} {:>24} {:>24}",
            cell(f),
            cell(dx),
            cell(dw)
        );
    }
    Ok(())
}
