// SGD with momentum: one dispatch updates every parameter of a network (one flat buffer).
// The update count t comes from the GPU step counter: t = state[0]·t_mul + t_add.

@group(0) @binding(1) var<storage, read> state: array<u32>;
@group(0) @binding(2) var<storage, read_write> param: array<f32>;
@group(0) @binding(3) var<storage, read> grad: array<f32>;
@group(0) @binding(4) var<storage, read_write> m1: array<f32>;

struct SgdParams {
    n: u32,
    lr: f32,
    decay: f32,        // lr_t = max(lr / decay^t, min_lr)
    min_lr: f32,
    momentum0: f32,    // momentum ramps linearly from momentum0 to momentum1
    momentum1: f32,
    ramp_start: u32,   // ... between these update counts
    ramp_end: u32,
    t_mul: u32,
    t_add: u32,
}

@group(0) @binding(0) var<uniform> sgd_p: SgdParams;

// SGD with momentum as Goodfellow et al. 2014 trained (pylearn2): v = μ_t·v − lr_t·g; p += v.
// m1 holds the velocity.
@compute @workgroup_size(256)
fn sgd_momentum(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
    let i = linear_id(wid, nwg, lid, 256u);
    if (i >= sgd_p.n) {
        return;
    }
    let t = state[0] * sgd_p.t_mul + sgd_p.t_add;
    let lr = max(sgd_p.lr / pow(sgd_p.decay, f32(t)), sgd_p.min_lr);
    var frac = 1.0;
    if (sgd_p.ramp_end > sgd_p.ramp_start) {
        frac = clamp((f32(t) - f32(sgd_p.ramp_start)) / f32(sgd_p.ramp_end - sgd_p.ramp_start), 0.0, 1.0);
    } else if (t < sgd_p.ramp_start) {
        frac = 0.0;
    }
    let mu = sgd_p.momentum0 + (sgd_p.momentum1 - sgd_p.momentum0) * frac;
    let v = mu * m1[i] - lr * grad[i];
    m1[i] = v;
    param[i] = param[i] + v;
}
