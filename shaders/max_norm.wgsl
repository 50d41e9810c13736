// Max-norm constraint (pylearn2's max_col_norm, used by Goodfellow et al. 2014 on D): each
// unit's incoming weight vector (a row of W [out, in]) is rescaled to norm at most c:
// w ← w · min(‖w‖, c) / (1e-7 + ‖w‖).

struct Params {
    rows: u32,
    cols: u32,
    max_norm: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> w: array<f32>;

@compute @workgroup_size(64)
fn max_norm(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
    let row = linear_id(wid, nwg, lid, 64u);
    if (row >= p.rows) {
        return;
    }
    let base = row * p.cols;
    var s = 0.0;
    for (var i = 0u; i < p.cols; i = i + 1u) {
        let v = w[base + i];
        s = s + v * v;
    }
    let norm = sqrt(s);
    let scale = min(norm, p.max_norm) / (1e-7 + norm);
    for (var i = 0u; i < p.cols; i = i + 1u) {
        w[base + i] = w[base + i] * scale;
    }
}
