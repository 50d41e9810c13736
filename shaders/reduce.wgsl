// Deterministic reductions (fixed order, no float atomics).
//  sum_rows: out[c] = [out[c] +] scale * Σ_r x[r, c]   (bias gradients, per-feature sums)
//  sum_all:  out[slot] = scale * Σ_i x[i]             (one workgroup: strided partial sums,
//                                                       then a tree in workgroup memory)

struct Params {
    rows: u32,
    cols: u32,
    accumulate: u32,
    scale: f32,
    slot: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn sum_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
    let col = linear_id(wid, nwg, lid, 64u);
    if (col >= p.cols) {
        return;
    }
    var s = 0.0;
    for (var r = 0u; r < p.rows; r = r + 1u) {
        s = s + x[r * p.cols + col];
    }
    s = s * p.scale;
    if (p.accumulate != 0u) {
        s = s + out[col];
    }
    out[col] = s;
}

var<workgroup> partial: array<f32, 256>;

@compute @workgroup_size(256)
fn sum_all(@builtin(local_invocation_index) lid: u32) {
    let n = p.rows * p.cols;
    var s = 0.0;
    for (var i = lid; i < n; i = i + 256u) {
        s = s + x[i];
    }
    partial[lid] = s;
    workgroupBarrier();
    for (var half = 128u; half > 0u; half = half >> 1u) {
        if (lid < half) {
            partial[lid] = partial[lid] + partial[lid + half];
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        var v = partial[0] * p.scale;
        if (p.accumulate != 0u) {
            v = v + out[p.slot];
        }
        out[p.slot] = v;
    }
}
