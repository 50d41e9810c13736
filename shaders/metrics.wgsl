// End of a training iteration: append the iteration's metrics to a GPU ring of history rows,
// remember the first iteration whose metrics are not finite, and advance the step counter.
// state[0] = iterations done; state[1] = 1 + first non-finite iteration (0 = none yet).
// history row: [iteration (u32 bits), metrics[0..slots]].

struct Params {
    slots: u32,
    rows: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> state: array<u32>;
@group(0) @binding(2) var<storage, read> metrics: array<f32>;
@group(0) @binding(3) var<storage, read_write> history: array<f32>;

fn finite(x: f32) -> bool {
    // By the bits: fast-math shader compilers may fold away NaN comparisons.
    return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}

@compute @workgroup_size(1)
fn record() {
    let t = state[0];
    let row = (t % p.rows) * (p.slots + 1u);
    history[row] = bitcast<f32>(t);
    var ok = true;
    for (var s = 0u; s < p.slots; s = s + 1u) {
        let v = metrics[s];
        history[row + 1u + s] = v;
        ok = ok && finite(v);
    }
    if (!ok && state[1] == 0u) {
        state[1] = t + 1u;
    }
    state[0] = t + 1u;
}
