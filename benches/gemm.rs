//! GEMM throughput on the current adapter: 1024³ and 2048³ in all three transpose cases used
//! by Linear layers, and the Linear shapes of gan_mnist_mlp (batch 100).
//!
//!     cargo bench --bench gemm            (COUNTERFEIT_ADAPTER / WGPU_BACKEND pick the adapter)
//!
//! Timing: 2 warm-up runs, then the median of repeated runs of a batch of dispatches in one
//! submission, each batch ended by waiting for the queue.

use std::time::Instant;

use counterfeit::ops::gemm::gemm;
use counterfeit::{Gpu, Tensor};

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

fn main() -> counterfeit::Result<()> {
    let gpu = Gpu::new()?;
    println!(
        "adapter: {}  ({:?})",
        gpu.describe(),
        gpu.info().device_type
    );
    println!("{:<32} {:>10} {:>10}", "case", "ms", "GFLOP/s");
    for (name, m, n, k, ta, tb) in cases() {
        let a_shape = if ta { [k, m] } else { [m, k] };
        let b_shape = if tb { [n, k] } else { [k, n] };
        let a = Tensor::from_slice(&gpu, &vec![0.5; m * k], &a_shape, "a")?;
        let b = Tensor::from_slice(&gpu, &vec![0.25; k * n], &b_shape, "b")?;
        let c = Tensor::zeros(&gpu, &[m, n], "c")?;
        let kernel = gemm(&gpu, &a, ta, &b, tb, None, &c, false)?;
        let flop = 2.0 * (m * n * k) as f64;
        // Enough dispatches per submission to take ≳ 0.2 s at ~10 GFLOP/s.
        let reps = ((2e9 / flop).ceil() as usize).clamp(1, 200);
        let batch: Vec<&_> = std::iter::repeat_n(&kernel, reps).collect();
        for _ in 0..2 {
            gpu.run(&batch)?;
        }
        let mut times = Vec::new();
        let runs = if flop > 1e10 { 3 } else { 5 };
        for _ in 0..runs {
            let t = Instant::now();
            gpu.run(&batch)?;
            times.push(t.elapsed().as_secs_f64() / reps as f64);
        }
        times.sort_by(|x, y| x.partial_cmp(y).unwrap());
        let med = times[times.len() / 2];
        println!("{name:<32} {:>10.3} {:>10.2}", med * 1e3, flop / med / 1e9);
    }
    Ok(())
}
