// Channel concatenation of NCHW tensors and its backward. Per sample, a channel block is one
// contiguous row of channels·spatial values, so both are row copies.
//
//  concat_channels  out[n] = [a[n] | b[n]]  with rows of ra = ca·S and rb = cb·S values
//  take_channels    dst[n, :] = src[n, off .. off + rd]  (a block of channels of each sample;
//                   the backward of concat, once per input that wants its gradient)

struct Params {
    n: u32,     // elements written
    ra: u32,    // concat: row length of a      | take: row length of dst
    rb: u32,    // concat: row length of b      | take: row length of src
    off: u32,   // take: where dst's block starts in a row of src
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;

// concat_channels
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

// take_channels: a is the source
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(256)
fn concat_channels(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32) {
    let i = linear_id(wid, nwg, lid, 256u);
    if (i >= p.n) {
        return;
    }
    let row = p.ra + p.rb;
    let n = i / row;
    let r = i - n * row;
    if (r < p.ra) {
        out[i] = a[n * p.ra + r];
    } else {
        out[i] = b[n * p.rb + r - p.ra];
    }
}

@compute @workgroup_size(256)
fn take_channels(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
    let i = linear_id(wid, nwg, lid, 256u);
    if (i >= p.n) {
        return;
    }
    let n = i / p.ra;
    let r = i - n * p.ra;
    dst[i] = a[n * p.rb + p.off + r];
}
