// The side-by-side half of `./lab bench` (issue 11): the workloads W1-W5 (src/bench/workloads.rs) on
// cvjourney's CPU path (wasm32 SIMD128) and WebGPU path, and on TensorFlow.js 4.22's cpu, wasm, webgl and
// webgpu backends (bench/tfjs/runner.js), each run in a fresh headless Chromium with the browser tests'
// flags (WebGPU on), engines interleaved; plus the native CLI on the same workloads and W5 in numpy (the
// baseline the issue names). Prints a table and writes the rows to target/bench/latest.json.
//
// Usage: node bench/workloads.mjs DIST_DIR [--only W1,W2] [--engines cvjourney-cpu,tfjs-wasm] [--repeat 3]
//          [--cap 240] [--cli target/release/cvjourney]
// A run whose estimate (from a shorter run of the same engine) exceeds --cap seconds is skipped and says so.
import { execFileSync } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import { loadBenchModule, serveStatic } from "./static.mjs";

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const dist = path.resolve(args[0] ?? "dist");
const tfjsDir = path.resolve("bench/tfjs");
const WORKLOADS = ["W4", "W1", "W2", "W3-100", "W3", "W5"];
const ENGINES = ["cvjourney-cpu", "cvjourney-webgpu", "tfjs-cpu", "tfjs-wasm", "tfjs-webgl", "tfjs-webgpu"];
const only = (flag("only", "") || WORKLOADS.join(",")).split(",");
const engines = (flag("engines", "") || ENGINES.join(",")).split(",");
const repeat = Number(flag("repeat", "3"));
const cap = Number(flag("cap", "240"));
const cli = flag("cli", "target/release/cvjourney");
for (const w of only) if (!WORKLOADS.includes(w)) throw new Error(`unknown workload ${w} (${WORKLOADS.join(", ")})`);
for (const e of engines) if (!ENGINES.includes(e)) throw new Error(`unknown engine ${e} (${ENGINES.join(", ")})`);

// Cross-origin isolated (COOP + COEP), so that TensorFlow.js's wasm backend may use its threads.
const server = await serveStatic({ "/tfjs/": tfjsDir, "/": dist }, { "cross-origin-opener-policy": "same-origin",
  "cross-origin-embedder-policy": "require-corp", "cross-origin-resource-policy": "same-origin" });
const base = server.base;
const FLAGS = ["--no-sandbox", "--no-first-run", "--disable-background-networking", "--disable-component-update",
  "--disable-sync", "--disable-quic", "--disable-dev-shm-usage", "--enable-unsafe-webgpu", "--enable-features=Vulkan"];

let browserVersion = "unknown";

