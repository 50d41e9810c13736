// Shared by conv.wgsl and conv_subgroup.wgsl (compiled before either): the parameters and
// bindings, the register-tile sizes, and the helpers that lay out lanes and pixels.
// conv.wgsl's header describes the kernels.

struct Params {
    batch: u32,
    c_in: u32,
    h: u32,
    w: u32,
    c_out: u32,
    out_h: u32,
    out_w: u32,
    pad: u32,
    accumulate: u32,
    has_bias: u32,
    // conv_dx: channel blocks per phase (wid.z = phase · blocks + block).
    blocks: u32,
}

// Bindings by entry point:            a       b      bias   c
//   conv_fwd, conv_fwd4 (b4 = w)      x       w      bias   y
//   conv_dx, conv_dxt, conv_dxt4      dy      w      -      dx      (b4 = w in conv_dxt4)
//   conv_dw                           x       dy     -      dw
//   conv_db                           dy      -      -      db
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;
@group(0) @binding(5) var<storage, read> b4: array<vec4<f32>>;

override WG: u32 = 8u;
// Kernel size and stride are pipeline constants, so tap loops unroll and divide by constants.
override KS: u32 = 3u;
override ST: u32 = 1u;
// Live rows (channels) of the register tile: at most FM, DM, WM or XM.
override TM: u32 = 8u;
// conv_dw: input channels and kernel rows per workgroup (CPG · KYG · KS ≤ TNX).
override CPG: u32 = 1u;
override KYG: u32 = 3u;
// conv_dxt: pad mod ST.
override PH: u32 = 0u;

const FM: u32 = 32u; // conv_fwd: output channels per workgroup
const FP: u32 = 16u; // conv_fwd: pixels per lane
const DM: u32 = 32u; // conv_dx: input channels per workgroup
const DP: u32 = 16u; // conv_dx: pixels per lane
const WM: u32 = 32u; // conv_dw: output channels per workgroup
const TNX: u32 = 16u; // conv_dw: weight columns per workgroup
const XM: u32 = 4u; // conv_dxt: input channels per workgroup
const XB: u32 = 4u; // conv_dxt: side of a lane's pixel block (a multiple of ST)
const XP: u32 = XB * XB; // conv_dxt: pixels per lane
const XW: u32 = 8u; // conv_dxt: largest side of the dy window under a block
const XK: u32 = 25u; // conv_dxt: most taps (KS ≤ 5)

// c[o] = v [+ c[o]].
fn store(o: u32, v: f32) {
    var r = v;
    if (p.accumulate != 0u) {
        r = r + c[o];
    }
    c[o] = r;
}

// ---------------------------------------------------------------------------------------
// Forward

// Lane pixel j (pix0 + j·WG, clamped to the last pixel) reads its input window from
// n·c_in·h·w + (oy·ST − pad, ox·ST − pad).
var<private> win_base: array<u32, FP>;
var<private> win_iy0: array<i32, FP>;
var<private> win_ix0: array<i32, FP>;
// Offset of input row ky of channel ci for each pixel, and whether that row is inside.
var<private> row_off: array<u32, FP>;
var<private> row_ok: array<bool, FP>;
var<private> facc: array<array<f32, FP>, FM>;

fn fwd_window(pix0: u32) {
    let plane = p.out_h * p.out_w;
    let last = p.batch * plane - 1u;
    for (var j = 0u; j < FP; j++) {
        let q = min(pix0 + j * WG, last);
        let n = q / plane;
        let r = q - n * plane;
        let oy = r / p.out_w;
        let ox = r - oy * p.out_w;
        win_base[j] = n * p.c_in * p.h * p.w;
        win_iy0[j] = i32(oy * ST) - i32(p.pad);
        win_ix0[j] = i32(ox * ST) - i32(p.pad);
    }
}

