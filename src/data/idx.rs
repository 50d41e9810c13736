//! IDX files, the format of MNIST and Fashion-MNIST: a big-endian header, then raw `u8` data.
//!
//! Files may be raw or gzip-compressed; compression is detected from the gzip magic bytes
//! (`1f 8b`), not from the file name, because renamed or pre-decompressed copies are common.
//! Every check turns a bad file into an [`Error::Data`] that says what was expected and what
//! was found, instead of a panic or a silently wrong training set.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Magic number of an unsigned-byte, 3-dimensional IDX file (images).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an unsigned-byte, 1-dimensional IDX file (labels).
pub const LABELS_MAGIC: u32 = 0x0000_0801;
/// Largest accepted image side; real data sets are far smaller, so anything bigger is corruption.
pub const MAX_SIDE: usize = 4096;
/// Largest accepted file or payload (2 GiB): guards against gzip bombs and absurd headers.
pub const MAX_BYTES: usize = 1 << 31;

const IMAGES_HEADER: usize = 16;
const LABELS_HEADER: usize = 8;
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// File names [`load_dir`] tries, in order of preference: (images, labels) stems, each also
/// tried with `.gz`. The first pair is how MNIST and Fashion-MNIST ship; the second is the
/// bundled 10k subset.
const DIR_NAMES: [(&str, &str); 2] = [
    ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    ("mnist-10k-images-idx3-ubyte", "mnist-10k-labels-idx1-ubyte"),
];

/// A stack of single-channel `u8` images, row-major, image after image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Images {
    /// Number of images.
    pub count: usize,
    /// Rows of each image.
    pub rows: usize,
    /// Columns of each image.
    pub cols: usize,
    /// Every image's bytes, row-major, one after another.
    pub pixels: Vec<u8>,
}

impl Images {
    /// Pixels in one image (`rows * cols`).
    pub fn image_len(&self) -> usize {
        self.rows * self.cols
    }

    /// The pixels of image `i`. Panics if `i >= count`.
    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.image_len();
        &self.pixels[i * n..(i + 1) * n]
    }

    /// All pixels mapped linearly from `0..=255` to `lo..=hi`, e.g. `(-1.0, 1.0)` to match a
    /// tanh generator; this is the layout the GPU upload expects.
    pub fn to_f32(&self, lo: f32, hi: f32) -> Vec<f32> {
        let scale = (hi - lo) / 255.0;
        self.pixels.iter().map(|&p| lo + p as f32 * scale).collect()
    }
}

/// Images with one label per image, as a training set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Digits {
    /// The images.
    pub images: Images,
    /// One label (0–9) per image.
    pub labels: Vec<u8>,
}

impl Digits {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there are no samples (never the case for a loaded set).
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The first `at` samples and the rest, e.g. a fixed train part and a held-out part.
    pub fn split(&self, at: usize) -> Result<(Digits, Digits)> {
        if at == 0 || at >= self.len() {
            return Err(Error::Config(format!(
                "cannot split {} samples at {at}: both parts need at least one",
                self.len()
            )));
        }
        let n = self.images.image_len();
        let part = |range: std::ops::Range<usize>| Digits {
            images: Images {
                count: range.len(),
                rows: self.images.rows,
                cols: self.images.cols,
                pixels: self.images.pixels[range.start * n..range.end * n].to_vec(),
            },
            labels: self.labels[range].to_vec(),
        };
        Ok((part(0..at), part(at..self.len())))
    }

    /// The samples at `indices`, in that order. Panics on an index past the end.
    pub fn select(&self, indices: &[usize]) -> Digits {
        let mut pixels = Vec::with_capacity(indices.len() * self.images.image_len());
        for &i in indices {
            pixels.extend_from_slice(self.images.image(i));
        }
        Digits {
            images: Images {
                count: indices.len(),
                rows: self.images.rows,
                cols: self.images.cols,
                pixels,
            },
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
        }
    }

    /// Only the samples labelled `d`, in their original order. Training on one class makes a
    /// small GAN converge fast enough for demos and tests.
    pub fn only_digit(&self, d: u8) -> Result<Digits> {
        if d > 9 {
            return Err(Error::Config(format!(
                "digit {d} is out of range: expected 0..=9"
            )));
        }
        let n = self.images.image_len();
        let mut pixels = Vec::new();
        let mut labels = Vec::new();
        for (i, &label) in self.labels.iter().enumerate() {
            if label == d {
                pixels.extend_from_slice(&self.images.pixels[i * n..(i + 1) * n]);
                labels.push(label);
            }
        }
        if labels.is_empty() {
            let mut present: Vec<u8> = self.labels.clone();
            present.sort_unstable();
            present.dedup();
            return Err(Error::Config(format!(
                "no sample has label {d}; the {} samples have labels {present:?}",
                self.labels.len()
            )));
        }
        Ok(Digits {
            images: Images {
                count: labels.len(),
                rows: self.images.rows,
                cols: self.images.cols,
                pixels,
            },
            labels,
        })
    }
}

