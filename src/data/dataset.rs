//! A data set resident on the GPU as packed bytes; batches are gathered by a kernel.

use std::path::PathBuf;

use crate::data::idx::{self, Digits};
use crate::ops::data::Gather;
use crate::ops::morphology::{transform, Transform};
use crate::ops::Clock;
use crate::{Error, Gpu, Result, Tensor};

/// Where MNIST-style digits come from.
#[derive(Clone, Debug)]
pub enum DataSource {
    /// The 10,000 digits bundled with the crate.
    Bundled,
    /// A folder with `train-images-idx3-ubyte[.gz]` and `train-labels-idx1-ubyte[.gz]`.
    Dir(PathBuf),
}

/// Images (one byte per value) uploaded once, with the range their bytes map to. Clones
/// share the GPU buffers.
#[derive(Clone)]
pub struct Dataset {
    pub(crate) pixels: Tensor,
    pub(crate) count: usize,
    pub(crate) shape: Vec<usize>,
    pub(crate) scale: f32,
    pub(crate) shift: f32,
    /// The stored image size when batches are resized on the GPU (`shape` is the new size).
    pub(crate) stored: Option<(usize, usize)>,
    labels: Vec<u8>,
    /// `labels` as one u32 per sample on the GPU, for `ops::data::gather_labels`.
    label_tensor: Option<Tensor>,
}

impl Dataset {
    /// Uploads `count` samples of `shape` stored as bytes; byte 0 maps to `range.0` and 255 to
    /// `range.1`.
    pub fn from_bytes(
        gpu: &Gpu,
        bytes: &[u8],
        count: usize,
        shape: &[usize],
        range: (f32, f32),
    ) -> Result<Dataset> {
        let size: usize = shape.iter().product();
        if count == 0 || size == 0 || bytes.len() != count * size {
            return Err(Error::shape(
                "dataset",
                format!(
                    "{} bytes are not {count} samples of shape {shape:?}",
                    bytes.len()
                ),
            ));
        }
        if !(range.0.is_finite() && range.1.is_finite()) {
            return Err(Error::Config(format!("data range {range:?} is not finite")));
        }
        let mut words = vec![0u32; bytes.len().div_ceil(4)];
        for (i, &b) in bytes.iter().enumerate() {
            words[i / 4] |= (b as u32) << (8 * (i % 4));
        }
        let pixels = Tensor::from_u32(gpu, &words, "dataset")?;
        Ok(Dataset {
            pixels,
            count,
            shape: shape.to_vec(),
            scale: (range.1 - range.0) / 255.0,
            shift: range.0,
            stored: None,
            labels: Vec::new(),
            label_tensor: None,
        })
    }

    /// Digits as `[1, rows, cols]` images scaled to `range` (e.g. (−1, 1) for a tanh G).
    pub fn from_digits(gpu: &Gpu, digits: &Digits, range: (f32, f32)) -> Result<Dataset> {
        let im = &digits.images;
        let mut d = Self::from_bytes(gpu, &im.pixels, im.count, &[1, im.rows, im.cols], range)?;
        if !digits.labels.is_empty() {
            if digits.labels.len() != im.count {
                return Err(Error::shape(
                    "dataset",
                    format!("{} labels for {} images", digits.labels.len(), im.count),
                ));
            }
            let words: Vec<u32> = digits.labels.iter().map(|&l| l as u32).collect();
            d.label_tensor = Some(Tensor::from_u32(gpu, &words, "dataset labels")?);
        }
        d.labels = digits.labels.clone();
        Ok(d)
    }

    /// MNIST-style digits from `source` (the bundled 10,000 when `None`).
    pub fn mnist(gpu: &Gpu, source: Option<DataSource>, range: (f32, f32)) -> Result<Dataset> {
        let digits = match source.unwrap_or(DataSource::Bundled) {
            DataSource::Bundled => idx::bundled()?,
            DataSource::Dir(dir) => idx::load_dir(&dir)?,
        };
        Self::from_digits(gpu, &digits, range)
    }

    /// The same data served as `height × width` images, resized bilinearly by the gather
    /// kernel (e.g. MNIST's 28×28 digits for a 64×64 DCGAN). Single-channel images only.
    pub fn resized(mut self, height: usize, width: usize) -> Result<Dataset> {
        let (h, w) = match (self.stored, self.shape.as_slice()) {
            (Some(hw), _) => hw,
            (None, [1, h, w]) => (*h, *w),
            _ => {
                return Err(Error::shape(
                    "dataset",
                    format!("only [1, h, w] images can be resized, not {:?}", self.shape),
                ))
            }
        };
        if height == 0 || width == 0 {
            return Err(Error::Config("resize target must be at least 1×1".into()));
        }
        self.stored = Some((h, w));
        self.shape = vec![1, height, width];
        Ok(self)
    }

    /// The same samples (and labels) with `t` applied to every image on the GPU, once: the
    /// inputs or targets of an image-to-image task (a digit's outline, a thinned or thickened
    /// digit, a low-resolution copy). Single-channel images only; a resized data set is
    /// transformed at its stored size.
    pub fn transformed(&self, gpu: &Gpu, t: Transform) -> Result<Dataset> {
        let (h, w) = match (self.stored, self.shape.as_slice()) {
            (Some(hw), _) => hw,
            (None, [1, h, w]) => (*h, *w),
            _ => {
                return Err(Error::shape(
                    "dataset",
                    format!(
                        "only [1, h, w] images can be transformed, not {:?}",
                        self.shape
                    ),
                ))
            }
        };
        let pixels = Tensor::zeros(gpu, self.pixels.shape(), "transformed dataset")?;
        let k = transform(gpu, t, (self.count, h, w), &self.pixels, &pixels)?;
        gpu.run(&[&k])?;
        Ok(Dataset {
            pixels,
            ..self.clone()
        })
    }

    /// The images' bytes, read back from the GPU (`len() · h · w` of them, at the stored
    /// size).
    pub fn bytes(&self, gpu: &Gpu) -> Result<Vec<u8>> {
        let words = self.pixels.read_u32(gpu)?;
        let size = match self.stored {
            Some((h, w)) => h * w,
            None => self.shape.iter().product(),
        };
        Ok(words
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .take(self.count * size)
            .collect())
    }

    /// The images' values in the data set's range (`len() · h · w` of them, at the stored
    /// size), read back from the GPU: the inputs and targets of an evaluation.
    pub fn values(&self, gpu: &Gpu) -> Result<Vec<f32>> {
        let bytes = self.bytes(gpu)?;
        Ok(bytes
            .iter()
            .map(|&b| b as f32 * self.scale + self.shift)
            .collect())
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Never true: a data set holds at least one sample.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The shape of one sample.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Labels, when the source had them.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// The labels on the GPU, one u32 per sample (uploaded once), for
    /// [`crate::ops::data::gather_labels`]; `None` when the source had none.
    pub fn label_tensor(&self) -> Option<&Tensor> {
        self.label_tensor.as_ref()
    }

    /// How a batch of `batch` samples is gathered from this data set on `clock`, in the
    /// per-epoch order `seed` keys (resized when the data set is).
    pub(crate) fn gather(&self, batch: usize, seed: u64, clock: Clock) -> Gather {
        Gather {
            count: self.count,
            size: self.shape.iter().product(),
            batch,
            seed,
            scale: self.scale,
            shift: self.shift,
            clock,
            resize: self
                .stored
                .map(|(h, w)| (h, w, self.shape[1], self.shape[2])),
        }
    }
}
