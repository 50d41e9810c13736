// Spectral normalisation (Miyato et al. 2018) of a weight W viewed as a [rows, cols] matrix
// (rows = output units; a convolution's [out, c, k, k] is [out, c·k·k]).
//
//  sn_power     one power iteration from the kept u: v' = Wᵀu/‖Wᵀu‖, u' = Wv'/‖Wv'‖,
//               σ = u'ᵀWv' (as PyTorch's spectral_norm, norms floored at 1e-12); u' and v' go
//               to the tape's snapshot and, when `update` is 1, back to the kept u and v.
//               With `update` 0 the kept u and v are used as they are (evaluation).
//               One workgroup, fixed reduction order.
//  sn_scale     used = W/σ.
//  sn_backward  the gradient of the stored W from G, the gradient of used = W/σ, with u' and v'
//               held constant (as PyTorch): dW (+)= (G − ⟨G, used⟩·u'v'ᵀ)/σ. One workgroup.
//
// Entry points declare their own bindings (layouts are per entry point).

struct Params {
    rows: u32,
    cols: u32,
    // sn_power: 1 to iterate and keep the new vectors. sn_backward: 1 to add to dW.
    flag: u32,
    pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> w: array<f32>;

// sn_power
@group(0) @binding(2) var<storage, read_write> u: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> su: array<f32>;
@group(0) @binding(5) var<storage, read_write> sv: array<f32>;
@group(0) @binding(6) var<storage, read_write> sigma: array<f32>;

var<workgroup> part: array<f32, 256>;

// The sum of every lane's `x`, returned to every lane.
fn workgroup_sum(lid: u32, x: f32) -> f32 {
    part[lid] = x;
    workgroupBarrier();
    for (var half = 128u; half > 0u; half = half >> 1u) {
        if (lid < half) {
            part[lid] = part[lid] + part[lid + half];
        }
        workgroupBarrier();
    }
    let total = part[0];
    workgroupBarrier();
    return total;
}

@compute @workgroup_size(256)
fn sn_power(@builtin(local_invocation_index) lid: u32) {
    if (p.flag == 1u) {
        // v' = Wᵀu, normalised.
        var ss = 0.0;
        for (var j = lid; j < p.cols; j = j + 256u) {
            var acc = 0.0;
            for (var i = 0u; i < p.rows; i = i + 1u) {
                acc = acc + w[i * p.cols + j] * u[i];
            }
            sv[j] = acc;
            ss = ss + acc * acc;
        }
        let nv = max(sqrt(workgroup_sum(lid, ss)), 1e-12);
        for (var j = lid; j < p.cols; j = j + 256u) {
            sv[j] = sv[j] / nv;
        }
    } else {
        for (var j = lid; j < p.cols; j = j + 256u) {
            sv[j] = v[j];
        }
    }
    storageBarrier();
    workgroupBarrier();
    // Wv' row by row; u' its normalisation (or the kept u), σ = u'·Wv'.
    var ss = 0.0;
    for (var i = lid; i < p.rows; i = i + 256u) {
        var acc = 0.0;
        for (var j = 0u; j < p.cols; j = j + 1u) {
            acc = acc + w[i * p.cols + j] * sv[j];
        }
        su[i] = acc;
        ss = ss + acc * acc;
    }
    let nu = max(sqrt(workgroup_sum(lid, ss)), 1e-12);
    var s = 0.0;
    for (var i = lid; i < p.rows; i = i + 256u) {
        let wv = su[i];
        var ui = u[i];
        if (p.flag == 1u) {
            ui = wv / nu;
            u[i] = ui;
        }
        su[i] = ui;
        s = s + ui * wv;
    }
    let total = workgroup_sum(lid, s);
    if (p.flag == 1u) {
        for (var j = lid; j < p.cols; j = j + 256u) {
            v[j] = sv[j];
        }
    }
    if (lid == 0u) {
        sigma[0] = total;
    }
}

// sn_scale
@group(0) @binding(2) var<storage, read> scale_sigma: array<f32>;
@group(0) @binding(3) var<storage, read_write> used: array<f32>;

@compute @workgroup_size(256)
fn sn_scale(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
    let k = linear_id(wid, nwg, lid, 256u);
    if (k < p.rows * p.cols) {
        used[k] = w[k] / scale_sigma[0];
    }
}

// sn_backward (binding 1 is the used weight W/σ here)
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read> bu: array<f32>;
@group(0) @binding(4) var<storage, read> bv: array<f32>;
@group(0) @binding(5) var<storage, read> b_sigma: array<f32>;
@group(0) @binding(6) var<storage, read_write> dw: array<f32>;

@compute @workgroup_size(256)
fn sn_backward(@builtin(local_invocation_index) lid: u32) {
    let n = p.rows * p.cols;
    var d = 0.0;
    for (var k = lid; k < n; k = k + 256u) {
        d = d + g[k] * w[k];
    }
    let dot = workgroup_sum(lid, d);
    let inv = 1.0 / b_sigma[0];
    for (var k = lid; k < n; k = k + 256u) {
        var out = (g[k] - dot * bu[k / p.cols] * bv[k % p.cols]) * inv;
        if (p.flag == 1u) {
            out = out + dw[k];
        }
        dw[k] = out;
    }
}
