// Binary cross-entropy on logits with a per-sample target, fused with its gradient and the
// batch means that the trainer logs. One workgroup; fixed reduction order.
//   loss_i = max(x,0) − x·t + log(1 + exp(−|x|))      (stable for |x| = 100)
//   dL/dx_i = (σ(x) − t) · grad_scale
// `sign` = −1 turns it into the minimax generator loss log(1 − D(G(z))) (target 0).
// metrics[loss_slot] (+)= sign · mean loss; metrics[prob_slot] = mean σ(x).

struct Params {
    n: u32,
    grad_scale: f32,
    sign: f32,
    loss_slot: u32,
    prob_slot: u32,
    accumulate: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<f32>;
@group(0) @binding(3) var<storage, read_write> grad: array<f32>;
@group(0) @binding(4) var<storage, read_write> metrics: array<f32>;

var<workgroup> loss_part: array<f32, 256>;
var<workgroup> prob_part: array<f32, 256>;

fn sigmoid(x: f32) -> f32 {
    if (x >= 0.0) {
        return 1.0 / (1.0 + exp(-x));
    }
    let e = exp(x);
    return e / (1.0 + e);
}

@compute @workgroup_size(256)
fn bce_logits(@builtin(local_invocation_index) lid: u32) {
    var l = 0.0;
    var s = 0.0;
    for (var i = lid; i < p.n; i = i + 256u) {
        let x = logits[i];
        let t = targets[i];
        let sg = sigmoid(x);
        l = l + max(x, 0.0) - x * t + log(1.0 + exp(-abs(x)));
        s = s + sg;
        grad[i] = p.sign * (sg - t) * p.grad_scale;
    }
    loss_part[lid] = l;
    prob_part[lid] = s;
    workgroupBarrier();
    for (var half = 128u; half > 0u; half = half >> 1u) {
        if (lid < half) {
            loss_part[lid] = loss_part[lid] + loss_part[lid + half];
            prob_part[lid] = prob_part[lid] + prob_part[lid + half];
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        var loss = p.sign * loss_part[0] / f32(p.n);
        if (p.accumulate != 0u) {
            loss = loss + metrics[p.loss_slot];
        }
        metrics[p.loss_slot] = loss;
        metrics[p.prob_slot] = prob_part[0] / f32(p.n);
    }
}
