// Inverted dropout: keep each element with probability `keep` and scale it by 1/keep.
// The mask is never stored: forward and backward both draw it from Philox at
// (element, step, stream), so the backward sees exactly the forward's mask.

struct Params {
    n: u32,
    keep: f32,
    seed_lo: u32,
    seed_hi: u32,
    stream: u32,
    t_mul: u32,
    t_add: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> state: array<u32>;
@group(0) @binding(2) var<storage, read> src: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;

fn kept(i: u32) -> bool {
    let step = state[0] * p.t_mul + p.t_add;
    let r = philox(vec4<u32>(i, step, p.stream, 0u), vec2<u32>(p.seed_lo, p.seed_hi));
    return to_unit(r.x) < p.keep;
}

// Forward on x and backward on dy are the same operation.
@compute @workgroup_size(256)
fn dropout(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
    let i = linear_id(wid, nwg, lid, 256u);
    if (i < p.n) {
        dst[i] = select(0.0, src[i] / p.keep, kept(i));
    }
}
