// Parzen-window log-likelihood: for each query row x and bandwidth σ,
//   out[row, σ] = logsumexp_j(−‖x − s_j‖² · coef[σ]),  coef = 1 / (2σ²),
// with ‖x − s_j‖² = ‖x‖² + ‖s_j‖² − 2 x·s_j from a GEMM, clamped at 0 against cancellation.
// One workgroup per (row, σ): first the nearest sample (the largest exponent, so every term
// is ≤ 1 and the nearest one is exactly 1), then the sum of exponentials. Lanes take strided
// samples and meet in a tree in workgroup memory: a fixed order, so results are deterministic.

struct Params {
    rows: u32,
    samples: u32,
    sigmas: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dots: array<f32>;        // [rows, samples]
@group(0) @binding(2) var<storage, read> x_norm: array<f32>;      // [rows]
@group(0) @binding(3) var<storage, read> s_norm: array<f32>;      // [samples]
@group(0) @binding(4) var<storage, read> coef: array<f32>;        // [sigmas]
@group(0) @binding(5) var<storage, read_write> out: array<f32>;   // [rows, sigmas]

const LANES: u32 = 64u;
var<workgroup> tree: array<f32, 64>;

fn sq_dist(row: u32, j: u32) -> f32 {
    return max(x_norm[row] + s_norm[j] - 2.0 * dots[row * p.samples + j], 0.0);
}

// The grid is exactly [rows, sigmas], so every workgroup has work and the barriers stay in
// uniform control flow.
@compute @workgroup_size(64)
fn parzen_lse(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let row = wid.x;
    let sig = wid.y;

    var nearest = 3.4e38;
    for (var j = lid; j < p.samples; j = j + LANES) {
        nearest = min(nearest, sq_dist(row, j));
    }
    tree[lid] = nearest;
    workgroupBarrier();
    for (var half = LANES / 2u; half > 0u; half = half >> 1u) {
        if (lid < half) {
            tree[lid] = min(tree[lid], tree[lid + half]);
        }
        workgroupBarrier();
    }
    let d0 = tree[0];
    // Every lane has read the minimum before the tree is reused for the sum.
    workgroupBarrier();

    let c = coef[sig];
    var s = 0.0;
    for (var j = lid; j < p.samples; j = j + LANES) {
        s = s + exp(-(sq_dist(row, j) - d0) * c);
    }
    tree[lid] = s;
    workgroupBarrier();
    for (var half = LANES / 2u; half > 0u; half = half >> 1u) {
        if (lid < half) {
            tree[lid] = tree[lid] + tree[lid + half];
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        out[row * p.sigmas + sig] = -d0 * c + log(tree[0]);
    }
}
