// 2-D convolution, NCHW, square kernel KS, stride ST, zero padding; weights [c_out, c_in, KS, KS].
// Forward and the three gradients. The transposed convolution runs on the same entry points
// with input and output swapped: its forward is the input-grad (conv_dx / conv_dxt), its
// input-grad the forward (conv_fwd).
//
//   (Wide layers' forward and weight-grad run as im2col.wgsl and gemm_nt4 on CPU adapters
//   with subgroups: ops::conv::lowered. There the phase input-grad of layers whose output
//   channels come in whole vec4s runs conv_subgroup.wgsl's conv_dx_cl_sg on channels-last
//   copies of dy and w: ops::conv::channels_last.)
//   conv_fwd   y = conv(x, w) [+ bias] [+ y]. Implicit GEMM, no im2col buffer: M = c_out,
//              N = batch·out_h·out_w pixels, K = c_in·KS². A workgroup owns TM ≤ FM output
//              channels (weight addresses from workgroup_id only), a lane FP pixels spaced WG
//              apart. Per K step a lane loads TM weights and FP inputs for TM·FP FMAs.
//   conv_fwd4  The same for KS = 4, where a kernel row of 4 weights is one vec4 load: per
//              (ci, ky) TM vec4 loads and 4·FP inputs feed 4·TM·FP FMAs.
//   conv_dx    dx[n,ci,iy,ix] = Σ dy[n,co,oy,ox]·w[co,ci,ky,kx] over the taps that reach the
//              pixel, gathered (no atomics). Input pixels fall into ST² phases
//              ((iy + pad) mod ST, (ix + pad) mod ST); every pixel of a phase is reached by
//              the same taps, so a workgroup takes one phase and its tap loops are uniform.
//              M = c_in (TM ≤ DM per workgroup), N = the phase's pixels (DP per lane),
//              K = c_out × the phase's taps.
//   conv_dxt,  The input-grad for thin layers (c_in ≤ XM, e.g. a generator's 1- or 3-channel
//   conv_dxt4  output): conv_dx would load one dy value per FMA there. Instead a lane owns an
//              XB×XB block of input pixels (all phases), loads the dy window under it once per
//              co (4×4 values for KS = 4, ST = 2) and the co's KS² weights (4 vec4 in
//              conv_dxt4), and applies every tap: 2.7 FMAs per load instead of 1.
//   conv_dw    dw[co,ci,ky,kx] = Σ_{n,oy,ox} dy·x: M = c_out (TM ≤ WM per workgroup),
//              N = c_in·KS² (a workgroup owns CPG input channels × KYG kernel rows × KS
//              columns, at most TNX), K = batch·out_h·out_w. The lanes split K (lane l takes
//              output rows l, l + 8, ...), so layers with one input or output channel still fill
//              every lane; the 8 partial sums are added in lane order through workgroup memory
//              after the one barrier.
//   conv_db    db[co] = Σ dy[n, co, ·, ·], one lane per channel, sequential.
//
// Every sum runs in a fixed order (no float atomics), so reruns are bit-identical.
// What lavapipe rewards (measured): a storage load is a per-lane gather whether or not its
// address is uniform, and a vec4 load costs about two scalar ones, so speed is FMAs per load:
// large register tiles (fwd 32×16 accumulators per lane), no shared memory or barriers in the
// hot loops. Register arrays stay in registers only when every loop indexing them is unrolled:
// such loops run to the array's length (guarding the live part with an `if` on an override,
// which folds away) or are short. Arrays are never passed to functions by value (copies).
// But the loop along K is not unrolled: its body is one K step's FMAs. Nested tap loops with
// constant bounds unroll into a body 16× that, likely too large for the instruction cache:
// the forward ran 1.07–1.25× faster with one flat loop over the taps, whose bound is not a
// constant (and slower again with a kernel row's 4 taps per iteration).
// Edges: every load index is clamped or selected into range (a padding tap reads element 0
// and is zeroed by a select), every store is guarded, loops run to uniform bounds.
//
// The declarations and helpers are in conv_common.wgsl; conv_subgroup.wgsl has the variants
// for adapters with subgroup operations.

// ---------------------------------------------------------------------------------------
// Forward

