// The vec4 versions of gemm.wgsl, chosen when the sizes allow 16-byte loads. Same
// parameters and results.
//
//  gemm_nn4: op(B) = B stored [k, n] with n % 4 == 0 (input-grad dY·W, weight-grad dYᵀ·X).
//            Per k: TV uniform vec4 loads of B, TM loads of A (2 vec4 with A_VEC), TM·TV
//            vec4 FMAs.
//  gemm_nt4: op(A) = A stored [m, k], op(B) = Bᵀ with B stored [n, k], k % 4 == 0 (Linear
//            forward x·Wᵀ). Both operands run along k: per 4 k, NT_TM uniform vec4 loads of A
//            and TC vec4 loads of B, then NT_TM·TC dot products.

// The declarations and the kernels' shared steps are in gemm_vec4_common.wgsl;
// gemm_subgroup.wgsl has the variants for adapters with subgroup operations.

@compute @workgroup_size(WG, 1, 1)
fn gemm_nn4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let at = nn4_setup(wid, lid);
    let n4 = p.n / 4u;
    for (var kk = 0u; kk < p.k; kk = kk + 1u) {
        let bk = kk * n4;
        for (var j = 0u; j < TV; j = j + 1u) {
            nn_bv[j] = b4[bk + nn_bidx[j]];
        }
        nn4_load_a(at.x, kk);
        nn4_fma();
    }
    nn4_store(at.x, at.y);
}

@compute @workgroup_size(WG, 1, 1)
fn gemm_nt4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let at = nt4_setup(wid, lid);
    let k4 = p.k / 4u;
    var arow: array<u32, NT_TM>;
    for (var i = 0u; i < NT_TM; i = i + 1u) {
        arow[i] = min(at.x + i, p.m - 1u) * k4;
    }
    for (var kk = 0u; kk < k4; kk = kk + 1u) {
        for (var i = 0u; i < NT_TM; i = i + 1u) {
            nt_av[i] = a4[arow[i] + kk];
        }
        nt4_fma(kk);
    }
    nt4_store(at.x, at.y);
}
