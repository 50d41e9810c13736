//! Softmax over the last dimension and cross-entropy against integer labels.
//!
//! A label ≥ `classes` marks a row to leave out: it adds 0 to the loss (the mean still
//! divides by the number of rows), has a zero gradient and is never correct, as in the shader.

/// Row-wise softmax of `logits` [n, classes], each row's maximum subtracted first.
pub fn softmax(logits: &[f64], classes: usize) -> Vec<f64> {
    logits
        .chunks(classes)
        .flat_map(|row| {
            let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let e: Vec<f64> = row.iter().map(|&x| (x - m).exp()).collect();
            let s: f64 = e.iter().sum();
            e.into_iter().map(move |v| v / s)
        })
        .collect()
}

/// Mean over the rows of −log softmax(x)_label, as (m − x_label) + log Σ exp(x − m).
pub fn softmax_ce(logits: &[f64], labels: &[u32], classes: usize) -> f64 {
    let n = labels.len() as f64;
    logits
        .chunks(classes)
        .zip(labels)
        .filter(|(_, &l)| (l as usize) < classes)
        .map(|(row, &l)| {
            let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let s: f64 = row.iter().map(|&x| (x - m).exp()).sum();
            (m - row[l as usize]) + s.ln()
        })
        .sum::<f64>()
        / n
}

/// d(softmax_ce)/d logits = (softmax − onehot)/n, zero on rows whose label is out of range.
pub fn softmax_ce_backward(logits: &[f64], labels: &[u32], classes: usize) -> Vec<f64> {
    let n = labels.len() as f64;
    let mut g = softmax(logits, classes);
    for (row, &l) in g.chunks_mut(classes).zip(labels) {
        if (l as usize) < classes {
            row[l as usize] -= 1.0;
            row.iter_mut().for_each(|v| *v /= n);
        } else {
            row.fill(0.0);
        }
    }
    g
}

/// The first index of each row's maximum.
pub fn argmax(logits: &[f64], classes: usize) -> Vec<usize> {
    logits
        .chunks(classes)
        .map(|row| (1..row.len()).fold(0, |best, j| if row[j] > row[best] { j } else { best }))
        .collect()
}

/// How many rows have their first arg-max at the label.
pub fn correct(logits: &[f64], labels: &[u32], classes: usize) -> usize {
    argmax(logits, classes)
        .iter()
        .zip(labels)
        .filter(|(&a, &l)| a as u64 == l as u64)
        .count()
}

/// Fraction of rows whose first arg-max equals the label.
pub fn accuracy(logits: &[f64], labels: &[u32], classes: usize) -> f64 {
    correct(logits, labels, classes) as f64 / labels.len() as f64
}