@compute @workgroup_size(WG, 1, 1)
fn conv_fwd(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
) {
    let pix0 = (wid.x + wid.y * nwg.x) * WG * FP + lid.x;
    let co0 = wid.z * TM;
    fwd_window(pix0);
    var wrow: array<u32, FM>;
    for (var i = 0u; i < FM; i++) {
        wrow[i] = min(co0 + i, p.c_out - 1u) * p.c_in * KS * KS;
    }
    // One flat loop over the taps, so the loop body stays one tap's FMAs (see the header).
    for (var wk = 0u; wk < p.c_in * KS * KS; wk++) {
        fwd_inputs(fwd_tap(wk));
        for (var i = 0u; i < FM; i++) {
            if (i < TM) {
                fwd_fma(i, b[wrow[i] + wk]);
            }
        }
    }
    fwd_store(co0, pix0);
}

@compute @workgroup_size(WG, 1, 1)
fn conv_fwd4(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
) {
    let pix0 = (wid.x + wid.y * nwg.x) * WG * FP + lid.x;
    let co0 = wid.z * TM;
    fwd_window(pix0);
    // vec4 index of (co, ci = 0, ky = 0): a kernel row is one vec4.
    var wrow: array<u32, FM>;
    for (var i = 0u; i < FM; i++) {
        wrow[i] = min(co0 + i, p.c_out - 1u) * p.c_in * 4u;
    }
    // One flat loop over the kernel rows (ci, ky) in order, so the loop body stays one row's
    // FMAs (see the header).
    for (var wk = 0u; wk < p.c_in * 4u; wk++) {
        let ci = wk / 4u;
        fwd_rows(ci, wk - ci * 4u);
        fwd_inputs4();
        for (var i = 0u; i < FM; i++) {
            if (i < TM) {
                fwd_fma4(i, b4[wrow[i] + wk]);
            }
        }
    }
    fwd_store(co0, pix0);
}

// ---------------------------------------------------------------------------------------
// Input gradient, by phase

@compute @workgroup_size(WG, 1, 1)
fn conv_dx(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
) {
    let grp = dx_group(wid, nwg);
    let f = grp.f;
    let ci0 = grp.ci0;
    // Phases differ in size (odd sizes); workgroups past this one's end have nothing to do.
    // The condition is uniform across the workgroup: no lane leaves on its own.
    if (grp.first >= f.count) {
        return;
    }
    let pix0 = grp.first + lid.x;
    dx_pixels(f, pix0);
    let kk = KS * KS;
    var wcol: array<u32, DM>;
    for (var i = 0u; i < DM; i++) {
        wcol[i] = min(ci0 + i, p.c_in - 1u) * kk;
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
                    for (var i = 0u; i < DM; i++) {
                        if (i < TM) {
                            dx_fma(i, b[wo + wcol[i]]);
                        }
                    }
                }
            }
        }
    }
    dx_store(f, ci0, pix0);
}

// ---------------------------------------------------------------------------------------
// Input gradient for thin layers, by pixel block

// Block pixel (a, b) at (iy0 + a, ix0 + b) with iy0, ix0 multiples of ST, so (a + PH) mod ST is
// its phase and every index below is a constant once the loops unroll. Tap ky reaches dy row
// oyb + (a + PH − ky)/ST, where oyb = (iy0 + pad − PH)/ST; the window holds the dy rows from
// oyb + lo on.
var<private> xwin: array<array<f32, XW>, XW>;
var<private> xw_row: array<u32, XW>;
var<private> xw_rok: array<bool, XW>;
var<private> xw_col: array<u32, XW>;
var<private> xw_cok: array<bool, XW>;
var<private> xwt: array<array<f32, XK>, XM>;
var<private> xacc: array<array<f32, XP>, XM>;

// floor((PH − KS + 1) / ST): the window's first row relative to oyb.
fn xt_lo() -> i32 {
    let num = i32(PH) - i32(KS) + 1;
    return select(num / i32(ST), -((-num + i32(ST) - 1) / i32(ST)), num < 0);
}

// Rows (and columns) of the window: up to floor((XB − 1 + PH) / ST).
fn xt_size() -> u32 {
    return u32(i32((XB - 1u + PH) / ST) - xt_lo() + 1);
}

