//! One GEMM against the f64 reference (`dense::gemm`), with bias and accumulation.

use crate::common::*;
use counterfeit::ops::gemm;
use counterfeit::reference::dense;
use counterfeit::{Gpu, Tensor};

/// One product on `gpu` against the reference; returns what the GPU computed.
///
/// f32 accumulation over k terms of products of O(s²) values has error about
/// k·eps·s² in the worst case and √k·eps·s² typically; eps = 1.2e-7. We allow
/// 4·k·eps·s² absolute plus 1e-5 relative, well above rounding and far below a real bug (a
/// wrong index changes values by O(s²)).
#[allow(clippy::too_many_arguments)]
pub async fn product(
    gpu: &Gpu,
    m: usize,
    n: usize,
    k: usize,
    ta: bool,
    tb: bool,
    bias: bool,
    accumulate: bool,
    scale: f32,
) -> Vec<f32> {
    product_as(gpu, m, n, k, ta, tb, bias, accumulate, scale, false).await
}

/// [`product`], with `as_nt` handing the kernel the same operands transposed on the CPU into
/// A `[m, k]` and B `[n, k]`: the layout `gemm_nt4` reads.
#[allow(clippy::too_many_arguments)]
pub async fn product_as(
    gpu: &Gpu,
    m: usize,
    n: usize,
    k: usize,
    ta: bool,
    tb: bool,
    bias: bool,
    accumulate: bool,
    scale: f32,
    as_nt: bool,
) -> Vec<f32> {
    let seed = (m * 1_000_003 + n * 1009 + k) as u64;
    let a = normal(m * k, seed, scale);
    let b = normal(k * n, seed + 1, scale);
    let bias_v = normal(n, seed + 2, scale);
    let c0 = normal(m * n, seed + 3, scale);
    let a_shape = if ta { [k, m] } else { [m, k] };
    let b_shape = if tb { [n, k] } else { [k, n] };
    let (at, bt) = if as_nt {
        let a_mk = if ta { transposed(&a, k, m) } else { a.clone() };
        let b_nk = if tb { b.clone() } else { transposed(&b, k, n) };
        (
            Tensor::from_slice(gpu, &a_mk, &[m, k], "a").unwrap(),
            Tensor::from_slice(gpu, &b_nk, &[n, k], "b").unwrap(),
        )
    } else {
        (
            Tensor::from_slice(gpu, &a, &a_shape, "a").unwrap(),
            Tensor::from_slice(gpu, &b, &b_shape, "b").unwrap(),
        )
    };
    let (kta, ktb) = if as_nt { (false, true) } else { (ta, tb) };
    let biast = Tensor::from_slice(gpu, &bias_v, &[n], "bias").unwrap();
    let ct = Tensor::from_slice(gpu, &c0, &[m, n], "c").unwrap();
    let kernel = gemm::gemm(
        gpu,
        &at,
        kta,
        &bt,
        ktb,
        bias.then_some(&biast),
        &ct,
        accumulate,
    )
    .unwrap();
    gpu.run(&[&kernel]).unwrap();
    let got = ct.read_async(gpu).await.unwrap();
    let mut want = dense::gemm(&f64s(&a), ta, &f64s(&b), tb, m, n, k);
    for r in 0..m {
        for c in 0..n {
            if bias {
                want[r * n + c] += bias_v[c] as f64;
            }
            if accumulate {
                want[r * n + c] += c0[r * n + c] as f64;
            }
        }
    }
    let s2 = (scale as f64).powi(2);
    let atol = 4.0 * k as f64 * 1.2e-7 * s2 + 1e-30;
    assert_close(
        &format!(
            "gemm m={m} n={n} k={k} ta={ta} tb={tb} bias={bias} acc={accumulate} scale={scale} subgroups={}",
            gpu.subgroup_kernels()
        ),
        &got,
        &want,
        atol,
        1e-5,
    );
    got
}

/// `x` read as `[rows, cols]`, transposed.
pub fn transposed(x: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    (0..cols * rows)
        .map(|i| x[(i % rows) * cols + i / rows])
        .collect()
}