fn fwd_rows(ci: u32, ky: u32) {
    let cbase = ci * p.h * p.w;
    for (var j = 0u; j < FP; j++) {
        let iy = u32(win_iy0[j] + i32(ky));
        row_ok[j] = iy < p.h;
        row_off[j] = win_base[j] + cbase + iy * p.w;
    }
}

// Tap q of the forward's one flat loop over (ci, ky, t) in order: prepares the kernel row's
// offsets when its first column t = 0 comes, and returns t.
fn fwd_tap(q: u32) -> u32 {
    let taps = KS * KS;
    let ci = q / taps;
    let ky = (q - ci * taps) / KS;
    let t = q - ci * taps - ky * KS;
    if (t == 0u) {
        fwd_rows(ci, ky);
    }
    return t;
}

// x at column kx of pixel j's current row; 0 on the padding (which reads x[0]).
fn fwd_input(j: u32, kx: u32) -> f32 {
    let ix = u32(win_ix0[j] + i32(kx));
    let ok = row_ok[j] && ix < p.w;
    return select(0.0, a[select(0u, row_off[j] + ix, ok)], ok);
}

fn fwd_store(co0: u32, pix0: u32) {
    let plane = p.out_h * p.out_w;
    let npix = p.batch * plane;
    for (var i = 0u; i < FM; i++) {
        let co = co0 + i;
        if (i < TM && co < p.c_out) {
            var bv = 0.0;
            if (p.has_bias != 0u) {
                bv = bias[co];
            }
            for (var j = 0u; j < FP; j++) {
                let q = pix0 + j * WG;
                if (q < npix) {
                    let n = q / plane;
                    store((n * p.c_out + co) * plane + q - n * plane, facc[i][j] + bv);
                }
            }
        }
    }
}

// The inputs of column kx of the current rows (conv_fwd), or of all 4 columns (conv_fwd4).
var<private> fwd_x: array<f32, FP>;
var<private> fwd_x4: array<array<f32, FP>, 4>;

fn fwd_inputs(kx: u32) {
    for (var j = 0u; j < FP; j++) {
        fwd_x[j] = fwd_input(j, kx);
    }
}

fn fwd_inputs4() {
    for (var kx = 0u; kx < 4u; kx++) {
        for (var j = 0u; j < FP; j++) {
            fwd_x4[kx][j] = fwd_input(j, kx);
        }
    }
}

// Output channel row i of the tile gains weight wv times the inputs (i is constant once the
// callers' loops unroll, so the tile stays in registers).
fn fwd_fma(i: u32, wv: f32) {
    for (var j = 0u; j < FP; j++) {
        facc[i][j] = fma(wv, fwd_x[j], facc[i][j]);
    }
}

// The same for a kernel row of 4 weights.
fn fwd_fma4(i: u32, wv: vec4<f32>) {
    for (var j = 0u; j < FP; j++) {
        facc[i][j] = fma(wv.x, fwd_x4[0][j], fma(wv.y, fwd_x4[1][j], fma(wv.z, fwd_x4[2][j], fma(wv.w, fwd_x4[3][j], facc[i][j]))));
    }
}

// ---------------------------------------------------------------------------------------
// Input gradient, by phase

// The pixels (iy, ix) of one phase: (iy + pad) mod ST = ry, (ix + pad) mod ST = rx.
struct Phase {
    ry: u32,
    rx: u32,
    fy: u32, // first row of the phase
    fx: u32, // first column
    nx: u32, // columns in the phase
    sub: u32, // pixels per image in the phase
    count: u32, // pixels in the phase over the batch
}

fn phase(index: u32) -> Phase {
    var f: Phase;
    f.ry = index / ST;
    f.rx = index - f.ry * ST;
    let ps = p.pad % ST;
    f.fy = (f.ry + ST - ps) % ST;
    f.fx = (f.rx + ST - ps) % ST;
    let ny = select(0u, (p.h - f.fy + ST - 1u) / ST, f.fy < p.h);
    f.nx = select(0u, (p.w - f.fx + ST - 1u) / ST, f.fx < p.w);
    f.sub = ny * f.nx;
    f.count = p.batch * f.sub;
    return f;
}

