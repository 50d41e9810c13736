// Progressive growing's fade-in (Karras et al. 2018): y = α·new + (1 − α)·old, with α rising
// linearly from 0 to 1 over `steps` iterations from iteration `start`, read from the step
// state, so the recorded step never changes:
//   α(t) = clamp((t − start) / steps, 0, 1),  t = state[0] (iterations finished).
// The gradient: d new = α·dy, d old = (1 − α)·dy (`fade_grad` writes one of them).

struct Params {
    n: u32,
    start: u32,
    steps: u32,
    complement: u32, // fade_grad: 1 writes (1 − α)·dy, 0 writes α·dy
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> state: array<u32>;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;
@group(0) @binding(4) var<storage, read> b: array<f32>;

fn alpha() -> f32 {
    let t = state[0];
    if (t <= p.start) {
        return 0.0;
    }
    if (t - p.start >= p.steps) {
        return 1.0;
    }
    return f32(t - p.start) / f32(p.steps);
}

// dst = α·a + (1 − α)·b
@compute @workgroup_size(256)
fn fade_fwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
    let i = linear_id(wid, nwg, lid, 256u);
    if (i >= p.n) {
        return;
    }
    let s = alpha();
    dst[i] = s * a[i] + (1.0 - s) * b[i];
}

// dst = α·a, or (1 − α)·a with `complement`
@compute @workgroup_size(256)
fn fade_grad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
    let i = linear_id(wid, nwg, lid, 256u);
    if (i >= p.n) {
        return;
    }
    var s = alpha();
    if (p.complement != 0u) {
        s = 1.0 - s;
    }
    dst[i] = s * a[i];
}
