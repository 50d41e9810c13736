// Batch gathering: the data set lives on the GPU as packed bytes (4 pixels per u32). Sample b
// of the batch at step t is image perm_e(r), where t·batch + b = e·count + r: each epoch e
// visits every image once in an order given by a keyed Feistel permutation (cycle-walking
// over the next even power of two), so no index list is stored or uploaded.

struct Params {
    count: u32,
    size: u32,        // pixels per image
    batch: u32,
    half_bits: u32,   // Feistel half width: 2^(2·half_bits) >= count
    seed_lo: u32,
    seed_hi: u32,
    t_mul: u32,
    t_add: u32,
    scale: f32,       // pixel value = byte · scale + shift
    shift: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> state: array<u32>;
@group(0) @binding(2) var<storage, read> pixels: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

// A 32-bit integer hash (lowbias32 by C. Wellons) as the Feistel round function.
fn mix32(v: u32) -> u32 {
    var x = v;
    x = x ^ (x >> 16u);
    x = x * 0x7feb352du;
    x = x ^ (x >> 15u);
    x = x * 0x846ca68bu;
    x = x ^ (x >> 16u);
    return x;
}

fn feistel(v: u32, epoch: u32) -> u32 {
    let mask = (1u << p.half_bits) - 1u;
    var l = v >> p.half_bits;
    var r = v & mask;
    for (var round = 0u; round < 4u; round = round + 1u) {
        let f = mix32(r ^ mix32(p.seed_lo ^ mix32(p.seed_hi + epoch * 4u + round))) & mask;
        let nl = r;
        r = l ^ f;
        l = nl;
    }
    return (l << p.half_bits) | r;
}

fn permute(r: u32, epoch: u32) -> u32 {
    var v = feistel(r, epoch);
    loop {
        if (v < p.count) {
            break;
        }
        v = feistel(v, epoch);
    }
    return v;
}

// The data-set image that sample b of this step's batch reads.
fn batch_image(b: u32) -> u32 {
    let step = state[0] * p.t_mul + p.t_add;
    let pos = step * p.batch + b;
    return permute(pos % p.count, pos / p.count);
}

// Byte `byte` of the packed pixels.
fn byte_at(byte: u32) -> f32 {
    return f32((pixels[byte / 4u] >> (8u * (byte % 4u))) & 0xffu);
}

@compute @workgroup_size(256)
fn gather(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
    let i = linear_id(wid, nwg, lid, 256u);
    if (i >= p.batch * p.size) {
        return;
    }
    let px = i % p.size;
    out[i] = byte_at(batch_image(i / p.size) * p.size + px) * p.scale + p.shift;
}

// The same batch, each image resized bilinearly from src_h×src_w (the stored size) to the
// output's out_h×out_w (`size` = out_h·out_w), sampling at pixel centres with edges clamped
// (PyTorch's interpolate with align_corners = false).
struct Resize {
    src_h: u32,
    src_w: u32,
    out_h: u32,
    out_w: u32,
}

@group(0) @binding(4) var<uniform> rs: Resize;

fn pixel(image: u32, y: u32, x: u32) -> f32 {
    return byte_at(image * rs.src_h * rs.src_w + y * rs.src_w + x);
}

@compute @workgroup_size(256)
fn gather_resized(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) lid: u32) {
    let i = linear_id(wid, nwg, lid, 256u);
    if (i >= p.batch * p.size) {
        return;
    }
    let px = i % p.size;
    let image = batch_image(i / p.size);
    let oy = px / rs.out_w;
    let ox = px % rs.out_w;
    let sy = max((f32(oy) + 0.5) * f32(rs.src_h) / f32(rs.out_h) - 0.5, 0.0);
    let sx = max((f32(ox) + 0.5) * f32(rs.src_w) / f32(rs.out_w) - 0.5, 0.0);
    let y0 = min(u32(sy), rs.src_h - 1u);
    let x0 = min(u32(sx), rs.src_w - 1u);
    let y1 = min(y0 + 1u, rs.src_h - 1u);
    let x1 = min(x0 + 1u, rs.src_w - 1u);
    let fy = sy - f32(y0);
    let fx = sx - f32(x0);
    let top = mix(pixel(image, y0, x0), pixel(image, y0, x1), fx);
    let bottom = mix(pixel(image, y1, x0), pixel(image, y1, x1), fx);
    out[i] = mix(top, bottom, fy) * p.scale + p.shift;
}

// gather_labels: state as above, then one u32 label per data-set sample and the batch's labels.
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read_write> label_out: array<u32>;

// The labels of the samples `gather` picks with the same parameters, so a classifier's
// targets follow its images through every epoch's shuffle.
@compute @workgroup_size(256)
fn gather_labels(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
    let b = linear_id(wid, nwg, lid, 256u);
    if (b >= p.batch) {
        return;
    }
    label_out[b] = labels[batch_image(b)];
}
