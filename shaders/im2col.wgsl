// A convolution's input laid out as a matrix, so that the convolution runs as the vec4 GEMM
// gemm_nt4, whose operands both load as vec4s along the summed axis (ops/conv/lowered.rs
// says when that pays). A column index kk = (ci·KS + ky)·KS + kx follows the weight's
// [c_out, c_in, KS, KS] layout, a pixel q = (n·out_h + oy)·out_w + ox the output's; the
// value is x[n, ci, oy·ST − pad + ky, ox·ST − pad + kx], 0 on the padding.
//
//  im2col_rows          xc[q, kk]: one vec4 of 4 consecutive kk per invocation
//                       (c_in·KS² divisible by 4). The forward's B operand.
//  im2col_cols          xc[kk, q]: one vec4 of 4 consecutive pixels per invocation (pixels
//                       divisible by 4). The weight-grad's B operand.
//  to_channel_major     dst[c, n·plane + r] = src[n, c, r]: the output gradient with its
//                       pixels contiguous per channel, the weight-grad's A operand.
//  to_channels_last     dst[n, r, c] = src[n, c, r] for r < PLANE, c < CHANNELS into texels,
//                       one vec4 of 4 consecutive channels per invocation (CHANNELS divisible
//                       by 4): conv_dx_cl_sg's operands (ops/conv/channels_last.rs).

// Every size a division needs is a pipeline constant, so the divisions compile to multiplies
// (a division by a runtime value costs a scalar loop over the lanes on CPU adapters).
override KS: u32 = 4u;
override ST: u32 = 2u;
override OUT_W: u32 = 1u;
override PLANE: u32 = 1u; // out_h · out_w
override K4: u32 = 1u; // c_in · KS² / 4: vec4s per row of im2col_rows
override PIXELS: u32 = 1u; // batch · out_h · out_w
override Q4: u32 = 1u; // pixels / 4: vec4s per row of im2col_cols
override CHANNELS: u32 = 1u; // to_channel_major, to_channels_last

struct Params {
    batch: u32,
    c_in: u32,
    h: u32,
    w: u32,
    pad: u32,
    // Work items: vec4s written (im2col_rows, im2col_cols) or values copied (to_channel_major).
    count: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst4: array<vec4<f32>>;

// x at pixel q and column kk (0 on the padding).
fn tap(q: u32, kk: u32) -> f32 {
    let n = q / PLANE;
    let r = q - n * PLANE;
    let oy = r / OUT_W;
    let ox = r - oy * OUT_W;
    let taps = KS * KS;
    let ci = kk / taps;
    let t = kk - ci * taps;
    let ky = t / KS;
    let kx = t - ky * KS;
    // Wraps to a huge value above or left of the image.
    let iy = oy * ST + ky - p.pad;
    let ix = ox * ST + kx - p.pad;
    if (iy >= p.h || ix >= p.w) {
        return 0.0;
    }
    return src[((n * p.c_in + ci) * p.h + iy) * p.w + ix];
}

@compute @workgroup_size(256)
fn im2col_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
    let i = linear_id(wid, nwg, lid, 256u);
    if (i >= p.count) {
        return;
    }
    // Neighbouring lanes take neighbouring pixels, which read neighbouring inputs.
    let j = i / PIXELS;
    let q = i - j * PIXELS;
    let kk = 4u * j;
    dst4[q * K4 + j] = vec4<f32>(tap(q, kk), tap(q, kk + 1u), tap(q, kk + 2u), tap(q, kk + 3u));
}

@compute @workgroup_size(256)
fn im2col_cols(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
    let i = linear_id(wid, nwg, lid, 256u);
    if (i >= p.count) {
        return;
    }
    let kk = i / Q4;
    let q = 4u * (i - kk * Q4);
    dst4[i] = vec4<f32>(tap(q, kk), tap(q + 1u, kk), tap(q + 2u, kk), tap(q + 3u, kk));
}

@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(256)
fn to_channel_major(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                    @builtin(local_invocation_index) lid: u32) {
    let i = linear_id(wid, nwg, lid, 256u);
    if (i >= p.count) {
        return;
    }
    // i indexes src [n, c, r].
    let n = i / (CHANNELS * PLANE);
    let rest = i - n * CHANNELS * PLANE;
    let c = rest / PLANE;
    let r = rest - c * PLANE;
    dst[(c * p.batch + n) * PLANE + r] = src[i];
}

// to_channels_last's texels (gpu/texels.rs): vec4 o at (o mod TEXEL_ROW, o / TEXEL_ROW).
const TEXEL_ROW: u32 = 4096u;
@group(0) @binding(2) var dst_texels: texture_storage_2d<rgba32float, write>;

@compute @workgroup_size(256)
fn to_channels_last(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                           @builtin(local_invocation_index) lid: u32) {
    let i = linear_id(wid, nwg, lid, 256u);
    if (i >= p.count) {
        return;
    }
    let c4n = CHANNELS / 4u;
    let nc = i / PLANE;
    let r = i - nc * PLANE;
    let n = nc / c4n;
    let c4 = nc - n * c4n;
    let s = (n * CHANNELS + 4u * c4) * PLANE + r;
    let o = (n * PLANE + r) * c4n + c4;
    textureStore(dst_texels, vec2<u32>(o % TEXEL_ROW, o / TEXEL_ROW), vec4<f32>(src[s], src[s + PLANE], src[s + 2u * PLANE], src[s + 3u * PLANE]));
}
