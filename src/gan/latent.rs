//! Paths through a generator's latent space: linear and spherical interpolation between two
//! latent vectors, Gram–Schmidt for orthonormal walking directions, turning a latent vector
//! along them, and clamping back into the noise's support. Plain CPU maths on `f32` slices, computed in `f64`.

use crate::gan::Noise;
use crate::{Error, Result};

/// Below this sine of the angle between two vectors (or this norm) their great circle is
/// ill-defined, and [`slerp`] falls back to [`lerp`].
pub const PARALLEL_SIN: f64 = 1e-6;

/// A vector whose part orthogonal to the earlier ones is shorter than this fraction of its
/// own norm counts as linearly dependent in [`gram_schmidt`].
pub const DEPENDENT_FRACTION: f64 = 1e-6;

fn same_len(op: &str, a: &[f32], b: &[f32]) -> Result<()> {
    if a.len() != b.len() {
        return Err(Error::shape(
            op,
            format!("latent vectors of {} and {} values", a.len(), b.len()),
        ));
    }
    Ok(())
}

fn norm(v: &[f32]) -> f64 {
    v.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt()
}

/// `(1 − t)·z0 + t·z1`.
pub fn lerp(z0: &[f32], z1: &[f32], t: f32) -> Result<Vec<f32>> {
    same_len("lerp", z0, z1)?;
    let t = f64::from(t);
    Ok(z0
        .iter()
        .zip(z1)
        .map(|(&a, &b)| ((1.0 - t) * f64::from(a) + t * f64::from(b)) as f32)
        .collect())
}

/// Spherical interpolation: the direction moves along the great circle from `z0`'s to
/// `z1`'s at constant angular speed, and the norm goes linearly from `|z0|` to `|z1|`. For
/// Gaussian z (rotation invariant, nearly all mass near one norm) this keeps every point as
/// typical as the endpoints, where the straight line cuts through the less likely interior.
///
/// For uniform z the box is not rotation invariant, so there is no such argument; the path is
/// still well defined on the vectors and is used as is (callers clamp it into the box with
/// [`clamp_to_support`], since the arc can bulge slightly outside).
///
/// When the vectors are (nearly) parallel or antiparallel, or one is (nearly) zero, the great
/// circle is undefined or numerically unstable and the result is [`lerp`]: for parallel
/// vectors the two paths coincide anyway; for antiparallel ones any great circle would be an
/// arbitrary choice.
pub fn slerp(z0: &[f32], z1: &[f32], t: f32) -> Result<Vec<f32>> {
    same_len("slerp", z0, z1)?;
    let (n0, n1) = (norm(z0), norm(z1));
    if n0 < PARALLEL_SIN || n1 < PARALLEL_SIN {
        return lerp(z0, z1, t);
    }
    let dot: f64 = z0
        .iter()
        .zip(z1)
        .map(|(&a, &b)| f64::from(a) * f64::from(b))
        .sum();
    let cos = (dot / (n0 * n1)).clamp(-1.0, 1.0);
    let omega = cos.acos();
    let sin = omega.sin();
    if sin < PARALLEL_SIN {
        return lerp(z0, z1, t);
    }
    let t = f64::from(t);
    let len = (1.0 - t) * n0 + t * n1;
    // Weights of the unit vectors, with the target norm folded in.
    let w0 = len * ((1.0 - t) * omega).sin() / sin / n0;
    let w1 = len * (t * omega).sin() / sin / n1;
    Ok(z0
        .iter()
        .zip(z1)
        .map(|(&a, &b)| (w0 * f64::from(a) + w1 * f64::from(b)) as f32)
        .collect())
}

/// Orthonormalises `vectors` in order (modified Gram–Schmidt, in `f64`): the i-th result is
/// the unit part of the i-th vector orthogonal to all earlier ones. An error when lengths
/// differ or a vector is (nearly) a combination of the earlier ones.
pub fn gram_schmidt(vectors: &[&[f32]]) -> Result<Vec<Vec<f32>>> {
    let mut basis: Vec<Vec<f64>> = Vec::with_capacity(vectors.len());
    for (i, v) in vectors.iter().enumerate() {
        same_len("gram_schmidt", vectors[0], v)?;
        let mut w: Vec<f64> = v.iter().map(|&x| f64::from(x)).collect();
        let original = w.iter().map(|x| x * x).sum::<f64>().sqrt();
        for b in &basis {
            let d: f64 = w.iter().zip(b).map(|(x, y)| x * y).sum();
            w.iter_mut().zip(b).for_each(|(x, y)| *x -= d * y);
        }
        let left = w.iter().map(|x| x * x).sum::<f64>().sqrt();
        if !(left > DEPENDENT_FRACTION * original && left.is_finite()) {
            return Err(Error::shape(
                "gram_schmidt",
                format!("vector {i} is (nearly) a combination of the earlier ones or zero"),
            ));
        }
        w.iter_mut().for_each(|x| *x /= left);
        basis.push(w);
    }
    Ok(basis
        .into_iter()
        .map(|b| b.into_iter().map(|x| x as f32).collect())
        .collect())
}

