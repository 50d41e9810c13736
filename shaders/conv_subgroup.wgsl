// The convolution kernels for CPU adapters with subgroup operations (lavapipe: one subgroup of
// 8 lanes per workgroup), compiled after conv_common.wgsl. Same parameters, bindings and
// results as conv.wgsl's kernels of the same names without `_sg`.
//
// Why: on lavapipe a storage load costs a loop over the 8 lanes even when every lane reads the
// same address, while a subgroup shuffle costs a few register moves (measured: about 7× less).
// A value every lane needs (a weight in the forward and conv_dx, a dy value in conv_dw) is
// therefore loaded once per 8 values, each lane loading a different one, and handed to all
// lanes by a shuffle. The shuffle's lane is constant once the tile loops unroll.
//
//   conv_fwd_sg   conv_fwd with the TM ≤ 32 weights of a (ci, ky, kx) loaded 4 per lane.
//                 Bit-identical to conv_fwd; with KX_DOWN (4×4 kernels) it walks a row's
//                 taps from the last, the order of conv_fwd4's nested FMAs, and is
//                 bit-identical to conv_fwd4. (A conv_fwd4 with shuffled vec4 weight rows
//                 was slower on lavapipe than these scalar shuffles.)
//   conv_dx_sg    conv_dx with the TM ≤ 32 weights of a (co, tap) loaded 4 per lane.
//                 Bit-identical to conv_dx.
//   conv_dx_cl_sg conv_dx_sg on operands laid out with the output channels innermost (dy as
//                 [n, out_h, out_w, c_out], w as [c_in, KS, KS, c_out]; c_out divisible by
//                 4) in rgba32float texels, so dy and the weights load as vec4s along the
//                 summed axis by texel fetches: a fetch per 4 channels, where a storage
//                 access costs a loop over the lanes. The same sums in the same order, so
//                 bit-identical to conv_dx_sg.
//   conv_dw_sg    dw with the lanes splitting the weight columns instead of the sum: lane l
//                 owns column group 8·g + l (CPG input channels × KYG kernel rows × KS
//                 columns) for the TM ≤ 32 output channels of the workgroup, and walks every
//                 output pixel in order: lane l loads the pixel's dy values of channels
//                 l + 8·e, shuffled to all lanes. No workgroup memory, no barrier;
//                 one sum per weight in pixel order (not conv_dw's order: the last bits differ).

// conv_fwd_sg: a row's taps from the last column to the first (conv_fwd4's order).
override KX_DOWN: bool = false;

@compute @workgroup_size(WG, 1, 1)
fn conv_fwd_sg(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    let pix0 = (wid.x + wid.y * nwg.x) * WG * FP + lid.x;
    let co0 = wid.z * TM;
    fwd_window(pix0);
    // Index of (co, ci = 0, 0, 0) of the rows this lane loads: lane + 8·s.
    var wrow: array<u32, FM / 8u>;
    for (var s = 0u; s < FM / 8u; s++) {
        wrow[s] = min(co0 + lane + 8u * s, p.c_out - 1u) * p.c_in * KS * KS;
    }
    // One flat loop over the taps (conv.wgsl's header says why).
    for (var q = 0u; q < p.c_in * KS * KS; q++) {
        let t = fwd_tap(q);
        let kx = select(t, KS - 1u - t, KX_DOWN);
        fwd_inputs(kx);
        let wk = q - t + kx;
        var wl: array<f32, FM / 8u>;
        for (var s = 0u; s < FM / 8u; s++) {
            if (8u * s < TM) {
                wl[s] = b[wrow[s] + wk];
            }
        }
        for (var i = 0u; i < FM; i++) {
            if (i < TM) {
                fwd_fma(i, subgroupShuffle(wl[i / 8u], i % 8u));
            }
        }
    }
    fwd_store(co0, pix0);
}

