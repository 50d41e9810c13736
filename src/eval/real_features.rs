//! The real digits' feature statistics, stored beside the classifier's weights.
//!
//! Every judge compares samples with the same Gaussian: the classifier's features of the
//! 9,000 training digits. Fitting it means classifying all of them, about 15 s on a CPU
//! adapter, which every judged run, `evaluate` call and test would pay at start-up. So
//! `train_classifier` stores it once, and the file names what it was computed from: a
//! fingerprint of the weights file and of the digits. A judge uses it only while both are
//! unchanged, and fits afresh otherwise.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use crate::data::idx::Digits;
use crate::eval::classifier::{Classifier, FEATURES};
use crate::eval::frechet::Gaussian;
use crate::io::fingerprint::{fnv1a, fnv1a_extend};
use crate::{Error, Result};

/// What the file format says in its metadata.
const FORMAT: &str = "counterfeit-real-features-1";

/// The Gaussian of `classifier`'s features of `digits` (mean and unbiased covariance).
pub fn fit(classifier: &Classifier, digits: &Digits) -> Result<Gaussian> {
    Gaussian::fit(&classifier.classify_digits(digits)?.features, FEATURES)
}

/// Where the statistics for the classifier weights at `weights` live: beside them, named
/// after them (`mnist_classifier.safetensors` → `mnist_classifier.real_features.safetensors`).
pub fn path_for(weights: &Path) -> PathBuf {
    let stem = weights
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    weights.with_file_name(format!("{stem}.real_features.safetensors"))
}

/// What a Gaussian was fitted from: fingerprints of the classifier's weights file and of
/// the digits it classified.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Provenance {
    weights: u64,
    digits: u64,
}

impl Provenance {
    /// The provenance of features of `digits` from the classifier weights at `weights`.
    pub fn of(weights: &Path, digits: &Digits) -> Result<Provenance> {
        let bytes = std::fs::read(weights).map_err(|e| Error::io(weights, e))?;
        let shape = [digits.images.count, digits.images.rows, digits.images.cols];
        let mut h = fnv1a(bytemuck::cast_slice(&shape.map(|v| v as u64)));
        h = fnv1a_extend(h, &digits.images.pixels);
        h = fnv1a_extend(h, &digits.labels);
        Ok(Provenance {
            weights: fnv1a(&bytes),
            digits: h,
        })
    }

    fn notes(&self) -> [(String, String); 2] {
        [
            ("weights".into(), format!("{:016x}", self.weights)),
            ("digits".into(), format!("{:016x}", self.digits)),
        ]
    }
}

/// Writes `real` with its provenance to `path` (atomically).
pub fn save(path: &Path, real: &Gaussian, provenance: &Provenance) -> Result<()> {
    let error = |message: String| Error::Data {
        path: path.to_path_buf(),
        message,
    };
    let mut meta: HashMap<String, String> = provenance.notes().into_iter().collect();
    meta.insert("format".into(), FORMAT.into());
    meta.insert("count".into(), real.count.to_string());
    let mean: &[u8] = bytemuck::cast_slice(&real.mean);
    let cov: &[u8] = bytemuck::cast_slice(&real.cov);
    let views = [
        ("mean", TensorView::new(Dtype::F64, vec![real.dim], mean)),
        (
            "cov",
            TensorView::new(Dtype::F64, vec![real.dim, real.dim], cov),
        ),
    ]
    .into_iter()
    .map(|(n, v)| v.map(|v| (n.to_string(), v)))
    .collect::<std::result::Result<Vec<_>, _>>()
    .map_err(|e| error(e.to_string()))?;
    let bytes = safetensors::serialize(views, Some(meta)).map_err(|e| error(e.to_string()))?;
    crate::io::atomic::write_atomic(path, &bytes)
}

/// The Gaussian stored at `path` if it was fitted from exactly `provenance`; `None` when
/// there is no file or it belongs to other weights or digits. A damaged file is an error.
pub fn load(path: &Path, provenance: &Provenance) -> Result<Option<Gaussian>> {
    if !path.exists() {
        return Ok(None);
    }
    let error = |message: String| Error::Data {
        path: path.to_path_buf(),
        message,
    };
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let (_, header) = SafeTensors::read_metadata(&bytes).map_err(|e| error(e.to_string()))?;
    let meta = header.metadata().clone().unwrap_or_default();
    if meta.get("format").map(String::as_str) != Some(FORMAT) {
        return Err(error(format!(
            "not a real-features file (format {:?}, expected {FORMAT:?})",
            meta.get("format")
        )));
    }
    if provenance
        .notes()
        .iter()
        .any(|(k, v)| meta.get(k) != Some(v))
    {
        return Ok(None);
    }
    let count = meta
        .get("count")
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| error("no feature-vector count in its metadata".into()))?;
    let tensors = SafeTensors::deserialize(&bytes).map_err(|e| error(e.to_string()))?;
    let read = |name: &str| -> Result<(Vec<usize>, Vec<f64>)> {
        let t = tensors
            .tensor(name)
            .map_err(|e| error(format!("{name}: {e}")))?;
        if t.dtype() != Dtype::F64 {
            return Err(error(format!("{name} is {:?}, expected F64", t.dtype())));
        }
        let values = t
            .data()
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
            .collect();
        Ok((t.shape().to_vec(), values))
    };
    let (mean_shape, mean) = read("mean")?;
    let (cov_shape, cov) = read("cov")?;
    let dim = mean.len();
    if mean_shape != [dim] || cov_shape != [dim, dim] {
        return Err(error(format!(
            "mean {mean_shape:?} and covariance {cov_shape:?} do not fit together"
        )));
    }
    Ok(Some(Gaussian {
        mean,
        cov,
        dim,
        count,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::idx::Images;

    fn digits(first: u8) -> Digits {
        Digits {
            images: Images {
                count: 2,
                rows: 1,
                cols: 2,
                pixels: vec![first, 2, 3, 4],
            },
            labels: vec![0, 1],
        }
    }

    fn folder() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("real_features_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_stored_gaussian_comes_back_only_for_its_own_weights_and_digits() {
        let dir = folder();
        let weights = dir.join("w.safetensors");
        std::fs::write(&weights, b"weights").unwrap();
        let real = Gaussian {
            mean: vec![0.5, -1.25],
            cov: vec![2.0, 0.1, 0.1, 3.0],
            dim: 2,
            count: 9,
        };
        let ours = Provenance::of(&weights, &digits(1)).unwrap();
        let path = path_for(&weights);
        assert_eq!(path, dir.join("w.real_features.safetensors"));
        save(&path, &real, &ours).unwrap();
        let back = load(&path, &ours).unwrap().expect("same provenance");
        assert_eq!(
            (back.mean, back.cov, back.dim, back.count),
            (real.mean, real.cov, 2, 9)
        );
        // Other digits, or retrained weights: fit afresh.
        let other_digits = Provenance::of(&weights, &digits(9)).unwrap();
        assert!(load(&path, &other_digits).unwrap().is_none());
        std::fs::write(&weights, b"retrained").unwrap();
        let retrained = Provenance::of(&weights, &digits(1)).unwrap();
        assert!(load(&path, &retrained).unwrap().is_none());
        // No file: fit afresh; not this format: an error naming the file.
        assert!(load(&dir.join("none.safetensors"), &ours)
            .unwrap()
            .is_none());
        std::fs::write(&path, b"garbage").unwrap();
        let err = load(&path, &ours).unwrap_err().to_string();
        assert!(err.contains("real_features"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
