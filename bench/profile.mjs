// Where one workload's time goes in the page: a sampling CPU profile (Chrome DevTools protocol,
// Profiler.start around the page's benchWorkload) of a release build, printed as self time per function.
// Data served from data/ (./lab setup).
//
// Usage: node bench/profile.mjs DIST_DIR [WORKLOAD=W5] [TOP=20]
import path from "node:path";
import { chromium } from "playwright-core";
import { loadBenchModule, serveStatic } from "./static.mjs";

const dist = path.resolve(process.argv[2] ?? "dist");
const workload = process.argv[3] ?? "W5";
const top = Number(process.argv[4] ?? 20);
const server = await serveStatic({ "/": dist, "/data": path.resolve("data") });
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox"] });
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(0);
  await page.goto(`${server.base}/`);
  await loadBenchModule(page);
  await page.evaluate(async (w) => {
    const names = window.bench.benchWorkloadFiles(w);
    window.benchInputs = { names, files: await Promise.all(names.map(async (n) =>
      new Uint8Array(await (await fetch(`data/${n}`)).arrayBuffer()))) };
  }, workload);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Profiler.enable");
  await cdp.send("Profiler.setSamplingInterval", { interval: 500 });
  await cdp.send("Profiler.start");
  const row = await page.evaluate((w) =>
    window.bench.benchWorkload(w, false, window.benchInputs.names, window.benchInputs.files), workload);
  const { profile } = await cdp.send("Profiler.stop");
  console.log(`${workload}: ${row.seconds.toFixed(2)} s` +
    (row.accuracy == null ? "" : `, ${(row.accuracy * 100).toFixed(2)} %`));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    const frame = byId.get(id).callFrame;
    const name = frame.functionName || frame.url || "(anonymous)";
    self.set(name, (self.get(name) ?? 0) + dt);
    total += dt;
  });
  for (const [name, t] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${(100 * t / total).toFixed(1).padStart(5)} %  ${name.slice(0, 120)}`);
  }
} finally {
  await browser.close();
  server.close();
}
