// The sliced Wasserstein distance's last step: for each row (one projection direction) of two
// sorted `[rows, len]` arrays, the sum over the row of |a - b|. One workgroup per row: each
// lane sums a strided part of the row, then the workgroup adds the 256 partial sums as a tree.

struct Params {
    rows: u32, // directions
    len: u32,  // sorted values per direction
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

var<workgroup> partial: array<f32, 256>;

@compute @workgroup_size(256)
fn abs_diff_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let row = wid.x;
    var s = 0.0;
    if (row < p.rows) {
        let base = row * p.len;
        for (var i = lid; i < p.len; i = i + 256u) {
            s = s + abs(a[base + i] - b[base + i]);
        }
    }
    partial[lid] = s;
    workgroupBarrier();
    for (var w = 128u; w > 0u; w = w / 2u) {
        if (lid < w) {
            partial[lid] = partial[lid] + partial[lid + w];
        }
        workgroupBarrier();
    }
    if (lid == 0u && row < p.rows) {
        out[row] = partial[0];
    }
}
