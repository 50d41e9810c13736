//! The Fréchet distance between Gaussians fitted to classifier features (the FID of Heusel et
//! al. 2017, with our digit classifier in place of Inception).

use nalgebra::{DMatrix, SymmetricEigen};

use crate::{Error, Result};

/// A Gaussian fitted to feature vectors.
#[derive(Clone, Debug, PartialEq)]
pub struct Gaussian {
    /// The mean feature vector.
    pub mean: Vec<f64>,
    /// `dim × dim`, row-major.
    pub cov: Vec<f64>,
    /// Features per sample.
    pub dim: usize,
    /// How many vectors it was fitted to.
    pub count: usize,
}

impl Gaussian {
    /// Mean and unbiased covariance of the `count = features.len() / dim` row-major feature
    /// vectors, accumulated in f64. Needs at least 2 rows.
    pub fn fit(features: &[f32], dim: usize) -> Result<Gaussian> {
        if dim == 0 {
            return Err(Error::Config(
                "Gaussian::fit: dim must be at least 1".into(),
            ));
        }
        if !features.len().is_multiple_of(dim) {
            return Err(Error::shape(
                "Gaussian::fit",
                format!("{} values are not whole rows of {dim}", features.len()),
            ));
        }
        let count = features.len() / dim;
        if count < 2 {
            return Err(Error::Config(format!(
                "Gaussian::fit: a covariance needs at least 2 feature vectors, got {count}"
            )));
        }
        if let Some(i) = features.iter().position(|v| !v.is_finite()) {
            return Err(Error::Config(format!(
                "Gaussian::fit: feature {} of row {} is {}",
                i % dim,
                i / dim,
                features[i]
            )));
        }
        let mut mean = vec![0.0f64; dim];
        for row in features.chunks_exact(dim) {
            for (m, &v) in mean.iter_mut().zip(row) {
                *m += v as f64;
            }
        }
        mean.iter_mut().for_each(|m| *m /= count as f64);
        // Centred first (two passes): no cancellation between E[xxᵀ] and μμᵀ.
        let centred = DMatrix::from_fn(count, dim, |r, c| features[r * dim + c] as f64 - mean[c]);
        let scatter = centred.tr_mul(&centred);
        let cov = (0..dim)
            .flat_map(|i| {
                let scatter = &scatter;
                // The product's two triangles may differ in rounding; average them.
                (0..dim).map(move |j| 0.5 * (scatter[(i, j)] + scatter[(j, i)]))
            })
            .map(|s| s / (count - 1) as f64)
            .collect();
        Ok(Gaussian {
            mean,
            cov,
            dim,
            count,
        })
    }

    /// Checks that the fields agree with each other and are finite.
    fn check(&self, which: &str) -> Result<()> {
        if self.dim == 0 || self.mean.len() != self.dim || self.cov.len() != self.dim * self.dim {
            return Err(Error::shape(
                "frechet_distance",
                format!(
                    "{which}: dim {} with {} mean values and {} covariance values",
                    self.dim,
                    self.mean.len(),
                    self.cov.len()
                ),
            ));
        }
        if self.mean.iter().chain(&self.cov).any(|v| !v.is_finite()) {
            return Err(Error::Config(format!(
                "frechet_distance: {which} has a value that is not finite"
            )));
        }
        Ok(())
    }

    fn cov_matrix(&self) -> DMatrix<f64> {
        let c = DMatrix::from_row_slice(self.dim, self.dim, &self.cov);
        // The eigen-solver reads one triangle; make both the same.
        (&c + c.transpose()) * 0.5
    }
}

/// ‖μa − μb‖² + tr(Σa + Σb − 2 (Σa^½ Σb Σa^½)^½), in f64.
///
/// Both square roots come from symmetric eigendecompositions with negative eigenvalues
/// (rounding of singular covariances) clamped to 0, so the result is real; it is clamped at
/// 0 for the same reason.
pub fn frechet_distance(a: &Gaussian, b: &Gaussian) -> Result<f64> {
    a.check("first Gaussian")?;
    b.check("second Gaussian")?;
    if a.dim != b.dim {
        return Err(Error::shape(
            "frechet_distance",
            format!("Gaussians of dimension {} and {}", a.dim, b.dim),
        ));
    }
    let (ca, cb) = (a.cov_matrix(), b.cov_matrix());
    let mean_term: f64 = a
        .mean
        .iter()
        .zip(&b.mean)
        .map(|(x, y)| (x - y) * (x - y))
        .sum();
    let sqrt_a = psd_sqrt(ca.clone())?;
    let m = &sqrt_a * cb.clone() * &sqrt_a;
    let m = (&m + m.transpose()) * 0.5;
    let cross: f64 = eigen(m)?
        .eigenvalues
        .iter()
        .map(|l| l.max(0.0).sqrt())
        .sum();
    Ok((mean_term + ca.trace() + cb.trace() - 2.0 * cross).max(0.0))
}

fn eigen(m: DMatrix<f64>) -> Result<SymmetricEigen<f64, nalgebra::Dyn>> {
    let dim = m.nrows();
    // The QR iterations converge in a few sweeps per eigenvalue; the cap only turns a
    // pathological input into an error instead of a hang.
    SymmetricEigen::try_new(m, f64::EPSILON, 1000 * dim.max(1)).ok_or_else(|| {
        Error::Config(format!(
            "frechet_distance: the {dim}×{dim} eigendecomposition did not converge"
        ))
    })
}

/// The symmetric square root V·diag(√max(λ, 0))·Vᵀ of a symmetric matrix.
fn psd_sqrt(m: DMatrix<f64>) -> Result<DMatrix<f64>> {
    let e = eigen(m)?;
    let mut scaled = e.eigenvectors.clone();
    for (mut col, &l) in scaled.column_iter_mut().zip(e.eigenvalues.iter()) {
        col *= l.max(0.0).sqrt();
    }
    Ok(scaled * e.eigenvectors.transpose())
}
