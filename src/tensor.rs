//! A tensor is a GPU buffer (or an aligned range of one) plus a shape. Data is f32.

use std::sync::Arc;

use wgpu::util::DeviceExt;

use crate::{Error, Gpu, Result};

/// f32 data on the GPU with a row-major shape.
#[derive(Clone)]
pub struct Tensor {
    buffer: Arc<wgpu::Buffer>,
    /// Byte offset into `buffer` (a multiple of the device's storage offset alignment).
    offset: u64,
    shape: Vec<usize>,
}

const USAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE
    .union(wgpu::BufferUsages::COPY_SRC)
    .union(wgpu::BufferUsages::COPY_DST);

impl Tensor {
    /// A zero-filled tensor. `label` names the layer in errors.
    pub fn zeros(gpu: &Gpu, shape: &[usize], label: &str) -> Result<Tensor> {
        let len = checked_len(shape, label)?;
        let bytes = (len * 4) as u64;
        gpu.check_size(label, bytes)?;
        let buffer = gpu.scoped(label, || {
            gpu.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: bytes,
                usage: USAGE,
                mapped_at_creation: false,
            })
        })?;
        Ok(Tensor {
            buffer: Arc::new(buffer),
            offset: 0,
            shape: shape.to_vec(),
        })
    }

    /// A tensor holding `data`.
    pub fn from_slice(gpu: &Gpu, data: &[f32], shape: &[usize], label: &str) -> Result<Tensor> {
        let len = checked_len(shape, label)?;
        if data.len() != len {
            return Err(Error::shape(
                label,
                format!(
                    "{} values given for shape {shape:?} ({len} values)",
                    data.len()
                ),
            ));
        }
        gpu.check_size(label, (len * 4) as u64)?;
        let buffer = gpu.scoped(label, || {
            gpu.device
                .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some(label),
                    contents: bytemuck::cast_slice(data),
                    usage: USAGE,
                })
        })?;
        Ok(Tensor {
            buffer: Arc::new(buffer),
            offset: 0,
            shape: shape.to_vec(),
        })
    }

    /// A view of the elements from `start` on, with `shape`; `start·4` bytes must be a
    /// multiple of the device's storage offset alignment.
    pub(crate) fn slice(&self, start: usize, shape: &[usize]) -> Tensor {
        Tensor {
            buffer: self.buffer.clone(),
            offset: self.offset + (start * 4) as u64,
            shape: shape.to_vec(),
        }
    }

    /// A tensor holding raw 32-bit words (packed bytes, counters), bound as `array<u32>`.
    pub fn from_u32(gpu: &Gpu, data: &[u32], label: &str) -> Result<Tensor> {
        let floats: &[f32] = bytemuck::cast_slice(data);
        Tensor::from_slice(gpu, floats, &[data.len()], label)
    }

    /// The same data with another shape of the same size; no copy.
    pub fn reshape(&self, shape: &[usize]) -> Result<Tensor> {
        let len: usize = shape.iter().product();
        if len != self.len() {
            return Err(Error::shape(
                "reshape",
                format!(
                    "cannot view {:?} ({} values) as {shape:?} ({len} values)",
                    self.shape,
                    self.len()
                ),
            ));
        }
        Ok(Tensor {
            buffer: self.buffer.clone(),
            offset: self.offset,
            shape: shape.to_vec(),
        })
    }

    /// The shape, outermost dimension first.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether the tensor has no elements (never true for tensors made by counterfeit).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The underlying buffer, for binding in a host program's own passes. The tensor's data
    /// starts at [`Tensor::byte_offset`] and spans `len() * 4` bytes.
    pub fn buffer(&self) -> &wgpu::Buffer {
        &self.buffer
    }

    /// Where the data starts in [`Tensor::buffer`].
    pub fn byte_offset(&self) -> u64 {
        self.offset
    }

    /// Size of the data in bytes.
    pub fn byte_len(&self) -> u64 {
        (self.len() * 4) as u64
    }

    pub(crate) fn binding(&self) -> wgpu::BindingResource<'_> {
        wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer: &self.buffer,
            offset: self.offset,
            size: std::num::NonZeroU64::new(self.byte_len()),
        })
    }

    /// Overwrites the data from the CPU (set-up and tests; not for the training step).
    pub fn write(&self, gpu: &Gpu, data: &[f32]) -> Result<()> {
        if data.len() != self.len() {
            return Err(Error::shape(
                "write",
                format!("{} values given for a tensor of {}", data.len(), self.len()),
            ));
        }
        gpu.queue
            .write_buffer(&self.buffer, self.offset, bytemuck::cast_slice(data));
        Ok(())
    }

    /// Copies the data to the CPU, blocking until it arrives. For tests, examples and
    /// checkpoints; the training step never calls it.
    pub fn read(&self, gpu: &Gpu) -> Result<Vec<f32>> {
        let bytes = read_bytes(gpu, &self.buffer, self.offset, self.byte_len())?;
        Ok(bytemuck::cast_slice(&bytes).to_vec())
    }

    /// Whether both are views of the same elements of the same buffer.
    pub(crate) fn same_as(&self, other: &Tensor) -> bool {
        Arc::ptr_eq(&self.buffer, &other.buffer)
            && self.offset == other.offset
            && self.len() == other.len()
    }

    /// As [`Tensor::read`] without blocking: the way to read a tensor in a browser, where the
    /// data arrives once the page's event loop has run.
    pub async fn read_async(&self, gpu: &Gpu) -> Result<Vec<f32>> {
        let bytes = read_bytes_async(gpu, &self.buffer, self.offset, self.byte_len()).await?;
        Ok(bytemuck::cast_slice(&bytes).to_vec())
    }

    /// As [`Tensor::read`] for tensors that hold u32 bit patterns.
    pub fn read_u32(&self, gpu: &Gpu) -> Result<Vec<u32>> {
        let bytes = read_bytes(gpu, &self.buffer, self.offset, self.byte_len())?;
        Ok(bytemuck::cast_slice(&bytes).to_vec())
    }
}

