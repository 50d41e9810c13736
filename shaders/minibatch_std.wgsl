// Minibatch standard deviation (Karras et al. 2018, ProGAN §3), the whole batch as one group.
// x is viewed as [N, K] with K = C·S columns (a column is one (c, h, w); S = H·W, 1 for dense
// inputs); y is [N, C + 1, S]: each sample's K values, then S copies of
//     s = (1/K)·Σ_j σ_j,   σ_j = sqrt(var_j + eps),   var_j = (1/N)·Σ_n (x[n, j] − mean_j)².
//
//  mbstd_columns   one invocation per column: mean and biased variance by the corrected
//                  two-pass algorithm (a first mean, then Σd and Σd² of d = x − mean₀, as batch
//                  norm does, so 100 ± 0.01 keeps its variance); saves stats[j] = mean_j and
//                  stats[K + j] = σ_j and copies the column into y in the second pass.
//  mbstd_finish    one workgroup: s from the σ_j (strided partial sums, then a fixed tree),
//                  saved as stats[2K] and written to every position of y's extra channel.
//  mbstd_grad_sum  one workgroup: G = Σ dy[:, C, :], what the loss says about s.
//  mbstd_backward  one invocation per value of x:
//                  dx[n, j] = dy[n, j] + G·(x[n, j] − mean_j)/(N·K·σ_j)
//                  (∂s/∂x[n, j]; mean_j's own derivative drops out as Σ_n (x − mean_j) = 0).
//
// A gradient penalty's second-order pass (d = x − mean, ẋ the input's tangent):
//  mbstd_tangent_columns  one invocation per column: copies ẋ into ẏ and saves
//                  tstats[j] = mean_n ẋ[n, j] and tstats[K + j] = σ̇_j = Σ_n d·ẋ/(N·σ_j);
//                  mbstd_finish on (tstats, ẏ) then gives ṡ = (1/K)·Σ_j σ̇_j, as s above.
//  mbstd_curvature  one invocation per value of x: what ṡ's dependence on x passes to the
//                  primal input from the tangent's cotangent (Ġ = its extra channel's sum):
//                  c[n, j] = Ġ/(N·K·σ_j)·(ẋ[n, j] − tstats[j] − σ̇_j·d[n, j]/σ_j).
//
// Reductions run in a fixed order without atomics, so results are bit-identical run to run.
// An invocation loops 2·N times (columns), K/WG + N·S/WG times (finish) or N·S/WG times
// (grad_sum): src/ops/minibatch_std.rs checks these against llvmpipe's per-invocation limit.
//
// Entry points declare their own bindings; a binding number may name another variable with
// another access in another entry point (layouts are per entry point).

struct Params {
    batch: u32,
    cols: u32,      // K = C·S
    spatial: u32,   // S
    flags: u32,     // mbstd_backward: bit 0 adds to dx
    eps: f32,
}

@group(0) @binding(0) var<uniform> p: Params;

// mbstd_columns (x also in mbstd_backward)
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> stats: array<f32>;

// mbstd_finish
@group(0) @binding(1) var<storage, read_write> fin_stats: array<f32>;
@group(0) @binding(2) var<storage, read_write> fin_y: array<f32>;

// mbstd_grad_sum
@group(0) @binding(1) var<storage, read> gs_dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> gs_out: array<f32>;

// mbstd_backward: x as above, then
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> saved: array<f32>;
@group(0) @binding(4) var<storage, read> gsum: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;

// mbstd_tangent_columns: x as above, then
@group(0) @binding(2) var<storage, read> tc_saved: array<f32>;
@group(0) @binding(3) var<storage, read> tc_xdot: array<f32>;
@group(0) @binding(4) var<storage, read_write> tc_ydot: array<f32>;
@group(0) @binding(5) var<storage, read_write> tc_tstats: array<f32>;

// mbstd_curvature: x, saved, gsum as in mbstd_backward, the result in dx, then
@group(0) @binding(2) var<storage, read> cv_xdot: array<f32>;
@group(0) @binding(6) var<storage, read> cv_tstats: array<f32>;

// Invocations of the one-workgroup reductions (a power of two).
const WG: u32 = 256u;
// Columns per workgroup in mbstd_columns.
const COLS_WG: u32 = 64u;

var<workgroup> part: array<f32, WG>;

// Fixed-order tree over part[0..WG); every invocation gets the total. Must be reached by
// the whole workgroup.
fn tree_sum(lid: u32, v: f32) -> f32 {
    part[lid] = v;
    workgroupBarrier();
    for (var half = WG / 2u; half > 0u; half = half >> 1u) {
        if (lid < half) {
            part[lid] = part[lid] + part[lid + half];
        }
        workgroupBarrier();
    }
    return part[0];
}

