//! Row-wise log-sum-exp and its backward.

/// `log Σ_j exp(x_ij)` of each row of `x` [n, classes], the row's maximum subtracted first.
pub fn logsumexp(x: &[f64], classes: usize) -> Vec<f64> {
    x.chunks(classes)
        .map(|row| {
            let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            m + row.iter().map(|&v| (v - m).exp()).sum::<f64>().ln()
        })
        .collect()
}

/// `dx_ij = dlse_i · exp(x_ij − lse_i)`: the upstream gradient times the row's softmax.
pub fn logsumexp_backward(x: &[f64], dlse: &[f64], classes: usize) -> Vec<f64> {
    let lse = logsumexp(x, classes);
    x.chunks(classes)
        .zip(lse.iter().zip(dlse))
        .flat_map(|(row, (&l, &d))| row.iter().map(move |&v| d * (v - l).exp()))
        .collect()
}
