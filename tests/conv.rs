//! The 2-D convolution: (a) the CPU reference against central finite differences and its
//! ConvTranspose2d against one written from the definition, (b) the kernels' geometry against
//! the reference's own output sizes, and every conv kernel (forward, input-grad, weight-grad,
//! bias-grad) against the reference on awkward geometries — odd sizes, ragged strided edges,
//! one channel in or out, batch 1, k = 1 and 5, channel counts that are no multiple of any
//! tile, the four DCGAN layers — with bias, with accumulation, at magnitudes 1 and 1e3, and
//! (c) shape errors. Every kernel check runs on the plain kernels (`shaders/conv.wgsl`) and on
//! their subgroup variants (`shaders/conv_subgroup.wgsl`, where the device has subgroups), both
//! compiled on `shaders/conv_common.wgsl`.
//!
//! `cargo test --release --test conv -- --ignored --nocapture` prints kernel timings for the
//! DCGAN layers at batch 64.

mod checks;
mod common;

use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use checks::conv::*;
use common::*;
use counterfeit::ops::conv::{self, ConvGeom};
use counterfeit::philox::{draw, to_normal};
use counterfeit::reference::conv::{
    conv2d, conv2d_bias_grad, conv2d_input_grad, conv2d_weight_grad, conv_transpose2d,
    conv_transpose2d_bias_grad, conv_transpose2d_input_grad, conv_transpose2d_weight_grad, Conv2d,
    ConvTranspose2d,
};
use counterfeit::{Error, Tensor};

// ---------------------------------------------------------------------------------------
// (a) The reference against first principles.

/// `n` deterministic standard normals in f64.
fn normals(seed: u64, n: usize) -> Vec<f64> {
    (0..n as u32)
        .map(|i| {
            let w = draw(seed, 3, 5, i);
            to_normal(w[0], w[1])
        })
        .collect()
}

fn project(r: &[f64], y: &[f64]) -> f64 {
    r.iter().zip(y).map(|(a, b)| a * b).sum()
}

/// Finite-difference step. L = Σ r·conv(x, w, b) is linear in each argument, so the
/// difference quotient has no truncation error at all; only rounding remains, about
/// eps·|L|/h ≲ 2.2e-16 · 100 / 1e-2 ≈ 2e-12 here. The comparison allows 1e-9 absolute plus
/// 1e-9 relative: far above that rounding and far below any real mistake (a missing tap or a
/// wrong index changes a gradient by O(1)).
const FD_STEP: f64 = 1e-2;

fn assert_close64(what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-9 + 1e-9 * w.abs(),
            "{what}: [{i}] analytic {g:.12e} numeric {w:.12e}"
        );
    }
}

#[test]
fn reference_gradients_match_finite_differences() {
    #[rustfmt::skip]
    let geoms = [
        // (batch, c_in, h, w, c_out, k, stride, pad)
        (2, 2, 5, 7, 3, 3, 1, 1), // odd, non-square input
        (1, 2, 6, 7, 2, 3, 2, 1), // stride 2: the last row and column of x are never read
        (2, 3, 5, 7, 2, 1, 1, 0), // k = 1
        (1, 1, 5, 7, 1, 5, 1, 2), // k = 5, one channel in and out, batch 1
        (1, 1, 7, 5, 2, 4, 2, 1), // the DCGAN kernel on an odd input
        (1, 2, 4, 5, 1, 3, 1, 2), // padding wider than half the kernel
    ];
    for (seed, &(batch, c_in, h, w, c_out, k, s, p)) in geoms.iter().enumerate() {
        let g = Conv2d::new(batch, c_in, h, w, c_out, k, s, p);
        let seed = 100 + 10 * seed as u64;
        let x = normals(seed, g.input_len());
        let wt = normals(seed + 1, g.weight_len());
        let b = normals(seed + 2, g.c_out);
        let r = normals(seed + 3, g.output_len());
        let tag = format!("{g:?}");
        let dx = numeric_grad(|x| project(&r, &conv2d(x, &wt, Some(&b), &g)), &x, FD_STEP);
        assert_close64(&format!("{tag} dx"), &conv2d_input_grad(&r, &wt, &g), &dx);
        let dw = numeric_grad(
            |wt| project(&r, &conv2d(&x, wt, Some(&b), &g)),
            &wt,
            FD_STEP,
        );
        assert_close64(&format!("{tag} dw"), &conv2d_weight_grad(&x, &r, &g), &dw);
        let db = numeric_grad(|b| project(&r, &conv2d(&x, &wt, Some(b), &g)), &b, FD_STEP);
        assert_close64(&format!("{tag} db"), &conv2d_bias_grad(&r, &g), &db);
    }
}

