//! The image-to-image examples as a user runs them: a short `pix2pix_mnist` and
//! `cyclegan_mnist` run write their grids, plot, CSV and checkpoint; `--translate` turns a
//! user's picture (colour, not square, dark on light) or a folder of them into digits; an
//! unreadable picture, another trainer's checkpoint, a direction that is not one and a resume
//! with other settings are refused with the reason. Networks of width 2 to 4 keep it quick.
//!
//! The example binaries are the ones `cargo test` builds beside the test binaries.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("counterfeit-i2i-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(name: &str, args: &[&str]) -> (bool, String) {
    common::quiet_runtime_dir();
    let o: Output = Command::new(common::example(name))
        .args(args)
        .output()
        .expect("run");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.success(), text)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A 40×30 colour picture of a dark bar on light paper.
/// The flags of a CycleGAN run of `steps` steps small enough for a test, writing to `out`.
fn tiny_cyclegan<'a>(steps: &'a str, out: &'a Path) -> Vec<&'a str> {
    let mut args = vec![
        "--steps", steps, "--batch", "2", "--width", "2", "--blocks", "1",
    ];
    args.extend(["--sample-every", "0", "--no-eval", "--out", s(out)]);
    args
}

fn picture(path: &Path) {
    let mut img = image::RgbImage::from_pixel(40, 30, image::Rgb([250, 245, 230]));
    for y in 5..25 {
        for x in 18..22 {
            img.put_pixel(x, y, image::Rgb([20, 20, 60]));
        }
    }
    img.save(path).unwrap();
}

fn is_digit_png(path: &Path) {
    let img = image::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!((img.width(), img.height()), (28, 28), "{}", path.display());
}

