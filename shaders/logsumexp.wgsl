// Row-wise log-sum-exp of [n, classes] logits and its backward. The semi-supervised GAN's D
// reads a class logit vector l as "real" with probability Z/(Z + 1), Z = Σ_k exp(l_k) (the fake
// class's logit fixed at 0), i.e. σ(lse(l)): its real/fake loss is BCE on lse(l).
//   forward:  lse_i = m_i + log Σ_j exp(x_ij − m_i), m_i the row's maximum (every exp ≤ 1)
//   backward: dx_ij [+]= dlse_i · exp(x_ij − lse_i)   (dlse times the row's softmax)

struct Params {
    n: u32,           // rows
    classes: u32,
    accumulate: u32,  // backward: add to dx instead of overwriting it
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;

// lse_forward
@group(0) @binding(2) var<storage, read_write> lse_out: array<f32>;

// lse_backward
@group(0) @binding(2) var<storage, read> lse_in: array<f32>;
@group(0) @binding(3) var<storage, read> dlse: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;

// One invocation per row.
@compute @workgroup_size(256)
fn lse_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = linear_id(wid, nwg, lid, 256u);
    if (i >= p.n) {
        return;
    }
    let base = i * p.classes;
    var m = logits[base];
    for (var j = 1u; j < p.classes; j = j + 1u) {
        m = max(m, logits[base + j]);
    }
    var s = 0.0;
    for (var j = 0u; j < p.classes; j = j + 1u) {
        s = s + exp(logits[base + j] - m);
    }
    lse_out[i] = m + log(s);
}

// One invocation per logit.
@compute @workgroup_size(256)
fn lse_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = linear_id(wid, nwg, lid, 256u);
    if (i >= p.n * p.classes) {
        return;
    }
    let row = i / p.classes;
    var g = dlse[row] * exp(logits[i] - lse_in[row]);
    if (p.accumulate != 0u) {
        g = g + dx[i];
    }
    dx[i] = g;
}