@compute @workgroup_size(COLS_WG)
fn mbstd_columns(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
    let j = linear_id(wid, nwg, lid, COLS_WG);
    if (j >= p.cols) {
        return;
    }
    let k = p.cols;
    let out_row = k + p.spatial;
    let m = f32(p.batch);
    var s1 = 0.0;
    for (var n = 0u; n < p.batch; n = n + 1u) {
        s1 = s1 + x[n * k + j];
    }
    let mean0 = s1 / m;
    // Σd corrects mean₀'s rounding (x − mean₀ is exact near the mean); Σd² cancels nothing.
    var acc = vec2<f32>(0.0);
    for (var n = 0u; n < p.batch; n = n + 1u) {
        let v = x[n * k + j];
        y[n * out_row + j] = v;
        let d = v - mean0;
        acc = acc + vec2<f32>(d, d * d);
    }
    let corr = acc.x / m;
    let var_b = max(acc.y / m - corr * corr, 0.0);
    stats[j] = mean0 + corr;
    stats[k + j] = sqrt(var_b + p.eps);
}

@compute @workgroup_size(WG)
fn mbstd_finish(@builtin(local_invocation_index) lid: u32) {
    let k = p.cols;
    var r = 0.0;
    for (var j = lid; j < k; j = j + WG) {
        r = r + fin_stats[k + j];
    }
    let s = tree_sum(lid, r) / f32(k);
    if (lid == 0u) {
        fin_stats[2u * k] = s;
    }
    // The extra channel: S values after each sample's K.
    let out_row = k + p.spatial;
    let total = p.batch * p.spatial;
    for (var i = lid; i < total; i = i + WG) {
        let n = i / p.spatial;
        fin_y[n * out_row + k + (i - n * p.spatial)] = s;
    }
}

@compute @workgroup_size(WG)
fn mbstd_grad_sum(@builtin(local_invocation_index) lid: u32) {
    let k = p.cols;
    let out_row = k + p.spatial;
    let total = p.batch * p.spatial;
    var r = 0.0;
    for (var i = lid; i < total; i = i + WG) {
        let n = i / p.spatial;
        r = r + gs_dy[n * out_row + k + (i - n * p.spatial)];
    }
    let g = tree_sum(lid, r);
    if (lid == 0u) {
        gs_out[0] = g;
    }
}

@compute @workgroup_size(256)
fn mbstd_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) lid: u32) {
    let i = linear_id(wid, nwg, lid, 256u);
    let k = p.cols;
    if (i >= p.batch * k) {
        return;
    }
    let n = i / k;
    let j = i - n * k;
    // G/(N·K) once; N·K may not be exact in f32, but its rounding is one ulp.
    let coef = gsum[0] / (f32(p.batch) * f32(k));
    var v = dy[n * (k + p.spatial) + j] + coef * (x[i] - saved[j]) / saved[k + j];
    if ((p.flags & 1u) != 0u) {
        v = v + dx[i];
    }
    dx[i] = v;
}

@compute @workgroup_size(COLS_WG)
fn mbstd_tangent_columns(@builtin(workgroup_id) wid: vec3<u32>,
                         @builtin(num_workgroups) nwg: vec3<u32>,
                         @builtin(local_invocation_index) lid: u32) {
    let j = linear_id(wid, nwg, lid, COLS_WG);
    if (j >= p.cols) {
        return;
    }
    let k = p.cols;
    let out_row = k + p.spatial;
    let m = f32(p.batch);
    let mean = tc_saved[j];
    var sum = 0.0;
    var dot = 0.0;
    for (var n = 0u; n < p.batch; n = n + 1u) {
        let v = tc_xdot[n * k + j];
        tc_ydot[n * out_row + j] = v;
        sum = sum + v;
        dot = dot + (x[n * k + j] - mean) * v;
    }
    tc_tstats[j] = sum / m;
    tc_tstats[k + j] = dot / (m * tc_saved[k + j]);
}

@compute @workgroup_size(256)
fn mbstd_curvature(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32) {
    let i = linear_id(wid, nwg, lid, 256u);
    let k = p.cols;
    if (i >= p.batch * k) {
        return;
    }
    let j = i - (i / k) * k;
    let sigma = saved[k + j];
    let coef = gsum[0] / (f32(p.batch) * f32(k));
    let d = x[i] - saved[j];
    var v = coef / sigma * (cv_xdot[i] - cv_tstats[j] - cv_tstats[k + j] * d / sigma);
    if ((p.flags & 1u) != 0u) {
        v = v + dx[i];
    }
    dx[i] = v;
}
