// Sorting many rows of `len` f32 values at once, ascending in the total order of f32 (as Rust's
// `f32::total_cmp`: -0 before +0, NaNs at the ends): a least-significant-digit radix sort on
// order-preserving u32 keys, one workgroup per row, one dispatch per digit.
//
// Versions:
// 1. A bitonic network, one dispatch per stage and one invocation per comparator:
//    log2(P)·(log2(P)+1)/2 passes over every row (P the row's length rounded up to a power of
//    two), 136 for 40,000 values. Simple, but on a CPU adapter each pass reads and writes the
//    whole array from storage buffers: the SWD of 10,000 images took minutes.
// 2. This one: 32/BITS stable counting-sort passes, each reading a row twice and writing it
//    once (4 passes of 8 bits with 16 lanes per row, or 8 of 4 bits with 256 lanes for rows too
//    long for a CPU adapter's loop limit with 16 lanes). Sorting is exact, so it returns the
//    same bits as version 1.
//
// One pass: each lane of a row's workgroup owns a contiguous block of the row and counts the
// digits of its block in its own column of `counts` (digit-major: counts[digit·LANES + lane]),
// so no atomics are needed. An exclusive scan of `counts` in that order gives each lane, for
// each digit, where its first value with that digit goes; the lanes then move their blocks in
// order. Values of equal digit keep their order (lane-major, then block order): the pass is
// stable, which makes the passes from the lowest digit to the highest a sort. `counts` takes
// 16 KiB, the workgroup memory every backend offers.

struct Params {
    rows: u32,  // rows sorted at once
    len: u32,   // values per row
    shift: u32, // this pass's digit: bits shift .. shift + BITS of the key
}

// Invocations per row and bits per digit; (1 << BITS) · LANES == 4096 (checked on the Rust side).
override LANES: u32 = 16u;
override BITS: u32 = 8u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

var<workgroup> counts: array<u32, 4096>;

// A key whose unsigned order is the total order of the f32 bits.
fn key(v: f32) -> u32 {
    let b = bitcast<u32>(v);
    if ((b & 0x80000000u) != 0u) {
        return ~b;
    }
    return b | 0x80000000u;
}

@compute @workgroup_size(LANES)
fn radix_pass(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
    let row = wid.x + wid.y * nwg.x;
    // The parameters in registers: a CPU adapter reloads a uniform on every use in a loop.
    let rows = p.rows;
    let len = p.len;
    let shift = p.shift;
    let bins = 1u << BITS;
    let mask = bins - 1u;
    for (var d = 0u; d < bins; d = d + 1u) {
        counts[(d * LANES + lid) & 4095u] = 0u;
    }
    // This lane's block; rows past the last (the grid's rounding) have none.
    let per = (len + LANES - 1u) / LANES;
    let begin = min(lid * per, len);
    var end = min(begin + per, len);
    if (row >= rows) {
        end = begin;
    }
    let base = row * len;
    // Compiled without naga's bounds checks (see `Shader::is_trusted`): every index below is
    // in range by construction (i < len, row < rows, digit < bins, lane < LANES, and the Rust
    // side checks that both buffers hold rows · len values and that bins · LANES = 4096), and
    // each is clamped or masked as well, for a cost of one ALU operation.
    let last = rows * len - 1u;
    // Four values per iteration (their loads overlap), then the rest one by one; the counts
    // are updated in order, so equal digits add up.
    var i = begin;
    for (; i + 4u <= end; i = i + 4u) {
        let at = base + i;
        let d0 = (key(src[min(at, last)]) >> shift) & mask;
        let d1 = (key(src[min(at + 1u, last)]) >> shift) & mask;
        let d2 = (key(src[min(at + 2u, last)]) >> shift) & mask;
        let d3 = (key(src[min(at + 3u, last)]) >> shift) & mask;
        let c0 = (d0 * LANES + lid) & 4095u;
        counts[c0] = counts[c0] + 1u;
        let c1 = (d1 * LANES + lid) & 4095u;
        counts[c1] = counts[c1] + 1u;
        let c2 = (d2 * LANES + lid) & 4095u;
        counts[c2] = counts[c2] + 1u;
        let c3 = (d3 * LANES + lid) & 4095u;
        counts[c3] = counts[c3] + 1u;
    }
    for (; i < end; i = i + 1u) {
        let d = (key(src[min(base + i, last)]) >> shift) & mask;
        let at = (d * LANES + lid) & 4095u;
        counts[at] = counts[at] + 1u;
    }
    workgroupBarrier();
    // Inclusive scan of this lane's `bins` consecutive entries, in place; the last is its total.
    let first = lid * bins;
    var run = 0u;
    for (var j = 0u; j < bins; j = j + 1u) {
        let at = (first + j) & 4095u;
        run = run + counts[at];
        counts[at] = run;
    }
    workgroupBarrier();
    var offset = 0u;
    for (var l = 0u; l < lid; l = l + 1u) {
        offset = offset + counts[(l * bins + bins - 1u) & 4095u];
    }
    workgroupBarrier();
    // Exclusive, with the totals of the lanes before: shifted up by one, last entry first.
    for (var j = bins - 1u; j > 0u; j = j - 1u) {
        counts[(first + j) & 4095u] = counts[(first + j - 1u) & 4095u] + offset;
    }
    counts[first & 4095u] = offset;
    workgroupBarrier();
    i = begin;
    for (; i + 4u <= end; i = i + 4u) {
        let at = base + i;
        let v0 = src[min(at, last)];
        let v1 = src[min(at + 1u, last)];
        let v2 = src[min(at + 2u, last)];
        let v3 = src[min(at + 3u, last)];
        move_value(v0, base, len, shift, mask, lid);
        move_value(v1, base, len, shift, mask, lid);
        move_value(v2, base, len, shift, mask, lid);
        move_value(v3, base, len, shift, mask, lid);
    }
    for (; i < end; i = i + 1u) {
        move_value(src[min(base + i, last)], base, len, shift, mask, lid);
    }
}

// Writes `v` where this lane's next value of its digit goes, and counts it.
fn move_value(v: f32, base: u32, len: u32, shift: u32, mask: u32, lid: u32) {
    let at = (((key(v) >> shift) & mask) * LANES + lid) & 4095u;
    let to = counts[at];
    counts[at] = to + 1u;
    if (to < len) {
        dst[base + to] = v;
    }
}
