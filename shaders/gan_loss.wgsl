// The GAN losses on D's logits, each fused with its gradient and the batch means that the
// trainer logs. One workgroup; fixed reduction order. `kind` picks the loss:
//   0, binary cross-entropy with a per-sample target t (stable for |x| = 100):
//     loss_i = max(x,0) − x·t + log(1 + exp(−|x|)),   dL/dx_i = σ(x) − t
//   1, D's hinge loss (Lim & Ye 2017; Miyato et al. 2018), target t (1 real, 0 fake):
//     loss_i = t·relu(1 − x) + (1 − t)·relu(1 + x)
//     dL/dx_i = −t·[x < 1] + (1 − t)·[x > −1]   (relu'(0) = 0, as PyTorch: a logit exactly
//     on its margin gets no gradient)
//   2, G's hinge loss: loss_i = −x, dL/dx_i = −1 (targets are bound but not read).
//   3, the least-squares loss (Mao et al. 2017; CycleGAN's and pix2pix's LSGAN), target t:
//     loss_i = (x − t)²,   dL/dx_i = 2·(x − t)
//   4, the Wasserstein critic loss (Arjovsky et al. 2017), target t (1 real, 0 fake):
//     loss_i = (1 − 2t)·x,   dL/dx_i = 1 − 2t
// Gradients are scaled by grad_scale; `sign` multiplies loss and gradient (−1 with kind 0
// and target 0 is the minimax generator loss log(1 − D(G(z)))).
// metrics[loss_slot] (+)= sign · mean loss; metrics[prob_slot] = mean σ(x), so D(x) and
// D(G(z)) are logged alike for every loss.

struct Params {
    n: u32,
    grad_scale: f32,
    sign: f32,
    loss_slot: u32,
    prob_slot: u32,
    accumulate: u32,
    kind: u32,
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
fn gan_loss(@builtin(local_invocation_index) lid: u32) {
    var l = 0.0;
    var s = 0.0;
    for (var i = lid; i < p.n; i = i + 256u) {
        let x = logits[i];
        let sg = sigmoid(x);
        var li = -x;
        var gi = -1.0;
        if (p.kind == 0u) {
            let t = targets[i];
            li = max(x, 0.0) - x * t + log(1.0 + exp(-abs(x)));
            gi = sg - t;
        } else if (p.kind == 1u) {
            let t = targets[i];
            li = t * max(1.0 - x, 0.0) + (1.0 - t) * max(1.0 + x, 0.0);
            gi = -t * select(0.0, 1.0, x < 1.0) + (1.0 - t) * select(0.0, 1.0, x > -1.0);
        } else if (p.kind == 3u) {
            let d = x - targets[i];
            li = d * d;
            gi = 2.0 * d;
        } else if (p.kind == 4u) {
            gi = 1.0 - 2.0 * targets[i];
            li = gi * x;
        }
        l = l + li;
        s = s + sg;
        grad[i] = p.sign * gi * p.grad_scale;
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
