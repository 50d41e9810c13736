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

// This update's step factors, shared by `adam` and `adam4`: rate/(1−β1^t) and sqrt(1−β2^t),
// with t the update count from the step counter and the rate after any decay.
fn step_factors() -> vec2<f32> {
    let update = state[0] * adam_p.t_mul + adam_p.t_add;
    let t = f32(update + 1u);
    var rate = adam_p.lr;
    if (update >= adam_p.decay_from) {
        let left = f32(adam_p.decay_to - min(update, adam_p.decay_to));
        rate = adam_p.lr * (left / f32(adam_p.decay_to - adam_p.decay_from));
    }
    let bc1 = 1.0 - pow(adam_p.beta1, t);
    let bc2 = 1.0 - pow(adam_p.beta2, t);
    return vec2<f32>(rate / bc1, sqrt(bc2));
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
    let f = step_factors();
    let g = grad[i];
    let m = adam_p.beta1 * m1[i] + (1.0 - adam_p.beta1) * g;
    let v = adam_p.beta2 * m2[i] + (1.0 - adam_p.beta2) * g * g;
    m1[i] = m;
    m2[i] = v;
    param[i] = param[i] - f.x * m / (sqrt(v) / f.y + adam_p.eps);
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
    let f = step_factors();
    let g = grad4[i];
    let m = adam_p.beta1 * m14[i] + (1.0 - adam_p.beta1) * g;
    let v = adam_p.beta2 * m24[i] + (1.0 - adam_p.beta2) * g * g;
    m14[i] = m;
    m24[i] = v;
    param4[i] = param4[i] - f.x * m / (sqrt(v) / f.y + adam_p.eps);
}
