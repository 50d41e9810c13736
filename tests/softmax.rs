//! Softmax and softmax cross-entropy against the f64 reference (`reference::softmax`) on
//! awkward shapes: batch 1, one class, class counts that are not powers of two, more rows than
//! the loss kernel's 256 invocations (up to 10,000), logits of ±100 and spreads of ±30,000,
//! labels at both ends and out of range.

mod common;

use common::*;
use counterfeit::ops::softmax::{softmax, softmax_ce, SoftmaxCeOut};
use counterfeit::reference::softmax as reference;
use counterfeit::{Error, Tensor};

/// (rows, classes): batch 1, one class, 37 classes, and row counts around and far past 256.
const SHAPES: [(usize, usize); 12] = [
    (1, 1),
    (1, 3),
    (1, 10),
    (7, 1),
    (5, 3),
    (33, 10),
    (64, 37),
    (257, 10),
    (257, 37),
    (2000, 10),
    (2000, 37),
    (10_000, 10),
];

// Tolerances, from WGSL's accuracy bounds (exp within 3 + 2|x| ULP, log within 2^−21 absolute
// near 1, division within 2.5 ULP; 1 ULP of 1 is 1.2e-7) and checked against what lavapipe
// gives on these cases (worst case in brackets).
//
// Probabilities: rounding x − m to f32 already puts ulp(|x − m|)/2 of relative error into
// exp(x − m), ≈ 1e-6 for x − m ≈ −16, plus ≤ 2.5 ULP from the division and a few from the row
// sum: rtol 1e-5 [2.0e-6]. A term below e^−16 ≈ 1.1e-7 of the row's sum may be off by all of
// its value and still stay under atol 2e-7.
const P_ATOL: f64 = 2e-7;
const P_RTOL: f64 = 1e-5;
// Gradient (p − onehot)·scale: as the probabilities, except at the label, where p ≈ 1 cancels
// against the 1 and leaves p's absolute error, a few ULP of 1 from the division and the sum:
// atol 1e-6 · scale, 8 ULP of 1 [4.4e-7 · scale].
const G_ATOL: f64 = 1e-6;
const G_RTOL: f64 = 1e-5;
// Mean loss: each row's (m − x_label) rounds once (6e-8 relative), and log s is off by the
// relative error of s (≈ 2e-6 as above) plus log's own 2^−21; the f32 sum over n ≤ 10,000 rows
// is ≤ 40 sequential adds per invocation then 8 tree levels, ≈ 48 roundings ≈ 3e-6 relative.
// So atol 1e-5 + rtol 1e-5 [8e-7 relative, 2.8e-8 absolute on a loss of 0.035].
const L_ATOL: f64 = 1e-5;
const L_RTOL: f64 = 1e-5;

fn tensor(data: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_slice(gpu(), data, shape, "t").unwrap()
}

fn label_tensor(labels: &[u32]) -> Tensor {
    Tensor::from_u32(gpu(), labels, "labels").unwrap()
}

/// Labels spread over the classes, with the first row at class 0 and the last at the last.
fn labels_for(n: usize, classes: usize, seed: u64) -> Vec<u32> {
    let mut l: Vec<u32> = uniform(n, seed, 0.0, classes as f32)
        .iter()
        .map(|&v| (v as u32).min(classes as u32 - 1))
        .collect();
    l[0] = 0;
    l[n - 1] = classes as u32 - 1;
    l
}

/// Normal logits of scale 3; with `extreme`, rows of ±100, a ±30,000 spread and a tie.
fn logits_for(n: usize, classes: usize, seed: u64, labels: &mut [u32], extreme: bool) -> Vec<f32> {
    let mut x = normal(n * classes, seed, 3.0);
    if extreme && n >= 5 && classes >= 2 {
        let c = classes;
        let mut row = |r: usize, f: &dyn Fn(usize) -> f32| {
            for j in 0..c {
                x[r * c + j] = f(j);
            }
        };
        // +100 at the label, −100 elsewhere: loss ≈ 0, p exactly 1 and 0 in f32.
        row(0, &|j| if j == 0 { 100.0 } else { -100.0 });
        labels[0] = 0;
        // +100 at class 0, −100 at the label (the last class): loss ≈ 200.
        row(1, &|j| if j == 0 { 100.0 } else { -100.0 });
        labels[1] = c as u32 - 1;
        // ±30,000 alternating: exp(x − m) underflows to 0 for every odd class.
        row(2, &|j| if j % 2 == 0 { 3e4 } else { -3e4 });
        labels[2] = 1;
        // A tie everywhere: the arg-max is class 0.
        row(3, &|_| 7.0);
        labels[3] = 0;
        // All large and equal but one: the shift keeps every exp in range.
        row(4, &|j| if j == c - 1 { 101.0 } else { 100.0 });
    }
    x
}

