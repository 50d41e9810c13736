// The page: checks for WebGPU, then runs the demos through the wasm module's exports.
import init, { slanted_land, dcgan, digit_drawer, slanted_faces, slanted_noise } from "./pkg/counterfeit_web.js";

const $ = (id) => document.getElementById(id);
// Values the page test reads: set as the demos progress.
window.demo = { ready: false, firstGridMs: null, draws: 0, lessonSteps: 0, lessonFaces: 0, dcganSteps: 0, error: null };

function problem(html) {
  $("problem").innerHTML = html;
  $("problem").style.display = "block";
  window.demo.error = $("problem").textContent;
}

// 2×2 images (values 0 = white, 1 = black) side by side, each scaled to a 60-pixel square.
function drawPixels(canvas, values, count) {
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const cell = 28;
  for (let i = 0; i < count; i++) {
    for (let p = 0; p < 4; p++) {
      const v = Math.round(255 * (1 - Math.min(1, Math.max(0, values[4 * i + p]))));
      ctx.fillStyle = `rgb(${v},${v},${v})`;
      ctx.fillRect(i * 60 + (p % 2) * cell + 2, Math.floor(p / 2) * cell + 2, cell, cell);
    }
  }
}

// Square grayscale images in [-1, 1] (white ink on black) as a grid.
function drawGrid(canvas, values, side, columns) {
  const count = values.length / (side * side);
  const rows = Math.ceil(count / columns);
  const image = new ImageData(columns * side, rows * side);
  for (let n = 0; n < count; n++) {
    for (let y = 0; y < side; y++) {
      for (let x = 0; x < side; x++) {
        const v = Math.round(127.5 * (values[n * side * side + y * side + x] + 1));
        const o = 4 * (((Math.floor(n / columns) * side + y) * columns * side) + (n % columns) * side + x);
        image.data.set([v, v, v, 255], o);
      }
    }
  }
  const scratch = new OffscreenCanvas(image.width, image.height);
  scratch.getContext("2d").putImageData(image, 0, 0);
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(scratch, 0, 0, canvas.width, canvas.height);
}

// rows of (step, d_loss, g_loss, d_real, d_fake): D's loss in red, G's in blue.
function drawLosses(canvas, rows) {
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const n = rows.length / 5;
  if (n < 2) return;
  let top = 0;
  for (let i = 0; i < n; i++) top = Math.max(top, rows[5 * i + 1], rows[5 * i + 2]);
  for (const [slot, colour] of [[1, "#c0392b"], [2, "#2e6fd8"]]) {
    ctx.strokeStyle = colour;
    ctx.beginPath();
    for (let i = 0; i < n; i++) {
      const x = (i / (n - 1)) * (canvas.width - 4) + 2;
      const y = canvas.height - 2 - (rows[5 * i + slot] / top) * (canvas.height - 4);
      i ? ctx.lineTo(x, y) : ctx.moveTo(x, y);
    }
    ctx.stroke();
  }
}

// Ask for a digit: a grid of 8 images of the chosen digit, redrawn on every change.
const ask = { drawer: null, digit: 7, seed: 1, busy: false, again: false };

async function drawDigits() {
  if (ask.busy) {
    ask.again = true;
    return;
  }
  ask.busy = true;
  do {
    ask.again = false;
    const started = performance.now();
    const walk = Number($("walk").value);
    const images = await ask.drawer.draw(ask.digit, ask.seed, walk, 8);
    drawGrid($("asked"), images, 28, 4);
    window.demo.draws += 1;
    if (window.demo.firstGridMs === null) window.demo.firstGridMs = performance.now();
    $("asked-caption").textContent = `eight ${ask.digit}s, styles ${ask.seed}, walk ${walk.toFixed(2)}`;
    $("ask-status").textContent = `drawn in ${(performance.now() - started).toFixed(0)} ms`;
  } while (ask.again);
  ask.busy = false;
}

async function askForDigits(weights) {
  const response = await weights;
  if (!response.ok) throw new Error(`the generator's weights did not load (${response.status})`);
  ask.drawer = await digit_drawer(new Uint8Array(await response.arrayBuffer()));
  for (let d = 0; d < 10; d++) {
    const b = document.createElement("button");
    b.textContent = d;
    b.onclick = () => {
      ask.digit = d;
      ask.seed += 1;
      document.querySelectorAll("#digit-buttons button").forEach((x) => x.classList.toggle("on", x === b));
      drawDigits().catch(fail);
    };
    if (d === ask.digit) b.classList.add("on");
    $("digit-buttons").appendChild(b);
  }
  $("restyle").onclick = () => {
    ask.seed += 1;
    drawDigits().catch(fail);
  };
  $("walk").oninput = () => drawDigits().catch(fail);
  await drawDigits();
}

