// End-to-end test of the built page (dist/, from `trunk build`), served on 127.0.0.1 and driven by Playwright
// in Debian's Chromium. Run by `./lab test` after the build; twice over: with WebGPU enabled (SwiftShader
// adapter) and without it (the page must fall back to the CPU and say so).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { ARTIFACTS, WEBGPU, generator, open, serve } from "./serve.mjs";

let server;
let base;

before(async () => {
  server = await serve();
  base = server.base;
});

after(() => server?.close());

/** Opens the page in a fresh browser, waits for the kernel check to finish and returns what it shows. */
async function visit(args, name, viewport = { width: 1000, height: 800 }) {
  const { browser, page, errors } = await open(args, viewport);
  try {
    await page.goto(base);
    await page.waitForFunction(() => document.getElementById("kernel-result")?.dataset.state !== "pending" &&
      !document.getElementById("kernel-result")?.textContent?.startsWith("Running"), null, { timeout: 120_000 });
    const shown = await page.evaluate(() => {
      const text = (id) => document.getElementById(id)?.textContent ?? "";
      const canvas = document.getElementById("kernel-plot");
      const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
      let inked = 0;
      for (let i = 0; i < pixels.length; i += 4) if (pixels[i] < 200 || pixels[i + 2] < 200) inked++;
      return {
        backend: text("backend"),
        backendState: document.getElementById("backend")?.dataset.state,
        kernel: text("kernel-result"),
        kernelState: document.getElementById("kernel-result")?.dataset.state,
        fallback: text("fallback-reason"),
        chapters: document.querySelectorAll("#chapter-nav li").length,
        inked,
        overflow: document.documentElement.scrollWidth - window.innerWidth,
      };
    });
    await page.screenshot({ path: path.join(ARTIFACTS, `page-${name}.png`), fullPage: true });
    return { ...shown, errors };
  } finally {
    await browser.close();
  }
}

test("with WebGPU the page trains on the GPU and the kernel matches the CPU", async () => {
  const shown = await visit(WEBGPU, "webgpu");
  assert.match(shown.backend, /^WebGPU: \S/, JSON.stringify(shown));
  assert.doesNotMatch(shown.backend, /unnamed|0x0/, "the adapter should be named");
  assert.match(shown.backend, /buffers up to [\d,]+ MiB\)$/, "the adapter's limits are shown");
  assert.equal(shown.backendState, "ok");
  assert.equal(shown.kernelState, "ok", shown.kernel);
  assert.match(shown.kernel, /1,048,576 floats added on the GPU; matches the CPU reference \(max \|diff\| = 0\)/);
  assert.equal(shown.fallback, "");
  assert.equal(shown.chapters, 8);
  assert.ok(shown.inked > 200, `the kernel plot looks blank (${shown.inked} inked pixels)`);
  assert.deepEqual(shown.errors, []);
});

test("without WebGPU the page falls back to the CPU and says why", async () => {
  // A phone-sized viewport at the same time: nothing may force sideways scrolling.
  const shown = await visit([], "cpu-fallback", { width: 390, height: 844 });
  assert.equal(shown.backend, "CPU: WebAssembly SIMD", JSON.stringify(shown));
  assert.equal(shown.backendState, "fallback");
  assert.match(shown.fallback, /WebGPU is not available here \(no GPU adapter: .+\), so the lab trains on the CPU/);
  assert.equal(shown.kernelState, "ok", shown.kernel);
  assert.match(shown.kernel, /1,048,576 floats added with SIMD on the CPU; matches the CPU reference \(max \|diff\| = 0\)/);
  assert.ok(shown.inked > 200, `the kernel plot looks blank (${shown.inked} inked pixels)`);
  assert.ok(shown.overflow <= 0, `the page is ${shown.overflow}px wider than a phone screen`);
  assert.deepEqual(shown.errors, []);
});

