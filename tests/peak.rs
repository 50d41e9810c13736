//! The FMA-only ceiling probe (`shaders/peak.wgsl`) computes the recurrence it claims, for
//! every invocation of a dispatch that does not fill its last workgroup (so the work it is
//! timed for is really done), against the f64 reference.

mod common;

use common::gpu;
use counterfeit::ops::peak::{flop, fma_peak, reference, FLOATS_PER_INVOCATION};
use counterfeit::Tensor;

#[test]
fn every_invocation_runs_its_recurrence() {
    let gpu = gpu();
    for (invocations, iters) in [(1, 1), (37, 5), (1000, 300)] {
        let out =
            Tensor::from_slice(gpu, &vec![f32::NAN; invocations], &[invocations], "out").unwrap();
        gpu.run(&[&fma_peak(gpu, iters, (0.5, 1e-3), &out).unwrap()])
            .unwrap();
        let want = reference(iters, 0.5, 1e-3);
        for (i, got) in out.read(gpu).unwrap().iter().enumerate() {
            // 128 accumulators summed in f32, each a chain of roundings halved at every step.
            assert!(
                (*got as f64 - want).abs() <= 1e-5 * want.abs(),
                "invocation {i} of {invocations}, {iters} rounds: got {got}, want {want}"
            );
        }
    }
    assert_eq!(flop(2, 3), 2.0 * FLOATS_PER_INVOCATION as f64 * 6.0);
    let out = Tensor::zeros(gpu, &[4], "out").unwrap();
    assert!(fma_peak(gpu, 0, (0.5, 1e-3), &out).is_err());
}