const isFace = (img) => Math.min(img[0], img[3]) - Math.max(img[1], img[2]) >= 0.3;

async function lesson() {
  const faces = Array.from(slanted_faces(4, 1), (b) => b / 255);
  drawPixels($("faces"), faces, 4);
  drawPixels($("noise"), slanted_noise(4, 1), 4);
  const gan = await slanted_land(1);
  const started = performance.now();
  while (gan.steps() < 1500) {
    await gan.train(50);
    const samples = await gan.samples();
    drawPixels($("fakes"), samples, 4);
    drawLosses($("lesson-losses"), gan.losses());
    const seconds = (performance.now() - started) / 1000;
    const faces = Array.from({ length: samples.length / 4 }, (_, i) => samples.slice(4 * i, 4 * i + 4)).filter(isFace).length;
    window.demo.lessonSteps = gan.steps();
    window.demo.lessonFaces = faces;
    window.demo.lessonStepsPerSecond = gan.steps() / seconds;
    $("lesson-status").textContent =
      `step ${gan.steps()}: ${faces}/${samples.length / 4} generated images are faces; ` +
      `${(gan.steps() / seconds).toFixed(0)} steps/s`;
  }
}

let cpuAdapter = false;
let training = null;
let running = false;

async function dcganLoop() {
  if (!training) {
    $("dcgan-status").textContent = "loading the digits and building the networks…";
    // The recipe's batch on a GPU; on a CPU adapter a small one, so that steps come by.
    const batch = Number(new URLSearchParams(location.search).get("batch")) || (cpuAdapter ? 8 : 64);
    training = await dcgan(2000, batch, 7);
  }
  const started = performance.now();
  const first = training.steps();
  while (running) {
    await training.train(1);
    drawGrid($("digits"), await training.samples(), 28, 4);
    drawLosses($("dcgan-losses"), training.losses());
    const rate = (training.steps() - first) / ((performance.now() - started) / 1000);
    window.demo.dcganSteps = training.steps();
    window.demo.dcganStepsPerSecond = rate;
    $("dcgan-status").textContent = `step ${training.steps()}: ${rate.toFixed(2)} steps/s`;
  }
}

$("dcgan-start").onclick = () => {
  running = true;
  $("dcgan-start").disabled = true;
  $("dcgan-stop").disabled = false;
  dcganLoop().catch(fail);
};
$("dcgan-stop").onclick = () => {
  running = false;
  $("dcgan-start").disabled = false;
  $("dcgan-stop").disabled = true;
};

function fail(e) {
  running = false;
  problem(`Something went wrong: <code>${e && e.message ? e.message : e}</code>`);
}

async function main() {
  if (!("gpu" in navigator)) {
    problem("This browser has no WebGPU (<code>navigator.gpu</code> is missing). Use a recent " +
      "Chrome, Edge or Firefox; on Linux, Chromium needs <code>--enable-unsafe-webgpu " +
      "--enable-features=Vulkan</code>.");
    $("dcgan-start").disabled = true;
    return;
  }
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) {
    problem("WebGPU is there but offers no adapter: the GPU may be blocklisted. In Chromium, " +
      "<code>--enable-unsafe-webgpu</code> lifts the blocklist (CPU adapters such as " +
      "SwiftShader need it).");
    $("dcgan-start").disabled = true;
    return;
  }
  // The browser names its adapter to the page (wgpu is not told its kind): a CPU adapter
  // trains DCGAN at a smaller batch.
  const info = adapter.info || {};
  cpuAdapter = adapter.isFallbackAdapter || /swiftshader|llvmpipe|lavapipe|warp/i.test(`${info.architecture} ${info.description} ${info.device}`);
  window.demo.adapter = `${info.vendor || "?"} ${info.architecture || ""} ${info.description || ""}`.trim();
  window.demo.cpuAdapter = cpuAdapter;
  $("adapter").textContent = `Adapter: ${window.demo.adapter}${cpuAdapter ? " (runs on the CPU)" : ""}.`;
  // The generator's weights download while the module compiles.
  const weights = fetch("pkg/cgan_generator.safetensors");
  await init();
  window.demo.ready = true;
  await askForDigits(weights);
  await lesson();
}

main().catch(fail);
