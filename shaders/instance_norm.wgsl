// Instance normalisation (Ulyanov et al. 2016): every (sample, channel) plane normalised by
// its own mean and variance over the positions, then scaled and shifted per channel:
//   y = γ_c · x̂ + β_c,  x̂ = (x − μ) · r,  μ = mean_s x,  r = 1 / sqrt(mean_s (x − μ)² + eps).
// Backward per plane, with g = γ_c · dy:  dx = r · (g − mean_s g − x̂ · mean_s (g · x̂));
// per channel, summed over the samples in order:  dγ_c = Σ dy · x̂,  dβ_c = Σ dy.
// One invocation per plane (or per channel for the parameters), looping over the positions:
// the mean and the variance in two passes, so a large mean does not swamp the variance.

struct Params {
    planes: u32,     // samples × channels
    channels: u32,
    spatial: u32,    // positions per plane
    eps: f32,
    accumulate: u32, // parameter gradients: 1 adds to what the buffers hold
    batch: u32,
}

// Bindings by entry point: 0 p, 1 x, 2 dst, then
//   instance_norm_fwd:         3 gamma, 4 beta       (dst: y)
//   instance_norm_bwd_x:       3 gamma, 4 dy         (dst: dx)
//   instance_norm_bwd_params:  3 dy_c,  4 dbeta      (dst: dγ)
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
@group(0) @binding(3) var<storage, read> gamma: array<f32>;
@group(0) @binding(4) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> dy_c: array<f32>;
@group(0) @binding(4) var<storage, read_write> dbeta: array<f32>;

// The mean and the inverse standard deviation of the plane starting at `b`.
fn plane_stats(b: u32) -> vec2<f32> {
    var s = 0.0;
    for (var i = 0u; i < p.spatial; i = i + 1u) {
        s = s + x[b + i];
    }
    let mean = s / f32(p.spatial);
    var v = 0.0;
    for (var i = 0u; i < p.spatial; i = i + 1u) {
        let d = x[b + i] - mean;
        v = v + d * d;
    }
    return vec2<f32>(mean, inverseSqrt(v / f32(p.spatial) + p.eps));
}

@compute @workgroup_size(64)
fn instance_norm_fwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                     @builtin(local_invocation_index) lid: u32) {
    let plane = linear_id(wid, nwg, lid, 64u);
    if (plane >= p.planes) {
        return;
    }
    let b = plane * p.spatial;
    let st = plane_stats(b);
    let c = plane % p.channels;
    for (var i = 0u; i < p.spatial; i = i + 1u) {
        dst[b + i] = gamma[c] * (x[b + i] - st.x) * st.y + beta[c];
    }
}

@compute @workgroup_size(64)
fn instance_norm_bwd_x(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                       @builtin(local_invocation_index) lid: u32) {
    let plane = linear_id(wid, nwg, lid, 64u);
    if (plane >= p.planes) {
        return;
    }
    let b = plane * p.spatial;
    let st = plane_stats(b);
    let g = gamma[plane % p.channels];
    var sum_g = 0.0;
    var sum_gx = 0.0;
    for (var i = 0u; i < p.spatial; i = i + 1u) {
        let gi = g * dy[b + i];
        sum_g = sum_g + gi;
        sum_gx = sum_gx + gi * (x[b + i] - st.x) * st.y;
    }
    let n = f32(p.spatial);
    for (var i = 0u; i < p.spatial; i = i + 1u) {
        let xhat = (x[b + i] - st.x) * st.y;
        dst[b + i] = st.y * (g * dy[b + i] - sum_g / n - xhat * sum_gx / n);
    }
}

@compute @workgroup_size(64)
fn instance_norm_bwd_params(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                            @builtin(local_invocation_index) lid: u32) {
    let c = linear_id(wid, nwg, lid, 64u);
    if (c >= p.channels) {
        return;
    }
    var dg = 0.0;
    var db = 0.0;
    for (var n = 0u; n < p.batch; n = n + 1u) {
        let b = (n * p.channels + c) * p.spatial;
        let st = plane_stats(b);
        for (var i = 0u; i < p.spatial; i = i + 1u) {
            dg = dg + dy_c[b + i] * (x[b + i] - st.x) * st.y;
            db = db + dy_c[b + i];
        }
    }
    if (p.accumulate != 0u) {
        dg = dg + dst[c];
        db = db + dbeta[c];
    }
    dst[c] = dg;
    dbeta[c] = db;
}
