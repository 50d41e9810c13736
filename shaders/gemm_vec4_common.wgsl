// Shared by gemm_vec4.wgsl and gemm_subgroup.wgsl (compiled before either): the parameters
// and bindings, the register tile, and each kernel's setup, inner step and stores, so the
// plain and subgroup kernels differ only in how B (nn4) or A (nt4) reaches the lanes.

struct Params {
    m: u32,
    n: u32,
    k: u32,
    a_rs: u32,
    a_ks: u32,
    b_ks: u32,
    b_cs: u32,
    accumulate: u32,
    // 1: bias per column; 2: bias per row (a lowered convolution's output channel).
    has_bias: u32,
    // A lowered convolution's pixels per image, when the columns are its pixels over the
    // batch and the rows its channels: C is then stored NCHW. 0 for a plain [m, n] C.
    plane: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;
@group(0) @binding(5) var<storage, read> a4: array<vec4<f32>>;

override WG: u32 = 8u;
const TM: u32 = 8u;
// gemm_nn4: vec4 columns per workgroup. 8 share each lane's loads of A over twice the FMAs
// of 4 (measured on lavapipe: the weight-grad 1024³ from about 35 % of the FMA ceiling to
// 53–56 % in most runs; the sums are the same, so the results are bit-identical).
const TV: u32 = 8u;
const TC: u32 = 8u;
// gemm_nt4: rows per workgroup, a multiple of the subgroup variant's 8 lanes. 32 rows share
// each lane's loads of B over 4× the FMAs of 8 (measured on lavapipe: 1024³ from about a third
// of the FMA ceiling to 56–58 %; the sums are the same, so the results are bit-identical).
const NT_TM: u32 = 32u;

fn store(r: u32, col: u32, value: f32) {
    var v = value;
    if (p.has_bias == 1u) {
        v = v + bias[col];
    } else if (p.has_bias == 2u) {
        v = v + bias[r];
    }
    var o = r * p.n + col;
    if (p.plane != 0u) {
        let img = col / p.plane;
        o = (img * p.m + r) * p.plane + col - img * p.plane;
    }
    if (p.accumulate != 0u) {
        v = v + c[o];
    }
    c[o] = v;
}

// ---------------------------------------------------------------------------------------
// gemm_nn4: lanes own TM consecutive rows; the workgroup owns 4·TV columns, so every load of B
// is a workgroup-uniform vec4. A_VEC (set when A is stored [k, m] with m % 4 == 0) loads a
// lane's rows of A as vec4 too.
override A_VEC: bool = false;

var<private> nn_arow: array<u32, TM>;
var<private> nn_bidx: array<u32, TV>;
var<private> nn_acc: array<array<vec4<f32>, TV>, TM>;
// B's TV vec4s of the current k, however they were fetched.
var<private> nn_bv: array<vec4<f32>, TV>;

// The lane's first row and the workgroup's first vec4 column.
fn nn4_setup(wid: vec3<u32>, lid: vec3<u32>) -> vec2<u32> {
    let row0 = (wid.y * WG + lid.x) * TM;
    let n4 = p.n / 4u;
    let v0 = wid.x * TV;
    for (var i = 0u; i < TM; i = i + 1u) {
        nn_arow[i] = min(row0 + i, p.m - 1u) * p.a_rs;
    }
    for (var j = 0u; j < TV; j = j + 1u) {
        nn_bidx[j] = min(v0 + j, n4 - 1u);
    }
    return vec2<u32>(row0, v0);
}

// A's TM values of row kk for the lane's rows, however they were fetched.
var<private> nn_av: array<f32, TM>;

// Loads A's values of row kk for the lane's rows into nn_av.
fn nn4_load_a(row0: u32, kk: u32) {
    if (A_VEC) {
        // vec4 index of the lane's rows in a row of A stored [k, m]. Rows past m read clamped
        // (unused) data and are never stored.
        let m4 = p.m / 4u;
        let lo = a4[kk * m4 + min(row0 / 4u, m4 - 1u)];
        let hi = a4[kk * m4 + min(row0 / 4u + 1u, m4 - 1u)];
        nn_av = array<f32, TM>(lo.x, lo.y, lo.z, lo.w, hi.x, hi.y, hi.z, hi.w);
    } else {
        let ak = kk * p.a_ks;
        for (var i = 0u; i < TM; i = i + 1u) {
            nn_av[i] = a[nn_arow[i] + ak];
        }
    }
}

// nn_av times nn_bv into the accumulators.
fn nn4_fma() {
    for (var i = 0u; i < TM; i = i + 1u) {
        let a_i = vec4<f32>(nn_av[i]);
        for (var j = 0u; j < TV; j = j + 1u) {
            nn_acc[i][j] = fma(a_i, nn_bv[j], nn_acc[i][j]);
        }
    }
}

fn nn4_store(row0: u32, v0: u32) {
    let n4 = p.n / 4u;
    for (var i = 0u; i < TM; i = i + 1u) {
        let r = row0 + i;
        if (r < p.m) {
            for (var j = 0u; j < TV; j = j + 1u) {
                let v = v0 + j;
                if (v < n4) {
                    for (var e = 0u; e < 4u; e = e + 1u) {
                        store(r, v * 4u + e, nn_acc[i][j][e]);
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// gemm_nt4: the workgroup owns NT_TM rows (so A's loads are uniform), a lane TC columns spaced WG
// apart; both operands run along k in vec4s.
var<private> nt_bcol: array<u32, TC>;
var<private> nt_acc: array<array<f32, TC>, NT_TM>;
// A's NT_TM vec4s of the current 4 k, however they were fetched.
var<private> nt_av: array<vec4<f32>, NT_TM>;

// The workgroup's first row and the lane's first column.
fn nt4_setup(wid: vec3<u32>, lid: vec3<u32>) -> vec2<u32> {
    let row0 = wid.y * NT_TM;
    let k4 = p.k / 4u;
    let col0 = wid.x * WG * TC + lid.x;
    for (var j = 0u; j < TC; j = j + 1u) {
        nt_bcol[j] = min(col0 + j * WG, p.n - 1u) * k4;
    }
    return vec2<u32>(row0, col0);
}

// vec4 kk of the lane's columns of B, dotted with nt_av, into the accumulators.
fn nt4_fma(kk: u32) {
    for (var j = 0u; j < TC; j = j + 1u) {
        let bv = b4[nt_bcol[j] + kk];
        for (var i = 0u; i < NT_TM; i = i + 1u) {
            nt_acc[i][j] = nt_acc[i][j] + dot(nt_av[i], bv);
        }
    }
}

fn nt4_store(row0: u32, col0: u32) {
    for (var i = 0u; i < NT_TM; i = i + 1u) {
        let r = row0 + i;
        if (r >= p.m) {
            break;
        }
        for (var j = 0u; j < TC; j = j + 1u) {
            let col = col0 + j * WG;
            if (col < p.n) {
                store(r, col, nt_acc[i][j]);
            }
        }
    }
}
