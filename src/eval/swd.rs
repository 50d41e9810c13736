//! The sliced Wasserstein distance (SWD) of Karras et al. 2018 between two sets of images:
//! at each level of a Laplacian pyramid ([`crate::eval::pyramid`]), 7×7 patches drawn at
//! random positions, normalised per set, projected on random unit directions; the distance
//! of the two sets along a direction is the mean absolute difference of their sorted
//! projections. Reported ×10³ per level (finest first) and averaged, as in the paper.
//!
//! Patches and the pyramid are made on the CPU; the projections run on the GPU's GEMM, the
//! sort on `shaders/sort.wgsl` ([`crate::ops::sort`], a radix sort) and the sums of
//! differences on `shaders/swd.wgsl`, all directions of a level in a few submissions. Draws (images kept, patch positions, directions) come from the CPU
//! Philox with the options' seed, so a figure is the same on every machine.

use crate::eval::pyramid::{laplacian, LEVELS};
use crate::gpu::params::shader_params;
use crate::gpu::shaders::Shader;
use crate::gpu::{Bind, Kernel, KernelSpec};
use crate::ops::gemm::gemm;
use crate::ops::sort::sort_rows;
use crate::ops::u;
use crate::philox::{draw, to_normal};
use crate::{Error, Gpu, Result, Tensor};

shader_params! {
    /// `swd.wgsl`'s parameters.
    pub(crate) struct SwdParams for Swd::Params { rows: u32, len: u32 }
}

/// Side of a patch.
pub const PATCH: usize = 7;

/// Values in a patch.
pub const PATCH_LEN: usize = PATCH * PATCH;

/// Philox streams of the draws.
const STREAM_SUBSET: u32 = 0;
const STREAM_POSITIONS: u32 = 1;
const STREAM_DIRECTIONS: u32 = 2;

/// The most bytes one chunk of projections takes per set.
const CHUNK_BYTES: u64 = 64 << 20;

/// How many patches and directions, and the seed of every draw.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SwdOptions {
    /// Patches per image and level (the paper: 128).
    pub patches_per_image: usize,
    /// Directions per repeat (512).
    pub directions: usize,
    /// Independent sets of directions averaged (4).
    pub repeats: usize,
    /// Seed of the draws.
    pub seed: u64,
}

impl Default for SwdOptions {
    /// The paper's figures.
    fn default() -> Self {
        SwdOptions {
            patches_per_image: 128,
            directions: 512,
            repeats: 4,
            seed: 2018,
        }
    }
}

/// The distance at each level and their mean, ×10³ (lower is closer).
#[derive(Clone, Debug, PartialEq)]
pub struct SwdReport {
    /// One figure per pyramid level, finest (full-size) first.
    pub per_level: Vec<f64>,
    /// Mean of `per_level`.
    pub mean: f64,
    /// Images of each set used (the larger set is sub-sampled to the smaller's size).
    pub images: usize,
    /// Patches of each set per level.
    pub patches: usize,
}

/// The SWD between `a` and `b`, each `[n, side²]` with pixels in any range (`side` a multiple
/// of 4 with `side/4 ≥ 7`).
pub fn swd(
    gpu: &Gpu,
    a: &[f32],
    b: &[f32],
    side: usize,
    options: &SwdOptions,
) -> Result<SwdReport> {
    let plan = Plan::new(a, b, side, options)?;
    let n = plan.images * options.patches_per_image;
    let count = options.directions * options.repeats;
    let mut projector = Projector::new(gpu, n, PATCH_LEN, count)?;
    let pyramids = |set: &[f32], keep: &[usize]| -> Vec<Vec<Vec<f32>>> {
        keep.iter()
            .map(|&i| laplacian(&set[i * side * side..(i + 1) * side * side], side))
            .collect()
    };
    let (pa, pb) = (pyramids(a, &plan.keep_a), pyramids(b, &plan.keep_b));
    // Every repeat's directions in one list, projected and sorted in as few chunks as fit.
    let directions: Vec<f32> = (0..options.repeats)
        .flat_map(|r| directions(options.seed, r as u32, options.directions, PATCH_LEN))
        .collect();
    let mut per_level = Vec::with_capacity(LEVELS);
    for level in 0..LEVELS {
        let s = side >> level;
        let da = descriptors(&pa, level, s, &plan.positions[level]);
        let db = descriptors(&pb, level, s, &plan.positions[level]);
        projector.load(gpu, &da, &db)?;
        let d = projector.distances(gpu, &directions)?;
        let total: f64 = d
            .chunks(options.directions)
            .map(|repeat| repeat.iter().sum::<f64>() / repeat.len() as f64)
            .sum();
        per_level.push(1e3 * total / options.repeats as f64);
    }
    let mean = per_level.iter().sum::<f64>() / LEVELS as f64;
    Ok(SwdReport {
        per_level,
        mean,
        images: plan.images,
        patches: n,
    })
}

