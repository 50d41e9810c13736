//! The benchmark DCGAN networks of `docs/BENCHMARKS.md`: dcgan28 (MNIST 28×28) and dcgan64 (the
//! PyTorch examples/dcgan network with one channel), initialised N(0, 0.02).

use crate::{Error, Init, Result, Sequential};

/// Which DCGAN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    /// 28×28: Linear → 7×7 → ConvT 14×14 → ConvT 28×28.
    Dcgan28,
    /// 64×64: ConvT 1 → 4 → 8 → 16 → 32 → 64, ngf = ndf = 64.
    Dcgan64,
}

/// Size of z.
pub const NZ: usize = 100;

/// Optional discriminator layers; the default adds none, giving [`Arch::discriminator`].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct DOptions {
    /// Probability of dropping each input of D's last layer (0: no dropout layer).
    pub dropout: f32,
    /// A minibatch standard-deviation channel (Karras et al. 2018) before the last layer (and
    /// before dcgan28's flatten).
    pub minibatch_std: bool,
    /// D without its batch norms (a gradient penalty is per sample; SN-GAN's D has none).
    pub no_batch_norm: bool,
    /// Spectral normalisation of every weight of D (Miyato et al. 2018).
    pub spectral_norm: bool,
}

impl Arch {
    /// Parses `dcgan28` or `dcgan64`.
    pub fn parse(name: &str) -> Result<Arch> {
        match name {
            "dcgan28" => Ok(Arch::Dcgan28),
            "dcgan64" => Ok(Arch::Dcgan64),
            _ => Err(Error::Config(format!(
                "unknown architecture {name:?}: use dcgan28 or dcgan64"
            ))),
        }
    }