/** One timed run of `workload` on `engine` in a fresh browser: a row, or throws. */
async function runOnce(workload, engine, timeoutS) {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: FLAGS });
  browserVersion = browser.version();
  try {
    const page = await browser.newPage();
    page.setDefaultTimeout(0);
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    let run;
    if (engine.startsWith("cvjourney")) {
      await page.goto(`${base}/`);
      await loadBenchModule(page);
      run = page.evaluate(async ([id, gpu]) => {
        const b = window.bench;
        const names = id === "W4" ? [] : b.benchWorkloadFiles(id);
        const files = await Promise.all(names.map(async (n) => new Uint8Array(await (await fetch(`data/${n}`)).arrayBuffer())));
        return b.benchWorkload(id, gpu, names, files);
      }, [workload, engine === "cvjourney-webgpu"]);
    } else {
      await page.goto(`${base}/tfjs/runner.html`);
      await page.waitForFunction(() => window.tfjsReady === true, null, { timeout: 60_000 });
      run = page.evaluate(([id, backend]) => window.runTfjs(id, backend), [workload, engine.slice(5)]);
    }
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`over ${timeoutS} s`)), timeoutS * 1000);
    });
    try {
      return await Promise.race([run, timeout]);
    } catch (e) {
      throw new Error(`${e.message.split("\n")[0]}${errors.length ? ` (${errors[0]})` : ""}`);
    } finally {
      clearTimeout(timer);
    }
  } finally {
    await browser.close();
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Seconds a workload should take on an engine, from the rows measured so far, or null when unknown. */
function estimate(workload, engine, rows) {
  // A shorter run that failed or was skipped (too slow) means the longer one would be slower still.
  const got = (w) => rows.find((r) => r.workload === w && r.engine_id === engine);
  const scaled = (r, factor) => (r === undefined ? null : r.seconds === null ? Infinity : r.seconds * factor);
  if (workload === "W3") return scaled(got("W3-100"), (60000 / 128 / 100) * 1.1);
  if (workload === "W5") return scaled(got("W1"), 100 * 0.5);
  return null;
}

const rows = [];
const loadStart = os.loadavg()[0];
for (const workload of only) {
  for (const engine of engines) {
    const guess = estimate(workload, engine, rows);
    if (guess !== null && guess > cap) {
      const why = Number.isFinite(guess) ? `estimated ${guess.toFixed(0)} s > --cap ${cap}` : "its shorter run did not finish";
      console.error(`${workload} on ${engine}: skipped (${why})`);
      rows.push({ workload, engine_id: engine, engine: engine.split("-")[0], backend: engine.split("-")[1], seconds: null,
        examples_per_s: null, gflops: null, accuracy: null, skipped: `skipped: ${why}` });
      continue;
    }
    const runs = [];
    let failure = null;
    for (let i = 0; i < repeat; i++) {
      try {
        const r = await runOnce(workload, engine, Math.max(cap * 1.5, 60));
        runs.push(r);
        console.error(`${workload} on ${engine}: ${r.seconds.toFixed(2)} s` +
          (r.accuracy !== null ? `, accuracy ${(r.accuracy * 100).toFixed(2)} %` : "") +
          (r.gflops !== null ? `, ${r.gflops.toFixed(1)} GFLOP/s` : ""));
        if (r.seconds > 5) break; // longer runs once: the whole comparison must stay under an hour
      } catch (e) {
        failure = e.message;
        console.error(`${workload} on ${engine}: failed: ${failure}`);
        break;
      }
    }
    if (runs.length === 0) {
      rows.push({ workload, engine_id: engine, engine: engine.split("-")[0], backend: engine.split("-")[1], seconds: null,
        examples_per_s: null, gflops: null, accuracy: null, skipped: `failed: ${failure}` });
      continue;
    }
    const seconds = median(runs.map((r) => r.seconds));
    const pick = runs.find((r) => r.seconds === seconds) ?? runs[0];
    rows.push({ ...pick, engine_id: engine, seconds, runs: runs.length,
      gflops: pick.gflops === null ? null : median(runs.map((r) => r.gflops)),
      examples_per_s: pick.examples_per_s });
  }
}

// The native CLI on the same workloads (one run each; it prints its own progress).
try {
  const out = path.resolve("target/bench/cli.json");
  await mkdir(path.dirname(out), { recursive: true });
  execFileSync(cli, ["bench", "--workloads", ...only.flatMap((w) => ["--only", w]), "--json", out],
    { stdio: ["ignore", "ignore", "inherit"] });
  for (const r of JSON.parse(await readFile(out, "utf8"))) rows.push({ ...r, engine_id: "cvjourney-cli", runs: 1 });
} catch (e) {
  console.error(`native CLI: ${e.message.split("\n")[0]}`);
}
// W5's baseline: the same training in numpy (one BLAS thread), when ./lab bench has installed it.
const python = path.resolve("target/bench/venv/bin/python");
if (only.includes("W5")) {
  try {
    const out = execFileSync(python, ["bench/numpy_w5.py", "data"],
      { env: { ...process.env, OPENBLAS_NUM_THREADS: "1" }, stdio: ["ignore", "pipe", "inherit"] });
    rows.push({ ...JSON.parse(out.toString()), engine_id: "numpy", runs: 1 });
    console.error(`W5 on numpy: ${rows.at(-1).seconds.toFixed(2)} s`);
  } catch (e) {
    console.error(`numpy W5: ${e.message.split("\n")[0]}`);
  }
}
const loadEnd = os.loadavg()[0];

// Ratio to the fastest TensorFlow.js backend of the same workload (>1: faster than it).
for (const r of rows) {
  const tf = rows.filter((t) => t.workload === r.workload && t.engine === "tfjs" && t.seconds !== null);
  if (r.seconds === null || tf.length === 0) { r.vs_fastest_tfjs = null; continue; }
  r.vs_fastest_tfjs = r.workload === "W4"
    ? r.gflops / Math.max(...tf.map((t) => t.gflops))
    : Math.min(...tf.map((t) => t.seconds)) / r.seconds;
  r.load_avg = [loadStart, loadEnd];
}

console.log(`\nSide-by-side workloads, headless Chromium ${browserVersion}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? "CPU"};` +
  ` load average ${loadStart.toFixed(2)} at the start, ${loadEnd.toFixed(2)} at the end`);
const pad = (s, n, left = false) => (left ? String(s).padEnd(n) : String(s).padStart(n));
console.log(pad("workload", 8, true), pad("engine", 44, true), pad("seconds", 9), pad("examples/s", 11), pad("GFLOP/s", 8),
  pad("accuracy", 9), pad("runs", 5), pad("vs best tfjs", 13), pad("wasm MiB", 9));
for (const r of rows) {
  const name = `${r.engine} ${r.backend}`.slice(0, 44);
  if (r.seconds === null) { console.log(pad(r.workload, 8, true), pad(name, 44, true), ` ${r.skipped}`); continue; }
  console.log(pad(r.workload, 8, true), pad(name, 44, true), pad(r.seconds.toFixed(2), 9),
    pad(r.examples_per_s ? Math.round(r.examples_per_s) : "–", 11), pad(r.gflops !== null ? r.gflops.toFixed(1) : "–", 8),
    pad(r.accuracy !== null && r.accuracy !== undefined ? `${(r.accuracy * 100).toFixed(2)} %` : "–", 9), pad(r.runs, 5),
    pad(r.vs_fastest_tfjs ? `${r.vs_fastest_tfjs.toFixed(2)}x` : "–", 13),
    pad(r.wasm_memory_mib ? r.wasm_memory_mib.toFixed(0) : "–", 9));
}
const json = path.resolve("target/bench/latest.json");
await mkdir(path.dirname(json), { recursive: true });
await writeFile(json, JSON.stringify(rows.map(({ engine_id, ...r }) => r), null, 2));
console.log(`\nrows written to ${path.relative(process.cwd(), json)}`);
server.close();
