// The vec4 GEMM kernels for CPU adapters with subgroup operations (one subgroup of WG = 8
// lanes per workgroup), compiled after gemm_vec4_common.wgsl; same parameters, bindings and
// results as gemm_vec4.wgsl's kernels without `_sg`, bit for bit (the same products summed
// in the same order). The operand every lane needs is loaded once per 8 values, each lane
// loading a different one, and shuffled to all lanes (conv_subgroup.wgsl says why).
//
//   gemm_nn4_sg  B's TV vec4s of 8 consecutive k: lane s loads those of k0 + s. With A_K4 (A
//                stored [m, k], k % 4 == 0) a lane's rows of A come as two vec4s per row
//                for those 8 k, instead of a scalar per row and k.
//   gemm_nt4_sg  A's vec4 kk of the workgroup's NT_TM = 32 rows: lane s loads rows s, s + 8,
//                s + 16 and s + 24.

// A stored [m, k] with k % 4 == 0: A's rows load as vec4s along k.
override A_K4: bool = false;

@compute @workgroup_size(WG, 1, 1)
fn gemm_nn4_sg(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    let at = nn4_setup(wid, lid);
    let n4 = p.n / 4u;
    let k4 = p.k / 4u;
    var arow4: array<u32, TM>;
    for (var i = 0u; i < TM; i = i + 1u) {
        arow4[i] = min(at.x + i, p.m - 1u) * k4;
    }
    for (var k0 = 0u; k0 < p.k; k0 = k0 + WG) {
        // Rows past k are clamped loads that are never used.
        let bk = min(k0 + lane, p.k - 1u) * n4;
        var bl: array<vec4<f32>, TV>;
        for (var j = 0u; j < TV; j = j + 1u) {
            bl[j] = b4[bk + nn_bidx[j]];
        }
        // A_K4: the vec4s of k0..k0 + 7 of each row (the second clamped when past k: unused).
        var alo: array<vec4<f32>, TM>;
        var ahi: array<vec4<f32>, TM>;
        if (A_K4) {
            for (var i = 0u; i < TM; i = i + 1u) {
                alo[i] = a4[arow4[i] + k0 / 4u];
                ahi[i] = a4[arow4[i] + min(k0 / 4u + 1u, k4 - 1u)];
            }
        }
        for (var s = 0u; s < WG; s = s + 1u) {
            // Uniform: every lane takes the branch or none.
            if (k0 + s < p.k) {
                for (var j = 0u; j < TV; j = j + 1u) {
                    nn_bv[j] = subgroupShuffle(bl[j], s);
                }
                if (A_K4) {
                    for (var i = 0u; i < TM; i = i + 1u) {
                        nn_av[i] = select(ahi[i], alo[i], s < 4u)[s % 4u];
                    }
                } else {
                    nn4_load_a(at.x, k0 + s);
                }
                nn4_fma();
            }
        }
    }
    nn4_store(at.x, at.y);
}

@compute @workgroup_size(WG, 1, 1)
fn gemm_nt4_sg(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    let at = nt4_setup(wid, lid);
    let k4 = p.k / 4u;
    // This lane's rows of A: lane + 8·h for each block h of 8 of the workgroup's NT_TM rows.
    var arow: array<u32, NT_TM / 8u>;
    for (var h = 0u; h < NT_TM / 8u; h = h + 1u) {
        arow[h] = min(at.x + lane + 8u * h, p.m - 1u) * k4;
    }
    for (var kk = 0u; kk < k4; kk = kk + 1u) {
        for (var h = 0u; h < NT_TM / 8u; h = h + 1u) {
            let al = a4[arow[h] + kk];
            for (var i = 0u; i < 8u; i = i + 1u) {
                nt_av[8u * h + i] = subgroupShuffle(al, i);
            }
        }
        nt4_fma(kk);
    }
    nt4_store(at.x, at.y);
}
