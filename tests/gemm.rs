//! The GEMM shaders (`shaders/gemm.wgsl` and its vec4 versions in `shaders/gemm_vec4.wgsl`)
//! against the CPU reference in all transpose cases, at sizes that are not
//! multiples of the 64×128 workgroup tile (1, 7, 33, 65, 127, 257), with bias and
//! accumulation, and with large and small magnitudes. Every case runs with and without the
//! subgroup variants (`shaders/gemm_subgroup.wgsl`), which must agree bit for bit; both vec4
//! files are compiled on `shaders/gemm_vec4_common.wgsl`.

mod checks;
mod common;

use checks::gemm::{product, product_as};
use common::*;
use counterfeit::ops::gemm;
use counterfeit::reference::dense;
use counterfeit::Tensor;

/// One product on both variants against the reference (see [`product`]); the two must agree
/// bit for bit. The GPU layouts' product is held to the reference too.
#[allow(clippy::too_many_arguments)]
fn check(
    m: usize,
    n: usize,
    k: usize,
    ta: bool,
    tb: bool,
    bias: bool,
    accumulate: bool,
    scale: f32,
) {
    let [with, plain] =
        both_variants().map(|gpu| block_on(product(gpu, m, n, k, ta, tb, bias, accumulate, scale)));
    // Where the subgroup path transposes its operands first, it must equal the plain NT
    // kernel on operands transposed by the CPU.
    let [with_gpu, plain_gpu] = both_variants();
    let plain = if with_gpu.subgroup_kernels() && gemm::packs(m, n, k, ta, tb) {
        block_on(product_as(
            plain_gpu, m, n, k, ta, tb, bias, accumulate, scale, true,
        ))
    } else {
        plain
    };
    let differ = with
        .iter()
        .zip(&plain)
        .filter(|(p, q)| p.to_bits() != q.to_bits())
        .count();
    assert_eq!(
        differ, 0,
        "gemm m={m} n={n} k={k} ta={ta} tb={tb}: the subgroup variant differs in {differ} values"
    );
    block_on(product(
        gpu_layouts(),
        m,
        n,
        k,
        ta,
        tb,
        bias,
        accumulate,
        scale,
    ));
}

#[test]
fn all_transpose_cases_at_awkward_sizes() {
    for &(m, n, k) in &[
        (1, 1, 1),
        (7, 33, 65),
        (65, 7, 33),
        (33, 127, 7),
        (127, 65, 257),
        (257, 129, 31),
        (1, 257, 127),
    ] {
        for ta in [false, true] {
            for tb in [false, true] {
                check(m, n, k, ta, tb, false, false, 1.0);
            }
        }
    }
}

#[test]
fn products_that_transpose_their_operands_first() {
    // (m, n, k, ta): Linear input-grad shapes (B transposed) and weight-grad shapes (A and B
    // transposed) just past the thresholds, with rows, columns and k ragged against the NT
    // kernel's 32-row and 64-column workgroups and its 4 k per step.
    for (m, n, k, ta) in [
        (97, 36, 68, false),
        (96, 4, 4, false),
        (100, 260, 44, true),
        (132, 256, 12, true),
    ] {
        assert!(gemm::packs(m, n, k, ta, false), "m={m} n={n} k={k} ta={ta}");
        check(m, n, k, ta, false, false, false, 1.0);
        check(m, n, k, ta, false, true, true, 1.0);
    }
    // Too short a side to repay the transposes, or sizes it cannot take.
    for (m, n, k, ta) in [
        (95, 36, 68, false),
        (100, 252, 44, true),
        (97, 36, 66, false),
        (98, 260, 44, true),
    ] {
        assert!(
            !gemm::packs(m, n, k, ta, false),
            "m={m} n={n} k={k} ta={ta}"
        );
    }
    check(100, 252, 44, true, false, true, false, 1.0);
}

#[test]
fn bias_and_accumulate() {
    check(33, 65, 7, false, true, true, false, 1.0);
    check(65, 33, 127, true, false, false, true, 1.0);
    check(7, 257, 33, false, false, true, true, 1.0);
}

#[test]
fn large_and_small_magnitudes() {
    check(65, 33, 127, false, true, true, true, 1.0e3);
    check(65, 33, 127, true, false, false, false, 1.0e-3);
}

#[test]
fn batch_of_one_linear_shapes() {
    // Linear forward, input-grad and weight-grad of a 784 → 240·5 layer at batch 1.
    check(1, 1200, 784, false, true, true, false, 1.0);
    check(1, 784, 1200, false, false, false, false, 1.0);
    check(1200, 784, 1, true, false, false, true, 1.0);
}

