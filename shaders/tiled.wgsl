// Workgroup-tiled matrix products for GPUs: the GPU layouts of the GEMM and of the three
// convolution kernels, one implicit GEMM C[m, n] = Σ_k A[m, k] · B[k, n] whose operands are
// read through each kernel's indexing (no im2col buffer):
//
//   entry        M        N                K                  A               B
//   tiled_gemm   rows     columns          inner              a (strided)     b (strided)
//   tiled_fwd    c_out    batch·oh·ow      c_in·ks·ks         w               x under the taps
//   tiled_dx     c_in     a phase's pixels c_out·(taps/phase) w               dy over the taps
//   tiled_dw     c_out    c_in·ks·ks       batch·oh·ow        dy              x under the taps
//   tiled_db     c_out    1                batch·oh·ow        dy              ones
//
// A workgroup of 256 invocations owns a BM × BN tile of C (64 × 64, or 16 × 256 for
// products of few rows) and walks K in steps of BK: each step the workgroup copies A's
// BM × BK and B's BK × BN slices into workgroup memory, and each invocation accumulates a
// 4 × 4 block whose rows and columns are strided by the invocation grid, so neighbouring
// invocations touch neighbouring addresses. The input-grad splits output pixels by stride
// phase (wid.z), so every tap it visits can contribute.
//
// Split K (wid.z also counts splits): where the tiles alone cannot fill the device (a
// weight-grad sums over every pixel of the batch into a few thousand weights), the splits
// each write their partial tile to `s` and tiled_sum adds them in split order, so results
// are bit-identical from run to run. With one split the tile is stored directly.

