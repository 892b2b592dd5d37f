// Before/after: one workload (src/bench/workloads.rs) in each of several release builds of the page, run
// interleaved in fresh pages of one headless Chromium, so that builds compared share the machine's load;
// for W5, numpy's run (bench/numpy_w5.py, one BLAS thread) after each round. Serve data from data/.
//
// Usage: ROUNDS=2 node bench/compare.mjs W5 target/bench-dist target/bench-dist-new [--numpy]
import { execFileSync } from "node:child_process";
import path from "node:path";
import { chromium } from "playwright-core";
import { serveStatic } from "./static.mjs";

const [workload, ...rest] = process.argv.slice(2);
const numpy = rest.includes("--numpy");
const dists = rest.filter((d) => !d.startsWith("--")).map((d) => path.resolve(d));
const rounds = Number(process.env.ROUNDS ?? 1);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox"] });
try {
  for (let r = 0; r < rounds; r++) {
    for (const dist of dists) {
      const server = await serveStatic({ "/": dist, "/data": path.resolve("data") });
      const page = await browser.newPage();
      page.setDefaultTimeout(0);
      await page.goto(`${server.base}/`);
      await page.waitForFunction(() => window.wasmBindings !== undefined, null, { timeout: 60_000 });
      const row = await page.evaluate(async (w) => {
        const b = window.wasmBindings;
        const names = b.benchWorkloadFiles(w);
        const files = await Promise.all(names.map(async (n) =>
          new Uint8Array(await (await fetch(`data/${n}`)).arrayBuffer())));
        return b.benchWorkload(w, false, names, files);
      }, workload);
      const acc = row.accuracy == null ? "" : `${(row.accuracy * 100).toFixed(2)} %`;
      console.log(`${path.basename(dist).padEnd(20)} ${workload} ${row.seconds.toFixed(2)} s ${acc}`);
      await page.close();
      server.close();
    }
    if (numpy && workload === "W5") {
      const out = execFileSync("target/bench/venv/bin/python", ["bench/numpy_w5.py", "data"],
        { env: { ...process.env, OPENBLAS_NUM_THREADS: "1" } });
      const row = JSON.parse(out.toString());
      console.log(`${"numpy".padEnd(20)} W5 ${row.seconds.toFixed(2)} s ${(row.accuracy * 100).toFixed(2)} %`);
    }
  }
} finally {
  await browser.close();
}
