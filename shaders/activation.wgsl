// Elementwise activations. Forward: y = f(x). Backward: dx = dy · f'(saved), where saved is
// the input for ReLU/LeakyReLU and the output for Tanh/Sigmoid (their derivatives are
// cheapest in terms of y).

struct Params {
    n: u32,
    slope: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
// Backward only: the upstream gradient; dst receives dx and src holds the saved tensor.
@group(0) @binding(3) var<storage, read> dy: array<f32>;
// Curvature only: the tangent t; dst receives σ''(x)·t·dy, src holding y = σ(x).
@group(0) @binding(4) var<storage, read> t: array<f32>;
// The `4` entries: the same buffers as vec4s (lengths divisible by 4, p.n counting vec4s).
// On CPU adapters a storage access is a loop over the lanes; a vec4 takes one turn for its
// four values.
@group(0) @binding(1) var<storage, read> src4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dst4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> dy4: array<vec4<f32>>;

// Overflow-safe forms: exp never sees a large positive argument.
fn sigmoid(x: f32) -> f32 {
    if (x >= 0.0) {
        return 1.0 / (1.0 + exp(-x));
    }
    let e = exp(x);
    return e / (1.0 + e);
}

fn safe_tanh(x: f32) -> f32 {
    let e = exp(-2.0 * abs(x));
    return sign(x) * (1.0 - e) / (1.0 + e);
}

@compute @workgroup_size(256)
fn relu_fwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
    let i = linear_id(wid, nwg, lid, 256u);
    if (i < p.n) { dst[i] = max(src[i], 0.0); }
}

@compute @workgroup_size(256)
fn leaky_relu_fwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) lid: u32) {
    let i = linear_id(wid, nwg, lid, 256u);
    if (i < p.n) {
        let x = src[i];
        dst[i] = select(p.slope * x, x, x > 0.0);
    }
}

@compute @workgroup_size(256)
fn tanh_fwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
    let i = linear_id(wid, nwg, lid, 256u);
    if (i < p.n) { dst[i] = safe_tanh(src[i]); }
}

@compute @workgroup_size(256)
fn sigmoid_fwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
    let i = linear_id(wid, nwg, lid, 256u);
    if (i < p.n) { dst[i] = sigmoid(src[i]); }
}

@compute @workgroup_size(256)
fn relu_bwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
    let i = linear_id(wid, nwg, lid, 256u);
    if (i < p.n) { dst[i] = select(0.0, dy[i], src[i] > 0.0); }
}

@compute @workgroup_size(256)
fn leaky_relu_bwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) lid: u32) {
    let i = linear_id(wid, nwg, lid, 256u);
    if (i < p.n) { dst[i] = select(p.slope * dy[i], dy[i], src[i] > 0.0); }
}

@compute @workgroup_size(256)
fn tanh_bwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
    let i = linear_id(wid, nwg, lid, 256u);
    if (i < p.n) {
        let y = src[i];
        dst[i] = dy[i] * (1.0 - y * y);
    }
}

@compute @workgroup_size(256)
fn sigmoid_bwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
    let i = linear_id(wid, nwg, lid, 256u);
    if (i < p.n) {
        let y = src[i];
        dst[i] = dy[i] * y * (1.0 - y);
    }
}

// σ'' in terms of y: tanh'' = −2y(1 − y²), sigmoid'' = y(1 − y)(1 − 2y).
@compute @workgroup_size(256)
fn tanh_curv(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
    let i = linear_id(wid, nwg, lid, 256u);
    if (i < p.n) {
        let y = src[i];
        dst[i] = -2.0 * y * (1.0 - y * y) * t[i] * dy[i];
    }
}

@compute @workgroup_size(256)
fn sigmoid_curv(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
    let i = linear_id(wid, nwg, lid, 256u);
    if (i < p.n) {
        let y = src[i];
        dst[i] = y * (1.0 - y) * (1.0 - 2.0 * y) * t[i] * dy[i];
    }
}

@compute @workgroup_size(256)
fn relu_fwd4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
    let i = linear_id(wid, nwg, lid, 256u);
    if (i < p.n) { dst4[i] = max(src4[i], vec4<f32>(0.0)); }
}

@compute @workgroup_size(256)
fn leaky_relu_fwd4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32) {
    let i = linear_id(wid, nwg, lid, 256u);
    if (i < p.n) {
        let x = src4[i];
        dst4[i] = select(p.slope * x, x, x > vec4<f32>(0.0));
    }
}

@compute @workgroup_size(256)
fn relu_bwd4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
    let i = linear_id(wid, nwg, lid, 256u);
    if (i < p.n) { dst4[i] = select(vec4<f32>(0.0), dy4[i], src4[i] > vec4<f32>(0.0)); }
}

@compute @workgroup_size(256)
fn leaky_relu_bwd4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32) {
    let i = linear_id(wid, nwg, lid, 256u);
    if (i < p.n) {
        let g = dy4[i];
        dst4[i] = select(p.slope * g, g, src4[i] > vec4<f32>(0.0));
    }
}