fn data_err(path: &Path, message: impl Into<String>) -> Error {
    Error::Data {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

fn be_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

fn check_magic(bytes: &[u8], path: &Path, expected: u32, what: &str) -> Result<()> {
    let found = be_u32(bytes, 0);
    if found == expected {
        return Ok(());
    }
    let hint = match found {
        IMAGES_MAGIC => " (this is an IDX images file)",
        LABELS_MAGIC => " (this is an IDX labels file)",
        _ if bytes[..2] == GZIP_MAGIC => " (gzip data inside gzip data?)",
        _ => "",
    };
    Err(data_err(
        path,
        format!("not an IDX {what} file: magic number is 0x{found:08x}{hint}, expected 0x{expected:08x}"),
    ))
}

/// Checks that exactly `header + payload` bytes are present.
fn check_length(
    bytes: &[u8],
    path: &Path,
    header: usize,
    payload: usize,
    what: &str,
) -> Result<()> {
    let expected = header + payload;
    if bytes.len() < expected {
        return Err(data_err(
            path,
            format!(
                "truncated IDX {what} data: header promises {payload} data bytes ({expected} bytes \
                 with the header) but only {} are present",
                bytes.len()
            ),
        ));
    }
    if bytes.len() > expected {
        return Err(data_err(
            path,
            format!(
                "IDX {what} file is too long: expected {expected} bytes ({header}-byte header + \
                 {payload} data bytes) but {} are present",
                bytes.len()
            ),
        ));
    }
    Ok(())
}

/// Parses a decompressed IDX images file; `path` is only used in error messages.
pub fn parse_images(bytes: &[u8], path: &Path) -> Result<Images> {
    if bytes.len() < IMAGES_HEADER {
        return Err(data_err(
            path,
            format!(
                "truncated IDX images header: expected {IMAGES_HEADER} bytes, found {}",
                bytes.len()
            ),
        ));
    }
    check_magic(bytes, path, IMAGES_MAGIC, "images")?;
    let count = be_u32(bytes, 4) as usize;
    let rows = be_u32(bytes, 8) as usize;
    let cols = be_u32(bytes, 12) as usize;
    if count == 0 {
        return Err(data_err(path, "IDX images file holds zero images"));
    }
    if rows == 0 || cols == 0 || rows > MAX_SIDE || cols > MAX_SIDE {
        return Err(data_err(
            path,
            format!("image size {rows}x{cols} is out of range: each side must be 1..={MAX_SIDE}"),
        ));
    }
    let payload = count
        .checked_mul(rows * cols)
        .filter(|&n| n <= MAX_BYTES)
        .ok_or_else(|| {
            data_err(
                path,
                format!(
                    "{count} images of {rows}x{cols} would need {} bytes, more than the {MAX_BYTES} \
                     bytes allowed",
                    count as u128 * (rows * cols) as u128
                ),
            )
        })?;
    check_length(bytes, path, IMAGES_HEADER, payload, "images")?;
    Ok(Images {
        count,
        rows,
        cols,
        pixels: bytes[IMAGES_HEADER..].to_vec(),
    })
}

/// Parses a decompressed IDX labels file; `path` is only used in error messages.
pub fn parse_labels(bytes: &[u8], path: &Path) -> Result<Vec<u8>> {
    if bytes.len() < LABELS_HEADER {
        return Err(data_err(
            path,
            format!(
                "truncated IDX labels header: expected {LABELS_HEADER} bytes, found {}",
                bytes.len()
            ),
        ));
    }
    check_magic(bytes, path, LABELS_MAGIC, "labels")?;
    let count = be_u32(bytes, 4) as usize;
    if count == 0 {
        return Err(data_err(path, "IDX labels file holds zero labels"));
    }
    if count > MAX_BYTES {
        return Err(data_err(
            path,
            format!("{count} labels is more than the {MAX_BYTES} allowed"),
        ));
    }
    check_length(bytes, path, LABELS_HEADER, count, "labels")?;
    Ok(bytes[LABELS_HEADER..].to_vec())
}

/// Reads a file, transparently decompressing gzip, refusing anything over [`MAX_BYTES`].
fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut raw = Vec::new();
    file.take(MAX_BYTES as u64 + 1)
        .read_to_end(&mut raw)
        .map_err(|e| Error::io(path, e))?;
    if raw.len() > MAX_BYTES {
        return Err(data_err(
            path,
            format!("file is larger than {MAX_BYTES} bytes"),
        ));
    }
    if !raw.starts_with(&GZIP_MAGIC) {
        return Ok(raw);
    }
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(raw.as_slice())
        .take(MAX_BYTES as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| data_err(path, format!("corrupt or truncated gzip data: {e}")))?;
    if out.len() > MAX_BYTES {
        return Err(data_err(
            path,
            format!("gzip data decompresses to more than {MAX_BYTES} bytes"),
        ));
    }
    Ok(out)
}

/// Reads an IDX images file, raw or gzip-compressed.
pub fn read_images(path: &Path) -> Result<Images> {
    parse_images(&read_maybe_gz(path)?, path)
}

/// Reads an IDX labels file, raw or gzip-compressed.
pub fn read_labels(path: &Path) -> Result<Vec<u8>> {
    parse_labels(&read_maybe_gz(path)?, path)
}

/// `dir/stem` or `dir/stem.gz`, whichever exists first.
fn find(dir: &Path, stem: &str) -> Option<PathBuf> {
    [stem.to_string(), format!("{stem}.gz")]
        .iter()
        .map(|name| dir.join(name))
        .find(|p| p.is_file())
}

/// Loads images and labels from a directory laid out as MNIST / Fashion-MNIST ship
/// (`train-images-idx3-ubyte[.gz]`, `train-labels-idx1-ubyte[.gz]`) or as the bundled subset
/// (`mnist-10k-images-idx3-ubyte[.gz]`, `mnist-10k-labels-idx1-ubyte[.gz]`).
pub fn load_dir(dir: &Path) -> Result<Digits> {
    for (images_stem, labels_stem) in DIR_NAMES {
        let (images_path, labels_path) = match (find(dir, images_stem), find(dir, labels_stem)) {
            (None, None) => continue,
            (Some(i), Some(l)) => (i, l),
            (Some(_), None) => {
                return Err(data_err(
                    dir,
                    format!("found {images_stem}[.gz] but not its labels {labels_stem}[.gz]"),
                ))
            }
            (None, Some(_)) => {
                return Err(data_err(
                    dir,
                    format!("found {labels_stem}[.gz] but not its images {images_stem}[.gz]"),
                ))
            }
        };
        let images = read_images(&images_path)?;
        let labels = read_labels(&labels_path)?;
        if labels.len() != images.count {
            return Err(data_err(
                &labels_path,
                format!(
                    "holds {} labels but {} holds {} images; the counts must match",
                    labels.len(),
                    images_path.display(),
                    images.count
                ),
            ));
        }
        return Ok(Digits { images, labels });
    }
    let looked_for: Vec<String> = DIR_NAMES
        .iter()
        .map(|(i, l)| format!("{i}[.gz] + {l}[.gz]"))
        .collect();
    let state = if dir.is_dir() {
        "no IDX data set found in this directory"
    } else {
        "directory does not exist"
    };
    Err(data_err(
        dir,
        format!("{state}; looked for {}", looked_for.join(" or ")),
    ))
}

/// MNIST's test set from a directory: `t10k-images-idx3-ubyte[.gz]` and
/// `t10k-labels-idx1-ubyte[.gz]`.
pub fn load_test_dir(dir: &Path) -> Result<Digits> {
    let (stem_i, stem_l) = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte");
    let (Some(images_path), Some(labels_path)) = (find(dir, stem_i), find(dir, stem_l)) else {
        return Err(data_err(
            dir,
            format!("looked for the test set {stem_i}[.gz] + {stem_l}[.gz]"),
        ));
    };
    let images = read_images(&images_path)?;
    let labels = read_labels(&labels_path)?;
    if labels.len() != images.count {
        return Err(data_err(
            &labels_path,
            format!("{} labels for {} test images", labels.len(), images.count),
        ));
    }
    Ok(Digits { images, labels })
}

/// The 10,000 MNIST digits shipped in the repository's `data/mnist`, so examples and tests
/// run from a checkout without a download.
pub fn bundled() -> Result<Digits> {
    load_dir(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/mnist"
    )))
}

#[cfg(test)]
mod tests;
