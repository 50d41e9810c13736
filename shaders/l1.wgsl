// The L1 distance between two tensors (pix2pix's and CycleGAN's reconstruction losses),
// fused with its gradient with respect to the first:
//   metrics[loss_slot] (+)= weight · mean |a − b|,   grad = weight · grad_scale · sign(a − b)
// with sign(0) = 0, as PyTorch's. One workgroup; fixed reduction order.

struct Params {
    n: u32,
    weight: f32,
    grad_scale: f32,
    loss_slot: u32,
    accumulate: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> grad: array<f32>;
@group(0) @binding(4) var<storage, read_write> metrics: array<f32>;

var<workgroup> part: array<f32, 256>;

@compute @workgroup_size(256)
fn l1(@builtin(local_invocation_index) lid: u32) {
    var s = 0.0;
    for (var i = lid; i < p.n; i = i + 256u) {
        let d = a[i] - b[i];
        s = s + abs(d);
        grad[i] = p.weight * p.grad_scale * sign(d);
    }
    part[lid] = s;
    workgroupBarrier();
    for (var half = 128u; half > 0u; half = half >> 1u) {
        if (lid < half) {
            part[lid] = part[lid] + part[lid + half];
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        var loss = p.weight * part[0] / f32(p.n);
        if (p.accumulate != 0u) {
            loss = loss + metrics[p.loss_slot];
        }
        metrics[p.loss_slot] = loss;
    }
}
