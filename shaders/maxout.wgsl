// Maxout (Goodfellow et al. 2013): y[r, u] = max_j x[r, u·k + j] over k pieces.
// Backward sends dy to the first piece that attains the max, recomputed from the saved input.

struct Params {
    units: u32,   // rows × units outputs in all
    total: u32,
    pieces: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;

fn argmax(o: u32) -> u32 {
    let base = o * p.pieces;
    var best = 0u;
    var v = x[base];
    for (var j = 1u; j < p.pieces; j = j + 1u) {
        let c = x[base + j];
        if (c > v) {
            v = c;
            best = j;
        }
    }
    return best;
}

@compute @workgroup_size(256)
fn maxout_fwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
    let o = linear_id(wid, nwg, lid, 256u);
    if (o < p.total) {
        dst[o] = x[o * p.pieces + argmax(o)];
    }
}

@compute @workgroup_size(256)
fn maxout_bwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
    let o = linear_id(wid, nwg, lid, 256u);
    if (o < p.total) {
        let best = argmax(o);
        for (var j = 0u; j < p.pieces; j = j + 1u) {
            dst[o * p.pieces + j] = select(0.0, dy[o], j == best);
        }
    }
}
