// The browser half of `./lab bench`: serves a release build of the page, calls the wasm benchmark in
// headless Chromium (single thread; the module build the training worker runs, CPU_BUILD=simd128 for the
// plain one) and prints the same table as the native CLI; then, in a
// second Chromium with WebGPU switched on, the GPU report `cvjourney bench --gpu` prints natively.
// Here that adapter is SwiftShader, a CPU emulation: its numbers are recorded, not tuned for.
// Usage: node bench/browser.mjs DIST_DIR [--only gemm,narrow,head,conv,gpu]   (every table by default)
import path from "node:path";
import { chromium } from "playwright-core";
import { loadBenchModule, serveStatic } from "./static.mjs";

const dist = path.resolve(process.argv[2] ?? "dist");
const TABLES = ["gemm", "narrow", "head", "conv", "gpu"];
const onlyAt = process.argv.indexOf("--only");
const tables = onlyAt > 0 ? process.argv[onlyAt + 1].split(",") : TABLES;
for (const t of tables) if (!TABLES.includes(t)) throw new Error(`unknown table ${t} (${TABLES.join(", ")})`);
const server = await serveStatic({ "/": dist });
const ARGS = ["--no-sandbox", "--no-first-run", "--disable-background-networking", "--disable-component-update",
  "--disable-sync", "--disable-quic", "--disable-dev-shm-usage"];
const WEBGPU = ["--enable-unsafe-webgpu", "--enable-features=Vulkan"];
const open = async (browser) => {
  const page = await browser.newPage();
  await page.goto(`${server.base}/`);
  page.build = await loadBenchModule(page);
  return page;
};
let browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: ARGS });
const pad = (s, n, left = false) => (left ? String(s).padEnd(n) : String(s).padStart(n));
try {
  const page = await open(browser);
  const version = await page.evaluate(() => navigator.userAgent.match(/Chrome\/[\d.]+/)?.[0] ?? "Chromium");
  if (tables.includes("gemm")) {
    const rows = await page.evaluate(() => window.bench.benchGemm(1500));
    console.log(`CPU GEMM, wasm32 ${page.build} build in headless ${version} (single thread)`);
    console.log(pad("shape", 28, true), pad("m x k x n", 16), pad("fast GF/s", 10), pad("crate GF/s", 10),
      pad("naive GF/s", 10), pad("vs naive", 9), pad("max rel", 9));
    for (const r of rows) {
      console.log(pad(r.name, 28, true), pad(`${r.m}x${r.k}x${r.n}`, 16), pad(r.fastGflops.toFixed(2), 10),
        pad(r.crateGflops.toFixed(2), 10), pad(r.naiveGflops.toFixed(2), 10),
        pad(`${(r.fastGflops / r.naiveGflops).toFixed(1)}x`, 9), pad(r.maxRelDiff.toExponential(1), 9));
    }
  }
  if (tables.includes("narrow")) {
    console.log(`\nproducts with a narrow side, one operand stored transposed, in headless ${version}: ` +
      "packed GEMM, transposed operand packed as stored (drawn rows gathered first), vs unpacked");
    console.log(pad("shape", 28, true), pad("m x k x n", 16), pad("packed ms", 11), pad("narrow ms", 11),
      pad("speed-up", 8), pad("GFLOP/s", 8), pad("max rel", 9));
    for (const r of await page.evaluate(() => window.bench.benchNarrow(600))) {
      const gflops = (2 * r.m * r.k * r.n) / (r.narrowMs * 1e6);
      console.log(pad(r.name, 28, true), pad(`${r.m}x${r.k}x${r.n}`, 16), pad(r.packedMs.toFixed(3), 11),
        pad(r.narrowMs.toFixed(3), 11), pad(`${(r.packedMs / r.narrowMs).toFixed(2)}x`, 8), pad(gflops.toFixed(1), 8),
        pad(r.maxRelDiff.toExponential(1), 9));
    }
  }
  if (tables.includes("head")) {
    console.log(`\nclassifier head, forward + backward, in headless ${version}: ` +
      "cross_entropy(linear(x)) vs linear_cross_entropy (fused)");
    console.log(pad("shape", 30, true), pad("n x k -> c", 16), pad("composite ms", 13), pad("fused ms", 9),
      pad("speed-up", 8), pad("max rel", 9));
    for (const r of await page.evaluate(() => window.bench.benchHead(600))) {
      console.log(pad(r.name, 30, true), pad(`${r.n}x${r.k} -> ${r.c}`, 16), pad(r.compositeMs.toFixed(3), 13),
        pad(r.fusedMs.toFixed(3), 9), pad(`${(r.compositeMs / r.fusedMs).toFixed(2)}x`, 8),
        pad(r.maxRelDiff.toExponential(1), 9));
    }
  }
  if (tables.includes("conv")) {
    console.log("\nconv2d forward, 3x3 same, batch 32: im2col + GEMM (used) vs direct loop");
    for (const r of await page.evaluate(() => window.bench.benchConv())) {
      console.log(`${pad(r.name, 28, true)} im2col ${pad(r.im2colMs.toFixed(2), 8)} ms   direct ` +
        `${pad(r.directMs.toFixed(2), 8)} ms   max |diff| ${r.maxAbsDiff.toExponential(1)}`);
    }
  }
  if (tables.includes("gpu")) {
    await browser.close();
    // GEMM sides up to 512 and 5 timed steps: SwiftShader runs every kernel on these two CPU cores.
    browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
      args: [...ARGS, ...WEBGPU] });
    const gpuPage = await open(browser);
    gpuPage.setDefaultTimeout(0);
    console.log(`\n${version}, WebGPU:`);
    console.log(await gpuPage.evaluate(() => window.bench.benchGpu(300, 512, 5)));
  }
} finally {
  await browser.close();
  server.close();
}