#[test]
fn pix2pix_trains_translates_pictures_and_refuses_mistakes() {
    let dir = scratch("pix2pix");
    let out = dir.join("run");
    let short = [
        "--steps",
        "3",
        "--batch",
        "4",
        "--width",
        "4",
        "--sample-every",
        "0",
        "--no-eval",
        "--task",
        "superres",
        "--out",
        s(&out),
    ];
    let (ok, text) = run("pix2pix_mnist", &short);
    assert!(ok, "{text}");
    for f in [
        "translations_final.png",
        "losses.png",
        "metrics.csv",
        "checkpoint.safetensors",
    ] {
        assert!(out.join(f).exists(), "{f} missing: {text}");
    }
    let csv = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    assert!(csv.starts_with("step,d_loss,g_adversarial,l1,"), "{csv}");
    let ckpt = out.join("checkpoint.safetensors");

    // One picture, then a folder of two.
    let one = dir.join("bar.png");
    picture(&one);
    let made = dir.join("made.png");
    let (ok, text) = run(
        "pix2pix_mnist",
        &[
            "--translate",
            s(&one),
            "--ckpt",
            s(&ckpt),
            "--out",
            s(&made),
        ],
    );
    assert!(ok, "{text}");
    is_digit_png(&made);
    let folder = dir.join("pictures");
    std::fs::create_dir_all(&folder).unwrap();
    picture(&folder.join("a.png"));
    picture(&folder.join("b.PNG"));
    std::fs::write(folder.join("notes.txt"), "not a picture").unwrap();
    let made_folder = dir.join("made");
    let args = [
        "--translate",
        s(&folder),
        "--ckpt",
        s(&ckpt),
        "--out",
        s(&made_folder),
    ];
    let (ok, text) = run("pix2pix_mnist", &args);
    assert!(ok, "{text}");
    is_digit_png(&made_folder.join("a.png"));
    is_digit_png(&made_folder.join("b.PNG"));
    assert!(!made_folder.join("notes.txt").exists());

    // Mistakes.
    let broken = dir.join("broken.png");
    std::fs::write(&broken, b"not a png").unwrap();
    let (ok, text) = run(
        "pix2pix_mnist",
        &[
            "--translate",
            s(&broken),
            "--ckpt",
            s(&ckpt),
            "--out",
            s(&made),
        ],
    );
    assert!(
        !ok && text.contains("broken.png") && text.contains("not a picture"),
        "{text}"
    );
    let (ok, text) = run(
        "pix2pix_mnist",
        &["--translate", s(&one), "--ckpt", s(&ckpt)],
    );
    assert!(!ok && text.contains("--out"), "{text}");
    let (ok, text) = run("pix2pix_mnist", &["--task", "colour"]);
    assert!(!ok && text.contains("--task colour"), "{text}");
    let mut other = short.to_vec();
    other[5] = "8"; // --width 8
    other[1] = "5";
    other.extend(["--resume", s(&ckpt)]);
    let (ok, text) = run("pix2pix_mnist", &other);
    assert!(
        !ok && text.contains("--width 4") && text.contains("--width 8"),
        "{text}"
    );

    // A CycleGAN checkpoint is not a pix2pix one, and the other way round.
    let cycle = dir.join("cycle");
    let (ok, text) = run("cyclegan_mnist", &tiny_cyclegan("2", &cycle));
    assert!(ok, "{text}");
    let cycle_ckpt = cycle.join("checkpoint.safetensors");
    let (ok, text) = run(
        "pix2pix_mnist",
        &[
            "--translate",
            s(&one),
            "--ckpt",
            s(&cycle_ckpt),
            "--out",
            s(&made),
        ],
    );
    assert!(
        !ok && text.contains("not a pix2pix checkpoint") && text.contains("cyclegan/thin_thick"),
        "{text}"
    );
    let (ok, text) = run(
        "cyclegan_mnist",
        &[
            "--translate",
            s(&one),
            "--to",
            "thick",
            "--ckpt",
            s(&ckpt),
            "--out",
            s(&made),
        ],
    );
    assert!(
        !ok && text.contains("not a cyclegan checkpoint") && text.contains("pix2pix/superres"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn cyclegan_trains_and_translates_both_ways() {
    let dir = scratch("cyclegan");
    let out = dir.join("run");
    let (ok, text) = run("cyclegan_mnist", &tiny_cyclegan("2", &out));
    assert!(ok, "{text}");
    for f in [
        "translations_final.png",
        "losses.png",
        "metrics.csv",
        "checkpoint.safetensors",
    ] {
        assert!(out.join(f).exists(), "{f} missing: {text}");
    }
    let csv = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    assert!(csv.starts_with("step,d_a_loss,d_b_loss,"), "{csv}");
    let ckpt = out.join("checkpoint.safetensors");
    let one = dir.join("bar.png");
    picture(&one);
    for to in ["thick", "thin"] {
        let made = dir.join(format!("{to}.png"));
        let (ok, text) = run(
            "cyclegan_mnist",
            &[
                "--translate",
                s(&one),
                "--to",
                to,
                "--ckpt",
                s(&ckpt),
                "--out",
                s(&made),
            ],
        );
        // The run kept moving averages (the default), so they translate.
        let average = if to == "thick" {
            "G_AB_ema"
        } else {
            "G_BA_ema"
        };
        assert!(ok && text.contains(to) && text.contains(average), "{text}");
        is_digit_png(&made);
    }
    // A run without averages cannot continue as one with them, nor the other way round.
    let mut more = tiny_cyclegan("3", &out);
    more.extend(["--resume", s(&ckpt), "--no-g-ema"]);
    let (ok, text) = run("cyclegan_mnist", &more);
    assert!(!ok && text.contains("--g-ema"), "{text}");
    more.pop();
    more.extend(["--g-ema", "1"]);
    let (ok, text) = run("cyclegan_mnist", &more);
    assert!(
        !ok && text.contains("--g-ema 1") && text.contains("(0, 1)"),
        "{text}"
    );
    let made = dir.join("x.png");
    let (ok, text) = run(
        "cyclegan_mnist",
        &[
            "--translate",
            s(&one),
            "--to",
            "sideways",
            "--ckpt",
            s(&ckpt),
            "--out",
            s(&made),
        ],
    );
    assert!(
        !ok && text.contains("--to sideways") && text.contains("thick or thin"),
        "{text}"
    );
    let (ok, text) = run(
        "cyclegan_mnist",
        &[
            "--translate",
            s(&one),
            "--ckpt",
            s(&ckpt),
            "--out",
            s(&made),
        ],
    );
    assert!(!ok && text.contains("--to"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}
