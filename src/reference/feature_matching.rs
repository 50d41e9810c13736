//! Feature matching: the squared distance between mean real and mean fake features.

/// Column means of `x` [rows, features].
fn means(x: &[f64], features: usize) -> Vec<f64> {
    let rows = x.len() / features;
    (0..features)
        .map(|j| x.iter().skip(j).step_by(features).sum::<f64>() / rows as f64)
        .collect()
}

/// `(1/F) Σ_j (mean_fake_j − mean_real_j)²`.
pub fn feature_matching(real: &[f64], fake: &[f64], features: usize) -> f64 {
    let (r, f) = (means(real, features), means(fake, features));
    r.iter().zip(&f).map(|(a, b)| (b - a).powi(2)).sum::<f64>() / features as f64
}

/// The loss's gradient with respect to `fake`: `2 (mean_fake_j − mean_real_j) / (F · rows)`.
pub fn feature_matching_backward(real: &[f64], fake: &[f64], features: usize) -> Vec<f64> {
    let (r, f) = (means(real, features), means(fake, features));
    let rows = fake.len() / features;
    let scale = 2.0 / (features * rows) as f64;
    (0..fake.len())
        .map(|i| scale * (f[i % features] - r[i % features]))
        .collect()
}