// conv_dx's workgroup: phase wid.z / blocks, TM input channels from ci0, and the first of
// its WG·DP pixels of the phase (at or past the phase's count when it has none).
struct DxGroup {
    f: Phase,
    ci0: u32,
    first: u32,
}

fn dx_group(wid: vec3<u32>, nwg: vec3<u32>) -> DxGroup {
    let ph = wid.z / p.blocks;
    var d: DxGroup;
    d.f = phase(ph);
    d.ci0 = (wid.z - ph * p.blocks) * TM;
    d.first = (wid.x + wid.y * nwg.x) * WG * DP;
    return d;
}

// conv_dx's lane pixels: for pixel j (pix0 + j·WG of the phase, clamped), n · c_out · plane
// and the output row/column reached by the phase's first tap, oy = (iy + pad − ry) / ST
// (tap ty reaches oy − ty).
var<private> dx_dbase: array<u32, DP>;
var<private> dx_oyb: array<u32, DP>;
var<private> dx_oxb: array<u32, DP>;
var<private> dx_acc: array<array<f32, DP>, DM>;
// Per tap: the dy offset of each lane pixel and whether the tap reaches inside dy.
var<private> dx_off: array<u32, DP>;
var<private> dx_ok: array<bool, DP>;

// (iy, ix) of pixel q of phase f, and its image n.
fn dx_pixel(f: Phase, q: u32) -> vec3<u32> {
    let n = q / f.sub;
    let r = q - n * f.sub;
    let py = r / f.nx;
    return vec3<u32>(n, f.fy + py * ST, f.fx + (r - py * f.nx) * ST);
}

fn dx_pixels(f: Phase, pix0: u32) {
    let plane = p.out_h * p.out_w;
    for (var j = 0u; j < DP; j++) {
        let px = dx_pixel(f, min(pix0 + j * WG, f.count - 1u));
        dx_dbase[j] = px.x * p.c_out * plane;
        dx_oyb[j] = (px.y + p.pad - f.ry) / ST;
        dx_oxb[j] = (px.z + p.pad - f.rx) / ST;
    }
}

fn dx_tap(ty: u32, tx: u32) {
    for (var j = 0u; j < DP; j++) {
        // Wraps to a huge value (outside) when the tap lands above/left of dy.
        let oy = dx_oyb[j] - ty;
        let ox = dx_oxb[j] - tx;
        dx_ok[j] = oy < p.out_h && ox < p.out_w;
        dx_off[j] = select(0u, dx_dbase[j] + oy * p.out_w + ox, dx_ok[j]);
    }
}

// The dy values of output channel co at the current tap's pixels (zero outside dy).
var<private> dx_dv: array<f32, DP>;

fn dx_loads(co: u32) {
    let cb = co * p.out_h * p.out_w;
    for (var j = 0u; j < DP; j++) {
        dx_dv[j] = select(0.0, a[select(0u, dx_off[j] + cb, dx_ok[j])], dx_ok[j]);
    }
}

// Input channel row i of the tile gains weight wv times those dy values.
fn dx_fma(i: u32, wv: f32) {
    for (var j = 0u; j < DP; j++) {
        dx_acc[i][j] = fma(wv, dx_dv[j], dx_acc[i][j]);
    }
}

fn dx_store(f: Phase, ci0: u32, pix0: u32) {
    let hw = p.h * p.w;
    for (var i = 0u; i < DM; i++) {
        let ci = ci0 + i;
        if (i < TM && ci < p.c_in) {
            for (var j = 0u; j < DP; j++) {
                let q = pix0 + j * WG;
                if (q < f.count) {
                    let px = dx_pixel(f, q);
                    store((px.x * p.c_in + ci) * hw + px.y * p.w + px.z, dx_acc[i][j]);
                }
            }
        }
    }
}
