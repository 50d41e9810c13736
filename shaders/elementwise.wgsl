// Elementwise arithmetic: y = a·x + b·y (add, scale, copy, zero) and fill.

struct Params {
    n: u32,
    a: f32,
    b: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(256)
fn axpby(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
    let i = linear_id(wid, nwg, lid, 256u);
    if (i < p.n) {
        // b == 0 overwrites, so stale NaNs in y never leak through 0·NaN.
        var v = p.a * x[i];
        if (p.b != 0.0) {
            v = v + p.b * y[i];
        }
        y[i] = v;
    }
}

@compute @workgroup_size(256)
fn fill(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = linear_id(wid, nwg, lid, 256u);
    if (i < p.n) {
        y[i] = p.a;
    }
}
