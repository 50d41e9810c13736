//! Texels: a scratch operand of vec4s held in an `rgba32float` texture instead of a storage
//! buffer, for the kernels of CPU adapters. On lavapipe a storage load is a loop over the
//! lanes that tests each lane's bound, while a texel fetch is a straight gather: measured,
//! 1.4–1.5× as fast per vec4 a lane reads (docs/BENCHMARKS.md). Vec4 `i` lies at
//! `(i mod ROW, i / ROW)`; the shaders that read or write texels use the same `ROW`.

use crate::{Error, Gpu, Result};

/// Texels per texture row (`TEXEL_ROW` in the shaders).
pub(crate) const ROW: usize = 4096;

/// A texture of at least `len` vec4s, made to be written by one kernel and read by others.
pub(crate) struct Texels {
    _texture: wgpu::Texture,
    view: wgpu::TextureView,
}

impl Texels {
    /// Whether `len` vec4s fit one texture on `gpu`.
    pub(crate) fn fit(gpu: &Gpu, len: usize) -> bool {
        let limits = gpu.device().limits();
        len > 0 && len.div_ceil(ROW) <= limits.max_texture_dimension_2d as usize
    }

    /// A texture of `len` vec4s (zeroed), named `label` in errors.
    pub(crate) fn new(gpu: &Gpu, len: usize, label: &str) -> Result<Texels> {
        if !Texels::fit(gpu, len) {
            return Err(Error::shape(
                label,
                format!("{len} vec4s exceed the adapter's largest texture"),
            ));
        }
        let rows = len.div_ceil(ROW);
        let texture = gpu.device().create_texture(&wgpu::TextureDescriptor {
            label: Some(label),
            size: wgpu::Extent3d {
                width: ROW.min(len) as u32,
                height: rows as u32,
                depth_or_array_layers: 1,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: wgpu::TextureFormat::Rgba32Float,
            usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::STORAGE_BINDING,
            view_formats: &[],
        });
        let view = texture.create_view(&Default::default());
        Ok(Texels {
            _texture: texture,
            view,
        })
    }

    pub(crate) fn view(&self) -> &wgpu::TextureView {
        &self.view
    }
}