/// `z` turned by the angle `√(a² + b²)` (radians) towards the direction `a·u + b·v`, along a
/// great circle, keeping its norm: `cos θ·z + sin θ·|z|·(a·u + b·v)/θ`. A walk over a grid of
/// (a, b) stays as typical as `z` for Gaussian noise however far it goes, where `z + a·u + b·v`
/// would leave the shell that nearly all latent vectors lie on, and changes the image as
/// much at `π/2` as drawing a new latent vector would. `u` and `v` are orthonormal and
/// orthogonal to `z` (the last two of [`gram_schmidt`]`(&[z, u, v])`).
pub fn turn(z: &[f32], u: &[f32], v: &[f32], a: f32, b: f32) -> Result<Vec<f32>> {
    same_len("turn", z, u)?;
    same_len("turn", z, v)?;
    let (a, b) = (f64::from(a), f64::from(b));
    let theta = a.hypot(b);
    if theta == 0.0 {
        return Ok(z.to_vec());
    }
    let (cos, along) = (theta.cos(), theta.sin() * norm(z) / theta);
    Ok(z.iter()
        .zip(u.iter().zip(v))
        .map(|(&x, (&p, &q))| {
            (cos * f64::from(x) + along * (a * f64::from(p) + b * f64::from(q))) as f32
        })
        .collect())
}

