// The demo page end to end in headless Chromium on its WebGPU adapter (SwiftShader):
// serves web/ on 127.0.0.1, loads the page, checks what it reports for each part, saves a
// screenshot of each part to docs/, and fails on any error the page or its console shows.
// Run `web/serve.sh --build-only` first; `node web/test/page.mjs` then prints the figures.
import { createServer } from "node:http";
import { readFile, mkdir } from "node:fs/promises";
import { extname, join, normalize, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import puppeteer from "puppeteer-core";

const here = dirname(fileURLToPath(import.meta.url));
const root = normalize(join(here, ".."));
const docs = normalize(join(here, "..", "..", "docs"));
const chromium = process.env.CHROMIUM || "/usr/bin/chromium";
const dcganSteps = Number(process.env.DCGAN_STEPS || 5);

const types = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm" };
const server = createServer(async (req, res) => {
  const path = normalize(join(root, decodeURIComponent(new URL(req.url, "http://x").pathname)));
  const file = path.endsWith("/") ? join(path, "index.html") : path;
  if (!file.startsWith(root)) {
    res.writeHead(403).end();
    return;
  }
  try {
    const body = await readFile(file);
    res.writeHead(200, { "content-type": types[extname(file)] || "application/octet-stream" });
    res.end(body);
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
const url = `http://127.0.0.1:${server.address().port}/`;

const browser = await puppeteer.launch({
  executablePath: chromium,
  headless: true,
  // A CPU adapter's long dispatches must not time out the page's evaluations.
  protocolTimeout: 0,
  args: [
    "--headless=new", "--no-sandbox", "--enable-unsafe-webgpu", "--enable-features=Vulkan",
    "--use-vulkan=swiftshader", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
  ],
});
const problems = [];
let failed = false;
const check = (ok, what) => {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
  failed ||= !ok;
};
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1000, height: 900 });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => m.type() === "error" && problems.push(`console error: ${m.text()}`));
  const wait = (test, seconds) =>
    page.waitForFunction(test, { timeout: seconds * 1000, polling: 500 });
  const loaded = Date.now();
  await page.goto(url);

  // 2. Ask for a digit: the first grid, then one more on a click.
  await wait("window.demo.firstGridMs !== null || window.demo.error", 120);
  const first = await page.evaluate("window.demo.firstGridMs");
  check(first !== null, `the first digit grid appeared ${first === null ? "never" : `${(first / 1000).toFixed(1)} s after navigation start`}`);
  await page.click("#digit-buttons button:nth-child(4)");
  await wait("window.demo.draws >= 2 || window.demo.error", 60);
  await (await page.$("#ask")).screenshot({ path: join(docs, "web_ask_for_a_digit.png") });

  // 1. Slanted land: trained to the end, every generated image a face.
  await wait("window.demo.lessonSteps >= 1500 || window.demo.error", 600);
  const lesson = await page.evaluate("window.demo");
  check(lesson.lessonFaces === 16, `slanted land: ${lesson.lessonFaces}/16 generated images are faces after ${lesson.lessonSteps} steps, ${lesson.lessonStepsPerSecond?.toFixed(0)} steps/s`);
  await (await page.$("#lesson")).screenshot({ path: join(docs, "web_slanted_land.png") });

  // 3. DCGAN in the tab: a few steps, their losses finite.
  await page.click("#dcgan-start");
  await wait(`window.demo.dcganSteps >= ${dcganSteps} || window.demo.error`, 900);
  const dcgan = await page.evaluate("window.demo");
  check(dcgan.dcganSteps >= dcganSteps, `dcgan: ${dcgan.dcganSteps} steps at ${dcgan.dcganStepsPerSecond?.toFixed(3)} steps/s`);
  await page.click("#dcgan-stop");
  await (await page.$("#train")).screenshot({ path: join(docs, "web_train_dcgan.png") });
  console.log(`page test took ${((Date.now() - loaded) / 1000).toFixed(0)} s`);
  check(dcgan.error === null, `the page reports no problem${dcgan.error ? `: ${dcgan.error}` : ""}`);
} catch (e) {
  check(false, `the page test ran to its end: ${e.message}`);
  console.log(`the page's state: ${JSON.stringify(await browser.pages().then((p) => p[p.length - 1].evaluate("window.demo")).catch(() => null))}`);
} finally {
  check(problems.length === 0, `no error in the page or its console${problems.length ? `:\n  ${problems.join("\n  ")}` : ""}`);
  await browser.close();
  server.close();
}
process.exit(failed ? 1 : 0);
