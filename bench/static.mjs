// The bench scripts' file server: serves folders on 127.0.0.1 (a URL prefix per folder, "/" for the
// rest), with extra response headers when asked (cross-origin isolation for TensorFlow.js's wasm threads).
import http from "node:http";
import { readFile } from "node:fs/promises";
import path from "node:path";

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm", ".css": "text/css",
  ".svg": "image/svg+xml", ".json": "application/json" };

/** Serves `roots` ({ "/prefix/": folder, "/": folder }); resolves to { base, close }. */
export async function serveStatic(roots, headers = {}) {
  const prefixes = Object.entries(roots).map(([p, dir]) => [p, path.resolve(dir)]).sort((a, b) => b[0].length - a[0].length);
  const server = http.createServer(async (req, res) => {
    const url = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    const [prefix, root] = prefixes.find(([p]) => url.startsWith(p)) ?? ["/", ""];
    const file = path.join(root, path.normalize(url.slice(prefix.length) || "index.html"));
    if (root === "" || !file.startsWith(root + path.sep)) return res.writeHead(403).end();
    try {
      const body = await readFile(file);
      res.writeHead(200, { "content-type": TYPES[path.extname(file)] ?? "application/octet-stream", ...headers }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { base: `http://127.0.0.1:${server.address().port}`, close: () => server.close() };
}

/** Waits for the page's module, then loads the build the training worker would run (www/ts/wasm.ts) as
 * `window.bench`: "auto" (relaxed SIMD where this Chromium has it), or "simd128" (the plain module). A page
 * built before there were two builds (no wasm.js) runs its only module. Resolves to the build's name. */
export async function loadBenchModule(page, wanted = process.env.CPU_BUILD ?? "auto") {
  await page.waitForFunction(() => window.wasmBindings !== undefined, null, { timeout: 60_000 });
  return page.evaluate(async (w) => {
    let loader;
    try {
      loader = await import("./wasm.js");
    } catch {
      window.bench = window.wasmBindings;
      return "simd128 (a build with one module)";
    }
    const loaded = await loader.loadModule(document.baseURI, w);
    if (loaded.fallback !== undefined) throw new Error(`the relaxed-SIMD module did not load: ${loaded.fallback}`);
    window.bench = loaded.module;
    return loaded.build;
  }, wanted);
}
