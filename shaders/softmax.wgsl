// Softmax over the last dimension of [n, classes] logits, and softmax cross-entropy against
// u32 labels fused with its gradient and the batch's mean loss and accuracy. Each row has its
// maximum m subtracted first, so every exp is ≤ 1 and any finite logits give finite results.
//   loss_i   = (m_i − x_i,label) + log Σ_j exp(x_ij − m_i)
//   dL/dx_ij = (softmax(x_i)_j − [j = label_i]) · grad_scale
// A label ≥ classes (e.g. a padding row) reads nothing: the row adds 0 to the loss sum (the
// mean still divides by n), its gradient is 0 and it never counts as correct.
// metrics[loss_slot] = mean loss; metrics[acc_slot] = fraction of rows whose first arg-max
// equals the label. softmax_ce is one workgroup (fixed reduction order, no float atomics);
// softmax is one invocation per row.

struct Params {
    n: u32,           // rows
    classes: u32,
    grad_scale: f32,
    loss_slot: u32,
    acc_slot: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;

// softmax_ce
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read_write> grad: array<f32>;
@group(0) @binding(4) var<storage, read_write> metrics: array<f32>;

// softmax: logits as above, then
@group(0) @binding(2) var<storage, read_write> probs: array<f32>;

var<workgroup> loss_part: array<f32, 256>;
var<workgroup> hit_part: array<u32, 256>;

struct RowMax {
    value: f32,
    index: u32,
}

// The row's maximum and its first index (ties go to the lowest class, as argmax does).
fn row_max(base: u32) -> RowMax {
    var best = RowMax(logits[base], 0u);
    for (var j = 1u; j < p.classes; j = j + 1u) {
        let x = logits[base + j];
        if (x > best.value) {
            best = RowMax(x, j);
        }
    }
    return best;
}

// Σ_j exp(x_j − m): at least 1 (the maximum's own term), so its log is safe.
fn row_sum_exp(base: u32, m: f32) -> f32 {
    var s = 0.0;
    for (var j = 0u; j < p.classes; j = j + 1u) {
        s = s + exp(logits[base + j] - m);
    }
    return s;
}

@compute @workgroup_size(256)
fn softmax_ce(@builtin(local_invocation_index) lid: u32) {
    var l = 0.0;
    var hits = 0u;
    for (var row = lid; row < p.n; row = row + 256u) {
        let base = row * p.classes;
        let label = labels[row];
        let valid = label < p.classes;
        let mx = row_max(base);
        let s = row_sum_exp(base, mx.value);
        for (var j = 0u; j < p.classes; j = j + 1u) {
            var g = 0.0;
            if (valid) {
                g = exp(logits[base + j] - mx.value) / s - select(0.0, 1.0, j == label);
            }
            grad[base + j] = g * p.grad_scale;
        }
        if (valid) {
            // (m − x_label) first: both may be large, their difference is what matters.
            l = l + (mx.value - logits[base + label]) + log(s);
            hits = hits + select(0u, 1u, mx.index == label);
        }
    }
    loss_part[lid] = l;
    hit_part[lid] = hits;
    workgroupBarrier();
    for (var half = 128u; half > 0u; half = half >> 1u) {
        if (lid < half) {
            loss_part[lid] = loss_part[lid] + loss_part[lid + half];
            hit_part[lid] = hit_part[lid] + hit_part[lid + half];
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        metrics[p.loss_slot] = loss_part[0] / f32(p.n);
        // The count is an exact integer; only this division rounds.
        metrics[p.acc_slot] = f32(hit_part[0]) / f32(p.n);
    }
}

@compute @workgroup_size(256)
fn softmax(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
    let row = linear_id(wid, nwg, lid, 256u);
    if (row >= p.n) {
        return;
    }
    let base = row * p.classes;
    let m = row_max(base).value;
    let s = row_sum_exp(base, m);
    for (var j = 0u; j < p.classes; j = j + 1u) {
        probs[base + j] = exp(logits[base + j] - m) / s;
    }
}
