//! The web demo's Rust side: GANs training in a browser tab on the page's WebGPU adapter.
//! `web/index.html` drives it through wasm-bindgen; nothing here blocks, every readback is a
//! promise the page awaits.

use std::cell::RefCell;
use std::io::Read;
use std::path::Path;
use std::rc::Rc;

use counterfeit::data::idx;
use counterfeit::gan::dcgan::Arch;
use counterfeit::gan::slanted_land as sl;
use counterfeit::{Dataset, Gpu, Trainer, TrainerConfig};
use js_sys::{Float32Array, Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

/// The bundled digits, compiled into the module so the page needs no file system.
const DIGITS_GZ: &[u8] = include_bytes!("../../data/mnist/mnist-10k-images-idx3-ubyte.gz");

fn js_error(e: impl std::fmt::Display) -> JsValue {
    JsError::new(&e.to_string()).into()
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

/// Opens the page's WebGPU device and starts `dcgan_mnist`'s recipe (dcgan28, Adam 2e-4,
/// β1 0.5) at batch `batch` on the first `digits` bundled digits.
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
    pub fn train(&self, steps: u32) -> Promise {
        let gan = self.gan.clone();
        future_to_promise(async move {
            let mut gan = gan.borrow_mut();
            let every = gan.config().readback_every as u64;
            for _ in 0..steps {
                gan.step().map_err(js_error)?;
                if gan.steps() % every == 0 {
                    gan.flush_async().await.map_err(js_error)?;
                }
            }
            gan.flush_async().await.map_err(js_error)?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Resolves to the generator's images from its fixed latent vectors, one after another.
    pub fn samples(&self) -> Promise {
        let gan = self.gan.clone();
        future_to_promise(async move {
            let images = gan.borrow().samples_async().await.map_err(js_error)?;
            Ok(Float32Array::from(&images[..]).into())
        })
    }

    /// Iterations done.
    pub fn steps(&self) -> u32 {
        self.gan.borrow().steps() as u32
    }

    /// Every logged step as (step, D's loss, G's loss, mean D(x), mean D(G(z))), flat.
    pub fn losses(&self) -> Float32Array {
        let rows: Vec<f32> = self
            .gan
            .borrow()
            .history()
            .iter()
            .flat_map(|m| [m.step as f32, m.d_loss, m.g_loss, m.d_real, m.d_fake])
            .collect();
        Float32Array::from(&rows[..])
    }
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
