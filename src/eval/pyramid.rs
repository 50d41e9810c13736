//! The Laplacian pyramid of the sliced Wasserstein distance (Karras et al. 2018), as their
//! code builds it: levels of `side`, `side/2` and `side/4` pixels.
//!
//! Blurring uses the 5-tap binomial kernel [1, 4, 6, 4, 1]/16 along each axis (the 2-D kernel
//! is its outer product, /256) with mirrored edges that do not repeat the edge pixel
//! (`d c b | a b c d | c b a`, scipy's `mode='mirror'`). Down-sampling blurs and keeps the
//! even rows and columns; up-sampling puts the image on the even pixels of a zero image twice
//! the size and blurs with 4× the kernel. Each level but the smallest is the image minus the
//! up-sampled next one; the smallest is the small image itself.

/// Number of levels.
pub const LEVELS: usize = 3;

/// The binomial kernel along one axis.
const TAPS: [f32; 5] = [1.0 / 16.0, 4.0 / 16.0, 6.0 / 16.0, 4.0 / 16.0, 1.0 / 16.0];

/// Mirrors index `i` into `0..n` without repeating the edge.
fn mirror(i: isize, n: usize) -> usize {
    let n = n as isize;
    let i = if i < 0 { -i } else { i };
    (if i >= n { 2 * (n - 1) - i } else { i }) as usize
}

/// The `s × s` image blurred along rows then columns, times `gain`.
fn blur(img: &[f32], s: usize, gain: f32) -> Vec<f32> {
    let pass = |src: &[f32], along_x: bool| -> Vec<f32> {
        let mut dst = vec![0.0; s * s];
        for y in 0..s {
            for x in 0..s {
                let mut acc = 0.0;
                for (t, w) in TAPS.iter().enumerate() {
                    let o = t as isize - 2;
                    acc += w * if along_x {
                        src[y * s + mirror(x as isize + o, s)]
                    } else {
                        src[mirror(y as isize + o, s) * s + x]
                    };
                }
                dst[y * s + x] = acc;
            }
        }
        dst
    };
    let mut out = pass(&pass(img, true), false);
    out.iter_mut().for_each(|v| *v *= gain);
    out
}

/// Blurred and halved: `s/2 × s/2`.
pub fn down(img: &[f32], s: usize) -> Vec<f32> {
    let b = blur(img, s, 1.0);
    let h = s / 2;
    (0..h * h)
        .map(|i| b[(2 * (i / h)) * s + 2 * (i % h)])
        .collect()
}

/// Doubled: `2s × 2s`, zeros between the pixels, blurred with 4× the kernel.
pub fn up(img: &[f32], s: usize) -> Vec<f32> {
    let d = 2 * s;
    let mut z = vec![0.0; d * d];
    for y in 0..s {
        for x in 0..s {
            z[2 * y * d + 2 * x] = img[y * s + x];
        }
    }
    blur(&z, d, 4.0)
}

/// The levels of one `side × side` image (`side` a multiple of 4), largest first.
pub fn laplacian(img: &[f32], side: usize) -> Vec<Vec<f32>> {
    let mut levels = Vec::with_capacity(LEVELS);
    let mut cur = img.to_vec();
    let mut s = side;
    for _ in 1..LEVELS {
        let small = down(&cur, s);
        let back = up(&small, s / 2);
        levels.push(cur.iter().zip(&back).map(|(a, b)| a - b).collect());
        cur = small;
        s /= 2;
    }
    levels.push(cur);
    levels
}
