//! counterfeit as the GAN backend of another wgpu program: the host creates its own device,
//! hands it to counterfeit, trains a small generator, and then reads the generator's output
//! buffer directly in a compute pass of its own (no copy through the CPU) that paints the
//! samples into an RGBA image with a colour map. Only the finished picture is read back.
//!
//!     cargo run --release --example embed_wgpu -- --steps 1000 --out out/embed.png

use std::path::PathBuf;

use clap::Parser;
use counterfeit::{Dataset, Gpu, Optimizer, Sequential, Trainer, TrainerConfig};
use wgpu::util::DeviceExt;

#[derive(Parser)]
#[command(
    about = "Embed counterfeit in a host wgpu program and render its samples with the host's own shader"
)]
struct Args {
    /// Training steps of the small MLP GAN (batch 64); about half a minute on an adapter that
    /// runs shaders on the CPU.
    #[arg(long, default_value_t = 1000)]
    steps: usize,
    /// Output PNG.
    #[arg(long, default_value = "out/embed_wgpu.png")]
    out: PathBuf,
}

/// Below this fraction of the real digits' mean distance the samples are called alike: a
/// collapsed G's 64 blobs measure about 15%, a thousand steps of this recipe about 70%.
const MIN_DIVERSITY: f32 = 0.3;

/// The host's shader: sample s, pixel (y, x) of an 8×8 grid of 28×28 images → RGBA8.
const PAINT: &str = r#"
@group(0) @binding(0) var<storage, read> samples: array<f32>;
@group(0) @binding(1) var<storage, read_write> image: array<u32>;

@compute @workgroup_size(64)
fn paint(@builtin(global_invocation_id) id: vec3<u32>) {
    let side = 8u * 28u;
    if (id.x >= side * side) { return; }
    let y = id.x / side;
    let x = id.x % side;
    let s = (y / 28u) * 8u + x / 28u;
    let v = clamp(samples[s * 784u + (y % 28u) * 28u + (x % 28u)], 0.0, 1.0);
    // A warm colour map: black → red → yellow → white.
    let r = u32(clamp(v * 3.0, 0.0, 1.0) * 255.0);
    let g = u32(clamp(v * 3.0 - 1.0, 0.0, 1.0) * 255.0);
    let b = u32(clamp(v * 3.0 - 2.0, 0.0, 1.0) * 255.0);
    image[id.x] = r | (g << 8u) | (b << 16u) | (255u << 24u);
}
"#;

