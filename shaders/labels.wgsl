// Class labels for conditional GANs: uniform draws on the GPU, and one-hot rows or label maps.
//
//  draw_labels  out[i] = the high word of u·classes, u the first Philox word of
//               (i, step, stream, 0): uniform on 0..classes (bias below classes/2^32)
//  one_hot      out[n, c, s] = 1 if labels[n] == c else 0, the same at every spatial position s
//               (spatial = 1: one-hot rows; otherwise one constant map per class). A label
//               ≥ classes gives an all-zero row.

struct Params {
    n: u32,         // elements written
    classes: u32,
    spatial: u32,   // one_hot: positions per class map
    stream: u32,    // draw_labels: Philox stream
    seed_lo: u32,
    seed_hi: u32,
    t_mul: u32,     // draw_labels: step = state[0] · t_mul + t_add
    t_add: u32,
    first: u32,     // draw_labels: the counter of label 0 (a data-parallel rank's part)
}

@group(0) @binding(0) var<uniform> p: Params;
// draw_labels: the step counter; one_hot: one label per sample.
@group(0) @binding(1) var<storage, read> words: array<u32>;

// draw_labels
@group(0) @binding(2) var<storage, read_write> label_out: array<u32>;

// one_hot
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn draw_labels(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
    let i = linear_id(wid, nwg, lid, 256u);
    if (i >= p.n) {
        return;
    }
    let step = words[0] * p.t_mul + p.t_add;
    let r = philox(vec4<u32>(p.first + i, step, p.stream, 0u), vec2<u32>(p.seed_lo, p.seed_hi));
    // floor(r / 2^32 · classes) without 64-bit integers, and without the modulo's larger bias.
    label_out[i] = mulhilo(r.x, p.classes).x;
}

@compute @workgroup_size(256)
fn one_hot(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
    let i = linear_id(wid, nwg, lid, 256u);
    if (i >= p.n) {
        return;
    }
    let row = p.classes * p.spatial;
    let n = i / row;
    let c = (i - n * row) / p.spatial;
    out[i] = select(0.0, 1.0, words[n] == c);
}
