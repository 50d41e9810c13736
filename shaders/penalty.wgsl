// Gradient penalties on D's input gradient g (one row of `size` values per sample).
//
//  interpolate   x̂ = ε·a + (1 − ε)·b per sample, ε uniform in [0, 1) from word x of Philox
//                at (sample, step, stream): WGAN-GP's points between real and fake. Only the
//                first `part` values of each sample are mixed, the rest copied from a (a
//                conditional D's label maps stay the real sample's).
//  norm_penalty  P = weight · mean over samples of (‖gᵢ‖ − center)², gᵢ the first `part` values of
//                sample i's row (a conditional D's image, not its label maps; v is 0 past it),
//                into a metric slot with
//                the mean ‖gᵢ‖ beside it, and P's gradient at g,
//                vᵢ = 2·weight/B · (‖gᵢ‖ − center)/‖gᵢ‖ · gᵢ (center 0: 2·weight/B · gᵢ, R1's;
//                0 for a zero gᵢ otherwise). One workgroup, samples in order, fixed
//                reduction order, so reruns are bit-identical.
//
// Entry points declare their own bindings (layouts are per entry point).

struct LerpParams {
    n: u32,
    size: u32,
    seed_lo: u32,
    seed_hi: u32,
    stream: u32,
    t_mul: u32,
    t_add: u32,
    part: u32,
}

struct NormParams {
    batch: u32,
    size: u32,
    part: u32,
    weight: f32,
    center: f32,
    slot: u32,
    norm_slot: u32,
}

// interpolate
@group(0) @binding(0) var<uniform> lp: LerpParams;
@group(0) @binding(1) var<storage, read> state: array<u32>;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> mixed: array<f32>;

@compute @workgroup_size(256)
fn interpolate(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
    let i = linear_id(wid, nwg, lid, 256u);
    if (i >= lp.n) {
        return;
    }
    let step = state[0] * lp.t_mul + lp.t_add;
    let r = philox(vec4<u32>(i / lp.size, step, lp.stream, 0u), vec2<u32>(lp.seed_lo, lp.seed_hi));
    let e = to_unit(r.x);
    if (i % lp.size < lp.part) {
        mixed[i] = e * a[i] + (1.0 - e) * b[i];
    } else {
        mixed[i] = a[i];
    }
}

// norm_penalty
@group(0) @binding(0) var<uniform> np: NormParams;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> v: array<f32>;
@group(0) @binding(3) var<storage, read_write> metrics: array<f32>;

var<workgroup> part: array<f32, 256>;

@compute @workgroup_size(256)
fn norm_penalty(@builtin(local_invocation_index) lid: u32) {
    var total = 0.0;
    var norms = 0.0;
    let scale = 2.0 * np.weight / f32(np.batch);
    for (var s = 0u; s < np.batch; s = s + 1u) {
        let row = s * np.size;
        var acc = 0.0;
        for (var j = lid; j < np.part; j = j + 256u) {
            let x = g[row + j];
            acc = acc + x * x;
        }
        part[lid] = acc;
        workgroupBarrier();
        for (var half = 128u; half > 0u; half = half >> 1u) {
            if (lid < half) {
                part[lid] = part[lid] + part[lid + half];
            }
            workgroupBarrier();
        }
        let norm = sqrt(part[0]);
        workgroupBarrier();
        let d = norm - np.center;
        var coef = 0.0;
        if (np.center == 0.0) {
            coef = scale;
        } else if (norm > 0.0) {
            coef = scale * d / norm;
        }
        for (var j = lid; j < np.size; j = j + 256u) {
            v[row + j] = select(0.0, coef * g[row + j], j < np.part);
        }
        total = total + d * d;
        norms = norms + norm;
    }
    if (lid == 0u) {
        metrics[np.slot] = np.weight * total / f32(np.batch);
        metrics[np.norm_slot] = norms / f32(np.batch);
    }
}
