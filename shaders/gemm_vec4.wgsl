// The vec4 versions of gemm.wgsl, chosen when the sizes allow 16-byte loads. Same
// parameters and results.
//
//  gemm_nn4: op(B) = B stored [k, n] with n % 4 == 0 (input-grad dY·W, weight-grad dYᵀ·X).
//            Per k: TV uniform vec4 loads of B, TM loads of A (2 vec4 with A_VEC), TM·TV
//            vec4 FMAs.
//  gemm_nt4: op(A) = A stored [m, k], op(B) = Bᵀ with B stored [n, k], k % 4 == 0 (Linear
//            forward x·Wᵀ). Both operands run along k: per 4 k, TM uniform vec4 loads of A
//            and TC vec4 loads of B, then TM·TC dot products.

struct Params {
    m: u32,
    n: u32,
    k: u32,
    a_rs: u32,
    a_ks: u32,
    b_ks: u32,
    b_cs: u32,
    accumulate: u32,
    has_bias: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;
@group(0) @binding(5) var<storage, read> a4: array<vec4<f32>>;

override WG: u32 = 8u;
const TM: u32 = 8u;
const TV: u32 = 4u;
const TC: u32 = 8u;

fn store(r: u32, col: u32, value: f32) {
    var v = value;
    if (p.has_bias != 0u) {
        v = v + bias[col];
    }
    let o = r * p.n + col;
    if (p.accumulate != 0u) {
        v = v + c[o];
    }
    c[o] = v;
}

// Lanes own TM consecutive rows; the workgroup owns 4·TV columns, so every load of B is a
// workgroup-uniform vec4. A_VEC (set when A is stored [k, m] with m % 4 == 0) loads a lane's
// rows of A as vec4 too.
override A_VEC: bool = false;

@compute @workgroup_size(WG, 1, 1)
fn gemm_nn4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let row0 = (wid.y * WG + lid.x) * TM;
    let n4 = p.n / 4u;
    let v0 = wid.x * TV;
    var arow: array<u32, TM>;
    for (var i = 0u; i < TM; i = i + 1u) {
        arow[i] = min(row0 + i, p.m - 1u) * p.a_rs;
    }
    // vec4 index of the lane's rows in a row of A stored [k, m] (A_VEC only).
    // Rows past m read clamped (unused) data and are never stored.
    let m4 = p.m / 4u;
    let r_lo = min(row0 / 4u, m4 - 1u);
    let r_hi = min(row0 / 4u + 1u, m4 - 1u);
    var bidx: array<u32, TV>;
    for (var j = 0u; j < TV; j = j + 1u) {
        bidx[j] = min(v0 + j, n4 - 1u);
    }
    var acc: array<array<vec4<f32>, TV>, TM>;
    for (var kk = 0u; kk < p.k; kk = kk + 1u) {
        let bk = kk * n4;
        var bv: array<vec4<f32>, TV>;
        for (var j = 0u; j < TV; j = j + 1u) {
            bv[j] = b4[bk + bidx[j]];
        }
        var av: array<f32, TM>;
        if (A_VEC) {
            let lo = a4[kk * m4 + r_lo];
            let hi = a4[kk * m4 + r_hi];
            av = array<f32, TM>(lo.x, lo.y, lo.z, lo.w, hi.x, hi.y, hi.z, hi.w);
        } else {
            let ak = kk * p.a_ks;
            for (var i = 0u; i < TM; i = i + 1u) {
                av[i] = a[arow[i] + ak];
            }
        }
        for (var i = 0u; i < TM; i = i + 1u) {
            let a_i = vec4<f32>(av[i]);
            for (var j = 0u; j < TV; j = j + 1u) {
                acc[i][j] = fma(a_i, bv[j], acc[i][j]);
            }
        }
    }
    for (var i = 0u; i < TM; i = i + 1u) {
        let r = row0 + i;
        if (r < p.m) {
            for (var j = 0u; j < TV; j = j + 1u) {
                let v = v0 + j;
                if (v < n4) {
                    for (var e = 0u; e < 4u; e = e + 1u) {
                        store(r, v * 4u + e, acc[i][j][e]);
                    }
                }
            }
        }
    }
}

@compute @workgroup_size(WG, 1, 1)
fn gemm_nt4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let row0 = wid.y * TM;
    let k4 = p.k / 4u;
    let col0 = wid.x * WG * TC + lid.x;
    var arow: array<u32, TM>;
    for (var i = 0u; i < TM; i = i + 1u) {
        arow[i] = min(row0 + i, p.m - 1u) * k4;
    }
    var bcol: array<u32, TC>;
    for (var j = 0u; j < TC; j = j + 1u) {
        bcol[j] = min(col0 + j * WG, p.n - 1u) * k4;
    }
    var acc: array<array<f32, TC>, TM>;
    for (var kk = 0u; kk < k4; kk = kk + 1u) {
        var av: array<vec4<f32>, TM>;
        for (var i = 0u; i < TM; i = i + 1u) {
            av[i] = a4[arow[i] + kk];
        }
        for (var j = 0u; j < TC; j = j + 1u) {
            let bv = b4[bcol[j] + kk];
            for (var i = 0u; i < TM; i = i + 1u) {
                acc[i][j] = acc[i][j] + dot(av[i], bv);
            }
        }
    }
    for (var i = 0u; i < TM; i = i + 1u) {
        let r = row0 + i;
        if (r >= p.m) {
            break;
        }
        for (var j = 0u; j < TC; j = j + 1u) {
            let col = col0 + j * WG;
            if (col < p.n) {
                store(r, col, acc[i][j]);
            }
        }
    }
}
