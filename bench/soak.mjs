// `./lab soak [MINUTES] [--gpu] [--preset ID]`: one long training run in headless Chromium, sampled every
// minute, to show that nothing grows without bound (issue 12). Samples: the page's JS heap, the training
// worker's wasm linear memory and, on the GPU, its live buffers and idle pooled bytes (`memoryStats`),
// with the epochs done. After the warm-up (the first two minutes) each figure's peak over the second half
// must stay within a stated margin of its peak over the first; the verdict, the table and
// target/soak/latest.json come at the end.
// Not part of `./lab test`: it takes as long as it is told to (30 minutes by default).
//
// Usage: node bench/soak.mjs DIST_DIR [MINUTES] [--gpu] [--preset ch4-fashion-adam]
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { chromium } from "playwright-core";
import { serveStatic } from "./static.mjs";

const args = process.argv.slice(2);
const dist = path.resolve(args[0] ?? "dist");
const minutes = Number(args[1] && !args[1].startsWith("--") ? args[1] : 30);
const gpu = args.includes("--gpu");
const preset = args.includes("--preset") ? args[args.indexOf("--preset") + 1] : "ch4-fashion-adam";
/** Growth allowed from minute 2 to the end: the JS heap breathes with the collector; wasm memory only grows. */
const MARGIN = { mainHeapMiB: 0.5, wasmMiB: 0.1, gpuBuffers: 0.1 };

const server = await serveStatic({ "/": dist });
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--no-first-run", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--disable-quic", "--disable-dev-shm-usage", "--enable-precise-memory-info", "--js-flags=--expose-gc",
    ...(gpu ? ["--enable-unsafe-webgpu", "--enable-features=Vulkan"] : [])] });
const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
page.setDefaultTimeout(0);
const errors = [];
page.on("pageerror", (e) => errors.push(e.message));
const set = encodeURIComponent(JSON.stringify({ epochs: 100000 }));
await page.goto(`${server.base}/#preset=${preset}&set=${set}&backend=${gpu ? "webgpu" : "cpu"}`);
await page.waitForFunction(() => document.querySelectorAll("#chapter-nav button").length === 8, null, { timeout: 60_000 });
await page.click("#train");
await page.waitForFunction(() => document.querySelectorAll("#epoch-log tbody tr").length > 0);

const mib = (bytes) => (bytes ?? NaN) / 2 ** 20;
async function sample(minute) {
  // A full collection first: what is left is what the page holds, not what the collector has not reached.
  const main = await page.evaluate(() => (window.gc?.(), {
    heap: performance.memory?.usedJSHeapSize ?? null,
    epochs: document.querySelectorAll("#epoch-log tbody tr").length,
    backend: document.getElementById("run-backend")?.textContent ?? "",
  }));
  const [worker] = page.workers();
  const stats = await worker.evaluate(async () => (await import(new URL("./cvjourney.js", location.href).href)).memoryStats());
  return { minute, epochs: main.epochs, mainHeapMiB: mib(main.heap), wasmMiB: mib(stats.wasmBytes),
    gpuBuffers: stats.gpu?.live_buffers ?? null, pooledMiB: stats.gpu ? mib(stats.gpu.pooled_bytes) : null,
    backend: main.backend };
}

const samples = [await sample(0)];
console.log(`soak: ${preset}, ${minutes} minutes. ${samples[0].backend}`);
const row = (s) => `${String(s.minute).padStart(6)} ${String(s.epochs).padStart(7)} ${s.mainHeapMiB.toFixed(1).padStart(10)}` +
  ` ${s.wasmMiB.toFixed(1).padStart(9)} ${String(s.gpuBuffers ?? "–").padStart(11)} ${(s.pooledMiB?.toFixed(1) ?? "–").padStart(10)}`;
console.log(`${"minute".padStart(6)} ${"epochs".padStart(7)} ${"heap MiB".padStart(10)} ${"wasm MiB".padStart(9)}` +
  ` ${"GPU buffers".padStart(11)} ${"pooled MiB".padStart(10)}`);
console.log(row(samples[0]));
for (let m = 1; m <= minutes; m++) {
  await new Promise((resolve) => setTimeout(resolve, 60_000));
  samples.push(await sample(m));
  console.log(row(samples.at(-1)));
}
await browser.close();
server.close();

// Peaks, not single samples: a sample can land mid-step, when a step's buffers are out of the count (57
// live GPU buffers between steps read 13 once), or just after a collection. The peak of the first half
// after the warm-up against the peak of the second half: a leak raises the second.
const settled = samples.filter((s) => s.minute >= Math.min(2, minutes));
const half = Math.ceil(settled.length / 2);
const [early, late] = [settled.slice(0, half), settled.slice(half - 1)];
const end = samples.at(-1);
const peak = (list, key) => Math.max(...list.map((s) => s[key]));
const verdicts = Object.entries(MARGIN).map(([key, margin]) => {
  if (end[key] === null || early.some((s) => s[key] === null)) return { key, ok: true, note: "not measured" };
  const [from, to] = [peak(early, key), peak(late, key)];
  const growth = (to - from) / Math.max(from, 1e-9);
  return { key, ok: growth <= margin, note: `peak ${from.toFixed(1)} (minutes ${early[0].minute}-${early.at(-1).minute}) -> ` +
    `${to.toFixed(1)} (minutes ${late[0].minute}-${late.at(-1).minute}): ${(growth * 100).toFixed(1)} %, allowed ${margin * 100} %` };
});
const trained = end.epochs > samples[0].epochs;
for (const v of verdicts) console.log(`${v.ok ? "flat" : "GROWS"}  ${v.key}: ${v.note}`);
console.log(trained ? `training went on: ${end.epochs - samples[0].epochs} epochs in ${minutes} minutes` : "TRAINING STOPPED");
if (errors.length) console.log(`page errors: ${errors.join(" | ")}`);
const out = path.resolve("target/soak/latest.json");
await mkdir(path.dirname(out), { recursive: true });
await writeFile(out, JSON.stringify({ preset, gpu, minutes, samples, verdicts, errors }, null, 2));
console.log(`samples written to ${path.relative(process.cwd(), out)}`);
process.exit(verdicts.every((v) => v.ok) && trained && errors.length === 0 ? 0 : 1);
