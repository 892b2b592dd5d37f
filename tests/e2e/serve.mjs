// Shared by the end-to-end tests: serves dist/ (the output of `trunk build`) on 127.0.0.1, and launches
// Debian's Chromium through playwright-core with or without WebGPU.
import http from "node:http";
import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { chromium } from "playwright-core";

const DIST = path.resolve("dist");
export const ARTIFACTS = path.resolve("artifacts");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
// No background traffic on this closed network, no first-run work.
const QUIET = ["--no-sandbox", "--no-first-run", "--disable-background-networking", "--disable-component-update",
  "--disable-sync", "--disable-quic", "--disable-dev-shm-usage"];
export const WEBGPU = ["--enable-unsafe-webgpu", "--enable-features=Vulkan"];
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm", ".css": "text/css",
  ".csv": "text/csv", ".gz": "application/gzip", ".png": "image/png", ".json": "application/json",
  ".svg": "image/svg+xml" };

/** Starts the server (or uses LAB_URL, e.g. a running `./lab serve`); resolves to { base, close }. */
export async function serve() {
  await mkdir(ARTIFACTS, { recursive: true });
  if (process.env.LAB_URL) return { base: process.env.LAB_URL, close() {} };
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const rel = path.normalize(decodeURIComponent(url.pathname)).replace(/^\/+/, "") || "index.html";
    const file = path.join(DIST, rel);
    if (!file.startsWith(DIST + path.sep)) { res.writeHead(403).end(); return; }
    try {
      const body = await readFile(file);
      res.writeHead(200, { "content-type": TYPES[path.extname(file)] ?? "application/octet-stream" }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { base: `http://127.0.0.1:${server.address().port}/`, close: () => server.close() };
}

/** A fresh browser and page; `errors` collects console errors, page errors and failed requests. */
export async function open(args, viewport = { width: 1200, height: 900 }) {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...QUIET, ...args] });
  const page = await browser.newPage({ viewport });
  const errors = [];
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("response", (r) => { if (r.status() >= 400) errors.push(`HTTP ${r.status()} for ${r.url()}`); });
  return { browser, page, errors };
}

/** Inked (non-white) pixels of a canvas: a drawn plot has thousands, a blank one none. */
export function inked(page, selector) {
  return page.evaluate((sel) => {
    const canvas = document.querySelector(sel);
    if (!(canvas instanceof HTMLCanvasElement)) return -1;
    const px = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 0; i < px.length; i += 4) if (px[i] < 200 || px[i + 1] < 200 || px[i + 2] < 200) n++;
    return n;
  }, selector);
}

/** Waits until the lab has built its chapter navigation. */
export async function ready(page) {
  await page.waitForFunction(() => document.querySelectorAll("#chapter-nav button").length === 8, null,
    { timeout: 60_000 });
}

/** Lit (non-black) pixels of a canvas: the drawing pad's images are bright on black, a blank one has none. */
export function lit(page, selector) {
  return page.evaluate((sel) => {
    const canvas = document.querySelector(sel);
    if (!(canvas instanceof HTMLCanvasElement)) return -1;
    const px = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 0; i < px.length; i += 4) if (px[i] > 40 || px[i + 1] > 40 || px[i + 2] > 40) n++;
    return n;
  }, selector);
}

/** A seeded generator of numbers in [0, 1) (mulberry32): the fuzz tests make the same inputs every run. */
export function generator(seed) {
  let s = seed;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
