// One stage of a bitonic sort of `rows` rows of `len` f32 values each, in place, ascending in
// the total order of f32 (as Rust's `f32::total_cmp`: -0 before +0, NaNs at the ends).
// Every comparator puts the smaller value at the lower index (the network whose first step
// of each merge compares mirrored positions), so a row is sorted as if padded to the next
// power of two with +inf: a comparator whose upper position lies past `len` would leave the
// +inf where it is, and is skipped. A whole sort is log2(P)·(log2(P)+1)/2 dispatches of this
// stage, none with a loop (the CPU adapter caps the loop iterations of one invocation).

struct Params {
    rows: u32,   // rows sorted at once
    len: u32,    // values per row
    half: u32,   // comparators per row: the padded length over 2
    dist: u32,   // distance of the pairs compared: a power of two
    mirror: u32, // 1 on the first step of a merge: lower index i meets i ^ (2·dist - 1)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> data: array<f32>;

// A key whose unsigned order is the total order of the f32 bits.
fn key(v: f32) -> u32 {
    let b = bitcast<u32>(v);
    if ((b & 0x80000000u) != 0u) {
        return ~b;
    }
    return b | 0x80000000u;
}

@compute @workgroup_size(256)
fn bitonic_step(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
    let t = linear_id(wid, nwg, lid, 256u);
    if (t >= p.rows * p.half) {
        return;
    }
    let row = t / p.half;
    let c = t % p.half;
    let lo = 2u * p.dist * (c / p.dist) + c % p.dist;
    var hi = lo + p.dist;
    if (p.mirror == 1u) {
        hi = lo ^ (2u * p.dist - 1u);
    }
    if (hi >= p.len) {
        return;
    }
    let a = row * p.len + lo;
    let b = row * p.len + hi;
    let x = data[a];
    let y = data[b];
    if (key(x) > key(y)) {
        data[a] = y;
        data[b] = x;
    }
}
