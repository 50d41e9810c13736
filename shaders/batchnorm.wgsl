// Batch normalisation over x viewed as [batch, channels, spatial] (BN2d: spatial = H·W;
// BN1d: spatial = 1). Channel c normalises its M = batch·spatial values: `batch` runs of
// `spatial` contiguous values, one run per sample.
//
//  bn_train_forward  batch mean and biased variance by the corrected two-pass algorithm (a
//                    first mean, then Σd and Σd² of d = x − mean₀: no cancellation however
//                    large the mean), saves stats = [mean_0..mean_C, rstd_0..rstd_C],
//                    updates the running statistics, writes y = γ·(x − mean)·rstd + β.
//  bn_eval_forward   y = γ·(x − running_mean)/sqrt(running_var + eps) + β.
//  bn_backward       Σdy and Σdy·x̂, then dβ = Σdy, dγ = Σdy·x̂ and
//                    dx = γ·rstd·(dy − Σdy/M − x̂·Σ(dy·x̂)/M).
//
// Two layouts of the same math (src/ops/batchnorm.rs picks):
//  bn_*       one workgroup per channel (GPUs, spatial > 1): its WG invocations sweep each
//             sample's run together (coalesced loads), keep partial sums and combine them
//             in a fixed tree in workgroup memory. A value goes through about
//             batch + spatial/WG + log2(WG) additions.
//  bn_*_cols  one invocation per channel, WG channels per workgroup, no workgroup memory or
//             barriers: BN1d on GPUs (neighbouring invocations read neighbouring channels)
//             and every shape on CPU adapters, where barriers are dear and each invocation
//             streams through its own runs. A value goes through batch + spatial additions.
// Both reduce in a fixed order (no atomics), so results are bit-identical from run to run.
// Sums are two-level: a partial per sample's run, then across samples.
//
// Entry points declare their own bindings; a binding number may have a different access in
// another entry point (layouts are per entry point).