#[test]
fn reference_transposed_gradients_match_finite_differences() {
    #[rustfmt::skip]
    let geoms = [
        // (batch, c_in, h, w, c_out, k, stride, pad, output_padding)
        (2, 3, 3, 4, 2, 4, 2, 1, 0), // the DCGAN layer shape
        (1, 2, 3, 3, 3, 3, 2, 1, 1), // output padding: a last row and column no tap reaches
        (1, 1, 4, 3, 1, 5, 3, 2, 2), // stride 3, output padding 2
        (2, 2, 1, 1, 3, 4, 1, 0, 0), // 1x1 → 4x4
    ];
    for (seed, &(batch, c_in, h, w, c_out, k, s, p, op)) in geoms.iter().enumerate() {
        let g = ConvTranspose2d::new(batch, c_in, h, w, c_out, k, s, p, op);
        let seed = 300 + 10 * seed as u64;
        let x = normals(seed, g.input_len());
        let wt = normals(seed + 1, g.weight_len());
        let b = normals(seed + 2, g.c_out);
        let r = normals(seed + 3, g.output_len());
        let tag = format!("{g:?}");
        let fwd =
            |x: &[f64], wt: &[f64], b: &[f64]| project(&r, &conv_transpose2d(x, wt, Some(b), &g));
        let dx = numeric_grad(|x| fwd(x, &wt, &b), &x, FD_STEP);
        let got = conv_transpose2d_input_grad(&r, &wt, &g);
        assert_close64(&format!("{tag} dx"), &got, &dx);
        let dw = numeric_grad(|wt| fwd(&x, wt, &b), &wt, FD_STEP);
        let got = conv_transpose2d_weight_grad(&x, &r, &g);
        assert_close64(&format!("{tag} dw"), &got, &dw);
        let db = numeric_grad(|b| fwd(&x, &wt, b), &b, FD_STEP);
        assert_close64(
            &format!("{tag} db"),
            &conv_transpose2d_bias_grad(&r, &g),
            &db,
        );
    }
}