/// Every draw of one [`swd`]: which images of each set are kept and where their patches lie.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Images of each set used.
    pub images: usize,
    /// Indices of the images of `a` kept, ascending.
    pub keep_a: Vec<usize>,
    /// Indices of the images of `b` kept, ascending.
    pub keep_b: Vec<usize>,
    /// Per level, (kept image's rank, y, x) of each patch, the same in both sets: the
    /// positions do not depend on the images, and sharing them makes the SWD of a set with
    /// itself exactly 0.
    pub positions: Vec<Vec<(usize, usize, usize)>>,
}

impl Plan {
    /// Checks the sets and draws: the larger set is sub-sampled at random to the smaller's
    /// size; each kept image gets `patches_per_image` uniform positions per level.
    pub fn new(a: &[f32], b: &[f32], side: usize, options: &SwdOptions) -> Result<Plan> {
        if !side.is_multiple_of(4) || side / 4 < PATCH {
            return Err(Error::Config(format!(
                "swd: images of side {side} have no 7×7 patch at every level (side must be a multiple of 4, at least 28)"
            )));
        }
        if options.patches_per_image == 0 || options.directions == 0 || options.repeats == 0 {
            return Err(Error::Config(format!("swd: {options:?} draws nothing")));
        }
        let count = |set: &[f32], what: &str| -> Result<usize> {
            let px = side * side;
            if set.is_empty() || !set.len().is_multiple_of(px) {
                return Err(Error::shape(
                    "swd",
                    format!(
                        "{what}: {} values are not whole {side}×{side} images",
                        set.len()
                    ),
                ));
            }
            if let Some(i) = set.iter().position(|v| !v.is_finite()) {
                return Err(Error::Config(format!(
                    "swd: {what} value {i} is {}",
                    set[i]
                )));
            }
            Ok(set.len() / px)
        };
        let (na, nb) = (count(a, "first set")?, count(b, "second set")?);
        let images = na.min(nb);
        let seed = options.seed;
        let positions: Vec<Vec<(usize, usize, usize)>> = (0..LEVELS)
            .map(|level| {
                let span = ((side >> level) - PATCH + 1) as u32;
                let k = options.patches_per_image;
                (0..images * k)
                    .map(|j| {
                        let w = draw(seed, level as u32, STREAM_POSITIONS, j as u32);
                        (j / k, (w[0] % span) as usize, (w[1] % span) as usize)
                    })
                    .collect()
            })
            .collect();
        Ok(Plan {
            images,
            keep_a: subset(na, images, seed, 0),
            keep_b: subset(nb, images, seed, 1),
            positions,
        })
    }
}

/// `keep` of `0..n` at random (all when `keep == n`), ascending: a partial Fisher–Yates.
fn subset(n: usize, keep: usize, seed: u64, set: u32) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..n).collect();
    if keep < n {
        for i in 0..keep {
            let r = draw(seed, set, STREAM_SUBSET, i as u32)[0] as usize;
            idx.swap(i, i + r % (n - i));
        }
        idx.truncate(keep);
        idx.sort_unstable();
    }
    idx
}

/// `count` unit directions of `dim` values, `[count, dim]` row-major, for repeat `repeat`.
pub fn directions(seed: u64, repeat: u32, count: usize, dim: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(count * dim);
    for d in 0..count {
        let v: Vec<f64> = (0..dim)
            .map(|c| {
                let w = draw(seed, repeat, STREAM_DIRECTIONS, (d * dim + c) as u32);
                to_normal(w[0], w[1])
            })
            .collect();
        let norm = v
            .iter()
            .map(|x| x * x)
            .sum::<f64>()
            .sqrt()
            .max(f64::MIN_POSITIVE);
        out.extend(v.iter().map(|x| (x / norm) as f32));
    }
    out
}

/// The patches at `positions` of level `level` (`s × s`) of `pyramids`, normalised to mean 0
/// and standard deviation 1 over all their values: `[positions, 49]`.
fn descriptors(
    pyramids: &[Vec<Vec<f32>>],
    level: usize,
    s: usize,
    positions: &[(usize, usize, usize)],
) -> Vec<f32> {
    let mut out = Vec::with_capacity(positions.len() * PATCH_LEN);
    for &(i, y, x) in positions {
        let img = &pyramids[i][level];
        for dy in 0..PATCH {
            out.extend_from_slice(&img[(y + dy) * s + x..(y + dy) * s + x + PATCH]);
        }
    }
    // Statistics in f64: a million patches' sum would lose digits in f32.
    let n = out.len() as f64;
    let mean = out.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = out.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
    // A set of flat patches has nothing to scale; it is only centred.
    let std = if var > 0.0 { var.sqrt() } else { 1.0 };
    out.iter_mut()
        .for_each(|v| *v = ((*v as f64 - mean) / std) as f32);
    out
}