struct Params {
    batch: u32,
    channels: u32,
    spatial: u32,
    // bn_backward: bit 0 write dx, bit 1 add to dx, bit 2 write dγ/dβ, bit 3 add to them.
    flags: u32,
    momentum: f32,
    eps: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;

// bn_train_forward
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> stats: array<f32>;
@group(0) @binding(6) var<storage, read_write> running_mean: array<f32>;
@group(0) @binding(7) var<storage, read_write> running_var: array<f32>;

// bn_eval_forward: x, gamma, beta and y as above, then
@group(0) @binding(5) var<storage, read> eval_mean: array<f32>;
@group(0) @binding(6) var<storage, read> eval_var: array<f32>;

// bn_backward: x and gamma as above, then
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read> saved: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;
@group(0) @binding(6) var<storage, read_write> dgamma: array<f32>;
@group(0) @binding(7) var<storage, read_write> dbeta: array<f32>;

// Invocations per workgroup: a power of two, at most 256.
override WG: u32 = 64u;

var<workgroup> part: array<vec2<f32>, 256>;

// Start of sample n's run of channel c.
fn run_start(n: u32, c: u32) -> u32 {
    return (n * p.channels + c) * p.spatial;
}

// Fixed-order tree over part[0..WG); every invocation gets the total. Must be reached by
// the whole workgroup (uniform control flow).
fn tree_sum(lid: u32, v: vec2<f32>) -> vec2<f32> {
    part[lid] = v;
    workgroupBarrier();
    for (var half = WG / 2u; half > 0u; half = half >> 1u) {
        if (lid < half) {
            part[lid] = part[lid] + part[lid + half];
        }
        workgroupBarrier();
    }
    let total = part[0];
    // Everyone has read the total before part is written again.
    workgroupBarrier();
    return total;
}

// The statistics from the two passes' sums: (mean, biased variance). Σd corrects the first
// mean's rounding (x − mean₀ is exact near the mean); Σd² has no cancellation.
fn moments(mean0: f32, sums: vec2<f32>, m: f32) -> vec2<f32> {
    let corr = sums.x / m;
    return vec2<f32>(mean0 + corr, max(sums.y / m - corr * corr, 0.0));
}

// Saves mean and rstd and updates the running statistics (PyTorch: unbiased variance).
fn save_stats(c: u32, mean: f32, var_b: f32, rstd: f32) {
    stats[c] = mean;
    stats[p.channels + c] = rstd;
    let count = p.batch * p.spatial;
    var unbiased = var_b;
    if (count > 1u) {
        unbiased = var_b * (f32(count) / f32(count - 1u));
    }
    let keep = 1.0 - p.momentum;
    running_mean[c] = keep * running_mean[c] + p.momentum * mean;
    running_var[c] = keep * running_var[c] + p.momentum * unbiased;
}

// ---- rows: one workgroup per channel --------------------------------------------------

@compute @workgroup_size(WG)
fn bn_train_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                    @builtin(local_invocation_index) lid: u32) {
    let c = wid.x + wid.y * nwg.x;
    if (c >= p.channels) {
        return;
    }
    let m = f32(p.batch * p.spatial);

    var s1 = 0.0;
    for (var n = 0u; n < p.batch; n = n + 1u) {
        let base = run_start(n, c);
        var r = 0.0;
        for (var s = lid; s < p.spatial; s = s + WG) {
            r = r + x[base + s];
        }
        s1 = s1 + r;
    }
    let mean0 = tree_sum(lid, vec2<f32>(s1, 0.0)).x / m;

    var acc = vec2<f32>(0.0);
    for (var n = 0u; n < p.batch; n = n + 1u) {
        let base = run_start(n, c);
        var r = vec2<f32>(0.0);
        for (var s = lid; s < p.spatial; s = s + WG) {
            let d = x[base + s] - mean0;
            r = r + vec2<f32>(d, d * d);
        }
        acc = acc + r;
    }
    let mv = moments(mean0, tree_sum(lid, acc), m);
    let mean = mv.x;
    let rstd = 1.0 / sqrt(mv.y + p.eps);
    if (lid == 0u) {
        save_stats(c, mean, mv.y, rstd);
    }

    // Normalise with the saved f32 mean, as the backward does; x − mean before scaling
    // keeps y accurate when |mean| ≫ std.
    let scale = gamma[c] * rstd;
    let shift = beta[c];
    for (var n = 0u; n < p.batch; n = n + 1u) {
        let base = run_start(n, c);
        for (var s = lid; s < p.spatial; s = s + WG) {
            y[base + s] = (x[base + s] - mean) * scale + shift;
        }
    }
}

@compute @workgroup_size(WG)
fn bn_eval_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32) {
    let c = wid.x + wid.y * nwg.x;
    if (c >= p.channels) {
        return;
    }
    let mean = eval_mean[c];
    let scale = gamma[c] / sqrt(eval_var[c] + p.eps);
    let shift = beta[c];
    for (var n = 0u; n < p.batch; n = n + 1u) {
        let base = run_start(n, c);
        for (var s = lid; s < p.spatial; s = s + WG) {
            y[base + s] = (x[base + s] - mean) * scale + shift;
        }
    }
}

// Writes dγ/dβ (or adds to them) as the flags say.
fn param_grads(c: u32, sums: vec2<f32>) {
    if ((p.flags & 4u) != 0u) {
        if ((p.flags & 8u) != 0u) {
            dgamma[c] = dgamma[c] + sums.y;
            dbeta[c] = dbeta[c] + sums.x;
        } else {
            dgamma[c] = sums.y;
            dbeta[c] = sums.x;
        }
    }
}

@compute @workgroup_size(WG)
fn bn_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
    let c = wid.x + wid.y * nwg.x;
    if (c >= p.channels) {
        return;
    }
    let m = f32(p.batch * p.spatial);
    let mean = saved[c];
    let rstd = saved[p.channels + c];

    var acc = vec2<f32>(0.0);
    for (var n = 0u; n < p.batch; n = n + 1u) {
        let base = run_start(n, c);
        var r = vec2<f32>(0.0);
        for (var s = lid; s < p.spatial; s = s + WG) {
            let g = dy[base + s];
            r = r + vec2<f32>(g, g * ((x[base + s] - mean) * rstd));
        }
        acc = acc + r;
    }
    let t = tree_sum(lid, acc);
    if (lid == 0u) {
        param_grads(c, t);
    }

    if ((p.flags & 1u) != 0u) {
        let scale = gamma[c] * rstd;
        let mdy = t.x / m;
        let mdyx = t.y / m;
        let add = (p.flags & 2u) != 0u;
        for (var n = 0u; n < p.batch; n = n + 1u) {
            let base = run_start(n, c);
            for (var s = lid; s < p.spatial; s = s + WG) {
                let i = base + s;
                var v = scale * (dy[i] - mdy - (x[i] - mean) * rstd * mdyx);
                if (add) {
                    v = v + dx[i];
                }
                dx[i] = v;
            }
        }
    }
}

