//! The README's library example, whole: train dcgan28 on the bundled digits, save a
//! checkpoint and a grid of samples. `cargo run --release --example library -- 300` runs 300
//! steps (1000 without a number).

use counterfeit::io::grid::save_grid;
use counterfeit::{Dataset, Gpu, Init, Sequential, Trainer, TrainerConfig};

fn main() -> counterfeit::Result<()> {
    let steps: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let gpu = Gpu::new()?; // or Gpu::from_device(device, queue, info) inside your wgpu program
    let g = Sequential::new([100])
        .init(Init::Normal(0.02))
        .linear_no_bias(256 * 7 * 7)
        .reshape([256, 7, 7])
        .batch_norm()
        .relu()
        .conv_transpose(128, 4, 2, 1)
        .batch_norm()
        .relu()
        .conv_transpose(1, 4, 2, 1)
        .tanh();
    let d = Sequential::new([1, 28, 28])
        .init(Init::Normal(0.02))
        .conv(64, 4, 2, 1)
        .leaky_relu(0.2)
        .conv(128, 4, 2, 1)
        .batch_norm()
        .leaky_relu(0.2)
        .flatten()
        .linear(1);
    let data = Dataset::mnist(&gpu, None, (-1.0, 1.0))?; // the bundled 10,000 digits, uploaded once
    let mut gan = Trainer::new(&gpu, g, d, &data, TrainerConfig::default())?;
    while gan.steps() < steps {
        gan.step()?; // one submission; Err(Diverged { step, .. }) on a NaN or Inf
    }
    gan.flush()?; // wait for the GPU and collect every step's metrics
    println!("{:?}", gan.metrics()); // D and G loss, D(x), D(G(z))
    gan.save("run/ckpt.safetensors".as_ref())?; // G, D, Adam state, step counter; makes run/

    // samples() reads the fixed-z samples back to the CPU, [64, 1, 28, 28] in (-1, 1);
    // generate() makes the same samples and leaves them on the GPU (.buffer() for your passes).
    let samples = gan.samples()?;
    save_grid(
        "run/samples.png".as_ref(),
        &samples,
        64,
        28,
        28,
        8,
        (-1.0, 1.0),
    )?;
    println!("wrote run/ckpt.safetensors and run/samples.png");
    Ok(())
}
