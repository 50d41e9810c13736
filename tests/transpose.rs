//! The 4 × 4-block transpose (`shaders/transpose.wgsl`) against the CPU's, on single blocks,
//! block rows longer than a workgroup, and a ragged last workgroup; sizes it cannot take are
//! errors.

mod checks;
mod common;

use checks::gemm::transposed;
use common::*;
use counterfeit::ops::transpose::transpose4;
use counterfeit::Tensor;

#[test]
fn matches_the_cpu_on_awkward_shapes() {
    let gpu = gpu();
    for (rows, cols) in [(4, 4), (4, 36), (36, 4), (12, 68), (64, 20)] {
        let x = normal(rows * cols, (rows * 100 + cols) as u64, 1.0);
        let src = Tensor::from_slice(gpu, &x, &[rows, cols], "src").unwrap();
        let dst = Tensor::zeros(gpu, &[cols, rows], "dst").unwrap();
        gpu.run(&[&transpose4(gpu, &src, rows, cols, &dst).unwrap()])
            .unwrap();
        assert_eq!(
            dst.read(gpu).unwrap(),
            transposed(&x, rows, cols),
            "{rows}x{cols}"
        );
    }
}

#[test]
fn sizes_not_divisible_by_four_are_errors() {
    let gpu = gpu();
    let src = Tensor::zeros(gpu, &[6, 4], "src").unwrap();
    let dst = Tensor::zeros(gpu, &[4, 6], "dst").unwrap();
    let err = transpose4(gpu, &src, 6, 4, &dst).err().unwrap().to_string();
    assert!(err.contains("divisible by 4"), "{err}");
    let short = Tensor::zeros(gpu, &[4, 4], "short").unwrap();
    assert!(transpose4(gpu, &short, 8, 4, &dst).is_err());
}