// ---- cols: one invocation per channel ---------------------------------------------------

@compute @workgroup_size(WG)
fn bn_train_forward_cols(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                         @builtin(local_invocation_index) lid: u32) {
    let c = linear_id(wid, nwg, lid, WG);
    if (c >= p.channels) {
        return;
    }
    let m = f32(p.batch * p.spatial);
    var s1 = 0.0;
    for (var n = 0u; n < p.batch; n = n + 1u) {
        let base = run_start(n, c);
        var r = 0.0;
        for (var s = 0u; s < p.spatial; s = s + 1u) {
            r = r + x[base + s];
        }
        s1 = s1 + r;
    }
    let mean0 = s1 / m;
    var acc = vec2<f32>(0.0);
    for (var n = 0u; n < p.batch; n = n + 1u) {
        let base = run_start(n, c);
        var r = vec2<f32>(0.0);
        for (var s = 0u; s < p.spatial; s = s + 1u) {
            let d = x[base + s] - mean0;
            r = r + vec2<f32>(d, d * d);
        }
        acc = acc + r;
    }
    let mv = moments(mean0, acc, m);
    let mean = mv.x;
    let rstd = 1.0 / sqrt(mv.y + p.eps);
    save_stats(c, mean, mv.y, rstd);
    let scale = gamma[c] * rstd;
    let shift = beta[c];
    for (var n = 0u; n < p.batch; n = n + 1u) {
        let base = run_start(n, c);
        for (var s = 0u; s < p.spatial; s = s + 1u) {
            y[base + s] = (x[base + s] - mean) * scale + shift;
        }
    }
}

@compute @workgroup_size(WG)
fn bn_eval_forward_cols(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                        @builtin(local_invocation_index) lid: u32) {
    let c = linear_id(wid, nwg, lid, WG);
    if (c >= p.channels) {
        return;
    }
    let mean = eval_mean[c];
    let scale = gamma[c] / sqrt(eval_var[c] + p.eps);
    let shift = beta[c];
    for (var n = 0u; n < p.batch; n = n + 1u) {
        let base = run_start(n, c);
        for (var s = 0u; s < p.spatial; s = s + 1u) {
            y[base + s] = (x[base + s] - mean) * scale + shift;
        }
    }
}

@compute @workgroup_size(WG)
fn bn_backward_cols(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                    @builtin(local_invocation_index) lid: u32) {
    let c = linear_id(wid, nwg, lid, WG);
    if (c >= p.channels) {
        return;
    }
    let m = f32(p.batch * p.spatial);
    let mean = saved[c];
    let rstd = saved[p.channels + c];
    var acc = vec2<f32>(0.0);
    for (var n = 0u; n < p.batch; n = n + 1u) {
        let base = run_start(n, c);
        var r = vec2<f32>(0.0);
        for (var s = 0u; s < p.spatial; s = s + 1u) {
            let g = dy[base + s];
            r = r + vec2<f32>(g, g * ((x[base + s] - mean) * rstd));
        }
        acc = acc + r;
    }
    param_grads(c, acc);
    if ((p.flags & 1u) != 0u) {
        let scale = gamma[c] * rstd;
        let mdy = acc.x / m;
        let mdyx = acc.y / m;
        let add = (p.flags & 2u) != 0u;
        for (var n = 0u; n < p.batch; n = n + 1u) {
            let base = run_start(n, c);
            for (var s = 0u; s < p.spatial; s = s + 1u) {
                let i = base + s;
                var v = scale * (dy[i] - mdy - (x[i] - mean) * rstd * mdyx);
                if (add) {
                    v = v + dx[i];
                }
                dx[i] = v;
            }
        }
    }
}
