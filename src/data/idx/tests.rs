use super::*;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("counterfeit-idx-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn images_bytes(magic: u32, count: u32, rows: u32, cols: u32, data: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    for v in [magic, count, rows, cols] {
        b.extend_from_slice(&v.to_be_bytes());
    }
    b.extend_from_slice(data);
    b
}

fn labels_bytes(magic: u32, count: u32, data: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&magic.to_be_bytes());
    b.extend_from_slice(&count.to_be_bytes());
    b.extend_from_slice(data);
    b
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// The message of an `Error::Data`, failing the test for any other outcome.
fn data_message<T: std::fmt::Debug>(r: Result<T>) -> String {
    match r {
        Err(Error::Data { message, .. }) => message,
        other => panic!("expected Error::Data, got {other:?}"),
    }
}

fn p() -> &'static Path {
    Path::new("test.idx")
}

#[test]
fn bundled_set_loads() {
    let d = bundled().unwrap();
    assert_eq!(d.images.count, 10_000);
    assert_eq!((d.images.rows, d.images.cols), (28, 28));
    assert_eq!(d.images.pixels.len(), 10_000 * 28 * 28);
    assert_eq!(d.len(), 10_000);
    assert!(d.labels.iter().all(|&l| l < 10));
    assert!(d.images.pixels.contains(&255));

    let ones = d.only_digit(1).unwrap();
    assert_eq!(ones.len(), 1127);
    assert_eq!(ones.images.count, 1127);
    assert_eq!(ones.images.pixels.len(), 1127 * 784);
    assert!(ones.labels.iter().all(|&l| l == 1));
    // The first "1" in the subset is the first image of the filtered set.
    let first = d.labels.iter().position(|&l| l == 1).unwrap();
    assert_eq!(ones.images.image(0), d.images.image(first));
}

#[test]
fn only_digit_rejects_bad_digits() {
    let d = Digits {
        images: parse_images(&images_bytes(IMAGES_MAGIC, 2, 1, 1, &[0, 9]), p()).unwrap(),
        labels: vec![3, 5],
    };
    assert!(matches!(d.only_digit(10), Err(Error::Config(m)) if m.contains("10")));
    assert!(matches!(d.only_digit(4), Err(Error::Config(m)) if m.contains("[3, 5]")));
    let fives = d.only_digit(5).unwrap();
    assert_eq!(fives.images.pixels, vec![9]);
}

#[test]
fn parses_small_files() {
    let img = parse_images(&images_bytes(IMAGES_MAGIC, 2, 2, 3, &[1; 12]), p()).unwrap();
    assert_eq!(
        (img.count, img.rows, img.cols, img.pixels.len()),
        (2, 2, 3, 12)
    );
    let lab = parse_labels(&labels_bytes(LABELS_MAGIC, 3, &[0, 1, 2]), p()).unwrap();
    assert_eq!(lab, vec![0, 1, 2]);
    let f = img.to_f32(-1.0, 1.0);
    assert!((f[0] - (-1.0 + 2.0 / 255.0)).abs() < 1e-6);
}

#[test]
fn wrong_magic() {
    let m = data_message(parse_images(&images_bytes(0x1234, 1, 1, 1, &[0]), p()));
    assert!(m.contains("0x00001234") && m.contains("0x00000803"), "{m}");
    // A labels file passed where images are expected.
    let m = data_message(parse_images(&labels_bytes(LABELS_MAGIC, 8, &[0; 8]), p()));
    assert!(m.contains("0x00000801") && m.contains("labels file"), "{m}");
    let m = data_message(parse_labels(&labels_bytes(IMAGES_MAGIC, 1, &[0]), p()));
    assert!(m.contains("0x00000803") && m.contains("0x00000801"), "{m}");
}

#[test]
fn truncated_header() {
    let m = data_message(parse_images(&[0, 0, 8, 3, 0, 0], p()));
    assert!(
        m.contains("header") && m.contains("expected 16") && m.contains("found 6"),
        "{m}"
    );
    let m = data_message(parse_labels(&[0, 0, 8], p()));
    assert!(m.contains("expected 8") && m.contains("found 3"), "{m}");
}

#[test]
fn truncated_data() {
    let m = data_message(parse_images(
        &images_bytes(IMAGES_MAGIC, 3, 4, 5, &[0; 50]),
        p(),
    ));
    assert!(
        m.contains("truncated") && m.contains("60") && m.contains("66"),
        "{m}"
    );
    let m = data_message(parse_labels(&labels_bytes(LABELS_MAGIC, 10, &[0; 7]), p()));
    assert!(
        m.contains("truncated") && m.contains("10") && m.contains("15"),
        "{m}"
    );
    // Extra bytes are as suspicious as missing ones.
    let m = data_message(parse_labels(&labels_bytes(LABELS_MAGIC, 2, &[0; 3]), p()));
    assert!(m.contains("too long") && m.contains("11"), "{m}");
}