/// Clamps every coordinate of `z` into the support of `noise`: into `[low, high]` for uniform
/// noise (a generator never saw values outside it); unchanged for normal noise.
pub fn clamp_to_support(noise: Noise, z: &mut [f32]) {
    if let Noise::Uniform { low, high } = noise {
        z.iter_mut().for_each(|x| *x = x.clamp(low, high));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gan::noise;

    fn dot(a: &[f32], b: &[f32]) -> f64 {
        a.iter()
            .zip(b)
            .map(|(&x, &y)| f64::from(x) * f64::from(y))
            .sum()
    }

    fn close(a: &[f32], b: &[f32], tol: f32) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tol)
    }

    /// Two 100-dim Gaussian vectors, as the generators draw them.
    fn pair() -> (Vec<f32>, Vec<f32>) {
        let z = noise(Noise::Normal, 200, 3);
        (z[..100].to_vec(), z[100..].to_vec())
    }

    #[test]
    fn slerp_starts_at_z0_and_ends_at_z1() {
        let (z0, z1) = pair();
        assert!(close(&slerp(&z0, &z1, 0.0).unwrap(), &z0, 1e-5));
        assert!(close(&slerp(&z0, &z1, 1.0).unwrap(), &z1, 1e-5));
        assert!(close(&lerp(&z0, &z1, 0.0).unwrap(), &z0, 0.0));
        assert!(close(&lerp(&z0, &z1, 1.0).unwrap(), &z1, 0.0));
    }

    #[test]
    fn slerp_keeps_the_norm_of_equal_norm_endpoints_and_moves_at_constant_angle() {
        let (z0, mut z1) = pair();
        let scale = (norm(&z0) / norm(&z1)) as f32;
        z1.iter_mut().for_each(|x| *x *= scale);
        let n = norm(&z0);
        let omega = (dot(&z0, &z1) / (n * n)).acos();
        for i in 0..=10 {
            let t = i as f32 / 10.0;
            let p = slerp(&z0, &z1, t).unwrap();
            assert!((norm(&p) / n - 1.0).abs() < 1e-6, "t = {t}: {}", norm(&p));
            let angle = (dot(&z0, &p) / (n * norm(&p))).clamp(-1.0, 1.0).acos();
            assert!((angle - f64::from(t) * omega).abs() < 1e-4, "t = {t}");
        }
        // The straight line between them dips inside the sphere.
        assert!(norm(&lerp(&z0, &z1, 0.5).unwrap()) < 0.8 * n);
    }

    #[test]
    fn slerp_interpolates_the_norm_linearly() {
        let (z0, mut z1) = pair();
        let target = 3.0 * norm(&z0);
        let scale = (target / norm(&z1)) as f32;
        z1.iter_mut().for_each(|x| *x *= scale);
        let p = slerp(&z0, &z1, 0.25).unwrap();
        let want = 0.75 * norm(&z0) + 0.25 * target;
        assert!((norm(&p) / want - 1.0).abs() < 1e-6);
    }

    #[test]
    fn parallel_antiparallel_and_zero_vectors_fall_back_to_lerp() {
        let (z0, _) = pair();
        let twice: Vec<f32> = z0.iter().map(|x| 2.0 * x).collect();
        let opposite: Vec<f32> = z0.iter().map(|x| -x).collect();
        let zero = vec![0.0; z0.len()];
        // Nearly parallel: a tiny sideways nudge.
        let mut nudged = twice.clone();
        nudged[0] += 1e-5;
        for other in [&twice, &opposite, &zero, &nudged] {
            for t in [0.0, 0.3, 0.5, 1.0] {
                let s = slerp(&z0, other, t).unwrap();
                assert!(s.iter().all(|x| x.is_finite()));
                assert!(close(&s, &lerp(&z0, other, t).unwrap(), 1e-5), "t = {t}");
            }
        }
    }

    #[test]
    fn gram_schmidt_gives_orthonormal_directions() {
        let z = noise(Noise::Normal, 300, 11);
        let (a, b, c) = (&z[..100], &z[100..200], &z[200..]);
        let q = gram_schmidt(&[a, b, c]).unwrap();
        assert_eq!(q.len(), 3);
        for i in 0..3 {
            for j in 0..3 {
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((dot(&q[i], &q[j]) - want).abs() < 1e-6, "{i}·{j}");
            }
        }
        // The first direction is the first vector's, the second lies in the span of the two.
        assert!((dot(&q[0], a) / norm(a) - 1.0).abs() < 1e-6);
        let back: f64 = dot(&q[1], b).powi(2) + dot(&q[0], b).powi(2);
        assert!((back.sqrt() / norm(b) - 1.0).abs() < 1e-6);
    }

    #[test]
    fn dependent_vectors_and_mismatched_lengths_are_errors() {
        let (z0, z1) = pair();
        let combo: Vec<f32> = z0.iter().zip(&z1).map(|(a, b)| 2.0 * a - b).collect();
        assert!(matches!(
            gram_schmidt(&[&z0, &z1, &combo]),
            Err(Error::Shape { .. })
        ));
        assert!(gram_schmidt(&[&z0, &vec![0.0; 100]]).is_err());
        assert!(gram_schmidt(&[&z0, &z1[..50]]).is_err());
        assert!(slerp(&z0, &z1[..99], 0.5).is_err());
        assert!(lerp(&z0, &z1[..99], 0.5).is_err());
    }

    #[test]
    fn turning_keeps_the_norm_and_reaches_the_directions_at_a_right_angle() {
        let (z, raw) = pair();
        let w = noise(Noise::Normal, z.len(), 9);
        let dirs = gram_schmidt(&[&z, &raw, &w]).unwrap();
        let (u, v) = (&dirs[1], &dirs[2]);
        let n = norm(&z);
        assert_eq!(turn(&z, u, v, 0.0, 0.0).unwrap(), z);
        let right = std::f32::consts::FRAC_PI_2;
        let scaled_u: Vec<f32> = u.iter().map(|&x| x * n as f32).collect();
        assert!(close(&turn(&z, u, v, right, 0.0).unwrap(), &scaled_u, 1e-4));
        let back: Vec<f32> = z.iter().map(|&x| -x).collect();
        assert!(close(
            &turn(&z, u, v, 0.0, 2.0 * right).unwrap(),
            &back,
            1e-4
        ));
        for (a, b) in [(0.3, -0.4), (-1.0, 1.0), (0.05, 0.0)] {
            let t = turn(&z, u, v, a, b).unwrap();
            assert!((norm(&t) - n).abs() < 1e-4 * n, "norm kept at ({a}, {b})");
            // The angle to z is √(a² + b²).
            let angle = (dot(&t, &z) / (n * n)).clamp(-1.0, 1.0).acos();
            assert!((angle - f64::from(a).hypot(f64::from(b))).abs() < 1e-4);
        }
        assert!(turn(&z, &u[1..], v, 0.1, 0.1).is_err());
    }

    #[test]
    fn uniform_noise_is_clamped_into_its_box_and_normal_noise_is_not() {
        let mut z = vec![-3.0, -1.0, 0.5, 2.5];
        clamp_to_support(Noise::Normal, &mut z);
        assert_eq!(z, [-3.0, -1.0, 0.5, 2.5]);
        clamp_to_support(
            Noise::Uniform {
                low: -2.0,
                high: 2.0,
            },
            &mut z,
        );
        assert_eq!(z, [-2.0, -1.0, 0.5, 2.0]);
    }
}
