// Resampling by 2 in height and width, per sample and channel (`planes` = N·C images of
// h × w): nearest-neighbour up-sampling (each value becomes a 2×2 block) and 2×2 average
// pooling with stride 2 (PyTorch's AvgPool2d(2): an odd last row or column is dropped).
// Every invocation writes one value; the backward of each is the other's adjoint:
//   upsample_bwd  dx[iy, ix] = Σ over the 2×2 block of dy
//   avgpool_bwd   dx[iy, ix] = dy[iy/2, ix/2] / 4 inside the pooled area, else 0

struct Params {
    n: u32, // values written
    h: u32, // the full-size images' height and width (the up-sampled output's, the
    w: u32, // pooled input's); the small ones are h/2 × w/2, rounded down
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

// Plane, row and column of full-size index i.
fn big(i: u32) -> vec3<u32> {
    let hw = p.h * p.w;
    let r = i % hw;
    return vec3<u32>(i / hw, r / p.w, r % p.w);
}

// Index of (plane, row, column) in a small image.
fn small(plane: u32, y: u32, x: u32) -> u32 {
    let sh = p.h / 2u;
    let sw = p.w / 2u;
    return (plane * sh + y) * sw + x;
}

// Index of (plane, row, column) in a full-size image.
fn full(plane: u32, y: u32, x: u32) -> u32 {
    return (plane * p.h + y) * p.w + x;
}

@compute @workgroup_size(256)
fn upsample_fwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
    let i = linear_id(wid, nwg, lid, 256u);
    if (i >= p.n) {
        return;
    }
    let at = big(i);
    dst[i] = src[small(at.x, at.y / 2u, at.z / 2u)];
}

@compute @workgroup_size(256)
fn upsample_bwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
    let i = linear_id(wid, nwg, lid, 256u);
    if (i >= p.n) {
        return;
    }
    let sh = p.h / 2u;
    let sw = p.w / 2u;
    let plane = i / (sh * sw);
    let y = (i / sw) % sh;
    let x = i % sw;
    let y2 = 2u * y;
    let x2 = 2u * x;
    dst[i] = (src[full(plane, y2, x2)] + src[full(plane, y2, x2 + 1u)])
        + (src[full(plane, y2 + 1u, x2)] + src[full(plane, y2 + 1u, x2 + 1u)]);
}

@compute @workgroup_size(256)
fn avgpool_fwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
    let i = linear_id(wid, nwg, lid, 256u);
    if (i >= p.n) {
        return;
    }
    let sh = p.h / 2u;
    let sw = p.w / 2u;
    let plane = i / (sh * sw);
    let y2 = 2u * ((i / sw) % sh);
    let x2 = 2u * (i % sw);
    let sum = (src[full(plane, y2, x2)] + src[full(plane, y2, x2 + 1u)])
        + (src[full(plane, y2 + 1u, x2)] + src[full(plane, y2 + 1u, x2 + 1u)]);
    dst[i] = 0.25 * sum;
}

@compute @workgroup_size(256)
fn avgpool_bwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
    let i = linear_id(wid, nwg, lid, 256u);
    if (i >= p.n) {
        return;
    }
    let at = big(i);
    let y = at.y / 2u;
    let x = at.z / 2u;
    if (y < p.h / 2u && x < p.w / 2u) {
        dst[i] = 0.25 * src[small(at.x, y, x)];
    } else {
        dst[i] = 0.0;
    }
}
