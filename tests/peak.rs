//! The FMA-only ceiling probe (`shaders/peak.wgsl`) computes the recurrence it claims, for
//! every invocation of a dispatch that does not fill its last workgroup (so the work it is
//! timed for is really done), against the f64 reference.

mod common;

use common::gpu;
use counterfeit::ops::peak::{flop, fma_peak, reference, PeakShape};
use counterfeit::Tensor;

#[test]
fn every_invocation_runs_its_recurrence() {
    let gpu = gpu();
    for shape in [PeakShape::Gemm, PeakShape::Conv] {
        for (invocations, iters) in [(1, 1), (37, 5), (1000, 300)] {
            let out = Tensor::from_slice(gpu, &vec![f32::NAN; invocations], &[invocations], "out")
                .unwrap();
            gpu.run(&[&fma_peak(gpu, shape, iters, (0.5, 1e-3), &out).unwrap()])
                .unwrap();
            let want = reference(shape, iters, 0.5, 1e-3);
            for (i, got) in out.read(gpu).unwrap().iter().enumerate() {
                // 128 or 512 accumulators summed in f32, each a chain of roundings halved at
                // every step.
                assert!(
                    (*got as f64 - want).abs() <= 1e-5 * want.abs(),
                    "{shape:?}: invocation {i} of {invocations}, {iters} rounds: got {got}, want {want}"
                );
            }
        }
        let out = Tensor::zeros(gpu, &[4], "out").unwrap();
        assert!(fma_peak(gpu, shape, 0, (0.5, 1e-3), &out).is_err());
    }
    assert_eq!(flop(PeakShape::Gemm, 2, 3), 2.0 * 128.0 * 6.0);
    assert_eq!(flop(PeakShape::Conv, 2, 3), 2.0 * 512.0 * 6.0);
}
