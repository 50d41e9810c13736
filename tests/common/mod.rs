//! Shared by the GPU tests: one device per test binary, deterministic inputs, and a
//! comparison that explains itself. The device helpers are native; the values and the
//! comparison serve the browser tests too.
#![allow(dead_code)]

#[cfg(not(target_arch = "wasm32"))]
use std::sync::OnceLock;

#[cfg(not(target_arch = "wasm32"))]
#[allow(unused_imports)] // only the tests that share checks with the browser block on them
pub use pollster::block_on;

use counterfeit::philox;
#[cfg(not(target_arch = "wasm32"))]
use counterfeit::Gpu;

/// One device shared by every test of a binary (tests run on threads).
/// Gives Mesa a private runtime folder when the environment has none, so that a headless
/// test run is not strewn with its "XDG_RUNTIME_DIR is invalid or not set" lines.
#[cfg(not(target_arch = "wasm32"))]
pub fn quiet_runtime_dir() {
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        let dir = std::env::temp_dir().join(format!("counterfeit-xdg-{}", std::process::id()));
        if std::fs::create_dir_all(&dir).is_ok() {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
            std::env::set_var("XDG_RUNTIME_DIR", &dir);
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
pub fn gpu() -> &'static Gpu {
    static GPU: OnceLock<Gpu> = OnceLock::new();
    GPU.get_or_init(|| {
        quiet_runtime_dir();
        let gpu = Gpu::new()
            .expect("a GPU adapter (on Linux without a GPU: apt-get install mesa-vulkan-drivers)");
        eprintln!("adapter: {}", gpu.describe());
        gpu
    })
}

/// The shared device with and without the subgroup variants of the kernels that have them
/// (the first is [`gpu`], which uses them where the device has them; on a device without
/// subgroup operations both build the plain kernels).
#[cfg(not(target_arch = "wasm32"))]
pub fn both_variants() -> [&'static Gpu; 2] {
    static PLAIN: OnceLock<Gpu> = OnceLock::new();
    [gpu(), PLAIN.get_or_init(|| gpu().with_subgroups(false))]
}

/// The shared device building the kernels' GPU layouts (the workgroup-tiled products), which
/// a GPU adapter uses by itself: on a CPU adapter the tests check them through this handle.
#[cfg(not(target_arch = "wasm32"))]
pub fn gpu_layouts() -> &'static Gpu {
    static TILED: OnceLock<Gpu> = OnceLock::new();
    TILED.get_or_init(|| gpu().with_layouts(counterfeit::Layouts::Gpu))
}

/// Deterministic normal values times `scale`.
pub fn normal(n: usize, seed: u64, scale: f32) -> Vec<f32> {
    (0..n as u32)
        .map(|i| {
            let r = philox::draw(seed, 7, 7, i);
            (philox::to_normal(r[0], r[1]) as f32) * scale
        })
        .collect()
}

/// Deterministic uniform values in [lo, hi).
pub fn uniform(n: usize, seed: u64, lo: f32, hi: f32) -> Vec<f32> {
    (0..n as u32)
        .map(|i| lo + (hi - lo) * philox::to_unit(philox::draw(seed, 9, 9, i)[0]))
        .collect()
}

pub fn f64s(x: &[f32]) -> Vec<f64> {
    x.iter().map(|&v| v as f64).collect()
}

/// Asserts |got − want| ≤ atol + rtol·|want| everywhere; on failure prints the first
/// mismatches and the largest difference.
pub fn assert_close(what: &str, got: &[f32], want: &[f64], atol: f64, rtol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    let mut bad = Vec::new();
    let mut max_diff = 0.0f64;
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let d = (g as f64 - w).abs();
        max_diff = max_diff.max(d);
        if d.is_nan() || d > atol + rtol * w.abs() {
            bad.push(format!("  [{i}] got {g} want {w} (diff {d:.3e})"));
        }
    }
    assert!(
        bad.is_empty(),
        "{what}: {} of {} values outside {atol:e} + {rtol:e}·|ref| (max diff {max_diff:.3e}); first:\n{}",
        bad.len(),
        got.len(),
        bad.iter().take(8).cloned().collect::<Vec<_>>().join("\n")
    );
}

/// Central finite differences of `f` at `x` with step `h`, in f64.
pub fn numeric_grad(f: impl Fn(&[f64]) -> f64, x: &[f64], h: f64) -> Vec<f64> {
    let mut xp = x.to_vec();
    (0..x.len())
        .map(|i| {
            let orig = xp[i];
            xp[i] = orig + h;
            let fp = f(&xp);
            xp[i] = orig - h;
            let fm = f(&xp);
            xp[i] = orig;
            (fp - fm) / (2.0 * h)
        })
        .collect()
}

/// 50 pseudo-random "images" of 36 bytes in [0, 1]: enough to exercise the gather, small
/// enough for a quick training test.
#[cfg(not(target_arch = "wasm32"))]
pub fn tiny_images() -> counterfeit::Dataset {
    let bytes: Vec<u8> = (0..50 * 36u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    counterfeit::Dataset::from_bytes(gpu(), &bytes, 50, &[36], (0.0, 1.0)).unwrap()
}

/// The outputs of a trainer's linear D (one dense layer, weights then bias) for a batch of
/// its samples, in f64: what a loss test checks the logged losses against.
#[cfg(not(target_arch = "wasm32"))]
pub fn linear_d_outputs(gan: &counterfeit::Trainer, x: &counterfeit::Tensor) -> Vec<f64> {
    let p = gan.discriminator().params();
    let w = p.read(gpu(), 0).unwrap();
    let b = p.read(gpu(), 1).unwrap()[0] as f64;
    x.read(gpu())
        .unwrap()
        .chunks(w.len())
        .map(|s| {
            b + s
                .iter()
                .zip(&w)
                .map(|(&a, &c)| a as f64 * c as f64)
                .sum::<f64>()
        })
        .collect()
}

/// The example binary `name` that `cargo test` builds beside the test binaries.
#[cfg(not(target_arch = "wasm32"))]
pub fn example(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe
        .parent()
        .and_then(std::path::Path::parent)
        .expect("target profile folder");
    let bin = dir.join("examples").join(name);
    assert!(
        bin.exists(),
        "{} is missing: `cargo test` builds the examples before running this test",
        bin.display()
    );
    bin
}
