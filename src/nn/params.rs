//! A network's parameters in one flat buffer, with gradients and optimiser moments laid out
//! the same way, so one optimiser dispatch updates everything.

use std::ops::Range;

use crate::{Gpu, Result, Tensor};

/// Flat parameter storage plus the element range of each parameter tensor. Clones share the
/// GPU buffers.
#[derive(Clone)]
pub struct ParamSet {
    /// The parameters.
    pub values: Tensor,
    /// Their gradients, as the last backward left them.
    pub grads: Tensor,
    /// The optimiser's first moments (SGD's velocity).
    pub m1: Tensor,
    /// Adam's second moments.
    pub m2: Tensor,
    ranges: Vec<(Range<usize>, Vec<usize>)>,
}

impl ParamSet {
    /// Allocates storage for parameters of the given shapes with the given initial values.
    /// Each parameter starts at an offset the device can bind (storage offset alignment).
    pub fn new(gpu: &Gpu, label: &str, init: &[(Vec<usize>, Vec<f32>)]) -> Result<ParamSet> {
        let align = (gpu.device().limits().min_storage_buffer_offset_alignment as usize / 4).max(1);
        let mut ranges = Vec::new();
        let mut total = 0;
        for (shape, _) in init {
            let len: usize = shape.iter().product();
            ranges.push((total..total + len, shape.clone()));
            total = (total + len).div_ceil(align) * align;
        }
        let total = total.max(1);
        let mut flat = vec![0.0f32; total];
        for ((r, _), (_, v)) in ranges.iter().zip(init) {
            flat[r.clone()].copy_from_slice(v);
        }
        let values = Tensor::from_slice(gpu, &flat, &[total], &format!("{label} parameters"))?;
        let zeros = |what: &str| Tensor::zeros(gpu, &[total], &format!("{label} {what}"));
        Ok(ParamSet {
            values,
            grads: zeros("gradients")?,
            m1: zeros("first moments")?,
            m2: zeros("second moments")?,
            ranges,
        })
    }

    /// The same layout over another value buffer, sharing gradients and moments.
    pub(crate) fn with_values(&self, values: Tensor) -> ParamSet {
        ParamSet {
            values,
            ..self.clone()
        }
    }

    /// Number of parameter tensors.
    pub fn count(&self) -> usize {
        self.ranges.len()
    }

    /// Total scalar parameters (excluding alignment padding).
    pub fn scalars(&self) -> usize {
        self.ranges.iter().map(|(r, _)| r.len()).sum()
    }

    /// Parameter `i` as a view into the flat value buffer.
    pub fn value(&self, i: usize) -> Tensor {
        self.view(&self.values, i)
    }

    /// The gradient of parameter `i`.
    pub fn grad(&self, i: usize) -> Tensor {
        self.view(&self.grads, i)
    }

    fn view(&self, flat: &Tensor, i: usize) -> Tensor {
        let (r, shape) = &self.ranges[i];
        flat.slice(r.start, shape)
    }

    /// Splits a flat host copy (of values, gradients or moments) into per-parameter slices.
    pub fn split<'a>(&self, flat: &'a [f32]) -> Vec<&'a [f32]> {
        self.ranges.iter().map(|(r, _)| &flat[r.clone()]).collect()
    }

    /// Writes per-parameter slices into a flat host copy laid out like the GPU buffers.
    pub fn join(&self, parts: &[Vec<f32>]) -> Vec<f32> {
        let mut flat = vec![0.0; self.values.len()];
        for ((r, _), p) in self.ranges.iter().zip(parts) {
            flat[r.clone()].copy_from_slice(p);
        }
        flat
    }

    /// Where parameter `i` lies in the flat buffers.
    pub(crate) fn range(&self, i: usize) -> Range<usize> {
        self.ranges[i].0.clone()
    }

    /// Shape of parameter `i`.
    pub fn shape(&self, i: usize) -> &[usize] {
        &self.ranges[i].1
    }

    /// Overwrites parameter `i` (set-up, checkpoints; not for the training step).
    pub fn write(&self, gpu: &Gpu, i: usize, values: &[f32]) -> Result<()> {
        self.value(i).write(gpu, values)
    }

    /// Reads parameter `i` to the CPU.
    pub fn read(&self, gpu: &Gpu, i: usize) -> Result<Vec<f32>> {
        self.value(i).read(gpu)
    }
}
