// The two builds of the wasm module (www/fma.mjs, www/ts/wasm.ts): cvjourney_fma_bg.wasm with relaxed SIMD
// (fused multiply-adds), which the training worker loads in this Chromium, and Trunk's plain SIMD128
// cvjourney_bg.wasm, which it loads on `?cpu=simd128`, in a browser without relaxed SIMD, or when the
// relaxed-SIMD module fails to load. Both must compute what the scalar reference computes.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { open, ready, serve } from "./serve.mjs";

let server;

before(async () => {
  server = await serve();
});

after(() => server?.close());

test("both builds' CPU products match the scalar reference, and each says which SIMD it runs", async () => {
  const { browser, page, errors } = await open([]);
  try {
    await page.goto(server.base);
    await ready(page);
    const reports = await page.evaluate(async () => {
      const { hasRelaxedSimd, loadModule } = await import("./wasm.js");
      const out = { relaxed: hasRelaxedSimd(), page: window.wasmBindings.checkCpuProducts() };
      for (const wanted of ["auto", "simd128"]) {
        const loaded = await loadModule(document.baseURI, wanted);
        out[wanted] = { build: loaded.build, fallback: loaded.fallback ?? null, ...loaded.module.checkCpuProducts() };
      }
      return out;
    });
    assert.equal(reports.relaxed, true, "this Chromium should validate relaxed SIMD");
    assert.equal(reports.auto.build, "fma", JSON.stringify(reports.auto.fallback));
    assert.equal(reports.auto.simd, "WebAssembly SIMD + FMA");
    assert.equal(reports.simd128.build, "simd128");
    assert.equal(reports.simd128.simd, "WebAssembly SIMD");
    assert.equal(reports.page.simd, "WebAssembly SIMD", "Trunk's loader runs the plain module on the page");
    for (const name of ["auto", "simd128", "page"]) {
      const { checks } = reports[name];
      assert.ok(checks.length >= 100, `${name}: ${checks.length} checks`);
      for (const kernel of ["matmul", "matmul, b stored transposed", "matmul_a_bt", "matmul_at_b, indexed rows",
        "linear_cross_entropy, indexed rows"]) {
        assert.ok(checks.some((c) => c.kernel === kernel), `${name}: no ${kernel} check`);
      }
      const failed = checks.filter((c) => !c.ok);
      assert.deepEqual(failed, [], `${name}: ${JSON.stringify(failed.slice(0, 3))}`);
    }
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

/** Trains the first chapter's first preset on the CPU and returns where the run says it trains. */
async function trainedOn(query, route) {
  const { browser, page, errors } = await open([]);
  try {
    if (route !== undefined) await page.context().route("**/cvjourney_fma*", route);
    await page.goto(`${server.base}${query}`);
    await ready(page);
    await page.click("#train");
    await page.waitForFunction(() => document.querySelectorAll("#epoch-log tbody tr").length > 0, null,
      { timeout: 120_000 });
    return { backend: await page.textContent("#run-backend"), errors };
  } finally {
    await browser.close();
  }
}

test("the training worker runs the relaxed-SIMD module, the plain one on ?cpu=simd128 or when the other fails", async () => {
  const fma = await trainedOn("");
  assert.match(fma.backend, /^Training on CPU: WebAssembly SIMD \+ FMA\b/);
  assert.deepEqual(fma.errors, []);
  const plain = await trainedOn("?cpu=simd128");
  assert.match(plain.backend, /^Training on CPU: WebAssembly SIMD\b(?! \+)/);
  assert.deepEqual(plain.errors, []);
  const missing = await trainedOn("", (r) => r.fulfill({ status: 404, body: "" }));
  assert.match(missing.backend, /^Training on CPU: WebAssembly SIMD\b(?! \+)/);
  assert.ok(missing.errors.length > 0 && missing.errors.every((e) => /404|cvjourney_fma/.test(e)),
    JSON.stringify(missing.errors));
});
