//! The web demo's Rust side: GANs training in a browser tab on the page's WebGPU adapter.
//! `web/index.html` drives it through wasm-bindgen; nothing here blocks, every readback is a
//! promise the page awaits.

use std::cell::RefCell;
use std::io::Read;
use std::path::Path;
use std::rc::Rc;

use counterfeit::data::idx;
use counterfeit::gan::conditional::{dcgan28_generator, generate_async};
use counterfeit::gan::dcgan::{Arch, NZ};
use counterfeit::gan::slanted_land as sl;
use counterfeit::gan::{noise, EMA_NETWORK};
use counterfeit::io::checkpoint::Checkpoint;
use counterfeit::{Dataset, Gpu, Network, Noise, Trainer, TrainerConfig};
use js_sys::{Float32Array, Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

/// The bundled digits, compiled into the module so the page needs no file system.
const DIGITS_GZ: &[u8] = include_bytes!("../../data/mnist/mnist-10k-images-idx3-ubyte.gz");

fn js_error(e: impl std::fmt::Display) -> JsValue {
    JsError::new(&e.to_string()).into()
}

/// A call made while an earlier one on the same training is still running.
fn busy() -> JsValue {
    js_error("the previous call on this training has not finished: await it first")
}

/// A GAN training in the tab: the page calls `train` for a few steps at a time and draws
/// what `samples` and `losses` return between calls.
#[wasm_bindgen]
pub struct Training {
    gpu: Gpu,
    gan: Rc<RefCell<Trainer>>,
}

/// Opens the page's WebGPU device and starts the first lesson's GAN: 2×2 "faces" (a dark
/// backslash), a one-layer G and D, plain SGD.
#[wasm_bindgen]
pub async fn slanted_land(seed: u32) -> Result<Training, JsValue> {
    let gpu = Gpu::new_async().await.map_err(js_error)?;
    let seed = u64::from(seed);
    let data = Dataset::from_bytes(&gpu, &sl::faces(64, seed), 64, &[sl::PIXELS], (0.0, 1.0))
        .map_err(js_error)?;
    let gan = Trainer::new(
        &gpu,
        sl::generator(),
        sl::discriminator(),
        &data,
        sl::config(seed),
    )
    .map_err(js_error)?;
    Ok(Training::new(gpu, gan))
}

/// Opens the page's WebGPU device and starts `dcgan_mnist --recipe dcgan` (dcgan28, Adam 2e-4,
/// β1 0.5; its batch of 64 or another `batch`) on the first `digits` bundled digits.
#[wasm_bindgen]
pub async fn dcgan(digits: usize, batch: usize, seed: u32) -> Result<Training, JsValue> {
    let gpu = Gpu::new_async().await.map_err(js_error)?;
    let mut raw = Vec::new();
    flate2::read::MultiGzDecoder::new(DIGITS_GZ)
        .read_to_end(&mut raw)
        .map_err(js_error)?;
    let images = idx::parse_images(&raw, Path::new("bundled digits")).map_err(js_error)?;
    let count = digits.clamp(1, images.count);
    let side = images.rows * images.cols;
    let data = Dataset::from_bytes(
        &gpu,
        &images.pixels[..count * side],
        count,
        &[1, images.rows, images.cols],
        (-1.0, 1.0),
    )
    .map_err(js_error)?;
    let config = TrainerConfig {
        batch,
        seed: u64::from(seed),
        sample_count: 16,
        readback_every: 1,
        ..TrainerConfig::dcgan()
    };
    let gan = Trainer::new(
        &gpu,
        Arch::Dcgan28.generator(),
        Arch::Dcgan28.discriminator(),
        &data,
        config,
    )
    .map_err(js_error)?;
    Ok(Training::new(gpu, gan))
}

#[wasm_bindgen]
impl Training {
    fn new(gpu: Gpu, gan: Trainer) -> Training {
        Training {
            gpu,
            gan: Rc::new(RefCell::new(gan)),
        }
    }

    /// The adapter the page's WebGPU gave us, as the browser names it.
    pub fn adapter(&self) -> String {
        self.gpu.describe()
    }

    /// Runs `steps` training iterations, letting the page's event loop complete the metric
    /// readbacks as it goes; resolves when their losses have arrived.
    // The trainer stays borrowed across the awaits: a call made before this one resolved is
    // refused by `try_borrow_mut` instead of interleaving with it.
    #[allow(clippy::await_holding_refcell_ref)]
    pub fn train(&self, steps: u32) -> Promise {
        let gan = self.gan.clone();
        future_to_promise(async move {
            let mut gan = gan.try_borrow_mut().map_err(|_| busy())?;
            let every = gan.config().readback_every as u64;
            for _ in 0..steps {
                gan.step().map_err(js_error)?;
                if gan.steps().is_multiple_of(every) {
                    gan.flush_async().await.map_err(js_error)?;
                }
            }
            gan.flush_async().await.map_err(js_error)?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Resolves to the generator's images from its fixed latent vectors, one after another.
    #[allow(clippy::await_holding_refcell_ref)] // as in `train`
    pub fn samples(&self) -> Promise {
        let gan = self.gan.clone();
        future_to_promise(async move {
            let gan = gan.try_borrow().map_err(|_| busy())?;
            let images = gan.samples_async().await.map_err(js_error)?;
            Ok(Float32Array::from(&images[..]).into())
        })
    }

    /// Iterations done (0 while a call is running).
    pub fn steps(&self) -> u32 {
        self.gan.try_borrow().map_or(0, |g| g.steps() as u32)
    }

    /// Every logged step as (step, D's loss, G's loss, mean D(x), mean D(G(z))), flat (empty
    /// while a call is running).
    pub fn losses(&self) -> Float32Array {
        let rows: Vec<f32> = match self.gan.try_borrow() {
            Ok(gan) => gan
                .history()
                .iter()
                .flat_map(|m| [m.step as f32, m.d_loss, m.g_loss, m.d_real, m.d_fake])
                .collect(),
            Err(_) => Vec::new(),
        };
        Float32Array::from(&rows[..])
    }
}

/// The digits a conditional generator knows.
const CLASSES: usize = 10;

/// A conditional generator trained natively (`cgan_mnist`), drawing the digit it is asked for.
#[wasm_bindgen]
pub struct DigitDrawer {
    gpu: Gpu,
    g: Rc<Network>,
}

/// Opens the page's WebGPU device and loads the conditional dcgan28 generator from the
/// bytes of a weights file (`models/cgan_generator.safetensors`, network "G"; a full
/// checkpoint's moving average `G_ema` is taken when it has one).
#[wasm_bindgen]
pub async fn digit_drawer(weights: Vec<u8>) -> Result<DigitDrawer, JsValue> {
    let gpu = Gpu::new_async().await.map_err(js_error)?;
    let file = Checkpoint::from_bytes(weights, Path::new("cgan_generator.safetensors"))
        .map_err(js_error)?;
    let g = Network::new(&gpu, "G", dcgan28_generator(CLASSES), 0).map_err(js_error)?;
    let name = if file.has_network(EMA_NETWORK).map_err(js_error)? {
        EMA_NETWORK
    } else {
        "G"
    };
    file.load_network(&gpu, name, &g, false).map_err(js_error)?;
    Ok(DigitDrawer { gpu, g: Rc::new(g) })
}

#[wasm_bindgen]
impl DigitDrawer {
    /// The adapter the page's WebGPU gave us.
    pub fn adapter(&self) -> String {
        self.gpu.describe()
    }

    /// Resolves to `count` 28×28 images of `digit` (values in (−1, 1), white ink on black),
    /// one after another. Their latent vectors lie a quarter turn `walk` (0 to 1) along the
    /// great circle from seed `seed`'s normal draws to seed `seed + 1`'s, so a slider walks
    /// the latent space and a new seed gives new styles.
    pub fn draw(&self, digit: u32, seed: u32, walk: f32, count: usize) -> Promise {
        let (gpu, g) = (self.gpu.clone(), self.g.clone());
        future_to_promise(async move {
            if digit as usize >= CLASSES {
                return Err(js_error(format!("{digit} is not a digit")));
            }
            let count = count.max(1);
            let z = walk_latent(seed, walk, count * NZ);
            let labels = vec![digit; count];
            let images = generate_async(&gpu, &g, CLASSES, &z, &labels, count)
                .await
                .map_err(js_error)?;
            Ok(Float32Array::from(&images[..]).into())
        })
    }
}

/// cos(π/2·t)·z₀ + sin(π/2·t)·z₁ for the normal draws z₀, z₁ of seeds `seed` and `seed + 1`:
/// the sum of two independent normals with those weights is again standard normal, so every
/// point of the walk is a latent vector G was trained on.
fn walk_latent(seed: u32, t: f32, len: usize) -> Vec<f32> {
    let angle = std::f32::consts::FRAC_PI_2 * t.clamp(0.0, 1.0);
    let z0 = noise(Noise::Normal, len, u64::from(seed));
    let z1 = noise(Noise::Normal, len, u64::from(seed) + 1);
    z0.iter()
        .zip(&z1)
        .map(|(a, b)| angle.cos() * a + angle.sin() * b)
        .collect()
}

/// `count` training faces of slanted land as bytes (0 white, 255 black), 4 per image.
#[wasm_bindgen]
pub fn slanted_faces(count: usize, seed: u32) -> Uint8Array {
    Uint8Array::from(&sl::faces(count, u64::from(seed))[..])
}

/// `count` noise images: what a GAN that learned nothing would draw.
#[wasm_bindgen]
pub fn slanted_noise(count: usize, seed: u32) -> Float32Array {
    Float32Array::from(&sl::noise_images(count, u64::from(seed))[..])
}