/// For each direction (a row of `directions`, `[d, dim]`), the mean over rows of |a - b| of
/// the sorted projections of `a` and `b` (`[n, dim]` each): the core of [`swd`].
pub fn sliced_distances(
    gpu: &Gpu,
    a: &[f32],
    b: &[f32],
    dim: usize,
    directions: &[f32],
) -> Result<Vec<f64>> {
    if dim == 0 || a.is_empty() || a.len() != b.len() || !a.len().is_multiple_of(dim) {
        return Err(Error::shape(
            "sliced_distances",
            format!(
                "sets of {} and {} values in rows of {dim}",
                a.len(),
                b.len()
            ),
        ));
    }
    if directions.is_empty() || !directions.len().is_multiple_of(dim) {
        return Err(Error::shape(
            "sliced_distances",
            format!("{} direction values in rows of {dim}", directions.len()),
        ));
    }
    let mut p = Projector::new(gpu, a.len() / dim, dim, directions.len() / dim)?;
    p.load(gpu, a, b)?;
    p.distances(gpu, directions)
}

/// The GPU side of a fixed shape: both sets' rows, a chunk of directions, the projections
/// and the kernels that project, sort and compare them.
struct Projector {
    n: usize,
    dim: usize,
    chunk: usize,
    a: Tensor,
    b: Tensor,
    dirs: Tensor,
    sums: Tensor,
    kernels: Vec<Kernel>,
}

impl Projector {
    fn new(gpu: &Gpu, n: usize, dim: usize, directions: usize) -> Result<Projector> {
        let limits = gpu.device().limits();
        let budget = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size)
            .min(CHUNK_BYTES);
        // As many directions per chunk as the budget allows, spread evenly over the chunks so
        // that the last one sorts few padding rows.
        let most = ((budget / (4 * n as u64)) as usize).clamp(1, directions.min(65_535));
        let chunk = directions.div_ceil(directions.div_ceil(most));
        if let Some(limit) = gpu.loop_limit() {
            // Each lane of `abs_diff_rows` walks a 256th of a row.
            if n / 256 + 16 >= limit {
                return Err(Error::shape(
                    "swd",
                    format!("{n} patches exceed the loop limit ({limit}) of shaders on this CPU adapter"),
                ));
            }
        }
        // The sets are stored transposed, `[dim, n]`: the GEMM then reads both operands along
        // their rows (faster on a CPU adapter than the `A·Bᵀ` form by about a fifth).
        let a = Tensor::zeros(gpu, &[dim, n], "swd patches")?;
        let b = Tensor::zeros(gpu, &[dim, n], "swd patches")?;
        let dirs = Tensor::zeros(gpu, &[chunk, dim], "swd directions")?;
        let pa = Tensor::zeros(gpu, &[chunk, n], "swd projections")?;
        let pb = Tensor::zeros(gpu, &[chunk, n], "swd projections")?;
        let sums = Tensor::zeros(gpu, &[chunk], "swd sums")?;
        let mut kernels = vec![
            gemm(gpu, &dirs, false, &a, false, None, &pa, false)?,
            gemm(gpu, &dirs, false, &b, false, None, &pb, false)?,
        ];
        kernels.extend(sort_rows(gpu, &pa, chunk, n)?);
        kernels.extend(sort_rows(gpu, &pb, chunk, n)?);
        let params = SwdParams {
            rows: u(chunk),
            len: u(n),
        };
        kernels.push(gpu.kernel_3d(
            KernelSpec::new(Shader::Swd, "abs_diff_rows"),
            &[
                Bind::params(&params),
                Bind::Read(&pa),
                Bind::Read(&pb),
                Bind::Write(&sums),
            ],
            [u(chunk), 1, 1],
        )?);
        Ok(Projector {
            n,
            dim,
            chunk,
            a,
            b,
            dirs,
            sums,
            kernels,
        })
    }

    /// Uploads both sets (`[n, dim]` each), transposed.
    fn load(&mut self, gpu: &Gpu, a: &[f32], b: &[f32]) -> Result<()> {
        let (n, dim) = (self.n, self.dim);
        let transpose =
            |x: &[f32]| -> Vec<f32> { (0..dim * n).map(|i| x[(i % n) * dim + i / n]).collect() };
        self.a.write(gpu, &transpose(a))?;
        self.b.write(gpu, &transpose(b))
    }

    /// The mean |a - b| of the sorted projections on each direction of `directions`.
    fn distances(&mut self, gpu: &Gpu, directions: &[f32]) -> Result<Vec<f64>> {
        let mut out = Vec::with_capacity(directions.len() / self.dim);
        let refs: Vec<&Kernel> = self.kernels.iter().collect();
        for dirs in directions.chunks(self.chunk * self.dim) {
            // The last chunk's unused rows are zero directions, whose distances are dropped.
            let mut padded = dirs.to_vec();
            padded.resize(self.chunk * self.dim, 0.0);
            self.dirs.write(gpu, &padded)?;
            gpu.run(&refs)?;
            let sums = self.sums.read(gpu)?;
            let rows = dirs.len() / self.dim;
            out.extend(sums[..rows].iter().map(|&s| s as f64 / self.n as f64));
        }
        Ok(out)
    }
}
