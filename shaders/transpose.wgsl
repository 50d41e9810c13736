// dst = srcᵀ for a [rows, cols] matrix with rows and cols divisible by 4: each invocation moves
// one 4 × 4 block as four vec4 loads and four vec4 stores. The GEMM uses it to bring an
// operand stored along the wrong axis into gemm_nt4's layout, where both operands run along k
// in vec4s (gemm.rs says when that pays).

struct Params {
    r4: u32, // rows / 4
    c4: u32, // cols / 4
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<f32>>;

override WG: u32 = 8u;

// Lanes take neighbouring blocks of one block row; wid.y is the block row.
@compute @workgroup_size(WG, 1, 1)
fn transpose4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let bc = wid.x * WG + lid.x;
    let br = wid.y;
    if (bc >= p.c4) {
        return;
    }
    let s = 4u * br * p.c4 + bc;
    let v0 = src[s];
    let v1 = src[s + p.c4];
    let v2 = src[s + 2u * p.c4];
    let v3 = src[s + 3u * p.c4];
    let d = 4u * bc * p.r4 + br;
    dst[d] = vec4<f32>(v0.x, v1.x, v2.x, v3.x);
    dst[d + p.r4] = vec4<f32>(v0.y, v1.y, v2.y, v3.y);
    dst[d + 2u * p.r4] = vec4<f32>(v0.z, v1.z, v2.z, v3.z);
    dst[d + 3u * p.r4] = vec4<f32>(v0.w, v1.w, v2.w, v3.w);
}
