// Counter-based random numbers: element i at step t of stream s is Philox((i, t, s, 0), seed).
// Any element can be drawn independently, in any order, on any device, with the same result.

struct Params {
    n: u32,
    seed_lo: u32,
    seed_hi: u32,
    stream: u32,
    t_mul: u32,
    t_add: u32,
    a: f32,   // uniform: low end;  normal: mean
    b: f32,   // uniform: high end; normal: standard deviation
    first: u32, // the counter of element 0 (a data-parallel rank's part of a batch)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> state: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

fn draw(i: u32) -> vec4<u32> {
    let step = state[0] * p.t_mul + p.t_add;
    return philox(vec4<u32>(p.first + i, step, p.stream, 0u), vec2<u32>(p.seed_lo, p.seed_hi));
}

@compute @workgroup_size(256)
fn fill_bits(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
    let i = linear_id(wid, nwg, lid, 256u);
    if (i < p.n) {
        out[i] = bitcast<f32>(draw(i).x);
    }
}

@compute @workgroup_size(256)
fn fill_uniform(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
    let i = linear_id(wid, nwg, lid, 256u);
    if (i < p.n) {
        out[i] = p.a + (p.b - p.a) * to_unit(draw(i).x);
    }
}

@compute @workgroup_size(256)
fn fill_normal(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
    let i = linear_id(wid, nwg, lid, 256u);
    if (i < p.n) {
        let r = draw(i);
        out[i] = p.a + p.b * to_normal(r.x, r.y);
    }
}
