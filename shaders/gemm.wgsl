// C = op(A) · op(B) [+ bias] [+ C]: one kernel serves Linear forward (A·Wᵀ), input-grad
// (dY·W) and weight-grad (dYᵀ·X) through element strides instead of transpose copies (on CPU
// adapters with subgroups, large input- and weight-grads copy their operands transposed for
// gemm_nt4 instead: ops::gemm::packs).
//
// This is the general version: any sizes, any strides. Each workgroup owns TM rows and each
// invocation 4 column groups of 4, interleaved so neighbouring lanes read neighbouring columns
// of B. No shared memory and no barriers: on CPU adapters outputs per load decide speed
// (DESIGN.md). Measured on lavapipe: a workgroup-uniform load costs as much as a per-lane one;
// what matters is FMAs per load, vec4 loads, and compiling without naga's runtime checks so
// the register-tile loops unroll (see Shader::is_trusted).
// Edges: loads clamp indices into range (no divergent branches before the stores); stores
// are masked. gemm_vec4.wgsl holds the faster vec4 versions for sizes divisible by 4.

struct Params {
    m: u32,
    n: u32,
    k: u32,
    a_rs: u32,   // stride between rows of op(A)
    a_ks: u32,   // stride along k in A
    b_ks: u32,   // stride along k in B
    b_cs: u32,   // stride between columns of op(B)
    accumulate: u32,
    has_bias: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;

override WG: u32 = 8u;
const TM: u32 = 8u;
const TV: u32 = 4u;

@compute @workgroup_size(WG, 1, 1)
fn gemm(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let row0 = wid.y * TM;
    let col0 = wid.x * WG * TV * 4u + lid.x * 4u;
    var arow: array<u32, TM>;
    for (var i = 0u; i < TM; i = i + 1u) {
        arow[i] = min(row0 + i, p.m - 1u) * p.a_rs;
    }
    var bcol: array<vec4<u32>, TV>;
    let last = p.n - 1u;
    for (var j = 0u; j < TV; j = j + 1u) {
        let cj = col0 + j * WG * 4u;
        bcol[j] = vec4<u32>(min(cj, last), min(cj + 1u, last), min(cj + 2u, last), min(cj + 3u, last)) * p.b_cs;
    }
    var acc: array<array<vec4<f32>, TV>, TM>;
    for (var kk = 0u; kk < p.k; kk = kk + 1u) {
        let ak = kk * p.a_ks;
        let bk = kk * p.b_ks;
        var bv: array<vec4<f32>, TV>;
        for (var j = 0u; j < TV; j = j + 1u) {
            let o = bcol[j] + vec4<u32>(bk);
            bv[j] = vec4<f32>(b[o.x], b[o.y], b[o.z], b[o.w]);
        }
        for (var i = 0u; i < TM; i = i + 1u) {
            let av = vec4<f32>(a[arow[i] + ak]);
            for (var j = 0u; j < TV; j = j + 1u) {
                acc[i][j] = fma(av, bv[j], acc[i][j]);
            }
        }
    }
    for (var i = 0u; i < TM; i = i + 1u) {
        let r = row0 + i;
        if (r >= p.m) {
            break;
        }
        for (var j = 0u; j < TV; j = j + 1u) {
            let cj = col0 + j * WG * 4u;
            for (var e = 0u; e < 4u; e = e + 1u) {
                let col = cj + e;
                if (col < p.n) {
                    var v = acc[i][j][e];
                    if (p.has_bias != 0u) {
                        v = v + bias[col];
                    }
                    let o = r * p.n + col;
                    if (p.accumulate != 0u) {
                        v = v + c[o];
                    }
                    c[o] = v;
                }
            }
        }
    }
}
