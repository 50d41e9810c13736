//! Bilinear image resizing on the CPU. The judge resizes dcgan64's 64×64 samples to its
//! classifier's 28×28 with it; the GPU's resizing gather (`shaders/data.wgsl`) is tested
//! against it.

/// Bilinear resize of one `src_h × src_w` image to `out_h × out_w`, sampling at pixel centres
/// with clamped edges (PyTorch's `interpolate(mode="bilinear", align_corners=False)`).
pub fn bilinear(src: &[f64], src_h: usize, src_w: usize, out_h: usize, out_w: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(out_h * out_w);
    for oy in 0..out_h {
        for ox in 0..out_w {
            let sy = ((oy as f64 + 0.5) * src_h as f64 / out_h as f64 - 0.5).max(0.0);
            let sx = ((ox as f64 + 0.5) * src_w as f64 / out_w as f64 - 0.5).max(0.0);
            let (y0, x0) = ((sy as usize).min(src_h - 1), (sx as usize).min(src_w - 1));
            let (y1, x1) = ((y0 + 1).min(src_h - 1), (x0 + 1).min(src_w - 1));
            let (fy, fx) = (sy - y0 as f64, sx - x0 as f64);
            let at = |y: usize, x: usize| src[y * src_w + x];
            let top = at(y0, x0) + (at(y0, x1) - at(y0, x0)) * fx;
            let bottom = at(y1, x0) + (at(y1, x1) - at(y1, x0)) * fx;
            out.push(top + (bottom - top) * fy);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::bilinear;

    #[test]
    fn matches_pytorch_on_known_answers() {
        // torch.nn.functional.interpolate(torch.arange(4.).view(1, 1, 2, 2), size=(4, 4),
        // mode="bilinear", align_corners=False): quarter steps, edges clamped.
        let up = bilinear(&[0.0, 1.0, 2.0, 3.0], 2, 2, 4, 4);
        #[rustfmt::skip]
        let want = [
            0.0, 0.25, 0.75, 1.0,
            0.5, 0.75, 1.25, 1.5,
            1.5, 1.75, 2.25, 2.5,
            2.0, 2.25, 2.75, 3.0,
        ];
        assert_eq!(up, want);
        // Halving averages each 2×2 block (centres fall between pixels); the same size is
        // the identity; a non-square shrink to one pixel reads the centre.
        let src: Vec<f64> = (0..16).map(f64::from).collect();
        assert_eq!(bilinear(&src, 4, 4, 2, 2), [2.5, 4.5, 10.5, 12.5]);
        assert_eq!(bilinear(&src, 4, 4, 4, 4), src);
        assert_eq!(bilinear(&src[..12], 3, 4, 1, 1), [5.5]);
    }
}
