// Feature matching (Salimans et al. 2016): G minimises the squared distance between the mean
// features D finds in a real batch and in a fake batch, over F features:
//   L = (1/F) Σ_j (mf_j − mr_j)²,   dL/df[b, j] = scale · (mf_j − mr_j),  scale = 2/(F·B_fake)
// where mr, mf are the column means (made by `sum_rows` beforehand). The real features are a
// fixed target: no gradient flows into them.

struct Params {
    rows: u32,        // fake rows B_fake
    features: u32,    // F
    scale: f32,
    slot: u32,        // metrics slot of L
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> mean_real: array<f32>;
@group(0) @binding(2) var<storage, read> mean_fake: array<f32>;

// fm_grad
@group(0) @binding(3) var<storage, read_write> grad: array<f32>;

// fm_loss
@group(0) @binding(3) var<storage, read_write> metrics: array<f32>;

var<workgroup> part: array<f32, 256>;

// One invocation per fake feature value.
@compute @workgroup_size(256)
fn fm_grad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = linear_id(wid, nwg, lid, 256u);
    if (i >= p.rows * p.features) {
        return;
    }
    let j = i % p.features;
    grad[i] = p.scale * (mean_fake[j] - mean_real[j]);
}

// One workgroup; a fixed reduction order, so the figure is deterministic.
@compute @workgroup_size(256)
fn fm_loss(@builtin(local_invocation_id) lid: vec3<u32>) {
    let t = lid.x;
    var s = 0.0;
    for (var j = t; j < p.features; j = j + 256u) {
        let d = mean_fake[j] - mean_real[j];
        s = s + d * d;
    }
    part[t] = s;
    workgroupBarrier();
    for (var w = 128u; w > 0u; w = w >> 1u) {
        if (t < w) {
            part[t] = part[t] + part[t + w];
        }
        workgroupBarrier();
    }
    if (t == 0u) {
        metrics[p.slot] = part[0] / f32(p.features);
    }
}