fn main() {
    if let Err(e) = run(Args::parse()) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    if args.steps == 0 {
        return Err(
            "--steps 0: must be at least 1 (a run of no steps would overwrite the picture)".into(),
        );
    }
    // The host program's own device.
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let adapter =
        pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions::default()))?;
    let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
        label: Some("host"),
        required_limits: adapter.limits(),
        ..Default::default()
    }))?;
    println!(
        "host adapter: {} ({:?})",
        adapter.get_info().name,
        adapter.get_info().backend
    );

    // counterfeit on the same device and queue.
    let gpu = Gpu::from_device(device.clone(), queue.clone(), adapter.get_info());
    // A small MLP GAN that draws varied digits within a thousand steps: batch norm in G
    // keeps its 64 samples from collapsing onto one blob early on, and Adam at 5e-4 (β₁ 0.5)
    // learns in fewer steps than DCGAN's 2e-4.
    let g = Sequential::new([64])
        .linear(256)
        .batch_norm()
        .relu()
        .linear(784)
        .sigmoid();
    let d = Sequential::new([784]).linear(256).leaky_relu(0.2).linear(1);
    let data = Dataset::mnist(&gpu, None, (0.0, 1.0))?;
    let adam = Optimizer::Adam {
        lr: 5e-4,
        beta1: 0.5,
        beta2: 0.999,
        eps: 1e-8,
    };
    let config = TrainerConfig {
        sample_count: 64,
        g_optimizer: adam,
        d_optimizer: adam,
        ..TrainerConfig::dcgan()
    };
    let mut gan = Trainer::new(&gpu, g, d, &data, config)?;
    for _ in 0..args.steps {
        gan.step()?;
    }
    gan.flush()?;
    if let Some(m) = gan.metrics() {
        println!(
            "trained {} steps: D loss {:.3}, G loss {:.3}",
            gan.steps(),
            m.d_loss,
            m.g_loss
        );
    }
    let samples = gan.generate()?; // stays on the GPU

    // The host's pass binds counterfeit's buffer directly.
    let side = 8 * 28;
    let image = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("image"),
        size: (side * side * 4) as u64,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    });
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("paint"),
        source: wgpu::ShaderSource::Wgsl(PAINT.into()),
    });
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some("paint"),
        layout: None,
        module: &module,
        entry_point: Some("paint"),
        compilation_options: Default::default(),
        cache: None,
    });
    let bind = device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("paint"),
        layout: &pipeline.get_bind_group_layout(0),
        entries: &[
            wgpu::BindGroupEntry {
                binding: 0,
                resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                    buffer: samples.buffer(),
                    offset: samples.byte_offset(),
                    size: std::num::NonZeroU64::new(samples.byte_len()),
                }),
            },
            wgpu::BindGroupEntry {
                binding: 1,
                resource: image.as_entire_binding(),
            },
        ],
    });
    let staging = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some("readback"),
        contents: &vec![0u8; side * side * 4],
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
    });
    let mut encoder = device.create_command_encoder(&Default::default());
    {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        pass.set_pipeline(&pipeline);
        pass.set_bind_group(0, &bind, &[]);
        pass.dispatch_workgroups((side * side).div_ceil(64) as u32, 1, 1);
    }
    encoder.copy_buffer_to_buffer(&image, 0, &staging, 0, (side * side * 4) as u64);
    queue.submit([encoder.finish()]);
    staging.slice(..).map_async(wgpu::MapMode::Read, |_| {});
    device.poll(wgpu::PollType::wait_indefinitely())?;
    let rgba = staging.slice(..).get_mapped_range()?.to_vec();
    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    image::save_buffer(
        &args.out,
        &rgba,
        side as u32,
        side as u32,
        image::ExtendedColorType::Rgba8,
    )?;
    println!(
        "wrote {} (rendered by the host's own shader from counterfeit's buffer)",
        args.out.display()
    );

    // A check on the CPU, apart from the rendering: a collapsed G draws 64 copies of one
    // image, real digits differ from each other.
    let fake = gan.samples()?;
    let real = counterfeit::data::idx::bundled()?.images.to_f32(0.0, 1.0);
    let (fake_d, real_d) = (
        mean_pairwise_distance(&fake, 784),
        mean_pairwise_distance(&real[..64 * 784], 784),
    );
    let ratio = fake_d / real_d;
    println!(
        "diversity: mean L2 distance between two of the 64 samples {fake_d:.2}, between two \
         of 64 real digits {real_d:.2} ({:.0}%)",
        100.0 * ratio
    );
    if ratio < MIN_DIVERSITY {
        println!(
            "note: the samples are nearly alike (G has collapsed onto a few images); train \
             longer with --steps"
        );
    }
    Ok(())
}

/// The mean Euclidean distance between two different images of `images` (`len` values each).
fn mean_pairwise_distance(images: &[f32], len: usize) -> f32 {
    let rows: Vec<&[f32]> = images.chunks_exact(len).collect();
    let (mut sum, mut pairs) = (0.0f64, 0usize);
    for (i, a) in rows.iter().enumerate() {
        for b in &rows[i + 1..] {
            let d2: f32 = a.iter().zip(*b).map(|(x, y)| (x - y) * (x - y)).sum();
            sum += d2.sqrt() as f64;
            pairs += 1;
        }
    }
    (sum / pairs.max(1) as f64) as f32
}
