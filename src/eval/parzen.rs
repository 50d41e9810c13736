//! The Parzen-window log-likelihood of Goodfellow et al. 2014: a Gaussian kernel density
//! fitted to generated samples, its bandwidth chosen on validation images, and the mean
//! log-likelihood of test images under it.
//!
//! The cross products x·s_j run on the GPU's GEMM and `shaders/parzen.wgsl` turns them into
//! one log-sum-exp per query and bandwidth. Queries go through in chunks of rows so the
//! `[rows, samples]` product stays well under the device's binding limit; the buffers and
//! kernels of a chunk size are made once and re-run with each chunk's data.

use std::collections::HashMap;

use crate::gpu::params::shader_params;
use crate::gpu::shaders::Shader;
use crate::gpu::{Bind, Kernel, KernelSpec};
use crate::ops::gemm::gemm;
use crate::ops::u;
use crate::{Error, Gpu, Result, Tensor};

shader_params! {
    /// `parzen.wgsl`'s parameters.
    pub(crate) struct ParzenParams for Parzen::Params { rows: u32, samples: u32, sigmas: u32 }
}

/// What [`parzen`] found.
#[derive(Clone, Debug, PartialEq)]
pub struct ParzenResult {
    /// The bandwidth with the best mean validation log-likelihood.
    pub sigma: f64,
    /// Mean log-likelihood of the test rows at `sigma` (nats per image).
    pub mean: f64,
    /// Standard error of `mean`: the standard deviation of the test log-likelihoods
    /// (population form, as numpy's `std`) over √t.
    pub std_err: f64,
    /// (sigma, mean validation log-likelihood) for each sigma tried, in the order given.
    pub validation: Vec<(f64, f64)>,
}

/// The 10 log-spaced sigmas from 0.1 to 1.0 (Goodfellow et al.'s search grid).
pub fn default_sigmas() -> Vec<f64> {
    (0..10).map(|i| 10f64.powf(-1.0 + i as f64 / 9.0)).collect()
}

/// Fits a Gaussian-kernel density to `samples` `[n, dim]` (pixels in [0, 1]), picks sigma by
/// the mean log-likelihood of `validation` `[v, dim]`, and reports the mean log-likelihood
/// of `test` `[t, dim]` with its standard error at that sigma.
pub fn parzen(
    gpu: &Gpu,
    samples: &[f32],
    validation: &[f32],
    test: &[f32],
    dim: usize,
    sigmas: &[f64],
) -> Result<ParzenResult> {
    parzen_in_chunks(gpu, samples, validation, test, dim, sigmas, None)
}

/// As [`parzen`] with at most `chunk_rows` query rows per dispatch (`None`: sized from the
/// device's limits). For tests of the chunking.
#[doc(hidden)]
pub fn parzen_in_chunks(
    gpu: &Gpu,
    samples: &[f32],
    validation: &[f32],
    test: &[f32],
    dim: usize,
    sigmas: &[f64],
    chunk_rows: Option<usize>,
) -> Result<ParzenResult> {
    check_rows("parzen validation", validation, dim)?;
    check_rows("parzen test", test, dim)?;
    let mut density = Density::new(gpu, samples, dim, sigmas, chunk_rows)?;

    let v = validation.len() / dim;
    let val_ll = density.log_likelihoods(validation, sigmas)?;
    let validation: Vec<(f64, f64)> = sigmas
        .iter()
        .enumerate()
        .map(|(k, &s)| {
            let mean = (0..v).map(|r| val_ll[r * sigmas.len() + k]).sum::<f64>() / v as f64;
            (s, mean)
        })
        .collect();
    // The first of equal bests, so the choice does not depend on rounding order.
    let mut best = 0;
    for (k, &(_, m)) in validation.iter().enumerate() {
        if m > validation[best].1 {
            best = k;
        }
    }
    let sigma = sigmas[best];

    let test_ll = density.log_likelihoods(test, &[sigma])?;
    let t = test_ll.len() as f64;
    let mean = test_ll.iter().sum::<f64>() / t;
    let var = test_ll.iter().map(|l| (l - mean) * (l - mean)).sum::<f64>() / t;
    Ok(ParzenResult {
        sigma,
        mean,
        std_err: var.sqrt() / t.sqrt(),
        validation,
    })
}