// Sets up block `q` (clamped) of the batch; returns the block's first pixel (n, iy0, ix0).
fn xt_block(q: u32) -> vec3<u32> {
    let nby = (p.h + XB - 1u) / XB;
    let nbx = (p.w + XB - 1u) / XB;
    let per = nby * nbx;
    let qq = min(q, p.batch * per - 1u);
    let n = qq / per;
    let r = qq - n * per;
    let by = r / nbx;
    let iy0 = by * XB;
    let ix0 = (r - by * nbx) * XB;
    let lo = xt_lo();
    let size = xt_size();
    let oy0 = i32((iy0 + p.pad - PH) / ST) + lo;
    let ox0 = i32((ix0 + p.pad - PH) / ST) + lo;
    let dyb = n * p.c_out * p.out_h * p.out_w;
    for (var r = 0u; r < XW; r++) {
        let oy = u32(oy0 + i32(r));
        xw_rok[r] = r < size && oy < p.out_h;
        xw_row[r] = dyb + oy * p.out_w;
        let ox = u32(ox0 + i32(r));
        xw_cok[r] = r < size && ox < p.out_w;
        xw_col[r] = ox;
    }
    return vec3<u32>(n, iy0, ix0);
}

// Loads the dy window of output channel co.
fn xt_window(co: u32) {
    let cb = co * p.out_h * p.out_w;
    for (var r = 0u; r < XW; r++) {
        for (var s = 0u; s < XW; s++) {
            if (r < xt_size() && s < xt_size()) {
                let ok = xw_rok[r] && xw_cok[s];
                xwin[r][s] = select(0.0, a[select(0u, xw_row[r] + cb + xw_col[s], ok)], ok);
            }
        }
    }
}

// Every tap of every block pixel for every live channel row.
fn xt_fma() {
    let lo = xt_lo();
    let ntap = (KS + ST - 1u) / ST;
    for (var q = 0u; q < XP; q++) {
        let pa = q / XB;
        let pb = q - pa * XB;
        for (var ty = 0u; ty < ntap; ty++) {
            let ky = (pa + PH) % ST + ty * ST;
            let r = u32(i32(pa + PH - ky) / i32(ST) - lo);
            for (var tx = 0u; tx < ntap; tx++) {
                let kx = (pb + PH) % ST + tx * ST;
                let s = u32(i32(pb + PH - kx) / i32(ST) - lo);
                if (ky < KS && kx < KS) {
                    let dv = xwin[r][s];
                    for (var i = 0u; i < XM; i++) {
                        if (i < TM) {
                            xacc[i][q] = fma(dv, xwt[i][ky * KS + kx], xacc[i][q]);
                        }
                    }
                }
            }
        }
    }
}

fn xt_store(blk: vec3<u32>, q: u32) {
    // Lanes whose block index is past the end computed a clamped copy; they store nothing.
    let nby = (p.h + XB - 1u) / XB;
    let nbx = (p.w + XB - 1u) / XB;
    let live = q < p.batch * nby * nbx;
    for (var i = 0u; i < XM; i++) {
        if (i < TM && i < p.c_in) {
            for (var k = 0u; k < XP; k++) {
                let iy = blk.y + k / XB;
                let ix = blk.z + k % XB;
                if (live && iy < p.h && ix < p.w) {
                    store(((blk.x * p.c_in + i) * p.h + iy) * p.w + ix, xacc[i][k]);
                }
            }
        }
    }
}

@compute @workgroup_size(WG, 1, 1)
fn conv_dxt(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
) {
    let q = linear_id(wid, nwg, lid.x, WG);
    let blk = xt_block(q);
    let kk = KS * KS;
    for (var co = 0u; co < p.c_out; co++) {
        xt_window(co);
        for (var i = 0u; i < XM; i++) {
            if (i < TM) {
                let wo = (co * p.c_in + min(i, p.c_in - 1u)) * kk;
                for (var t = 0u; t < XK; t++) {
                    if (t < kk) {
                        xwt[i][t] = b[wo + t];
                    }
                }
            }
        }
        xt_fma();
    }
    xt_store(blk, q);
}

@compute @workgroup_size(WG, 1, 1)
fn conv_dxt4(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
) {
    let q = linear_id(wid, nwg, lid.x, WG);
    let blk = xt_block(q);
    for (var co = 0u; co < p.c_out; co++) {
        xt_window(co);
        for (var i = 0u; i < XM; i++) {
            if (i < TM) {
                let wo = (co * p.c_in + min(i, p.c_in - 1u)) * 4u;
                for (var t = 0u; t < 4u; t++) {
                    let v = b4[wo + t];
                    xwt[i][4u * t] = v.x;
                    xwt[i][4u * t + 1u] = v.y;
                    xwt[i][4u * t + 2u] = v.z;
                    xwt[i][4u * t + 3u] = v.w;
                }
            }
        }
        xt_fma();
    }
    xt_store(blk, q);
}

// ---------------------------------------------------------------------------------------
// Weight gradient