test("the Content-Security-Policy refuses inline script and eval, and a hostile link's text stays text", async () => {
  const { browser, page, errors } = await open([]);
  try {
    const preset = encodeURIComponent('<img src=x onerror="window.pwned=1">');
    const set = encodeURIComponent(JSON.stringify({ lr: "<script>window.pwned=2</script>", seed: "<b>7</b>" }));
    await page.goto(`${base}#preset=${preset}&set=${set}`);
    await page.waitForFunction(() => document.querySelectorAll("#chapter-nav button").length === 8, null,
      { timeout: 60_000 });
    const csp = await page.getAttribute('meta[http-equiv="Content-Security-Policy"]', "content");
    const scriptSrc = csp.split(";").find((d) => d.trim().startsWith("script-src")) ?? "";
    assert.match(scriptSrc, /'self' 'wasm-unsafe-eval' 'sha256-/, csp);
    assert.doesNotMatch(scriptSrc, /'unsafe-inline'|'unsafe-eval'/, csp);
    const outcome = await page.evaluate(async () => {
      const violations = [];
      document.addEventListener("securitypolicyviolation", (e) => violations.push(e.effectiveDirective));
      const s = document.createElement("script");
      s.textContent = "window.pwned = 3";
      document.head.append(s);
      // Tried from a timer, not from this evaluation itself: DevTools' own calls may eval regardless of CSP.
      const attempt = (f) => new Promise((resolve) => setTimeout(() => {
        try { f(); resolve("ran"); } catch (e) { resolve(e.name); }
      }, 0));
      const evaluated = await attempt(() => eval("window.pwned = 4"));
      const built = await attempt(() => new Function("window.pwned = 5")());
      await new Promise((resolve) => setTimeout(resolve, 200));
      return { pwned: window.pwned ?? null, evaluated, built, violations,
        injected: document.querySelectorAll("img[onerror], b").length };
    });
    assert.deepEqual(outcome, { pwned: null, evaluated: "EvalError", built: "EvalError",
      violations: ["script-src-elem", "script-src", "script-src"], injected: 0 });
    // A string field of a config (Iris's column names) carrying markup: refused somewhere along the way
    // (at the control or by the data loader), and shown, if at all, as text.
    const images = await page.evaluate(() => document.querySelectorAll("img").length);
    const markup = '<img src=x onerror="window.pwned=6">';
    const hostile = encodeURIComponent(JSON.stringify({ dataset: { name: "iris", classes: 2, features: [markup] } }));
    await page.goto(`${base}#preset=ch2-iris-binary&set=${hostile}`);
    await page.waitForFunction(() => document.querySelectorAll("#chapter-nav button").length === 8);
    await page.click("#train");
    await page.waitForFunction(() => !document.getElementById("guard").hidden ||
      /Fix|refused|must|not/.test(document.getElementById("progress").textContent ?? ""), null, { timeout: 30_000 });
    const after = await page.evaluate(() => ({ pwned: window.pwned ?? null, images: document.querySelectorAll("img").length,
      said: `${document.getElementById("guard-text").textContent} ${document.getElementById("progress").textContent}` }));
    assert.equal(after.pwned, null);
    assert.equal(after.images, images, `an <img> appeared: ${after.said}`);
    assert.match(after.said, /no column named '<img/, "the loader's refusal, shown as text");
    // The only console errors are the refusals this test provoked.
    assert.ok(errors.every((e) => /Content Security Policy/.test(e)), JSON.stringify(errors));
  } finally {
    await browser.close();
  }
});

test("URL state fuzz: 300 hostile links leave no page error and a working page", async () => {
  const { browser, page, errors } = await open([]);
  try {
    await page.goto(base);
    await page.waitForFunction(() => document.querySelectorAll("#chapter-nav button").length === 8, null,
      { timeout: 60_000 });
    const rand = generator(7);
    const pick = (xs) => xs[Math.floor(rand() * xs.length)];
    const keys = ["dataset", "test_fraction", "normalization", "model", "loss", "optimizer", "lr", "schedule",
      "batch_size", "epochs", "seed", "weight_decay", "__proto__", "constructor", "x"];
    const values = [-1, 0, 1e308, -1e308, 2 ** 64, 0.5, "NaN", "<img src=x onerror=alert(1)>", null, true, [], [1, 2],
      {}, { kind: "<b>x</b>" }, { hidden: "x" }, { hidden: [1e9] }, { name: "iris", classes: 99, features: ["<i>"] },
      "a".repeat(5000), [[[[[]]]]], { conv: [{ channels: -1 }] }];
    const ids = ["ch4-xor", "ch1-tv-sgd", "ch2-iris-binary", "ch5-ravine", "ch6-cnn-7x7", "ch7-first-graph",
      "ch4-fashion-adam", "<script>", ""];
    for (let i = 0; i < 300; i++) {
      const set = {};
      for (let k = 0; k < 1 + Math.floor(rand() * 3); k++) set[pick(keys)] = pick(values);
      let raw = JSON.stringify(set);
      if (rand() < 0.1) raw = raw.slice(0, Math.floor(rand() * raw.length));
      const hash = `preset=${encodeURIComponent(pick(ids))}&set=${encodeURIComponent(raw)}` +
        (rand() < 0.2 ? `&hide=${encodeURIComponent(pick(keys))}` : "") + (rand() < 0.2 ? `&backend=${pick(["cpu", "x"])}` : "");
      await page.evaluate((h) => { location.hash = h; }, hash);
      await page.waitForTimeout(20);
      assert.deepEqual(errors, [], `link ${i}: #${hash.slice(0, 300)}`);
    }
    // A wrong-shaped field is named to the visitor, not dropped silently; the valid one beside it is used.
    await page.evaluate(() => { location.hash = `preset=ch4-xor&set=${encodeURIComponent('{"schedule":null,"lr":0.2}')}`; });
    await page.waitForFunction(() => document.getElementById("json-why").textContent.includes("schedule"));
    assert.equal(await page.inputValue("#c-lr"), "0.2", "the valid field of the same link is used");
    // Still a working page: a preset opens with its settings and trains.
    await page.evaluate(() => { location.hash = "preset=ch4-xor"; });
    await page.waitForFunction(() => document.querySelector("#presets .card[aria-pressed=true]")?.dataset.preset === "ch4-xor");
    await page.click("#train");
    await page.waitForFunction(() => document.querySelectorAll("#epoch-log tbody tr").length > 0, null, { timeout: 60_000 });
    assert.equal(await page.evaluate(() => window.pwned ?? null), null);
  } finally {
    await browser.close();
  }
});
