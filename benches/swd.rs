//! Where the time of the sliced Wasserstein distance goes: the CPU pyramids, the projection
//! GEMM and the row sort of one chunk of directions, then the whole SWD of 10,000 images
//! (uniform noise against the bundled digits, or `SWD_IMAGES` of each) at `evaluate`'s default of
//! 4 patches per image.
//!
//!     cargo bench --bench swd            (COUNTERFEIT_ADAPTER / WGPU_BACKEND pick the adapter)
//!     SWD_PATCHES=16 cargo bench --bench swd
//!     SWD_IMAGES=1000 cargo bench --bench swd     (the size of dcgan_mnist's measurements)
//!
//! Timing: one warm-up run, then the median of 3 runs, each ended by waiting for the queue.

use std::time::Instant;

use counterfeit::eval::pyramid::laplacian;
use counterfeit::eval::swd::{directions, swd, SwdOptions, PATCH_LEN};
use counterfeit::gpu::Kernel;
use counterfeit::ops::gemm::gemm;
use counterfeit::ops::sort::sort_rows;
use counterfeit::philox::{draw, to_normal};
use counterfeit::{Gpu, Result, Tensor};

/// Median seconds of 3 runs of `kernels` in one submission, after a warm-up.
fn time(gpu: &Gpu, kernels: &[Kernel]) -> Result<f64> {
    let refs: Vec<&Kernel> = kernels.iter().collect();
    gpu.run(&refs)?;
    let mut t: Vec<f64> = (0..3)
        .map(|_| {
            let start = Instant::now();
            gpu.run(&refs).map(|()| start.elapsed().as_secs_f64())
        })
        .collect::<Result<_>>()?;
    t.sort_by(f64::total_cmp);
    Ok(t[1])
}

fn main() -> Result<()> {
    let gpu = Gpu::new()?;
    println!("adapter: {}", gpu.describe());
    let images: usize = std::env::var("SWD_IMAGES").map_or(10_000, |v| v.parse().unwrap_or(10_000));
    let patches: usize = std::env::var("SWD_PATCHES").map_or(4, |v| v.parse().unwrap_or(4));
    let opts = SwdOptions {
        patches_per_image: patches,
        ..SwdOptions::default()
    };
    let mut digits = counterfeit::data::idx::bundled()?.images.to_f32(0.0, 1.0);
    digits.truncate(images * 28 * 28);
    let images = digits.len() / (28 * 28);
    let n = images * patches;
    let noise: Vec<f32> = (0..digits.len() as u32)
        .map(|i| draw(5, 0, 0, i)[0] as f32 / 4_294_967_296.0)
        .collect();

    let start = Instant::now();
    for img in digits.chunks(28 * 28).chain(noise.chunks(28 * 28)) {
        std::hint::black_box(laplacian(img, 28));
    }
    let pyramids = start.elapsed().as_secs_f64();
    println!("pyramids of 2 × {images} images (CPU): {pyramids:.2} s");

    // One chunk of directions, as the SWD makes them: 256 rows of n projections.
    let rows = 256;
    // The patches stored transposed, `[49, n]`, as the SWD stores them.
    let patches_t = Tensor::from_slice(
        &gpu,
        &(0..(n * PATCH_LEN) as u32)
            .map(|i| {
                let w = draw(6, 0, 0, i);
                to_normal(w[0], w[1]) as f32
            })
            .collect::<Vec<_>>(),
        &[PATCH_LEN, n],
        "patches",
    )?;
    let dirs = Tensor::from_slice(
        &gpu,
        &directions(1, 0, rows, PATCH_LEN),
        &[rows, PATCH_LEN],
        "directions",
    )?;
    let proj = Tensor::zeros(&gpu, &[rows, n], "projections")?;
    let project = gemm(&gpu, &dirs, false, &patches_t, false, None, &proj, false)?;
    let t_gemm = time(&gpu, std::slice::from_ref(&project))?;
    // Sorted rows would flatter the sort's memory traffic: each run projects afresh, and the
    // sort's time is the difference.
    let mut both = vec![project.clone()];
    both.extend(sort_rows(&gpu, &proj, rows, n)?);
    let t_sort = time(&gpu, &both)? - t_gemm;
    // Per level: both sets' projections on directions × repeats directions.
    let per_level = (2 * opts.directions * opts.repeats) as f64 / rows as f64;
    println!(
        "{rows} directions × {n} patches: projection {:.1} ms, sort {:.1} ms ({:.0} M values/s); \
         per SWD (3 levels, 2 sets): {:.1} s projecting, {:.1} s sorting",
        t_gemm * 1e3,
        t_sort * 1e3,
        (rows * n) as f64 / t_sort / 1e6,
        3.0 * per_level * t_gemm,
        3.0 * per_level * t_sort
    );

    let start = Instant::now();
    let r = swd(&gpu, &noise, &digits, 28, &opts)?;
    println!(
        "SWD of {images} images at {patches} patches per image: {:.1} s ({:?}, mean {:.1})",
        start.elapsed().as_secs_f64(),
        r.per_level,
        r.mean
    );
    Ok(())
}
