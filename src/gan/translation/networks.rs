//! The networks of image-to-image translation, scaled to 28×28 digits: pix2pix's U-Net
//! generator and PatchGAN discriminator (Isola et al. 2017), and CycleGAN's residual
//! generator (Zhu et al. 2017). Weights start from N(0, 0.02) as in both papers. The
//! transposed convolutions have no bias (the layer has none); the residual generator pads with
//! zeros where the paper reflects.

use crate::nn::{Graph, GraphBuilder, Init};
use crate::Result;

/// The digits' side.
pub const SIDE: usize = 28;
/// The PatchGAN's logit map is `PATCHES × PATCHES`: one logit per patch.
pub const PATCHES: usize = 7;
/// The side of the square of input pixels each logit sees, and the stride between patches:
/// 10 of 28 pixels at a stride of 4, as the paper's 70 of 256 at 16 (the "70×70" PatchGAN).
pub const PATCH_SIDE: usize = 10;

/// The paper's width: channels of the first level of its U-Net and PatchGAN (each level
/// down doubles them).
pub const PAPER_WIDTH: usize = 64;

/// pix2pix's U-Net for one-channel 28×28 images: two down-sampling levels and a bottleneck
/// (`width`, 2·`width` and 4·`width` channels), each decoder level concatenated with its
/// encoder level, dropout (p = 0.5, in training: pix2pix's only noise) in the decoder's first
/// level, tanh out.
pub fn unet28(width: usize) -> Result<Graph> {
    let g = GraphBuilder::new();
    g.init(Init::Normal(0.02));
    let x = g.input([1, SIDE, SIDE]);
    let e1 = x.conv_bias(width, 4, 2, 1).leaky_relu(0.2); // 14×14
    let e2 = e1.conv(2 * width, 4, 2, 1).batch_norm().leaky_relu(0.2); // 7×7
    let inner = e2.conv_bias(4 * width, 3, 2, 1).relu(); // 4×4, the innermost level
    let d2 = inner
        .conv_transpose(2 * width, 3, 2, 1)
        .batch_norm()
        .dropout(0.5)
        .relu(); // 7×7
    let d1 = d2
        .concat(&e2)
        .conv_transpose(width, 4, 2, 1)
        .batch_norm()
        .relu(); // 14×14
    let y = d1.concat(&e1).conv_transpose(1, 4, 2, 1).tanh(); // 28×28
    g.output(&y).build()
}

/// The PatchGAN discriminator on `channels`-channel 28×28 images (2 for pix2pix's pair of
/// input and output, 1 for CycleGAN), `width` and 2·`width` channels: a
/// `PATCHES`×`PATCHES` map of logits, each judging a `PATCH_SIDE`-pixel square.
pub fn patch_discriminator28(channels: usize, width: usize) -> Result<Graph> {
    let g = GraphBuilder::new();
    g.init(Init::Normal(0.02));
    let x = g.input([channels, SIDE, SIDE]);
    let h = x.conv_bias(width, 4, 2, 1).leaky_relu(0.2); // 14×14
    let h = h.conv(2 * width, 4, 2, 1).batch_norm().leaky_relu(0.2); // 7×7
    let logits = h.conv_bias(1, 1, 1, 0); // 7×7, one logit per patch
    g.output(&logits).build()
}

/// CycleGAN's generator for one-channel 28×28 images: a 7×7 convolution to `width`
/// channels, two stride-2 down-samplings (2·`width`, 4·`width`), `blocks` residual blocks at
/// 7×7 (two 3×3 convolutions each, added to their input), two up-samplings and a 7×7
/// convolution to tanh; instance normalisation throughout, as the paper (whose 256×256
/// network has width 64 and nine blocks).
pub fn resnet_generator28(width: usize, blocks: usize) -> Result<Graph> {
    let g = GraphBuilder::new();
    g.init(Init::Normal(0.02));
    let x = g.input([1, SIDE, SIDE]);
    let h = x.conv(width, 7, 1, 3).instance_norm().relu();
    let h = h.conv(2 * width, 3, 2, 1).instance_norm().relu(); // 14×14
    let mut h = h.conv(4 * width, 3, 2, 1).instance_norm().relu(); // 7×7
    for _ in 0..blocks {
        let r = h.conv(4 * width, 3, 1, 1).instance_norm().relu();
        let r = r.conv(4 * width, 3, 1, 1).instance_norm();
        h = h.add(&r);
    }
    let h = h.conv_transpose(2 * width, 4, 2, 1).instance_norm().relu(); // 14×14
    let h = h.conv_transpose(width, 4, 2, 1).instance_norm().relu(); // 28×28
    let y = h.conv_bias(1, 7, 1, 3).tanh();
    g.output(&y).build()
}

/// CycleGAN's PatchGAN on one-channel 28×28 images: [`patch_discriminator28`]'s layers with
/// instance normalisation in place of batch normalisation, as the paper.
pub fn cycle_discriminator28(width: usize) -> Result<Graph> {
    let g = GraphBuilder::new();
    g.init(Init::Normal(0.02));
    let x = g.input([1, SIDE, SIDE]);
    let h = x.conv_bias(width, 4, 2, 1).leaky_relu(0.2); // 14×14
    let h = h.conv(2 * width, 4, 2, 1).instance_norm().leaky_relu(0.2); // 7×7
    let logits = h.conv_bias(1, 1, 1, 0); // 7×7, one logit per patch
    g.output(&logits).build()
}
