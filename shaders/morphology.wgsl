// Image transforms for the image-to-image tasks, on a data set's packed bytes (4 pixels per
// u32, images of h×w stored one after another), one output word per invocation so that no
// two invocations write the same word:
//   op 0, erosion:   the minimum over the 3×3 neighbourhood (in-bounds pixels only)
//   op 1, dilation:  the maximum over the same
//   op 2, outline:   dilation − erosion (the morphological gradient)
//   op 3, pixelate:  each pixel replaced by the rounded mean of its `block`×`block` tile
//                    (a low-resolution copy at the full size; edge tiles average what they hold)
//   op 4, erosion over the 2×2 block of the pixel and its right, lower and lower-right neighbours
// Integers throughout: results are exact and match the reference bit for bit.

struct Params {
    words: u32,  // output words
    pixels: u32, // pixels in all (the last word may be partly padding)
    h: u32,
    w: u32,
    op: u32,
    block: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<u32>;

fn pixel(i: u32) -> u32 {
    return (src[i / 4u] >> (8u * (i % 4u))) & 0xffu;
}

fn transform(i: u32) -> u32 {
    let plane = p.h * p.w;
    let base = (i / plane) * plane;
    let y = (i % plane) / p.w;
    let x = i % p.w;
    if (p.op == 3u) {
        let y0 = (y / p.block) * p.block;
        let x0 = (x / p.block) * p.block;
        let y1 = min(y0 + p.block, p.h);
        let x1 = min(x0 + p.block, p.w);
        var sum = 0u;
        for (var yy = y0; yy < y1; yy = yy + 1u) {
            for (var xx = x0; xx < x1; xx = xx + 1u) {
                sum = sum + pixel(base + yy * p.w + xx);
            }
        }
        let n = (y1 - y0) * (x1 - x0);
        return (sum + n / 2u) / n;
    }
    var lo = 255u;
    var hi = 0u;
    for (var dy = 0u; dy < 3u; dy = dy + 1u) {
        for (var dx = 0u; dx < 3u; dx = dx + 1u) {
            // y + dy − 1 in unsigned arithmetic: out of bounds wraps past h.
            let yy = y + dy - 1u;
            let xx = x + dx - 1u;
            let outside_2x2 = dy == 0u || dx == 0u;
            if (y + dy >= 1u && yy < p.h && x + dx >= 1u && xx < p.w && !(outside_2x2 && p.op == 4u)) {
                let v = pixel(base + yy * p.w + xx);
                lo = min(lo, v);
                hi = max(hi, v);
            }
        }
    }
    if (p.op == 0u || p.op == 4u) {
        return lo;
    }
    if (p.op == 1u) {
        return hi;
    }
    return hi - lo;
}

@compute @workgroup_size(64)
fn morph(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
    let word = linear_id(wid, nwg, lid, 64u);
    if (word >= p.words) {
        return;
    }
    var packed = 0u;
    for (var k = 0u; k < 4u; k = k + 1u) {
        let i = word * 4u + k;
        if (i < p.pixels) {
            packed = packed | (transform(i) << (8u * k));
        }
    }
    dst[word] = packed;
}
