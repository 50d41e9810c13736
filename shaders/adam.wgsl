// Adam: one dispatch updates every parameter of a network, stored in one flat buffer.
// The update count t comes from the GPU step counter: t = state[0]·t_mul + t_add (+1 for
// Adam's bias correction), so no per-step upload is needed. From update `decay_from` on the
// rate falls linearly, to zero at update `decay_to` (CycleGAN's schedule); plain Adam sets
// both to the largest u32, where the factor stays exactly 1.

@group(0) @binding(1) var<storage, read> state: array<u32>;
@group(0) @binding(2) var<storage, read_write> param: array<f32>;
@group(0) @binding(3) var<storage, read> grad: array<f32>;
@group(0) @binding(4) var<storage, read_write> m1: array<f32>;
@group(0) @binding(5) var<storage, read_write> m2: array<f32>;

struct AdamParams {
    n: u32,
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    t_mul: u32,
    t_add: u32,
    decay_from: u32,
    decay_to: u32,
}

@group(0) @binding(0) var<uniform> adam_p: AdamParams;

// The update count and this update's rate.
fn update_and_rate() -> vec2<f32> {
    let update = state[0] * adam_p.t_mul + adam_p.t_add;
    var rate = adam_p.lr;
    if (update >= adam_p.decay_from) {
        let left = f32(adam_p.decay_to - min(update, adam_p.decay_to));
        rate = adam_p.lr * (left / f32(adam_p.decay_to - adam_p.decay_from));
    }
    return vec2<f32>(f32(update + 1u), rate);
}

// Adam (Kingma & Ba 2015) in PyTorch's form:
// p -= lr/(1−β1^t) · m / (sqrt(v)/sqrt(1−β2^t) + ε)
@compute @workgroup_size(256)
fn adam(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = linear_id(wid, nwg, lid, 256u);
    if (i >= adam_p.n) {
        return;
    }
    let tr = update_and_rate();
    let t = tr.x;
    let rate = tr.y;
    let g = grad[i];
    let m = adam_p.beta1 * m1[i] + (1.0 - adam_p.beta1) * g;
    let v = adam_p.beta2 * m2[i] + (1.0 - adam_p.beta2) * g * g;
    m1[i] = m;
    m2[i] = v;
    let bc1 = 1.0 - pow(adam_p.beta1, t);
    let bc2 = 1.0 - pow(adam_p.beta2, t);
    param[i] = param[i] - rate / bc1 * m / (sqrt(v) / sqrt(bc2) + adam_p.eps);
}

// The same buffers as vec4s, for a length divisible by 4 (adam_p.n counting vec4s): on CPU
// adapters a storage access is a loop over the lanes, one turn per value or per vec4. The
// same operations per value as `adam`, so the same bits.
@group(0) @binding(2) var<storage, read_write> param4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> grad4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> m14: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> m24: array<vec4<f32>>;

@compute @workgroup_size(256)
fn adam4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
    let i = linear_id(wid, nwg, lid, 256u);
    if (i >= adam_p.n) {
        return;
    }
    let tr = update_and_rate();
    let t = tr.x;
    let rate = tr.y;
    let g = grad4[i];
    let m = adam_p.beta1 * m14[i] + (1.0 - adam_p.beta1) * g;
    let v = adam_p.beta2 * m24[i] + (1.0 - adam_p.beta2) * g * g;
    m14[i] = m;
    m24[i] = v;
    let bc1 = 1.0 - pow(adam_p.beta1, t);
    let bc2 = 1.0 - pow(adam_p.beta2, t);
    param4[i] = param4[i] - rate / bc1 * m / (sqrt(v) / sqrt(bc2) + adam_p.eps);
}
