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
    let seed = (m * 1_000_003 + n * 1009 + k) as u64;
    let a = normal(m * k, seed, scale);
    let b = normal(k * n, seed + 1, scale);
    let bias_v = normal(n, seed + 2, scale);
    let c0 = normal(m * n, seed + 3, scale);
    let a_shape = if ta { [k, m] } else { [m, k] };
    let b_shape = if tb { [n, k] } else { [k, n] };
    let at = Tensor::from_slice(gpu, &a, &a_shape, "a").unwrap();
    let bt = Tensor::from_slice(gpu, &b, &b_shape, "b").unwrap();
    let biast = Tensor::from_slice(gpu, &bias_v, &[n], "bias").unwrap();
    let ct = Tensor::from_slice(gpu, &c0, &[m, n], "c").unwrap();
    let kernel = gemm::gemm(
        gpu,
        &at,
        ta,
        &bt,
        tb,
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