@compute @workgroup_size(WG, 1, 1)
fn conv_dx_sg(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    let grp = dx_group(wid, nwg);
    let f = grp.f;
    let ci0 = grp.ci0;
    // Uniform across the workgroup, so the shuffles below still see every lane.
    if (grp.first >= f.count) {
        return;
    }
    let pix0 = grp.first + lid.x;
    dx_pixels(f, pix0);
    let kk = KS * KS;
    // Weight column of the channels this lane loads: lane + 8·s.
    var wcol: array<u32, DM / 8u>;
    for (var s = 0u; s < DM / 8u; s++) {
        wcol[s] = min(ci0 + lane + 8u * s, p.c_in - 1u) * kk;
    }
    let wstride = p.c_in * kk;
    let ntap = (KS + ST - 1u) / ST;
    for (var ty = 0u; ty < ntap; ty++) {
        let ky = f.ry + ty * ST;
        for (var tx = 0u; tx < ntap; tx++) {
            let kx = f.rx + tx * ST;
            if (ky < KS && kx < KS) {
                dx_tap(ty, tx);
                let wk = ky * KS + kx;
                for (var co = 0u; co < p.c_out; co++) {
                    dx_loads(co);
                    let wo = co * wstride + wk;
                    var wl: array<f32, DM / 8u>;
                    for (var s = 0u; s < DM / 8u; s++) {
                        if (8u * s < TM) {
                            wl[s] = b[wo + wcol[s]];
                        }
                    }
                    for (var i = 0u; i < DM; i++) {
                        if (i < TM) {
                            dx_fma(i, subgroupShuffle(wl[i / 8u], i % 8u));
                        }
                    }
                }
            }
        }
    }
    dx_store(f, ci0, pix0);
}

// conv_dx_clt_sg: dy channels-last in texels (gpu/texels.rs), vec4 i at
// (i mod TEXEL_ROW, i / TEXEL_ROW).
const TEXEL_ROW: u32 = 4096u;
@group(0) @binding(1) var dy_texels: texture_2d<f32>;

@group(0) @binding(2) var w_texels: texture_2d<f32>;

fn fetch(t: texture_2d<f32>, i: u32) -> vec4<f32> {
    return textureLoad(t, vec2<u32>(i % TEXEL_ROW, i / TEXEL_ROW), 0);
}

@compute @workgroup_size(WG, 1, 1)
fn conv_dx_cl_sg(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    let grp = dx_group(wid, nwg);
    let f = grp.f;
    let ci0 = grp.ci0;
    // Uniform across the workgroup, so the shuffles below still see every lane.
    if (grp.first >= f.count) {
        return;
    }
    let pix0 = grp.first + lid.x;
    dx_pixels(f, pix0);
    let kk = KS * KS;
    let c4n = p.c_out / 4u;
    // Weight row of the channels this lane loads (lane + 8·s), in vec4s.
    var wrow: array<u32, DM / 8u>;
    for (var s = 0u; s < DM / 8u; s++) {
        wrow[s] = min(ci0 + lane + 8u * s, p.c_in - 1u) * kk * c4n;
    }
    let ntap = (KS + ST - 1u) / ST;
    for (var ty = 0u; ty < ntap; ty++) {
        let ky = f.ry + ty * ST;
        for (var tx = 0u; tx < ntap; tx++) {
            let kx = f.rx + tx * ST;
            if (ky < KS && kx < KS) {
                // Each lane pixel's dy vec4 offset, n·c_out·plane / 4 being n·plane·c4n.
                var off: array<u32, DP>;
                var ok: array<bool, DP>;
                for (var j = 0u; j < DP; j++) {
                    let oy = dx_oyb[j] - ty;
                    let ox = dx_oxb[j] - tx;
                    ok[j] = oy < p.out_h && ox < p.out_w;
                    off[j] = select(0u, dx_dbase[j] / 4u + (oy * p.out_w + ox) * c4n, ok[j]);
                }
                let wk = (ky * KS + kx) * c4n;
                for (var c4 = 0u; c4 < c4n; c4++) {
                    var dv: array<vec4<f32>, DP>;
                    for (var j = 0u; j < DP; j++) {
                        dv[j] = select(vec4<f32>(0.0), fetch(dy_texels, select(0u, off[j] + c4, ok[j])), ok[j]);
                    }
                    var wl: array<vec4<f32>, DM / 8u>;
                    for (var s = 0u; s < DM / 8u; s++) {
                        if (8u * s < TM) {
                            wl[s] = fetch(w_texels, wrow[s] + wk + c4);
                        }
                    }
                    // Channels 4·c4 … 4·c4 + 3 in order, as conv_dx_sg's loop over co.
                    for (var i = 0u; i < DM; i++) {
                        if (i < TM) {
                            let wv = subgroupShuffle(wl[i / 8u], i % 8u);
                            for (var j = 0u; j < DP; j++) {
                                let d = dv[j];
                                dx_acc[i][j] = fma(wv.w, d.w, fma(wv.z, d.z, fma(wv.y, d.y, fma(wv.x, d.x, dx_acc[i][j]))));
                            }
                        }
                    }
                }
            }
        }
    }
    dx_store(f, ci0, pix0);
}