#[test]
fn huge_or_empty_dims() {
    let m = data_message(parse_images(
        &images_bytes(IMAGES_MAGIC, 1, 5000, 28, &[]),
        p(),
    ));
    assert!(m.contains("5000") && m.contains("4096"), "{m}");
    let m = data_message(parse_images(
        &images_bytes(IMAGES_MAGIC, 1, 28, 0, &[]),
        p(),
    ));
    assert!(m.contains("28x0"), "{m}");
    let m = data_message(parse_images(
        &images_bytes(IMAGES_MAGIC, u32::MAX, 4096, 4096, &[]),
        p(),
    ));
    assert!(m.contains("4294967295") && m.contains("2147483648"), "{m}");
    let m = data_message(parse_images(
        &images_bytes(IMAGES_MAGIC, 0, 28, 28, &[]),
        p(),
    ));
    assert!(m.contains("zero"), "{m}");
    let m = data_message(parse_labels(&labels_bytes(LABELS_MAGIC, 0, &[]), p()));
    assert!(m.contains("zero"), "{m}");
}

#[test]
fn gzip_round_trip_and_detection_by_content() {
    let dir = TempDir::new("gz");
    let raw = images_bytes(IMAGES_MAGIC, 2, 2, 2, &[0, 1, 2, 3, 4, 5, 6, 7]);
    // Compressed data under a name without `.gz`, and raw data under a `.gz` name.
    let gz_path = dir.0.join("images.idx");
    std::fs::write(&gz_path, gzip(&raw)).unwrap();
    let raw_path = dir.0.join("images.gz");
    std::fs::write(&raw_path, &raw).unwrap();
    let a = read_images(&gz_path).unwrap();
    let b = read_images(&raw_path).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.pixels, vec![0, 1, 2, 3, 4, 5, 6, 7]);

    let labels_path = dir.0.join("labels.gz");
    std::fs::write(&labels_path, gzip(&labels_bytes(LABELS_MAGIC, 2, &[7, 9]))).unwrap();
    assert_eq!(read_labels(&labels_path).unwrap(), vec![7, 9]);
}

#[test]
fn corrupt_gzip_is_a_data_error() {
    let dir = TempDir::new("badgz");
    let mut bytes = gzip(&images_bytes(IMAGES_MAGIC, 1, 8, 8, &[3; 64]));
    bytes.truncate(bytes.len() / 2);
    let path = dir.0.join("x.gz");
    std::fs::write(&path, &bytes).unwrap();
    let m = data_message(read_images(&path));
    assert!(m.contains("gzip"), "{m}");

    let missing = dir.0.join("missing");
    assert!(matches!(read_images(&missing), Err(Error::Io { .. })));
}

#[test]
fn load_dir_finds_standard_names_and_checks_counts() {
    let dir = TempDir::new("dir");
    let images = images_bytes(IMAGES_MAGIC, 3, 2, 2, &[0; 12]);
    std::fs::write(dir.0.join("train-images-idx3-ubyte.gz"), gzip(&images)).unwrap();

    // Images without labels.
    let m = data_message(load_dir(&dir.0));
    assert!(m.contains("train-labels-idx1-ubyte"), "{m}");

    // Label count that disagrees with the image count.
    std::fs::write(
        dir.0.join("train-labels-idx1-ubyte"),
        labels_bytes(LABELS_MAGIC, 2, &[1, 2]),
    )
    .unwrap();
    let m = data_message(load_dir(&dir.0));
    assert!(m.contains("2 labels") && m.contains("3 images"), "{m}");

    std::fs::write(
        dir.0.join("train-labels-idx1-ubyte"),
        labels_bytes(LABELS_MAGIC, 3, &[1, 2, 1]),
    )
    .unwrap();
    let d = load_dir(&dir.0).unwrap();
    assert_eq!(d.images.count, 3);
    assert_eq!(d.only_digit(1).unwrap().len(), 2);
}

#[test]
fn load_dir_names_what_it_looked_for() {
    let dir = TempDir::new("empty");
    let m = data_message(load_dir(&dir.0));
    assert!(
        m.contains("train-images-idx3-ubyte") && m.contains("mnist-10k-labels-idx1-ubyte"),
        "{m}"
    );
    let gone = dir.0.join("nope");
    let m = data_message(load_dir(&gone));
    assert!(m.contains("does not exist"), "{m}");
    match load_dir(&gone) {
        Err(e) => assert!(e.to_string().contains("nope"), "{e}"),
        Ok(_) => unreachable!(),
    }
}