/// Blocking readback through a temporary staging buffer (native only: in a browser it is
/// an error that points to [`Tensor::read_async`]).
pub(crate) fn read_bytes(
    gpu: &Gpu,
    buffer: &wgpu::Buffer,
    offset: u64,
    len: u64,
) -> Result<Vec<u8>> {
    crate::gpu::block_on(read_bytes_async(gpu, buffer, offset, len))
}

/// Readback through a temporary staging buffer: the async core of [`read_bytes`]. On the
/// web the map completes when the browser's event loop runs; natively the device is polled.
pub(crate) async fn read_bytes_async(
    gpu: &Gpu,
    buffer: &wgpu::Buffer,
    offset: u64,
    len: u64,
) -> Result<Vec<u8>> {
    let failed = |message: String| Error::Gpu {
        context: "reading back".into(),
        message,
    };
    let staging = gpu.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("readback"),
        size: len,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut encoder = gpu.device.create_command_encoder(&Default::default());
    encoder.copy_buffer_to_buffer(buffer, offset, &staging, 0, len);
    gpu.queue.submit([encoder.finish()]);
    let slice = staging.slice(..);
    let mapped = crate::gpu::mapped(&slice);
    #[cfg(not(target_arch = "wasm32"))]
    gpu.wait()?;
    mapped.await.map_err(|e| failed(e.to_string()))?;
    let data = slice
        .get_mapped_range()
        .map_err(|e| failed(e.to_string()))?
        .to_vec();
    staging.unmap();
    Ok(data)
}

fn checked_len(shape: &[usize], label: &str) -> Result<usize> {
    let len = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    match len {
        Some(0) => Err(Error::shape(
            label,
            format!("shape {shape:?} has no elements"),
        )),
        Some(n) => Ok(n),
        None => Err(Error::shape(label, format!("shape {shape:?} overflows"))),
    }
}
