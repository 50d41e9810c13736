// The adapter's arithmetic ceiling for the GEMM's shape: each invocation of a workgroup of
// WG lanes keeps the GEMM kernel's register tile (TM × TV vec4 accumulators) and runs
// `iters` rounds of one FMA per accumulator with no memory access at all,
//   acc ← acc · s + t_ij   (a dependent chain per accumulator, 32 independent chains),
// then stores the sum of its accumulators so nothing is dead code. FLOPs = 2 · 4 · TM · TV ·
// iters per invocation. Benchmarks report their kernels as a share of this.

struct Params {
    invocations: u32,
    iters: u32,
    s: f32,
    t: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

override WG: u32 = 8u;
const TM: u32 = 8u;
const TV: u32 = 4u;

@compute @workgroup_size(WG, 1, 1)
fn fma_peak(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
    let g = (wid.y * nwg.x + wid.x) * WG + lid;
    var acc: array<array<vec4<f32>, TV>, TM>;
    var add: array<array<vec4<f32>, TV>, TM>;
    for (var i = 0u; i < TM; i = i + 1u) {
        for (var j = 0u; j < TV; j = j + 1u) {
            let base = p.t * f32(1u + i * TV + j);
            add[i][j] = vec4<f32>(base, base * 0.5, base * 0.25, base * 0.125);
        }
    }
    for (var r = 0u; r < p.iters; r = r + 1u) {
        for (var i = 0u; i < TM; i = i + 1u) {
            for (var j = 0u; j < TV; j = j + 1u) {
                acc[i][j] = fma(acc[i][j], vec4<f32>(p.s), add[i][j]);
            }
        }
    }
    var sum = 0.0;
    for (var i = 0u; i < TM; i = i + 1u) {
        for (var j = 0u; j < TV; j = j + 1u) {
            sum = sum + dot(acc[i][j], vec4<f32>(1.0));
        }
    }
    if (g < p.invocations) {
        out[g] = sum;
    }
}
