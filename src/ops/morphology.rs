//! Image transforms that make the image-to-image tasks from a data set on the GPU: 3×3
//! erosion (3×3 and 2×2) and dilation, their difference (an outline), and pixelation (a low-resolution copy
//! at the full size). Forward only: they shape data, nothing trains through them.

use super::u;
use crate::gpu::params::shader_params;
use crate::gpu::shaders::Shader;
use crate::gpu::{Bind, Kernel, KernelSpec};
use crate::{Error, Gpu, Result, Tensor};

shader_params! {
    /// `morphology.wgsl`'s parameters.
    pub(crate) struct MorphParams for Morphology::Params {
        words: u32,
        pixels: u32,
        h: u32,
        w: u32,
        op: u32,
        block: u32,
    }
}

/// What to do to each image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transform {
    /// The minimum over each pixel's 3×3 neighbourhood: strokes thin.
    Erode,
    /// The minimum over the 2×2 block of each pixel and its right, lower and lower-right
    /// neighbours: strokes thin by one pixel where the 3×3 square takes two, so a digit
    /// keeps its shape.
    Erode2x2,
    /// The maximum over each pixel's 3×3 neighbourhood: strokes thicken.
    Dilate,
    /// Dilation minus erosion, the morphological gradient: a digit's outline.
    Outline,
    /// Each pixel replaced by the rounded mean of its `n`×`n` tile (tiles at the right and
    /// bottom edges average the pixels they hold): the image at 1/n the resolution.
    Pixelate(usize),
}

/// Writes `transform` of each of the `count` images of `h`×`w` bytes packed in `src` into
/// `dst` (the same packing).
pub fn transform(
    gpu: &Gpu,
    transform: Transform,
    (count, h, w): (usize, usize, usize),
    src: &Tensor,
    dst: &Tensor,
) -> Result<Kernel> {
    let pixels = count * h * w;
    let words = pixels.div_ceil(4);
    if pixels == 0 || src.len() != words || dst.len() != words {
        return Err(Error::shape(
            "image transform",
            format!(
                "{count} images of {h}×{w} bytes need {words} words, got {:?} and {:?}",
                src.shape(),
                dst.shape()
            ),
        ));
    }
    let (op, block) = match transform {
        Transform::Erode => (0, 1),
        Transform::Dilate => (1, 1),
        Transform::Outline => (2, 1),
        Transform::Erode2x2 => (4, 1),
        Transform::Pixelate(0) => {
            return Err(Error::shape("pixelate", "tiles of 0 pixels"));
        }
        Transform::Pixelate(n) => (3, n),
    };
    let params = MorphParams {
        words: u(words),
        pixels: u(pixels),
        h: u(h),
        w: u(w),
        op,
        block: u(block),
    };
    gpu.kernel(
        KernelSpec::new(Shader::Morphology, "morph"),
        &[Bind::params(&params), Bind::Read(src), Bind::Write(dst)],
        words.div_ceil(64) as u32,
    )
}
