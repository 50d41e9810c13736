//! Slanted Land: the first lesson's GAN on 2×2 images. A face is a backslash (dark top-left
//! and bottom-right). Trains a one-layer G and D with plain SGD, prints what they learned and
//! writes pictures.
//!
//!     cargo run --release --example slanted_land -- --steps 2000 --out out/slanted_land

use std::path::PathBuf;

use clap::Parser;
use counterfeit::gan::slanted_land as sl;
use counterfeit::io::{grid, plot};
use counterfeit::{Dataset, Gpu, Trainer};

#[derive(Parser)]
#[command(about = "Train the two-pixel-by-two-pixel face GAN of the first GAN lesson")]
struct Args {
    /// Training steps (batches of 8 faces).
    #[arg(long, default_value_t = 2000)]
    steps: usize,
    /// Seed for the weights, the noise and the data order.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Directory for the pictures.
    #[arg(long, default_value = "out/slanted_land")]
    out: PathBuf,
}

fn main() {
    if let Err(e) = run(Args::parse()) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

/// A 2×2 image as text: '#' dark, '+' mid, '.' light.
fn text(img: &[f32]) -> [String; 2] {
    let c = |v: f32| {
        if v > 0.66 {
            '#'
        } else if v > 0.33 {
            '+'
        } else {
            '.'
        }
    };
    [
        format!("{}{}", c(img[0]), c(img[1])),
        format!("{}{}", c(img[2]), c(img[3])),
    ]
}

fn run(args: Args) -> counterfeit::Result<()> {
    if args.steps == 0 {
        return Err(counterfeit::Error::Config(
            "--steps 0: must be at least 1 (a run of no steps would overwrite the pictures)".into(),
        ));
    }
    let gpu = Gpu::new()?;
    println!("adapter: {}", gpu.describe());
    let faces = sl::faces(64, args.seed);
    let data = Dataset::from_bytes(&gpu, &faces, 64, &[sl::PIXELS], (0.0, 1.0))?;
    let mut gan = Trainer::new(
        &gpu,
        sl::generator(),
        sl::discriminator(),
        &data,
        sl::config(args.seed),
    )?;
    for _ in 0..args.steps {
        gan.step()?;
    }
    gan.flush()?;

    let (gw, gb) = (
        gan.generator().params().read(&gpu, 0)?,
        gan.generator().params().read(&gpu, 1)?,
    );
    let (dw, db) = (
        gan.discriminator().params().read(&gpu, 0)?,
        gan.discriminator().params().read(&gpu, 1)?,
    );
    println!("\nG: pixels = sigmoid(z·w + b)");
    println!("  w = {gw:+.3?}\n  b = {gb:+.3?}");
    println!("D: logit = pixels·w + b");
    println!("  w = {dw:+.3?}\n  b = {db:+.3?}");

    let generated = gan.samples()?;
    let faces = generated
        .chunks(4)
        .filter(|im| sl::is_face(im, 0.3))
        .count();
    println!(
        "\n{faces} of {} generated images are faces:",
        generated.len() / 4
    );
    let shown: Vec<[String; 2]> = generated.chunks(4).take(8).map(text).collect();
    for row in 0..2 {
        println!(
            "  {}",
            shown
                .iter()
                .map(|s| s[row].as_str())
                .collect::<Vec<_>>()
                .join("   ")
        );
    }

    // Pictures: value 1 is black, so draw 1 − v.
    std::fs::create_dir_all(&args.out).map_err(|e| counterfeit::Error::Io {
        path: args.out.clone(),
        source: e,
    })?;
    let real: Vec<f32> = faces_as_f32(&sl::faces(8, args.seed));
    let noise = sl::noise_images(8, args.seed);
    let mut all: Vec<f32> = real;
    all.extend(noise);
    all.extend(generated.iter().take(32).copied());
    let ink: Vec<f32> = all.iter().map(|v| 1.0 - v).collect();
    let pic = args.out.join("faces_noise_generated.png");
    // Faces are black and white to their edges: wide gray gaps show where each one ends.
    grid::save_grid_framed(&pic, &ink, 24, 2, 2, 8, (0.0, 1.0), grid::Frame::WIDE)?;

    // Errors per epoch (64 faces = 8 steps).
    let hist = gan.history();
    let per = 8;
    let epochs: Vec<f32> = (0..hist.len() / per).map(|e| (e + 1) as f32).collect();
    let avg = |f: fn(&counterfeit::StepMetrics) -> f32| -> Vec<f32> {
        hist.chunks(per)
            .take(epochs.len())
            .map(|c| c.iter().map(f).sum::<f32>() / c.len() as f32)
            .collect()
    };
    let (d, g) = (avg(|m| m.d_loss), avg(|m| m.g_loss));
    let plot_path = args.out.join("errors.png");
    plot::save_line_plot(
        &plot_path,
        "Slanted Land: error per epoch",
        "epoch",
        &[
            plot::Series {
                name: "D error",
                values: &d,
                color: [200, 40, 40],
            },
            plot::Series {
                name: "G error",
                values: &g,
                color: [40, 90, 200],
            },
        ],
        &epochs,
    )?;
    println!(
        "\nwrote {} (rows: real faces, noise, generated) and {}",
        pic.display(),
        plot_path.display()
    );
    Ok(())
}

fn faces_as_f32(bytes: &[u8]) -> Vec<f32> {
    bytes.iter().map(|&b| b as f32 / 255.0).collect()
}