#[test]
fn reductions_match_reference() {
    let gpu = gpu();
    for &(rows, cols) in &[(1, 1), (7, 33), (257, 5), (64, 1200)] {
        let x = normal(rows * cols, (rows * cols) as u64, 1.0);
        let xt = Tensor::from_slice(gpu, &x, &[rows, cols], "x").unwrap();
        let out = Tensor::from_slice(gpu, &vec![1.0; cols], &[cols], "out").unwrap();
        gpu.run(&[&gemm::sum_rows(gpu, &xt, &out, 0.5, true).unwrap()])
            .unwrap();
        let want: Vec<f64> = dense::sum_rows(&f64s(&x), rows, cols)
            .iter()
            .map(|s| 1.0 + 0.5 * s)
            .collect();
        // Sequential f32 sums of `rows` unit normals: error ≲ rows·eps·√rows.
        assert_close(
            "sum_rows",
            &out.read(gpu).unwrap(),
            &want,
            rows as f64 * 1e-6,
            1e-5,
        );

        let total = Tensor::zeros(gpu, &[3], "total").unwrap();
        gpu.run(&[&gemm::sum_all(gpu, &xt, &total, 2, 1.0 / x.len() as f32, false).unwrap()])
            .unwrap();
        let mean = x.iter().map(|&v| v as f64).sum::<f64>() / x.len() as f64;
        assert_close(
            "sum_all (mean)",
            &total.read(gpu).unwrap()[2..],
            &[mean],
            1e-6,
            1e-5,
        );
    }
}

#[test]
fn shape_mismatch_is_an_error() {
    let gpu = gpu();
    let a = Tensor::zeros(gpu, &[3, 4], "a").unwrap();
    let b = Tensor::zeros(gpu, &[5, 6], "b").unwrap();
    let c = Tensor::zeros(gpu, &[3, 6], "c").unwrap();
    let err = gemm::gemm(gpu, &a, false, &b, false, None, &c, false)
        .err()
        .expect("shape error");
    assert!(err.to_string().contains("inner dimensions"), "{err}");
}

#[test]
fn every_kernel_variant_is_checked_on_ragged_shapes() {
    use counterfeit::ops::gemm::{variant, Variant};
    // (m, n, k, ta, tb, expected variant): rows never a multiple of the 8- or 16-row blocks,
    // columns not multiples of the 16/64-column tiles.
    let cases = [
        (33, 36, 65, false, false, Variant::Nn4), // input-grad shape, scalar A loads
        (33, 36, 68, false, false, Variant::Nn4), // k % 4 == 0: vec4 A loads along k (subgroups)
        (36, 20, 7, true, false, Variant::Nn4),   // weight-grad shape, vec4 A loads (m % 4 == 0)
        (35, 20, 7, true, false, Variant::Nn4),   // weight-grad shape, m odd: scalar A loads
        (1, 1200, 100, false, false, Variant::Nn4),
        (65, 7, 36, false, true, Variant::Nt4), // Linear forward shape
        (23, 9, 12, false, true, Variant::Nt4), // a 32-row block with its last rows empty
        // A long inner sum: llvmpipe ends a shader's loops after 65,535 iterations, so the
        // row loops inside the k loop must unroll.
        (3, 5, 16384, false, true, Variant::Nt4),
        (1, 1, 4, false, true, Variant::Nt4),
        (7, 33, 5, false, true, Variant::General), // k odd
        (7, 33, 8, true, true, Variant::General),  // both transposed
        (9, 3, 6, false, false, Variant::General), // n odd
    ];
    for (m, n, k, ta, tb, want) in cases {
        assert_eq!(
            variant(m, n, k, ta, tb),
            want,
            "m={m} n={n} k={k} ta={ta} tb={tb}"
        );
        check(m, n, k, ta, tb, true, true, 1.0);
    }
}

#[test]
fn gpu_layouts_split_long_inner_sums_and_add_the_splits_in_order() {
    // Few outputs over a long inner dimension (dcgan28's last D layer, a weight-grad): the
    // tiled product splits the sum over workgroups and a second dispatch adds the splits.
    let gpu = gpu_layouts();
    for (m, n, k, ta, tb) in [
        (64, 1, 6272, false, true),
        (3, 5, 3001, false, true),
        (100, 12, 2000, true, false),
    ] {
        let a = Tensor::zeros(gpu, &if ta { [k, m] } else { [m, k] }, "a").unwrap();
        let b = Tensor::zeros(gpu, &if tb { [n, k] } else { [k, n] }, "b").unwrap();
        let c = Tensor::zeros(gpu, &[m, n], "c").unwrap();
        let kernel = gemm::gemm(gpu, &a, ta, &b, tb, None, &c, false).unwrap();
        assert_eq!(kernel.dispatches(), 2, "m={m} n={n} k={k}: not split");
        let first = block_on(product(gpu, m, n, k, ta, tb, true, true, 1.0));
        let again = block_on(product(gpu, m, n, k, ta, tb, true, true, 1.0));
        assert!(
            first
                .iter()
                .zip(&again)
                .all(|(x, y)| x.to_bits() == y.to_bits()),
            "m={m} n={n} k={k}: a rerun differs"
        );
    }
}
