// GAN stabilisation tricks, each a small elementwise kernel driven by the GPU step counter and
// Philox, so a training step needs no upload. The RNG step is state[0]·t_mul + t_add, as in
// rng.wgsl; the instance noise's annealing reads the iteration count state[0] itself.
//
//  flip_targets    per sample i: D's targets for the real and the fake batch, each flipped
//                  (real_label ↔ 0) when its uniform draw (words x and y of Philox at
//                  (i, step, stream)) is below `fraction`.
//  instance_noise  y = x + σ_t·N(0, 1), σ_t = σ·(anneal − t)/anneal for t < anneal, 0 from
//                  t = anneal on (then y = x exactly), σ for anneal = 0.
//  replay_mix      the fake batch D reads: sample i < replayed comes from ring slot
//                  mulhi(Philox(i, step, stream).x, filled) when the ring holds any, the rest
//                  (and everything while the ring is empty) from the fresh fakes.
//  replay_store    the fresh fakes 0..min(batch, capacity) go to ring slots
//                  (step·batch + i) mod capacity: the ring is a FIFO of past fakes.
// filled = min(step·batch, capacity): every earlier step stored min(batch, capacity) samples.
//
// Entry points declare their own bindings (layouts are per entry point).

struct FlipParams {
    n: u32,
    seed_lo: u32,
    seed_hi: u32,
    stream: u32,
    t_mul: u32,
    t_add: u32,
    fraction: f32,
    real_label: f32,
}

struct NoiseParams {
    n: u32,
    seed_lo: u32,
    seed_hi: u32,
    stream: u32,
    t_mul: u32,
    t_add: u32,
    sigma: f32,
    anneal: u32,
}

struct ReplayParams {
    n: u32,         // values written: batch·size (mix) or min(batch, capacity)·size (store)
    size: u32,      // values per sample
    batch: u32,
    capacity: u32,  // at most 65,535, so products of two residues fit in u32
    replayed: u32,
    seed_lo: u32,
    seed_hi: u32,
    stream: u32,
    t_mul: u32,
    t_add: u32,
}

@group(0) @binding(1) var<storage, read> state: array<u32>;

// flip_targets
@group(0) @binding(0) var<uniform> fp: FlipParams;
@group(0) @binding(2) var<storage, read_write> real_t: array<f32>;
@group(0) @binding(3) var<storage, read_write> fake_t: array<f32>;

// instance_noise
@group(0) @binding(0) var<uniform> np: NoiseParams;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

// replay_mix and replay_store
@group(0) @binding(0) var<uniform> rp: ReplayParams;
@group(0) @binding(2) var<storage, read> fresh: array<f32>;
@group(0) @binding(3) var<storage, read> ring: array<f32>;
@group(0) @binding(4) var<storage, read_write> mixed: array<f32>;
@group(0) @binding(3) var<storage, read_write> ring_out: array<f32>;

@compute @workgroup_size(256)
fn flip_targets(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
    let i = linear_id(wid, nwg, lid, 256u);
    if (i >= fp.n) {
        return;
    }
    let step = state[0] * fp.t_mul + fp.t_add;
    let r = philox(vec4<u32>(i, step, fp.stream, 0u), vec2<u32>(fp.seed_lo, fp.seed_hi));
    real_t[i] = select(fp.real_label, 0.0, to_unit(r.x) < fp.fraction);
    fake_t[i] = select(0.0, fp.real_label, to_unit(r.y) < fp.fraction);
}

// σ at iteration t; exactly 0 once annealed (integer test, no division rounding).
fn noise_sigma(t: u32) -> f32 {
    if (np.anneal == 0u) {
        return np.sigma;
    }
    if (t >= np.anneal) {
        return 0.0;
    }
    return np.sigma * f32(np.anneal - t) / f32(np.anneal);
}

@compute @workgroup_size(256)
fn instance_noise(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) lid: u32) {
    let i = linear_id(wid, nwg, lid, 256u);
    if (i >= np.n) {
        return;
    }
    let s = noise_sigma(state[0]);
    if (s == 0.0) {
        y[i] = x[i];
        return;
    }
    let step = state[0] * np.t_mul + np.t_add;
    let r = philox(vec4<u32>(i, step, np.stream, 0u), vec2<u32>(np.seed_lo, np.seed_hi));
    y[i] = x[i] + s * to_normal(r.x, r.y);
}

fn replay_step() -> u32 {
    return state[0] * rp.t_mul + rp.t_add;
}

// Ring slots written before `step`: min(step·batch, capacity) without overflowing.
fn replay_filled(step: u32) -> u32 {
    let full_after = (rp.capacity + rp.batch - 1u) / rp.batch;
    if (step >= full_after) {
        return rp.capacity;
    }
    return min(step * rp.batch, rp.capacity);
}

@compute @workgroup_size(256)
fn replay_mix(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
    let e = linear_id(wid, nwg, lid, 256u);
    if (e >= rp.n) {
        return;
    }
    let i = e / rp.size;
    let step = replay_step();
    let filled = replay_filled(step);
    if (i < rp.replayed && filled > 0u) {
        let r = philox(vec4<u32>(i, step, rp.stream, 0u), vec2<u32>(rp.seed_lo, rp.seed_hi));
        // Lemire's multiply-high: uniform in [0, filled) from one word, exact in integers.
        let slot = mulhilo(r.x, filled).x;
        mixed[e] = ring[slot * rp.size + e % rp.size];
    } else {
        mixed[e] = fresh[e];
    }
}

@compute @workgroup_size(256)
fn replay_store(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
    let e = linear_id(wid, nwg, lid, 256u);
    if (e >= rp.n) {
        return;
    }
    let i = e / rp.size;
    let step = replay_step();
    let head = ((step % rp.capacity) * (rp.batch % rp.capacity)) % rp.capacity;
    let slot = (head + i) % rp.capacity;
    ring_out[slot * rp.size + e % rp.size] = fresh[e];
}