// Partial sums of every lane, [lane][WM][TNX], added in lane order after the barrier.
const DW_LANES: u32 = 8u;
var<workgroup> red: array<f32, DW_LANES * WM * TNX>;

@compute @workgroup_size(DW_LANES, 1, 1)
fn conv_dw(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
) {
    // Column group: CPG input channels × KYG kernel rows (from ky0) × KS columns; column
    // col = (j·KYG + r)·KS + kx. Columns past CPG·KYG·KS (or past the kernel or the channels)
    // are computed from clamped indices and never stored.
    let cg = wid.x + wid.y * nwg.x;
    let nkyg = (KS + KYG - 1u) / KYG;
    let cig = cg / nkyg;
    let ky0 = (cg - cig * nkyg) * KYG;
    let ci0 = cig * CPG;
    let co0 = wid.z * TM;
    let plane = p.out_h * p.out_w;
    let hw = p.h * p.w;
    var dyco: array<u32, WM>;
    for (var i = 0u; i < WM; i++) {
        dyco[i] = min(co0 + i, p.c_out - 1u) * plane;
    }
    let nrows = p.batch * p.out_h;
    let per_lane = (nrows + DW_LANES - 1u) / DW_LANES;
    var acc: array<array<f32, TNX>, WM>;
    for (var t = 0u; t < per_lane; t++) {
        // Output row (n, oy) of this lane; past the end it repeats the last row with dy = 0.
        let row = lid.x + t * DW_LANES;
        let live = row < nrows;
        let rr = min(row, nrows - 1u);
        let n = rr / p.out_h;
        let oy = rr - n * p.out_h;
        let dyb = n * p.c_out * plane + oy * p.out_w;
        // Input row iy = oy·ST − pad + ky0 + r of each column, and whether it is inside.
        var xrow: array<u32, TNX>;
        var rok: array<bool, TNX>;
        for (var col = 0u; col < TNX; col++) {
            let jr = col / KS;
            let j = jr / KYG;
            let r = jr - j * KYG;
            let iy = u32(i32(oy * ST + ky0 + r) - i32(p.pad));
            rok[col] = iy < p.h && ky0 + r < KS && j < CPG;
            xrow[col] = (n * p.c_in + min(ci0 + j, p.c_in - 1u)) * hw + iy * p.w;
        }
        for (var ox = 0u; ox < p.out_w; ox++) {
            var dv: array<f32, WM>;
            for (var i = 0u; i < WM; i++) {
                if (i < TM) {
                    dv[i] = select(0.0, b[dyb + dyco[i] + ox], live);
                }
            }
            let ix0 = i32(ox * ST) - i32(p.pad);
            for (var col = 0u; col < TNX; col++) {
                let ix = u32(ix0 + i32(col % KS));
                let ok = rok[col] && ix < p.w;
                let xv = select(0.0, a[select(0u, xrow[col] + ix, ok)], ok);
                for (var i = 0u; i < WM; i++) {
                    if (i < TM) {
                        acc[i][col] = fma(dv[i], xv, acc[i][col]);
                    }
                }
            }
        }
    }
    for (var i = 0u; i < WM; i++) {
        for (var col = 0u; col < TNX; col++) {
            red[(lid.x * WM + i) * TNX + col] = acc[i][col];
        }
    }
    workgroupBarrier();
    let kk = KS * KS;
    for (var q = 0u; q < WM * TNX / DW_LANES; q++) {
        let o = q * DW_LANES + lid.x;
        var s = 0.0;
        for (var l = 0u; l < DW_LANES; l++) {
            s = s + red[l * WM * TNX + o];
        }
        let i = o / TNX;
        let col = o - i * TNX;
        let jr = col / KS;
        let j = jr / KYG;
        let ky = ky0 + jr - j * KYG;
        let co = co0 + i;
        let ci = ci0 + j;
        if (i < TM && co < p.c_out && ci < p.c_in && ky < KS && j < CPG) {
            store((co * p.c_in + ci) * kk + ky * KS + col % KS, s);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Bias gradient

@compute @workgroup_size(WG, 1, 1)
fn conv_db(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
) {
    let co = linear_id(wid, nwg, lid.x, WG);
    let plane = p.out_h * p.out_w;
    let base = min(co, p.c_out - 1u) * plane;
    var s = 0.0;
    for (var n = 0u; n < p.batch; n++) {
        let o = base + n * p.c_out * plane;
        for (var q = 0u; q < plane; q++) {
            s = s + a[o + q];
        }
    }
    if (co < p.c_out) {
        store(co, s);
    }
}
