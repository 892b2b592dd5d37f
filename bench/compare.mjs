// Before/after: one workload (src/bench/workloads.rs) in each of several release builds of the page, run
// interleaved in fresh pages of one headless Chromium, so that builds compared share the machine's load;
// for W5, numpy's run (bench/numpy_w5.py, one BLAS thread) after each round. Serve data from data/.
//
// Each build runs the module the training worker would (relaxed SIMD here); DIST:simd128 runs its plain
// SIMD128 module instead, so that one dist compares its two builds.
//
// Usage: ROUNDS=2 node bench/compare.mjs W5 target/bench-dist target/bench-dist-new [--numpy]
//        ROUNDS=2 node bench/compare.mjs W5 target/bench-dist:simd128 target/bench-dist
import { execFileSync } from "node:child_process";
import path from "node:path";
import { chromium } from "playwright-core";
import { loadBenchModule, serveStatic } from "./static.mjs";

const [workload, ...rest] = process.argv.slice(2);
const numpy = rest.includes("--numpy");
const builds = rest.filter((d) => !d.startsWith("--")).map((d) => {
  const [dir, build = "auto"] = d.split(":");
  return { dir: path.resolve(dir), build, name: `${path.basename(dir)}${build === "auto" ? "" : `:${build}`}` };
});
const rounds = Number(process.env.ROUNDS ?? 1);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox"] });
try {
  for (let r = 0; r < rounds; r++) {
    for (const { dir, build, name } of builds) {
      const server = await serveStatic({ "/": dir, "/data": path.resolve("data") });
      const page = await browser.newPage();
      page.setDefaultTimeout(0);
      await page.goto(`${server.base}/`);
      const loaded = await loadBenchModule(page, build);
      const row = await page.evaluate(async (w) => {
        const b = window.bench;
        const names = b.benchWorkloadFiles(w);
        const files = await Promise.all(names.map(async (n) =>
          new Uint8Array(await (await fetch(`data/${n}`)).arrayBuffer())));
        return b.benchWorkload(w, false, names, files);
      }, workload);
      const acc = row.accuracy == null ? "" : `${(row.accuracy * 100).toFixed(2)} %`;
      console.log(`${name.padEnd(24)} ${workload} ${row.seconds.toFixed(2)} s ${acc} (${loaded})`);
      await page.close();
      server.close();
    }
    if (numpy && workload === "W5") {
      const out = execFileSync("target/bench/venv/bin/python", ["bench/numpy_w5.py", "data"],
        { env: { ...process.env, OPENBLAS_NUM_THREADS: "1" } });
      const row = JSON.parse(out.toString());
      console.log(`${"numpy".padEnd(24)} W5 ${row.seconds.toFixed(2)} s ${(row.accuracy * 100).toFixed(2)} %`);
    }
  }
} finally {
  await browser.close();
}
