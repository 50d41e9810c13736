// The adapter's arithmetic ceiling for a kernel's shape: each invocation of a workgroup of WG
// lanes keeps the kernel's register tile and runs `iters` rounds of one FMA per accumulator
// with no memory access at all, then stores the sum of its accumulators so nothing is dead
// code. Benchmarks report their kernels as a share of this.
//
//   fma_peak       the GEMM's tile, TM × TV vec4 accumulators:
//                  acc ← acc · s + t_ij (a dependent chain per accumulator, 32 independent
//                  chains). FLOPs = 2 · 4 · TM · TV · iters per invocation.
//   fma_peak_conv  the convolutions' tile (conv_common.wgsl's FM × FP scalars):
//                  acc_ij ← acc_ij · s + t_j from acc_ij = t·i, one term per column as an
//                  input is per pixel.
//                  FLOPs = 2 · CM · CP · iters per invocation.

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

const CM: u32 = 32u;
const CP: u32 = 16u;

@compute @workgroup_size(WG, 1, 1)
fn fma_peak_conv(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
    let g = (wid.y * nwg.x + wid.x) * WG + lid;
    // Rows start apart (t·i), so no two chains are the same computation.
    var acc: array<array<f32, CP>, CM>;
    for (var i = 0u; i < CM; i = i + 1u) {
        for (var j = 0u; j < CP; j = j + 1u) {
            acc[i][j] = p.t * f32(i);
        }
    }
    var add: array<f32, CP>;
    for (var j = 0u; j < CP; j = j + 1u) {
        add[j] = p.t * f32(1u + j);
    }
    for (var r = 0u; r < p.iters; r = r + 1u) {
        for (var i = 0u; i < CM; i = i + 1u) {
            for (var j = 0u; j < CP; j = j + 1u) {
                acc[i][j] = fma(acc[i][j], p.s, add[j]);
            }
        }
    }
    var sum = 0.0;
    for (var i = 0u; i < CM; i = i + 1u) {
        for (var j = 0u; j < CP; j = j + 1u) {
            sum = sum + acc[i][j];
        }
    }
    if (g < p.invocations) {
        out[g] = sum;
    }
}