    /// The name used in flags and benchmark lines.
    pub fn name(self) -> &'static str {
        match self {
            Arch::Dcgan28 => "dcgan28",
            Arch::Dcgan64 => "dcgan64",
        }
    }

    /// Image side.
    pub fn side(self) -> usize {
        match self {
            Arch::Dcgan28 => 28,
            Arch::Dcgan64 => 64,
        }
    }

    /// The generator: z `[100]` → image `[1, side, side]` in (−1, 1).
    pub fn generator(self) -> Sequential {
        self.generator_reading(NZ)
    }

    /// The generator on an input of `nz` values (a conditional G reads z and a label).
    pub(crate) fn generator_reading(self, nz: usize) -> Sequential {
        let g = Sequential::new([nz]).init(Init::Normal(0.02));
        match self {
            Arch::Dcgan28 => g
                .linear_no_bias(256 * 7 * 7)
                .reshape([256, 7, 7])
                .batch_norm()
                .relu()
                .conv_transpose(128, 4, 2, 1)
                .batch_norm()
                .relu()
                .conv_transpose(1, 4, 2, 1)
                .tanh(),
            Arch::Dcgan64 => g
                .reshape([nz, 1, 1])
                .conv_transpose(512, 4, 1, 0)
                .batch_norm()
                .relu()
                .conv_transpose(256, 4, 2, 1)
                .batch_norm()
                .relu()
                .conv_transpose(128, 4, 2, 1)
                .batch_norm()
                .relu()
                .conv_transpose(64, 4, 2, 1)
                .batch_norm()
                .relu()
                .conv_transpose(1, 4, 2, 1)
                .tanh(),
        }
    }

    /// The discriminator: image [1, side, side] → one logit.
    pub fn discriminator(self) -> Sequential {
        self.discriminator_reading(1)
    }

    /// The discriminator on images of `channels` channels (a conditional D reads label maps
    /// after the image's).
    pub(crate) fn discriminator_reading(self, channels: usize) -> Sequential {
        self.discriminator_reading_with(channels, DOptions::default())
    }

    /// As [`Arch::discriminator_reading`] with D's options.
    pub(crate) fn discriminator_reading_with(
        self,
        channels: usize,
        options: DOptions,
    ) -> Sequential {
        let body = self.discriminator_body_with(channels, options);
        finish_discriminator(body, self, options)
    }

    /// The discriminator with optional layers before its last one: minibatch standard
    /// deviation, then dropout. Errors unless `dropout` is in [0, 1).
    pub fn discriminator_with(self, options: DOptions) -> Result<Sequential> {
        if !(0.0..1.0).contains(&options.dropout) {
            return Err(Error::Config(format!(
                "D dropout must be a probability in [0, 1), got {}",
                options.dropout
            )));
        }
        Ok(self.discriminator_reading_with(1, options))
    }

    /// Every layer of D up to (excluding) dcgan28's flatten and dcgan64's last convolution,
    /// with or without its batch norms, spectrally normalised or not.
    fn discriminator_body_with(self, channels: usize, options: DOptions) -> Sequential {
        let side = self.side();
        let mut d = Sequential::new([channels, side, side]).init(Init::Normal(0.02));
        if options.spectral_norm {
            d = d.spectral_norm();
        }
        let bn = |d: Sequential| {
            if options.no_batch_norm {
                d
            } else {
                d.batch_norm()
            }
        };
        match self {
            Arch::Dcgan28 => {
                bn(d.conv(64, 4, 2, 1).leaky_relu(0.2).conv(128, 4, 2, 1)).leaky_relu(0.2)
            }
            Arch::Dcgan64 => {
                let d = bn(d.conv(64, 4, 2, 1).leaky_relu(0.2).conv(128, 4, 2, 1));
                let d = bn(d.leaky_relu(0.2).conv(256, 4, 2, 1));
                bn(d.leaky_relu(0.2).conv(512, 4, 2, 1)).leaky_relu(0.2)
            }
        }
    }

    /// FLOP per training iteration at batch `b`, counted as `docs/BENCHMARKS.md` defines it:
    /// 2·B·(3·F_G − F_G1 + 9·F_D − 2·F_D1) over forward multiply-adds per image.
    pub fn flop_per_iter(self, b: usize) -> f64 {
        let (g, g1, d, d1) = match self {
            // G: Linear 100·12544; ConvT 256→128 at 7×7 input, k4: 7·7·256·128·16; ConvT 128→1
            // at 14×14: 14·14·128·16. D: 14·14·64·16 (c_in 1); 7·7·128·64·16; 6272.
            Arch::Dcgan28 => {
                let g1 = 100.0 * 12544.0;
                let g = g1 + 49.0 * 256.0 * 128.0 * 16.0 + 196.0 * 128.0 * 16.0;
                let d1 = 196.0 * 64.0 * 16.0;
                let d = d1 + 49.0 * 128.0 * 64.0 * 16.0 + 6272.0;
                (g, g1, d, d1)
            }
            Arch::Dcgan64 => {
                let g1 = 100.0 * 512.0 * 16.0;
                let g = g1
                    + 16.0 * 512.0 * 256.0 * 16.0
                    + 64.0 * 256.0 * 128.0 * 16.0
                    + 256.0 * 128.0 * 64.0 * 16.0
                    + 1024.0 * 64.0 * 16.0;
                let d1 = 1024.0 * 64.0 * 16.0;
                let d = d1
                    + 256.0 * 64.0 * 128.0 * 16.0
                    + 64.0 * 128.0 * 256.0 * 16.0
                    + 16.0 * 256.0 * 512.0 * 16.0
                    + 512.0 * 16.0;
                (g, g1, d, d1)
            }
        };
        2.0 * b as f64 * (3.0 * g - g1 + 9.0 * d - 2.0 * d1)
    }
}

/// D's last layer after its body, with the optional minibatch std and dropout before it.
fn finish_discriminator(body: Sequential, arch: Arch, options: DOptions) -> Sequential {
    let mut d = body;
    if options.minibatch_std {
        d = d.minibatch_std();
    }
    let dropout = |d: Sequential| {
        if options.dropout > 0.0 {
            d.dropout(1.0 - options.dropout)
        } else {
            d
        }
    };
    match arch {
        Arch::Dcgan28 => dropout(d.flatten()).linear(1),
        Arch::Dcgan64 => dropout(d).conv(1, 4, 1, 0).flatten(),
    }
}
