// Shared by every shader: flat indexing over a 2-D dispatch and the Philox 4x32-10 RNG.

// Linear invocation index when the workgroup count was split over x and y (see split_groups).
fn linear_id(wid: vec3<u32>, nwg: vec3<u32>, lid: u32, wg_size: u32) -> u32 {
    return (wid.x + wid.y * nwg.x) * wg_size + lid;
}

// High and low 32 bits of a 32x32 multiply, from 16-bit halves (WGSL has no 64-bit integers).
fn mulhilo(a: u32, b: u32) -> vec2<u32> {
    let a_lo = a & 0xffffu;
    let a_hi = a >> 16u;
    let b_lo = b & 0xffffu;
    let b_hi = b >> 16u;
    let lo_lo = a_lo * b_lo;
    let hi_lo = a_hi * b_lo;
    let lo_hi = a_lo * b_hi;
    let hi_hi = a_hi * b_hi;
    let cross = (lo_lo >> 16u) + (hi_lo & 0xffffu) + (lo_hi & 0xffffu);
    let hi = hi_hi + (hi_lo >> 16u) + (lo_hi >> 16u) + (cross >> 16u);
    return vec2<u32>(hi, a * b);
}

// Philox 4x32 with 10 rounds (Salmon et al. 2011): counter -> four random words.
fn philox(counter: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
    var c = counter;
    var k = key;
    for (var r = 0u; r < 10u; r = r + 1u) {
        let p0 = mulhilo(0xD2511F53u, c.x);
        let p1 = mulhilo(0xCD9E8D57u, c.z);
        c = vec4<u32>(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
        k = k + vec2<u32>(0x9E3779B9u, 0xBB67AE85u);
    }
    return c;
}

// Uniform in [0, 1) with 24 random bits (exact in f32).
fn to_unit(u: u32) -> f32 {
    return f32(u >> 8u) * (1.0 / 16777216.0);
}

// Uniform in (0, 1], safe for log.
fn to_unit_open(u: u32) -> f32 {
    return f32((u >> 8u) + 1u) * (1.0 / 16777216.0);
}

// A standard normal sample from two words (Box-Muller, cosine branch).
fn to_normal(u0: u32, u1: u32) -> f32 {
    let r = sqrt(-2.0 * log(to_unit_open(u0)));
    return r * cos(6.283185307179586 * to_unit(u1));
}