struct Params {
    m: u32,
    n: u32,
    k: u32,
    // tiled_gemm: element strides of A along m and k, of B along k and n.
    a_rs: u32,
    a_ks: u32,
    b_ks: u32,
    b_cs: u32,
    // The convolutions' geometry (kernel size and stride are the constants KS and ST).
    batch: u32,
    c_in: u32,
    h: u32,
    w: u32,
    c_out: u32,
    out_h: u32,
    out_w: u32,
    pad: u32,
    // K per split (a multiple of BK), splits, values of C in all.
    k_chunk: u32,
    splits: u32,
    out_len: u32,
    accumulate: u32,
    has_bias: u32,
    // The bias of output o is bias[(o / bias_div) % bias_mod].
    bias_div: u32,
    bias_mod: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;
@group(0) @binding(5) var<storage, read_write> s: array<f32>;

// Invocation rows of the workgroup grid (16: 64 × 64 tiles; 4: 16 × 256 tiles).
override TY: u32 = 16u;
override KS: u32 = 3u;
override ST: u32 = 1u;

const THREADS: u32 = 256u;
const BK: u32 = 8u;
const MAX_BM: u32 = 64u;
const MAX_BN: u32 = 256u;

var<workgroup> tile_a: array<f32, 512>; // BK × MAX_BM, [k][m]
var<workgroup> tile_b: array<f32, 2048>; // BK × MAX_BN, [k][n]

// Where a product's values come from and go to, for one workgroup.
struct Frame {
    mode: u32,
    n: u32, // columns of this workgroup's product (a phase's pixels for tiled_dx)
    k: u32, // its inner size
    // tiled_dx: the phase's first pixel row and column, its pixel rows and columns, and
    // its tap offsets.
    iy0: u32,
    ix0: u32,
    rows: u32,
    cols: u32,
    py: u32,
    px: u32,
}

const GEMM: u32 = 0u;
const FWD: u32 = 1u;
const DX: u32 = 2u;
const DW: u32 = 3u;
const DB: u32 = 4u;

// Taps per phase side in tiled_dx.
fn phase_taps() -> u32 {
    return (KS + ST - 1u) / ST;
}

// x[nb, ci, oy·ST − pad + ky, ox·ST − pad + kx], or 0 in the padding.
fn x_at(nb: u32, ci: u32, q: u32, r: u32) -> f32 {
    let oy = q / p.out_w;
    let ox = q % p.out_w;
    let iy = i32(oy * ST + r / KS) - i32(p.pad);
    let ix = i32(ox * ST + r % KS) - i32(p.pad);
    if (iy < 0 || ix < 0 || iy >= i32(p.h) || ix >= i32(p.w)) {
        return 0.0;
    }
    return b[((nb * p.c_in + ci) * p.h + u32(iy)) * p.w + u32(ix)];
}

fn load_a(f: Frame, m: u32, k: u32) -> f32 {
    if (m >= p.m || k >= f.k) {
        return 0.0;
    }
    switch f.mode {
        case GEMM: {
            return a[m * p.a_rs + k * p.a_ks];
        }
        case FWD: {
            return a[m * f.k + k];
        }
        case DX: {
            // w[co, ci = m, ky, kx] for the phase's tap (jy, jx) of output channel co.
            let t = phase_taps();
            let co = k / (t * t);
            let j = k % (t * t);
            let ky = f.py + ST * (j / t);
            let kx = f.px + ST * (j % t);
            if (ky >= KS || kx >= KS) {
                return 0.0;
            }
            return a[((co * p.c_in + m) * KS + ky) * KS + kx];
        }
        default: {
            // DW and DB: dy[nb, co = m, pixel q].
            let ohw = p.out_h * p.out_w;
            return a[((k / ohw) * p.c_out + m) * ohw + k % ohw];
        }
    }
}

fn load_b(f: Frame, k: u32, n: u32) -> f32 {
    if (k >= f.k || n >= f.n) {
        return 0.0;
    }
    switch f.mode {
        case GEMM: {
            return b[k * p.b_ks + n * p.b_cs];
        }
        case FWD: {
            let ohw = p.out_h * p.out_w;
            return x_at(n / ohw, k / (KS * KS), n % ohw, k % (KS * KS));
        }
        case DX: {
            // dy[nb, co, oy, ox] with oy·ST − pad + ky = iy.
            let t = phase_taps();
            let co = k / (t * t);
            let j = k % (t * t);
            let ky = f.py + ST * (j / t);
            let kx = f.px + ST * (j % t);
            let per = f.rows * f.cols;
            let nb = n / per;
            let iy = f.iy0 + ST * ((n % per) / f.cols);
            let ix = f.ix0 + ST * ((n % per) % f.cols);
            if (ky >= KS || kx >= KS || iy + p.pad < ky || ix + p.pad < kx) {
                return 0.0;
            }
            let oy = (iy + p.pad - ky) / ST;
            let ox = (ix + p.pad - kx) / ST;
            if (oy >= p.out_h || ox >= p.out_w) {
                return 0.0;
            }
            return b[((nb * p.c_out + co) * p.out_h + oy) * p.out_w + ox];
        }
        case DW: {
            // x under weight n = (ci, ky, kx) at pixel k = (nb, q).
            let ohw = p.out_h * p.out_w;
            return x_at(k / ohw, n / (KS * KS), k % ohw, n % (KS * KS));
        }
        default: {
            // DB: the bias-grad sums dy.
            return 1.0;
        }
    }
}

// The index in C of the product's value (m, n).
fn out_index(f: Frame, m: u32, n: u32) -> u32 {
    switch f.mode {
        case FWD: {
            let ohw = p.out_h * p.out_w;
            return ((n / ohw) * p.c_out + m) * ohw + n % ohw;
        }
        case DX: {
            let per = f.rows * f.cols;
            let iy = f.iy0 + ST * ((n % per) / f.cols);
            let ix = f.ix0 + ST * ((n % per) % f.cols);
            return (((n / per) * p.c_in + m) * p.h + iy) * p.w + ix;
        }
        default: {
            return m * p.n + n;
        }
    }
}

// Output o's final value from its sum v.
fn finish(o: u32, v: f32) -> f32 {
    var r = v;
    if (p.has_bias != 0u) {
        r = r + bias[(o / p.bias_div) % p.bias_mod];
    }
    if (p.accumulate != 0u) {
        r = r + c[o];
    }
    return r;
}

fn product(mode: u32, wid: vec3<u32>, lid: u32) {
    let split = wid.z % p.splits;
    var f = Frame(mode, p.n, p.k, 0u, 0u, 0u, 0u, 0u, 0u);
    if (mode == DX) {
        // Phase (py, px): the pixels iy with (iy + pad) % ST == py.
        let phase = wid.z / p.splits;
        f.py = phase / ST;
        f.px = phase % ST;
        f.iy0 = (f.py + ST - p.pad % ST) % ST;
        f.ix0 = (f.px + ST - p.pad % ST) % ST;
        if (f.iy0 < p.h) {
            f.rows = (p.h - f.iy0 + ST - 1u) / ST;
        }
        if (f.ix0 < p.w) {
            f.cols = (p.w - f.ix0 + ST - 1u) / ST;
        }
        f.n = p.batch * f.rows * f.cols;
        let t = phase_taps();
        f.k = p.c_out * t * t;
    }
    let tx_count = THREADS / TY;
    let bm = 4u * TY;
    let bn = 4u * tx_count;
    let m0 = wid.y * bm;
    let n0 = wid.x * bn;
    // Whole workgroups leave together (before any barrier): a phase with fewer pixels.
    if (n0 >= f.n) {
        return;
    }
    let ty = lid / tx_count;
    let tx = lid % tx_count;
    let k_begin = split * p.k_chunk;
    let k_end = min(f.k, k_begin + p.k_chunk);
    var acc: array<f32, 16>;
    for (var k0 = k_begin; k0 < k_end; k0 = k0 + BK) {
        for (var e = lid; e < bm * BK; e = e + THREADS) {
            tile_a[e] = load_a(f, m0 + e % bm, k0 + e / bm);
        }
        for (var e = lid; e < bn * BK; e = e + THREADS) {
            tile_b[e] = load_b(f, k0 + e / bn, n0 + e % bn);
        }
        workgroupBarrier();
        for (var kk = 0u; kk < BK; kk = kk + 1u) {
            var ar: array<f32, 4>;
            var br: array<f32, 4>;
            for (var i = 0u; i < 4u; i = i + 1u) {
                ar[i] = tile_a[kk * bm + ty + i * TY];
                br[i] = tile_b[kk * bn + tx + i * tx_count];
            }
            for (var i = 0u; i < 4u; i = i + 1u) {
                for (var j = 0u; j < 4u; j = j + 1u) {
                    acc[i * 4u + j] = fma(ar[i], br[j], acc[i * 4u + j]);
                }
            }
        }
        workgroupBarrier();
    }
    for (var i = 0u; i < 4u; i = i + 1u) {
        let m = m0 + ty + i * TY;
        for (var j = 0u; j < 4u; j = j + 1u) {
            let n = n0 + tx + j * tx_count;
            if (m < p.m && n < f.n) {
                let o = out_index(f, m, n);
                if (p.splits == 1u) {
                    c[o] = finish(o, acc[i * 4u + j]);
                } else {
                    s[split * p.out_len + o] = acc[i * 4u + j];
                }
            }
        }
    }
}

@compute @workgroup_size(256, 1, 1)
fn tiled_gemm(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    product(GEMM, wid, lid);
}

@compute @workgroup_size(256, 1, 1)
fn tiled_fwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    product(FWD, wid, lid);
}

@compute @workgroup_size(256, 1, 1)
fn tiled_dx(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    product(DX, wid, lid);
}

@compute @workgroup_size(256, 1, 1)
fn tiled_dw(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    product(DW, wid, lid);
}

@compute @workgroup_size(256, 1, 1)
fn tiled_db(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    product(DB, wid, lid);
}

// C = the splits' partial products summed in split order (+ bias) (+ C).
@compute @workgroup_size(256, 1, 1)
fn tiled_sum(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let o = gid.x + gid.y * groups.x * 256u;
    if (o >= p.out_len) {
        return;
    }
    var v = 0.0;
    for (var i = 0u; i < p.splits; i = i + 1u) {
        v = v + s[i * p.out_len + o];
    }
    c[o] = finish(o, v);
}