/// log p(x) of each row of `queries` `[q, dim]` at each sigma, under the density fitted to
/// `samples` `[n, dim]`: `[q, sigmas.len()]` row-major.
pub fn log_likelihoods(
    gpu: &Gpu,
    samples: &[f32],
    queries: &[f32],
    dim: usize,
    sigmas: &[f64],
) -> Result<Vec<f64>> {
    log_likelihoods_in_chunks(gpu, samples, queries, dim, sigmas, None)
}

/// As [`log_likelihoods`] with at most `chunk_rows` query rows per dispatch.
#[doc(hidden)]
pub fn log_likelihoods_in_chunks(
    gpu: &Gpu,
    samples: &[f32],
    queries: &[f32],
    dim: usize,
    sigmas: &[f64],
    chunk_rows: Option<usize>,
) -> Result<Vec<f64>> {
    check_rows("parzen queries", queries, dim)?;
    Density::new(gpu, samples, dim, sigmas, chunk_rows)?.log_likelihoods(queries, sigmas)
}

/// Checks that `data` holds at least one `dim`-sized row of finite values.
fn check_rows(what: &str, data: &[f32], dim: usize) -> Result<usize> {
    if dim == 0 {
        return Err(Error::Config(format!("{what}: dim must be at least 1")));
    }
    if data.is_empty() || !data.len().is_multiple_of(dim) {
        return Err(Error::shape(
            what,
            format!(
                "{} values are not a positive whole number of rows of {dim}",
                data.len()
            ),
        ));
    }
    if let Some(i) = data.iter().position(|v| !v.is_finite()) {
        return Err(Error::Config(format!(
            "{what}: value {i} is {} (row {})",
            data[i],
            i / dim
        )));
    }
    Ok(data.len() / dim)
}

/// Squared norms of the rows, summed in f64 so only the GEMM rounds in f32.
fn sq_norms(data: &[f32], dim: usize) -> Vec<f32> {
    data.chunks_exact(dim)
        .map(|r| r.iter().map(|&v| v as f64 * v as f64).sum::<f64>() as f32)
        .collect()
}

/// The kernels of one (rows, sigmas) shape with their own small tensors; the large ones are
/// views of [`Density`]'s buffers.
struct Chunk {
    coef: Tensor,
    out: Tensor,
    dots: Kernel,
    lse: Kernel,
}

/// The samples on the GPU plus the per-chunk buffers, sized for `cap` query rows.
struct Density<'a> {
    gpu: &'a Gpu,
    n: usize,
    dim: usize,
    cap: usize,
    /// Query rows the query-side buffers hold (0 before the first use).
    reserved: usize,
    samples: Tensor,
    s_norm: Tensor,
    queries: Tensor,
    x_norm: Tensor,
    dots: Tensor,
    chunks: HashMap<(usize, usize), Chunk>,
}

/// The most bytes one chunk's product takes, whatever the device allows: large enough that
/// 10,000 samples take 1,600 rows at once, small enough to leave memory for the rest.
const CHUNK_BYTES: u64 = 64 << 20;