/// Runs softmax_ce on one case and checks every output against the reference.
fn check_ce(n: usize, classes: usize, labels: &[u32], x: &[f32], grad_scale: f32, tag: &str) {
    let gpu = gpu();
    let lt = tensor(x, &[n, classes]);
    let gt = tensor(&vec![f32::NAN; n * classes], &[n, classes]);
    let metrics = tensor(&[7.0; 4], &[4]);
    let out = SoftmaxCeOut {
        loss_slot: 1,
        acc_slot: 3,
        grad_scale,
    };
    let k = softmax_ce(gpu, &lt, &label_tensor(labels), &gt, &metrics, out).unwrap();
    gpu.run(&[&k]).unwrap();
    let m = metrics.read(gpu).unwrap();
    let g = gt.read(gpu).unwrap();

    let xd = f64s(x);
    let want_loss = reference::softmax_ce(&xd, labels, classes);
    assert_close(
        &format!("{tag} loss"),
        &m[1..2],
        &[want_loss],
        L_ATOL,
        L_RTOL,
    );
    // The hit count is an exact integer; only the final division by n rounds (2.5 ULP).
    let hits = reference::correct(&xd, labels, classes);
    assert_eq!(
        (m[3] as f64 * n as f64).round() as usize,
        hits,
        "{tag}: accuracy {} is not {hits}/{n}",
        m[3]
    );
    assert_close(
        &format!("{tag} accuracy"),
        &m[3..4],
        &[hits as f64 / n as f64],
        0.0,
        1e-6,
    );
    assert_eq!(
        [m[0], m[2]],
        [7.0, 7.0],
        "{tag}: other metric slots written"
    );

    let rescale = n as f64 * grad_scale as f64;
    let want_g: Vec<f64> = reference::softmax_ce_backward(&xd, labels, classes)
        .iter()
        .map(|v| v * rescale)
        .collect();
    let atol = G_ATOL * grad_scale.abs() as f64;
    assert_close(&format!("{tag} grad"), &g, &want_g, atol, G_RTOL);

    // A second run gives the same bits: the reduction order is fixed.
    gpu.run(&[&k]).unwrap();
    let m2 = metrics.read(gpu).unwrap();
    assert_eq!(
        m[1].to_bits(),
        m2[1].to_bits(),
        "{tag}: loss not deterministic"
    );
    assert_eq!(
        m[3].to_bits(),
        m2[3].to_bits(),
        "{tag}: accuracy not deterministic"
    );
}

#[test]
fn softmax_ce_matches_reference() {
    for (i, &(n, classes)) in SHAPES.iter().enumerate() {
        let seed = 1000 + i as u64;
        let mut labels = labels_for(n, classes, seed);
        let x = logits_for(n, classes, seed, &mut labels, false);
        check_ce(
            n,
            classes,
            &labels,
            &x,
            1.0 / n as f32,
            &format!("ce {n}x{classes}"),
        );
    }
}

#[test]
fn softmax_ce_is_stable_for_extreme_logits() {
    for (i, &(n, classes)) in SHAPES.iter().enumerate() {
        let seed = 2000 + i as u64;
        let mut labels = labels_for(n, classes, seed);
        let x = logits_for(n, classes, seed, &mut labels, true);
        // A summed (not averaged) loss's gradient: grad_scale 1 whatever n is.
        check_ce(
            n,
            classes,
            &labels,
            &x,
            1.0,
            &format!("extreme ce {n}x{classes}"),
        );
    }
}

