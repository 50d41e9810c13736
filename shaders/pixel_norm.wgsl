// Pixelwise feature normalisation (Karras et al. 2018): at every position of every sample,
// the channel vector divided by its root mean square,
//   y_c = x_c · r,  r = 1 / sqrt(mean_k x_k² + eps),
// and its backward, one invocation per (sample, position), looping over the channels:
//   dx_c = r · dy_c − x_c · r³ · mean_k (dy_k · x_k).

struct Params {
    positions: u32, // samples × spatial positions
    channels: u32,
    spatial: u32,
    eps: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;

// Index of channel 0 at position i, and the stride between channels.
fn base(i: u32) -> u32 {
    return (i / p.spatial) * p.channels * p.spatial + i % p.spatial;
}

fn inv_rms(b: u32) -> f32 {
    var s = 0.0;
    for (var c = 0u; c < p.channels; c = c + 1u) {
        let v = x[b + c * p.spatial];
        s = s + v * v;
    }
    return inverseSqrt(s / f32(p.channels) + p.eps);
}

@compute @workgroup_size(64)
fn pixel_norm_fwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) lid: u32) {
    let i = linear_id(wid, nwg, lid, 64u);
    if (i >= p.positions) {
        return;
    }
    let b = base(i);
    let r = inv_rms(b);
    for (var c = 0u; c < p.channels; c = c + 1u) {
        let at = b + c * p.spatial;
        dst[at] = x[at] * r;
    }
}

@compute @workgroup_size(64)
fn pixel_norm_bwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) lid: u32) {
    let i = linear_id(wid, nwg, lid, 64u);
    if (i >= p.positions) {
        return;
    }
    let b = base(i);
    let r = inv_rms(b);
    var dot = 0.0;
    for (var c = 0u; c < p.channels; c = c + 1u) {
        let at = b + c * p.spatial;
        dot = dot + dy[at] * x[at];
    }
    let k = r * r * r * dot / f32(p.channels);
    for (var c = 0u; c < p.channels; c = c + 1u) {
        let at = b + c * p.spatial;
        dst[at] = r * dy[at] - x[at] * k;
    }
}