impl<'a> Density<'a> {
    fn new(
        gpu: &'a Gpu,
        samples: &[f32],
        dim: usize,
        sigmas: &[f64],
        chunk_rows: Option<usize>,
    ) -> Result<Density<'a>> {
        let n = check_rows("parzen samples", samples, dim)?;
        if sigmas.is_empty() {
            return Err(Error::Config("parzen: no sigma to try".into()));
        }
        if let Some(s) = sigmas.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
            return Err(Error::Config(format!(
                "parzen: sigma {s} is not a positive number"
            )));
        }
        // Sigmas are workgroups along y of one dispatch.
        if u32::try_from(n).is_err() || sigmas.len() > 65_535 {
            return Err(Error::Config(format!(
                "parzen: {n} samples or {} sigmas is too many",
                sigmas.len()
            )));
        }
        let cap = match chunk_rows {
            Some(0) => return Err(Error::Config("parzen: chunk of 0 rows".into())),
            Some(r) => r,
            None => {
                let limits = gpu.device.limits();
                let budget = (limits
                    .max_storage_buffer_binding_size
                    .min(limits.max_buffer_size)
                    / 4)
                .min(CHUNK_BYTES);
                let row_bytes = 4 * n.max(dim) as u64;
                (budget / row_bytes).max(1) as usize
            }
        }
        // Rows are workgroups along x of one dispatch.
        .min(65_535);
        Ok(Density {
            gpu,
            n,
            dim,
            cap,
            reserved: 0,
            samples: Tensor::from_slice(gpu, samples, &[n, dim], "parzen samples")?,
            s_norm: Tensor::from_slice(gpu, &sq_norms(samples, dim), &[n], "parzen samples")?,
            // Query-side buffers are made on first use, sized for the largest set seen.
            queries: Tensor::zeros(gpu, &[1], "parzen queries")?,
            x_norm: Tensor::zeros(gpu, &[1], "parzen queries")?,
            dots: Tensor::zeros(gpu, &[1], "parzen products")?,
            chunks: HashMap::new(),
        })
    }

    /// Makes the query-side buffers hold `rows` rows (dropping kernels bound to old ones).
    fn reserve(&mut self, rows: usize) -> Result<()> {
        if self.reserved >= rows {
            return Ok(());
        }
        let (gpu, n, dim) = (self.gpu, self.n, self.dim);
        self.queries = Tensor::zeros(gpu, &[rows, dim], "parzen queries")?;
        self.x_norm = Tensor::zeros(gpu, &[rows], "parzen queries")?;
        self.dots = Tensor::zeros(gpu, &[rows, n], "parzen products")?;
        self.chunks.clear();
        self.reserved = rows;
        Ok(())
    }

    /// The kernels for a chunk of `rows` rows and `sigmas` bandwidths, made on first use.
    fn chunk(&mut self, rows: usize, sigmas: usize) -> Result<&Chunk> {
        if !self.chunks.contains_key(&(rows, sigmas)) {
            let (gpu, n, dim) = (self.gpu, self.n, self.dim);
            // Views from offset 0 need no alignment beyond the buffer's own.
            let queries = self.queries.slice(0, &[rows, dim]);
            let x_norm = self.x_norm.slice(0, &[rows]);
            let dots = self.dots.slice(0, &[rows, n]);
            let coef = Tensor::zeros(gpu, &[sigmas], "parzen sigmas")?;
            let out = Tensor::zeros(gpu, &[rows, sigmas], "parzen log-likelihoods")?;
            let dots_kernel = gemm(
                gpu,
                &queries,
                false,
                &self.samples,
                true,
                None,
                &dots,
                false,
            )?;
            let params = ParzenParams {
                rows: u(rows),
                samples: u(n),
                sigmas: u(sigmas),
            };
            let lse = gpu.kernel_3d(
                KernelSpec::new(Shader::Parzen, "parzen_lse"),
                &[
                    Bind::params(&params),
                    Bind::Read(&dots),
                    Bind::Read(&x_norm),
                    Bind::Read(&self.s_norm),
                    Bind::Read(&coef),
                    Bind::Write(&out),
                ],
                [rows as u32, sigmas as u32, 1],
            )?;
            self.chunks.insert(
                (rows, sigmas),
                Chunk {
                    coef,
                    out,
                    dots: dots_kernel,
                    lse,
                },
            );
        }
        Ok(&self.chunks[&(rows, sigmas)])
    }

    /// `[q, sigmas]` log-likelihoods of the rows of `queries`, in f64 once off the GPU.
    fn log_likelihoods(&mut self, queries: &[f32], sigmas: &[f64]) -> Result<Vec<f64>> {
        let dim = self.dim;
        let q = check_rows("parzen queries", queries, dim)?;
        self.reserve(q.min(self.cap))?;
        let coef: Vec<f32> = sigmas.iter().map(|s| (0.5 / (s * s)) as f32).collect();
        // The normaliser is added in f64: the GPU returns only the log-sum-exp.
        let constant: Vec<f64> = sigmas
            .iter()
            .map(|s| {
                (self.n as f64).ln() + dim as f64 / 2.0 * (2.0 * std::f64::consts::PI * s * s).ln()
            })
            .collect();
        let mut ll = Vec::with_capacity(q * sigmas.len());
        for rows in queries.chunks(self.cap * dim) {
            let r = rows.len() / dim;
            let x_norm = sq_norms(rows, dim);
            // Writes land before the next submission, which `run` makes.
            self.queries.slice(0, &[r, dim]).write(self.gpu, rows)?;
            self.x_norm.slice(0, &[r]).write(self.gpu, &x_norm)?;
            let gpu = self.gpu;
            let chunk = self.chunk(r, sigmas.len())?;
            chunk.coef.write(gpu, &coef)?;
            gpu.run(&[&chunk.dots, &chunk.lse])?;
            let lse = chunk.out.read(gpu)?;
            ll.extend(
                lse.chunks_exact(sigmas.len())
                    .flat_map(|l| l.iter().zip(&constant).map(|(&l, c)| l as f64 - c)),
            );
        }
        Ok(ll)
    }
}