#[test]
fn out_of_range_labels_add_nothing_and_get_no_gradient() {
    let gpu = gpu();
    let (n, classes) = (9usize, 4usize);
    let labels = [4, 0, u32::MAX, 3, 5, 1, 2, 4, 0];
    let x = normal(n * classes, 31, 2.0);
    check_ce(n, classes, &labels, &x, 1.0 / n as f32, "out of range");
    let gt = tensor(&vec![f32::NAN; n * classes], &[n, classes]);
    let metrics = tensor(&[0.0; 2], &[2]);
    let out = SoftmaxCeOut {
        loss_slot: 0,
        acc_slot: 1,
        grad_scale: 1.0,
    };
    let lt = tensor(&x, &[n, classes]);
    gpu.run(&[&softmax_ce(gpu, &lt, &label_tensor(&labels), &gt, &metrics, out).unwrap()])
        .unwrap();
    let g = gt.read(gpu).unwrap();
    for (r, &l) in labels.iter().enumerate() {
        let row = &g[r * classes..(r + 1) * classes];
        if l as usize >= classes {
            assert!(
                row.iter().all(|&v| v == 0.0),
                "row {r} (label {l}): {row:?}"
            );
        } else {
            assert!(row.iter().all(|v| v.is_finite()), "row {r}: {row:?}");
        }
    }

    // Every label out of range: loss and accuracy exactly 0, no gradient at all.
    let labels = [2, 7, 2];
    let x = [1.0, -1.0, 100.0, -100.0, 0.5, 0.5];
    let (lt, gt) = (tensor(&x, &[3, 2]), tensor(&[f32::NAN; 6], &[3, 2]));
    gpu.run(&[&softmax_ce(gpu, &lt, &label_tensor(&labels), &gt, &metrics, out).unwrap()])
        .unwrap();
    assert_eq!(metrics.read(gpu).unwrap(), vec![0.0, 0.0]);
    assert_eq!(gt.read(gpu).unwrap(), vec![0.0; 6]);
}

#[test]
fn softmax_matches_reference() {
    let gpu = gpu();
    for (i, &(n, classes)) in SHAPES.iter().enumerate() {
        for extreme in [false, true] {
            let seed = 3000 + i as u64;
            let mut labels = labels_for(n, classes, seed);
            let x = logits_for(n, classes, seed, &mut labels, extreme);
            let lt = tensor(&x, &[n, classes]);
            let pt = tensor(&vec![f32::NAN; n * classes], &[n, classes]);
            gpu.run(&[&softmax(gpu, &lt, &pt).unwrap()]).unwrap();
            let p = pt.read(gpu).unwrap();
            let want = reference::softmax(&f64s(&x), classes);
            let tag = format!("softmax {n}x{classes} extreme {extreme}");
            assert_close(&tag, &p, &want, P_ATOL, P_RTOL);
            // Rows sum to 1 up to the per-value tolerance times the class count.
            let sums: Vec<f32> = p.chunks(classes).map(|r| r.iter().sum()).collect();
            let bound = P_RTOL + classes as f64 * P_ATOL;
            assert_close(&format!("{tag} sums"), &sums, &vec![1.0; n], bound, 0.0);
        }
    }
}

#[test]
fn shape_mistakes_are_errors() {
    let gpu = gpu();
    let x = tensor(&[0.0; 12], &[4, 3]);
    let labels = label_tensor(&[0, 1, 2, 0]);
    let grad = tensor(&[0.0; 12], &[4, 3]);
    let metrics = tensor(&[0.0; 2], &[2]);
    let out = SoftmaxCeOut {
        loss_slot: 0,
        acc_slot: 1,
        grad_scale: 0.25,
    };
    let is_shape = |r: counterfeit::Result<_>| matches!(r, Err(Error::Shape { .. }));
    assert!(softmax_ce(gpu, &x, &labels, &grad, &metrics, out).is_ok());
    // Three labels for four rows.
    let three = label_tensor(&[0, 1, 2]);
    assert!(is_shape(softmax_ce(gpu, &x, &three, &grad, &metrics, out)));
    // A gradient of another size.
    let small = tensor(&[0.0; 9], &[3, 3]);
    assert!(is_shape(softmax_ce(
        gpu, &x, &labels, &small, &metrics, out
    )));
    // Slots outside the metrics, or both in one.
    for (loss_slot, acc_slot) in [(2, 0), (0, 2), (1, 1)] {
        let out = SoftmaxCeOut {
            loss_slot,
            acc_slot,
            grad_scale: 0.25,
        };
        assert!(is_shape(softmax_ce(gpu, &x, &labels, &grad, &metrics, out)));
    }
    // The classes are the last dimension: [3, 4] logits have three rows, not four.
    let x34 = tensor(&[0.0; 12], &[3, 4]);
    assert!(is_shape(softmax_ce(
        gpu, &x34, &labels, &grad, &metrics, out
    )));
    assert!(softmax(gpu, &x, &grad).is_ok());
    assert!(is_shape(softmax(gpu, &x, &small)));
}