/// ConvTranspose2d written from its definition (PyTorch): every input pixel scatters
/// x·w[ci, co] onto the output at oy = iy·s − p + ky, ox = ix·s − p + kx; the output is
/// (h−1)·s − 2p + k + output_padding high.
#[allow(clippy::too_many_arguments)]
fn scatter(
    x: &[f64],
    w: &[f64],
    batch: usize,
    c_in: usize,
    h: usize,
    wd: usize,
    c_out: usize,
    k: usize,
    s: usize,
    p: usize,
    op: usize,
) -> (Vec<f64>, usize, usize) {
    let oh = (h - 1) * s + k + op - 2 * p;
    let ow = (wd - 1) * s + k + op - 2 * p;
    let mut y = vec![0.0; batch * c_out * oh * ow];
    for n in 0..batch {
        for ci in 0..c_in {
            for iy in 0..h {
                for ix in 0..wd {
                    let xv = x[((n * c_in + ci) * h + iy) * wd + ix];
                    for co in 0..c_out {
                        for ky in 0..k {
                            for kx in 0..k {
                                let oy = (iy * s + ky) as isize - p as isize;
                                let ox = (ix * s + kx) as isize - p as isize;
                                if oy >= 0 && ox >= 0 && (oy as usize) < oh && (ox as usize) < ow {
                                    let o =
                                        ((n * c_out + co) * oh + oy as usize) * ow + ox as usize;
                                    y[o] += xv * w[((ci * c_out + co) * k + ky) * k + kx];
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    (y, oh, ow)
}

#[test]
fn reference_conv_transpose_matches_its_definition() {
    #[rustfmt::skip]
    let cases = [
        // (batch, c_in, h, w, c_out, k, stride, pad, output_padding)
        (2, 3, 3, 4, 2, 4, 2, 1, 0), // the DCGAN layer shape
        (1, 2, 3, 3, 3, 3, 2, 1, 1), // output padding fills the last row and column
        (1, 1, 4, 3, 1, 5, 3, 2, 2),
        (2, 2, 3, 5, 1, 3, 1, 1, 0), // stride 1: a plain "full" correlation
        (1, 2, 1, 1, 3, 4, 1, 0, 0), // dcgan64's first layer: 1x1 → 4x4
    ];
    for (i, &(batch, c_in, h, w, c_out, k, s, p, op)) in cases.iter().enumerate() {
        let g = ConvTranspose2d::new(batch, c_in, h, w, c_out, k, s, p, op);
        let x = normals(500 + i as u64, batch * c_in * h * w);
        let wt = normals(600 + i as u64, c_in * c_out * k * k);
        let (want, oh, ow) = scatter(&x, &wt, batch, c_in, h, w, c_out, k, s, p, op);
        assert_eq!((g.out_h(), g.out_w()), (oh, ow), "{g:?}");
        let got = conv_transpose2d(&x, &wt, None, &g);
        // Both sides add the same few exact-ish products in different orders.
        assert_close64(&format!("conv_transpose2d {g:?}"), &got, &want);
    }
}

// ---------------------------------------------------------------------------------------
// (b) The kernels' geometry against the reference's shapes, and the GPU kernels against the
// reference.

#[test]
fn kernel_geometry_sizes_match_the_reference_on_awkward_shapes() {
    // The output sizes the kernels' geometry works out against the reference's own (the
    // helpers above assert it), on shapes where floor division, padding and output padding
    // matter.
    #[rustfmt::skip]
    let convs = [
        // (batch, c_in, (h, w), c_out, k, stride, pad)
        (1, 1, (7, 7), 1, 3, 2, 0),    // stride 2 on odd sides: 7 → 3
        (1, 2, (6, 7), 3, 3, 2, 1),    // stride 2 on an even and an odd side: 6 → 3, 7 → 4
        (2, 3, (13, 13), 5, 4, 2, 1),  // the DCGAN kernel on an odd side: 13 → 6, a row unread
        (1, 3, (14, 13), 7, 5, 3, 2),  // stride 3, ragged both ways
        (1, 2, (4, 5), 3, 3, 1, 2),    // padding wider than half the kernel: 4 → 6, 5 → 7
        (1, 1, (2, 2), 1, 5, 1, 2),    // a kernel larger than the image, fitting the padding
        (2, 5, (1, 2), 3, 1, 2, 0),    // a stride beyond the image
        (2, 17, (4, 4), 1, 4, 1, 0),   // 4x4 → 1x1
        (1, 1, (1, 1), 1, 1, 1, 0),    // the smallest there is
        (64, 1, (28, 28), 64, 4, 2, 1), // dcgan28's first D layer
    ];
    for (b, ci, hw, co, k, s, p) in convs {
        conv_layer(b, ci, hw, co, k, s, p);
    }
    #[rustfmt::skip]
    let transposed = [
        // (batch, c_in, (h, w), c_out, k, stride, pad, output_padding)
        (1, 256, (7, 7), 128, 4, 2, 1, 0), // dcgan28's G: 7 → 14
        (1, 4, (7, 7), 2, 4, 2, 1, 1),     // output padding 1: 7 → 15
        (1, 2, (3, 5), 3, 3, 2, 1, 1),     // 3x5 → 6x10
        (1, 1, (4, 3), 1, 5, 3, 2, 2),     // stride 3, output padding 2: 4x3 → 12x9
        (1, 1, (2, 3), 1, 1, 3, 0, 2),     // k = 1, stride 3: 2x3 → 6x9, mostly padding
        (2, 2, (1, 1), 3, 4, 1, 0, 0),     // 1x1 → 4x4
        (3, 2, (5, 5), 3, 3, 2, 1, 1),     // the tape test's layer: 5 → 10
    ];
    for (b, ci, hw, co, k, s, p, op) in transposed {
        transposed_layer(b, ci, hw, co, k, s, p, op);
    }
    // The reference's formulas themselves, on sizes PyTorch gives.
    let conv = |h, w, k, s, p| {
        let r = Conv2d::new(1, 1, h, w, 1, k, s, p);
        (r.out_h(), r.out_w())
    };
    assert_eq!(conv(28, 28, 4, 2, 1), (14, 14));
    assert_eq!(conv(7, 6, 3, 2, 0), (3, 2));
    assert_eq!(conv(14, 13, 5, 3, 2), (5, 5));
    assert_eq!(conv(4, 5, 3, 1, 2), (6, 7));
    let convt = |h, w, k, s, p, op| {
        let t = ConvTranspose2d::new(1, 1, h, w, 1, k, s, p, op);
        (t.out_h(), t.out_w())
    };
    assert_eq!(convt(7, 7, 4, 2, 1, 0), (14, 14));
    assert_eq!(convt(7, 7, 4, 2, 1, 1), (15, 15));
    assert_eq!(convt(4, 3, 5, 3, 2, 2), (12, 9));
    assert_eq!(convt(1, 1, 4, 1, 0, 0), (4, 4));
}

/// Serialises the GPU tests of this file. Lavapipe runs a dispatch on worker threads for every
/// core; a test thread busy with the f64 reference at the same time starves them, and the
/// file took 60 s instead of 3 on two cores.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// [`four_kernels`] in both [`both_variants`] and in the GPU layouts.
fn check(layer: &Layer, seed: u64, scale: f32, bias: bool, accumulate: bool) {
    for gpu in both_variants().into_iter().chain([gpu_layouts()]) {
        block_on(four_kernels(gpu, layer, seed, scale, bias, accumulate));
    }
}

#[test]
fn kernels_match_reference_on_awkward_geometries() {
    let _gpu = serial();
    #[rustfmt::skip]
    let geoms = [
        conv_layer(2, 3, (5, 7), 7, 3, 1, 1),    // odd non-square, channels 3 → 7
        conv_layer(1, 7, (13, 13), 3, 4, 2, 1),  // stride 2, ragged edge (13 + 2 − 4 is odd), k = 4 path
        conv_layer(2, 3, (13, 13), 33, 3, 2, 0), // 33 output channels: a tile and a sliver
        conv_layer(1, 1, (5, 7), 33, 5, 1, 2),   // one input channel, k = 5, batch 1
        conv_layer(2, 33, (13, 13), 1, 1, 1, 0), // one output channel, k = 1
        conv_layer(2, 7, (13, 13), 3, 1, 2, 0),  // k = 1 with stride 2: most input pixels unused
        conv_layer(1, 3, (14, 13), 7, 5, 3, 2),  // stride 3, ragged in both directions
        conv_layer(2, 2, (4, 5), 3, 3, 1, 2),    // padding wider than half the kernel
        conv_layer(1, 1, (1, 1), 1, 1, 1, 0),    // the smallest convolution there is
        conv_layer(2, 17, (4, 4), 1, 4, 1, 0),   // dcgan64's last D layer: 4x4 → 1x1
        conv_layer(1, 4, (9, 11), 5, 4, 2, 1),   // 4 input channels: the widest thin input-grad
        conv_layer(2, 5, (9, 11), 4, 4, 2, 1),   // 5: the first that takes the phase kernel
        conv_layer(2, 5, (1, 2), 3, 1, 2, 0),    // stride beyond the image: empty input phases
        conv_layer(2, 6, (7, 9), 5, 2, 2, 0),    // k = 2: weight-grad groups of 4 channels
        conv_layer(1, 2, (9, 8), 3, 7, 1, 3),    // k = 7: weight-grad groups of 2 kernel rows
        // Weight-grad column groups for every lane (the subgroup variant) and a sliver:
        conv_layer(1, 9, (7, 5), 5, 4, 2, 1),    // 9 groups of one channel; 6 output pixels
        conv_layer(2, 11, (6, 7), 17, 3, 1, 1),  // k = 3: 11 groups, 17 output channels
        conv_layer(1, 10, (9, 8), 3, 5, 2, 2),   // k = 5: two row groups per channel, 20 groups
        conv_layer(2, 33, (5, 6), 3, 2, 2, 0),   // k = 2: 9 groups of 4 channels, the last of 1
    ];
    for (i, g) in geoms.iter().enumerate() {
        let seed = 1000 + 100 * i as u64;
        check(g, seed, 1.0, false, false);
        check(g, seed + 50, 1.0, true, true);
    }
}

#[test]
fn lowered_forward_and_weight_grad_match_reference() {
    let _gpu = serial();
    // Geometries the subgroup path runs as im2col and the NT GEMM (conv::lowered): output
    // channels a 32-row tile and a sliver, pixels ragged against the 64-column tile, batch 1,
    // k = 3 and 4, strides 1 and 2, padding on every edge.
    #[rustfmt::skip]
    let geoms = [
        conv_layer(1, 5, (9, 11), 259, 4, 2, 1),  // 30 pixels: the weight-grad stays direct
        conv_layer(2, 8, (7, 9), 256, 3, 1, 1),   // k = 3, c_in·k² = 72
        conv_layer(4, 16, (6, 6), 262, 3, 2, 1),  // 36 pixels: both lowered
        conv_layer(4, 9, (10, 10), 257, 4, 2, 1), // 100 pixels: both lowered
    ];
    let gpu = gpu();
    for (i, layer) in geoms.iter().enumerate() {
        let g = &layer.g;
        if gpu.subgroup_kernels() {
            assert!(conv::lowered::forward_fits(gpu, g), "{g:?}");
            let pixels = g.batch * g.out_h * g.out_w;
            assert_eq!(
                conv::lowered::weight_grad_fits(gpu, g),
                pixels % 4 == 0,
                "{g:?}"
            );
        }
        check(layer, 500 + 10 * i as u64, 1.0, false, false);
        check(layer, 505 + 10 * i as u64, 1.0, true, true);
    }
}

#[test]
fn channels_last_input_grad_matches_reference() {
    let _gpu = serial();
    // Geometries whose input-grad the subgroup path runs channels-last (conv_dx_cl_sg): output
    // channels in whole vec4s, input channels below, at and past the 32-row tile, k = 3, 4
    // and 5, strides 1 to 3, batch 1, ragged phases.
    #[rustfmt::skip]
    let geoms = [
        conv_layer(1, 8, (5, 7), 12, 3, 1, 1),    // k = 3, stride 1, one vec4 of c_out × 3
        conv_layer(2, 37, (9, 11), 36, 4, 2, 1),  // 37 input channels: a tile and a sliver
        conv_layer(3, 5, (13, 13), 4, 4, 2, 1),   // one vec4 of output channels
        conv_layer(1, 8, (14, 13), 4, 5, 3, 2),   // stride 3, ragged in both directions
    ];
    let gpu = gpu();
    for (i, layer) in geoms.iter().enumerate() {
        if gpu.subgroup_kernels() {
            assert!(
                conv::channels_last::input_grad_fits(gpu, &layer.g),
                "{:?}",
                layer.g
            );
        }
        check(layer, 700 + 10 * i as u64, 1.0, false, false);
        check(layer, 705 + 10 * i as u64, 1.0, true, true);
    }
    // The two copies and the kernel, chained in that order into one kernel.
    if gpu.subgroup_kernels() {
        let g = &geoms[1].g;
        let t = |n: usize| Tensor::zeros(gpu, &[n], "t").unwrap();
        let (dy, w, dx) = (t(g.output_len()), t(g.weight_len()), t(g.input_len()));
        let kernel = conv::input_grad(gpu, g, &dy, &w, &dx, false).unwrap();
        assert_eq!(kernel.dispatches(), 3);
    }
    // Output channels not in whole vec4s stay on conv_dx_sg.
    assert!(!conv::channels_last::input_grad_fits(
        gpu,
        &conv_layer(2, 5, (9, 11), 33, 3, 2, 1).g
    ));
}

#[test]
fn gpu_layouts_split_long_weight_grad_sums() {
    let _gpu = serial();
    // Batch 9 of 20×20 images: 3,600 pixels summed into 54 weights, split over workgroups
    // (checked on every variant; the GPU layouts split it).
    let layer = conv_layer(9, 2, (20, 20), 3, 3, 1, 1);
    let gpu = gpu_layouts();
    let x = Tensor::zeros(gpu, &[layer.g.input_len()], "x").unwrap();
    let dy = Tensor::zeros(gpu, &[layer.g.output_len()], "dy").unwrap();
    let dw = Tensor::zeros(gpu, &[layer.g.weight_len()], "dw").unwrap();
    let kernel = conv::weight_grad(gpu, &layer.g, &x, &dy, &dw, false).unwrap();
    assert_eq!(kernel.dispatches(), 2, "the weight-grad was not split");
    check(&layer, 77, 1.0, true, true);
}

#[test]
fn kernels_match_reference_at_large_magnitudes() {
    let _gpu = serial();
    check(
        &conv_layer(1, 7, (13, 13), 3, 4, 2, 1),
        7,
        1.0e3,
        true,
        true,
    );
    check(&conv_layer(2, 3, (5, 7), 7, 3, 1, 1), 8, 1.0e3, true, false);
}

#[test]
fn kernels_match_reference_on_dcgan_layers() {
    let _gpu = serial();
    // The four layers of the dcgan28 networks at batch 2; the transposed ones are run on the
    // geometry whose input-grad is their forward.
    let layers = [
        conv_layer(2, 1, (28, 28), 64, 4, 2, 1), // D conv 1 → 64, 28 → 14
        conv_layer(2, 64, (14, 14), 128, 4, 2, 1), // D conv 64 → 128, 14 → 7
        transposed_layer(2, 256, (7, 7), 128, 4, 2, 1, 0), // G convT 256 → 128, 7 → 14
        transposed_layer(2, 128, (14, 14), 1, 4, 2, 1, 0), // G convT 128 → 1, 14 → 28
    ];
    for (i, g) in layers.iter().enumerate() {
        check(g, 90 + i as u64, 1.0, i % 2 == 0, i >= 2);
    }
    check(&layers[1], 99, 1.0e3, true, true);
}

#[test]
fn reruns_are_bit_identical() {
    let _gpu = serial();
    let gpu = gpu();
    let Layer { g, r } = conv_layer(2, 5, (9, 9), 6, 3, 2, 1);
    let inp = inputs(&r, 5, 1.0);
    let t = |v: &[f32]| Tensor::from_slice(gpu, v, &[v.len()], "t").unwrap();
    let (x, w, dy) = (t(&inp.x), t(&inp.w), t(&inp.dy));
    let (y, dx, dw) = (
        t(&vec![0.0; g.output_len()]),
        t(&vec![0.0; g.input_len()]),
        t(&vec![0.0; g.weight_len()]),
    );
    let ks = [
        conv::forward(gpu, &g, &x, &w, None, &y, false).unwrap(),
        conv::input_grad(gpu, &g, &dy, &w, &dx, false).unwrap(),
        conv::weight_grad(gpu, &g, &x, &dy, &dw, false).unwrap(),
    ];
    let read = || {
        [
            y.read(gpu).unwrap(),
            dx.read(gpu).unwrap(),
            dw.read(gpu).unwrap(),
        ]
    };
    gpu.run(&ks.iter().collect::<Vec<_>>()).unwrap();
    let first = read();
    gpu.run(&ks.iter().collect::<Vec<_>>()).unwrap();
    let second = read();
    for (a, b) in first.iter().zip(&second) {
        assert!(a.iter().zip(b).all(|(p, q)| p.to_bits() == q.to_bits()));
    }
}

/// The subgroup variants of the forward and input-grad kernels only change how a weight
/// reaches the lanes (and, channels-last, how dy and the weights are laid out): their products and sums are the plain kernels', in the same order, so
/// the results agree bit for bit (the weight-grad variant sums in another order and is held
/// to the reference by `check`, as is the lowered forward, which the subgroup path runs on
/// wide layers). On an adapter without the variants both runs are plain.
#[test]
fn subgroup_variants_of_forward_and_input_grad_are_bit_identical_to_the_plain_ones() {
    let _gpu = serial();
    let layers = [
        conv_layer(3, 64, (14, 14), 48, 4, 2, 1), // D conv 64 → 48 at batch 3: a tile and a half
        transposed_layer(1, 37, (7, 7), 19, 4, 2, 1, 0), // a transposed layer of odd widths
        conv_layer(2, 5, (9, 11), 33, 3, 2, 1),   // k = 3: input-grad only has a variant
    ];
    for (i, Layer { g, r }) in layers.iter().enumerate() {
        assert!(!conv::lowered::forward_fits(gpu(), g), "{g:?}");
        // The first runs its input-grad channels-last (conv_dx_cl_sg), the others conv_dx_sg.
        if gpu().subgroup_kernels() {
            assert_eq!(
                conv::channels_last::input_grad_fits(gpu(), g),
                i == 0,
                "{g:?}"
            );
        }
        let inp = inputs(r, 40 + i as u64, 1.0);
        let outputs = both_variants().map(|gpu| {
            let t = |v: &[f32]| Tensor::from_slice(gpu, v, &[v.len()], "t").unwrap();
            let (x, w, dy) = (t(&inp.x), t(&inp.w), t(&inp.dy));
            let y = t(&vec![0.0; g.output_len()]);
            let dx = t(&vec![0.0; g.input_len()]);
            let ks = [
                conv::forward(gpu, g, &x, &w, None, &y, false).unwrap(),
                conv::input_grad(gpu, g, &dy, &w, &dx, false).unwrap(),
            ];
            gpu.run(&ks.iter().collect::<Vec<_>>()).unwrap();
            [y.read(gpu).unwrap(), dx.read(gpu).unwrap()]
        });
        let [with, plain] = &outputs;
        for (what, a, b) in [
            ("forward", &with[0], &plain[0]),
            ("input-grad", &with[1], &plain[1]),
        ] {
            let differ = a
                .iter()
                .zip(b)
                .filter(|(p, q)| p.to_bits() != q.to_bits())
                .count();
            assert_eq!(
                differ, 0,
                "{r:?} {what}: {differ} values differ between the variants"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// (c) Shape errors.

fn is_shape_error<T>(r: counterfeit::Result<T>, needle: &str) {
    match r {
        Err(e @ Error::Shape { .. }) => assert!(e.to_string().contains(needle), "{e}"),
        Err(e) => panic!("expected a shape error containing {needle:?}, got {e}"),
        Ok(_) => panic!("expected a shape error containing {needle:?}"),
    }
}

#[test]
fn bad_geometries_are_errors() {
    is_shape_error(ConvGeom::conv(1, 1, 2, 2, 1, 5, 1, 1), "does not fit");
    is_shape_error(ConvGeom::conv(1, 1, 8, 8, 1, 3, 0, 1), "stride");
    is_shape_error(ConvGeom::conv(1, 1, 8, 8, 1, 0, 1, 1), "kernel size");
    is_shape_error(ConvGeom::conv(0, 1, 8, 8, 1, 3, 1, 1), "zero size");
    is_shape_error(
        ConvGeom::conv(1, 1, 40, 40, 1, 17, 1, 1),
        "largest supported",
    );
    is_shape_error(
        ConvGeom::transposed(1, 4, 7, 7, 2, 4, 2, 1, 2),
        "output padding",
    );
    is_shape_error(
        ConvGeom::transposed(1, 4, 1, 1, 2, 1, 1, 1, 0),
        "empty output",
    );
    let g = ConvGeom::transposed(1, 4, 7, 7, 2, 4, 2, 1, 1).unwrap();
    assert_eq!(
        (g.h, g.w, g.out_h, g.out_w, g.c_in, g.c_out),
        (15, 15, 7, 7, 2, 4)
    );
    // A hand-built geometry whose output size is wrong.
    let mut bad = ConvGeom::conv(1, 1, 8, 8, 1, 3, 1, 1).unwrap();
    bad.out_h = 7;
    is_shape_error(bad.check("conv"), "does not give");
}

#[test]
fn tensor_sizes_that_disagree_with_the_geometry_are_errors() {
    let _gpu = serial();
    let gpu = gpu();
    let g = ConvGeom::conv(2, 3, 5, 7, 4, 3, 1, 1).unwrap();
    let z = |n: usize| Tensor::zeros(gpu, &[n], "t").unwrap();
    let (x, w, y) = (z(g.input_len()), z(g.weight_len()), z(g.output_len()));
    let (b, db) = (z(g.c_out), z(g.c_out));
    is_shape_error(
        conv::forward(gpu, &g, &z(g.input_len() - 1), &w, None, &y, false),
        "input",
    );
    is_shape_error(
        conv::forward(gpu, &g, &x, &z(g.weight_len() + 3), None, &y, false),
        "weight",
    );
    is_shape_error(
        conv::forward(gpu, &g, &x, &w, None, &z(g.output_len() * 2), false),
        "output",
    );
    is_shape_error(
        conv::forward(gpu, &g, &x, &w, Some(&z(3)), &y, false),
        "bias",
    );
    is_shape_error(
        conv::input_grad(gpu, &g, &x, &w, &y, false),
        "output gradient",
    );
    is_shape_error(
        conv::input_grad(gpu, &g, &y, &w, &z(1), false),
        "input gradient",
    );
    is_shape_error(
        conv::weight_grad(gpu, &g, &x, &y, &z(5), false),
        "weight gradient",
    );
    is_shape_error(conv::weight_grad(gpu, &g, &y, &y, &w, false), "input");
    is_shape_error(conv::bias_grad(gpu, &g, &y, &z(5), false), "bias gradient");
    is_shape_error(conv::bias_grad(gpu, &g, &x, &db, false), "output gradient");
    // The right sizes build.
    conv::forward(gpu, &g, &x, &w, Some(&b), &y, true).unwrap();
    conv::bias_grad(gpu, &g, &y, &db, false).unwrap();
}

// ---------------------------------------------------------------------------------------
// Timing (not a test of correctness): `-- --ignored --nocapture`.

#[test]
#[ignore]
fn timing_dcgan_layers_batch_64() {
    let _gpu = serial();
    let gpu = gpu();
    eprintln!("adapter: {}", gpu.describe());
    // (name, geometry, transposed): a transposed layer's forward is input_grad, its input-grad
    // is forward.
    let layers = [
        (
            "D conv 1->64 28->14",
            ConvGeom::conv(64, 1, 28, 28, 64, 4, 2, 1).unwrap(),
            false,
        ),
        (
            "D conv 64->128 14->7",
            ConvGeom::conv(64, 64, 14, 14, 128, 4, 2, 1).unwrap(),
            false,
        ),
        (
            "G convT 256->128 7->14",
            ConvGeom::transposed(64, 256, 7, 7, 128, 4, 2, 1, 0).unwrap(),
            true,
        ),
        (
            "G convT 128->1 14->28",
            ConvGeom::transposed(64, 128, 14, 14, 1, 4, 2, 1, 0).unwrap(),
            true,
        ),
        (
            "conv 128->1 14->7 (thin)",
            ConvGeom::conv(64, 128, 14, 14, 1, 4, 2, 1).unwrap(),
            false,
        ),
        (
            "conv 32->32 k3 s1 14->14",
            ConvGeom::conv(64, 32, 14, 14, 32, 3, 1, 1).unwrap(),
            false,
        ),
    ];
    let only = std::env::var("CONV_ONLY").unwrap_or_default();
    for (name, g, transposed) in layers {
        if !name.contains(&only) {
            continue;
        }
        let t = |n: usize| Tensor::from_slice(gpu, &normal(n, n as u64, 1.0), &[n], "t").unwrap();
        let (x, w, y) = (t(g.input_len()), t(g.weight_len()), t(g.output_len()));
        let (dx, dw, db) = (t(g.input_len()), t(g.weight_len()), t(g.c_out));
        let (fwd, dxn) = if transposed {
            ("input-grad", "forward")
        } else {
            ("forward", "input-grad")
        };
        let t0 = Instant::now();
        let kernels = [
            (
                fwd,
                conv::forward(gpu, &g, &x, &w, None, &y, false).unwrap(),
            ),
            (dxn, conv::input_grad(gpu, &g, &y, &w, &dx, false).unwrap()),
            (
                "weight-grad",
                conv::weight_grad(gpu, &g, &x, &y, &dw, false).unwrap(),
            ),
            (
                "bias-grad",
                conv::bias_grad(gpu, &g, &y, &db, false).unwrap(),
            ),
        ];
        eprintln!(
            "{name}: kernels built in {:.2} s",
            t0.elapsed().as_secs_f64()
        );
        for (kname, k) in &kernels {
            let t0 = Instant::now();
            gpu.run(&[k]).unwrap();
            let first = t0.elapsed().as_secs_f64();
            let mut times = Vec::new();
            for _ in 0..5 {
                let t0 = Instant::now();
                gpu.run(&[k]).unwrap();
                times.push(t0.elapsed().as_secs_f64());
            }
            times.sort_by(|a, b| a.partial_cmp(b).unwrap());
            let med = times[2];
            let flops = if *kname == "bias-grad" {
                g.output_len() as f64
            } else {
                g.flops()
            };
            eprintln!(
                "{name:<26} {kname:<12} {:>9.2} ms {:>7.2} GFLOP/s (first run {:.2} s)",
                med * 1e3,
                flops / med / 1e9,
                first
            );
        }
    }
}