// Column groups of conv_dw_sg: CPG input channels × KYG kernel rows per group.
fn dw_groups() -> u32 {
    return ((p.c_in + CPG - 1u) / CPG) * ((KS + KYG - 1u) / KYG);
}

@compute @workgroup_size(WG, 1, 1)
fn conv_dw_sg(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    // This lane's column group (clamped: lanes past the last compute a copy, store nothing);
    // column col = (j·KYG + r)·KS + kx as in conv_dw.
    let cg_live = (wid.x + wid.y * nwg.x) * WG + lane;
    let cg = min(cg_live, dw_groups() - 1u);
    let nkyg = (KS + KYG - 1u) / KYG;
    let cig = cg / nkyg;
    let ky0 = (cg - cig * nkyg) * KYG;
    let ci0 = cig * CPG;
    let co0 = wid.z * TM;
    let plane = p.out_h * p.out_w;
    let hw = p.h * p.w;
    let npix = p.batch * plane;
    // Offset of the dy plane of the channels this lane loads: co0 + lane + 8·e.
    var dyco: array<u32, WM / 8u>;
    for (var e = 0u; e < WM / 8u; e++) {
        dyco[e] = min(co0 + lane + 8u * e, p.c_out - 1u) * plane;
    }
    // Per column: the input channel's plane offset, the kernel row and column, and whether
    // the column exists.
    var xch: array<u32, TNX>;
    var cky: array<u32, TNX>;
    var cok: array<bool, TNX>;
    for (var col = 0u; col < TNX; col++) {
        let jr = col / KS;
        let j = jr / KYG;
        let r = jr - j * KYG;
        xch[col] = min(ci0 + j, p.c_in - 1u) * hw;
        cky[col] = ky0 + r;
        cok[col] = ky0 + r < KS && j < CPG;
    }
    var acc: array<array<f32, TNX>, WM>;
    // One pixel per iteration, so the loop body stays one pixel's FMAs: bodies of 8 pixels
    // (each lane loading one pixel's dy values) or 2 ran slower on lavapipe.
    for (var q = 0u; q < npix; q++) {
        let n = q / plane;
        let r = q - n * plane;
        let oy = r / p.out_w;
        let ox = r - oy * p.out_w;
        // Lane l loads the dy values of channels co0 + l + 8·e; each reaches every lane by
        // a shuffle.
        let dyb = n * p.c_out * plane + r;
        var dl: array<f32, WM / 8u>;
        for (var e = 0u; e < WM / 8u; e++) {
            if (8u * e < TM) {
                dl[e] = b[dyb + dyco[e]];
            }
        }
        let xb = n * p.c_in * hw;
        var xv: array<f32, TNX>;
        for (var col = 0u; col < TNX; col++) {
            let iy = u32(i32(oy * ST + cky[col]) - i32(p.pad));
            let ix = u32(i32(ox * ST + col % KS) - i32(p.pad));
            let ok = cok[col] && iy < p.h && ix < p.w;
            xv[col] = select(0.0, a[select(0u, xb + xch[col] + iy * p.w + ix, ok)], ok);
        }
        for (var i = 0u; i < WM; i++) {
            if (i < TM) {
                let d = subgroupShuffle(dl[i / 8u], i % 8u);
                for (var col = 0u; col < TNX; col++) {
                    acc[i][col] = fma(d, xv[col], acc[i][col]);
                }
            }
        }
    }
    if (cg_live < dw_groups()) {
        let kk = KS * KS;
        for (var i = 0u; i < WM; i++) {
            let co = co0 + i;
            if (i < TM && co < p.c_out) {
                for (var col = 0u; col < TNX; col++) {
                    let jr = col / KS;
                    let j = jr / KYG;
                    let ky = ky0 + jr - j * KYG;
                    let ci = ci0 + j;
                    if (ci < p.c_in && ky < KS && j < CPG) {
                        store((co * p.c_in + ci) * kk + ky * KS + col % KS, acc[i][col]);
                    }
                }
            }
        }
    }
}
