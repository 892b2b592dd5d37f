// End-to-end tests of the drawing pad (issue 10): a "1" drawn with the mouse and a "0" drawn with a finger
// (real touch events through the DevTools protocol) get the right top class from the starter digits model
// while a training run goes on in the worker; the page does not scroll while a finger draws; the
// preparation steps and the saliency map are drawn; Undo and Clear work.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { ARTIFACTS, lit, open, ready, serve } from "./serve.mjs";

let server;
before(async () => { server = await serve(); });
after(() => server?.close());

/** Opens the lab at `hash`, presses Train and waits for the first epoch in the log. */
async function startRun(page, hash) {
  await page.goto(`${server.base}#${hash}`);
  await ready(page);
  await page.click("#train");
  await page.waitForFunction(() => document.querySelectorAll("#epoch-log tbody tr").length > 0, null,
    { timeout: 120_000 });
}

/** Points of a stroke in the pad's own 280x280 units. */
const ONE = Array.from({ length: 15 }, (_, i) => [140 + i * 0.8, 45 + i * 13]);
const ZERO = Array.from({ length: 33 }, (_, i) => {
  const a = (i / 32) * 2 * Math.PI;
  return [140 + 55 * Math.sin(a), 140 - 85 * Math.cos(a)];
});

/** Page coordinates of pad points. */
async function toPage(page, points) {
  await page.locator("#pad").scrollIntoViewIfNeeded();
  const box = await page.locator("#pad").boundingBox();
  return points.map(([x, y]) => [box.x + (x / 280) * box.width, box.y + (y / 280) * box.height]);
}

async function drawWithMouse(page, points) {
  const p = await toPage(page, points);
  await page.mouse.move(p[0][0], p[0][1]);
  await page.mouse.down();
  for (const [x, y] of p.slice(1)) await page.mouse.move(x, y, { steps: 2 });
  await page.mouse.up();
}

async function drawWithFinger(page, cdp, points) {
  const p = await toPage(page, points);
  const touch = (type, [x, y]) => cdp.send("Input.dispatchTouchEvent",
    { type, touchPoints: type === "touchEnd" ? [] : [{ x, y, id: 1, radiusX: 4, radiusY: 4, force: 1 }] });
  await touch("touchStart", p[0]);
  for (const q of p.slice(1)) await touch("touchMove", q);
  await touch("touchEnd", p[p.length - 1]);
}

/** Waits for the pad's answer to name `label` as the top class; returns the answer's text. */
async function answer(page, label) {
  await page.waitForFunction((want) => document.getElementById("pad-top")?.dataset.label === want, label,
    { timeout: 60_000 });
  return page.textContent("#pad-top");
}

test("the starter model reads a 1 and a 0 drawn with the mouse and with a finger while a run trains", async () => {
  const { browser, page, errors } = await open([], { width: 412, height: 915 });
  try {
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Emulation.setTouchEmulationEnabled", { enabled: true, maxTouchPoints: 1 });
    await startRun(page, 'preset=ch4-rings-mlp&set={"epochs":100000}');
    await page.locator("#pad").scrollIntoViewIfNeeded();

    await drawWithMouse(page, ONE);
    const one = await answer(page, "1");
    assert.match(one, /^1 \(\d+ %\), says the starter model$/);
    assert.equal(await page.locator("#pad-bars li").count(), 10);
    assert.match(await page.textContent("#pad-norm-range"), /^-?\d+\.\d\d to \d+\.\d\d$/);
    for (const id of ["#pad-steps-crop", "#pad-steps-scaled", "#pad-steps-input", "#pad-steps-normalized", "#pad-saliency"]) {
      assert.ok(await lit(page, id) > 0, `${id} shows the step`);
    }
    assert.equal(await page.locator("#pad-maps-grid canvas").count(), 16, "the starter CNN's 16 first-layer maps");
    const maps = await Promise.all([...Array(16).keys()].map((i) => lit(page, `#pad-maps-grid canvas:nth-child(${i + 1})`)));
    assert.ok(maps.filter((n) => n > 0).length >= 8, `most filters respond to a stroke: ${maps}`);
    assert.equal(await page.getAttribute("#run-panel", "data-state"), "running", "training went on meanwhile");

    // The same digits the other way round: a "1" by finger, a "0" by mouse.
    await page.click("#pad-clear");
    await drawWithFinger(page, cdp, ONE);
    await answer(page, "1");
    await page.click("#pad-clear");
    await drawWithMouse(page, ZERO);
    await answer(page, "0");

    await page.click("#pad-clear");
    await page.waitForFunction(() => document.getElementById("pad-top")?.textContent?.startsWith("Draw something"));
    // Where the pad sits in the viewport: a finger that scrolled the page would move it. (window.scrollY
    // alone is not the measure: scroll anchoring shifts it when the live figures above the pad grow.)
    await page.locator("#pad").scrollIntoViewIfNeeded();
    const padTop = () => page.evaluate(() => document.getElementById("pad").getBoundingClientRect().top);
    const topBefore = await padTop();
    await drawWithFinger(page, cdp, ZERO);
    const zero = await answer(page, "0");
    assert.match(zero, /^0 \(\d+ %\)/);
    assert.ok(Math.abs((await padTop()) - topBefore) < 1, "drawing with a finger does not scroll the page");
    assert.equal(await page.$eval("#pad", (c) => getComputedStyle(c).touchAction), "none");

    // Undo takes the 0 away again: an empty pad, and blank steps.
    await page.click("#pad-undo");
    await page.waitForFunction(() => document.getElementById("pad-top")?.textContent?.startsWith("Draw something"));
    assert.equal(await lit(page, "#pad"), 0, "the pad is empty after Undo");
    assert.equal(await lit(page, "#pad-steps-input"), 0, "no input shown for an empty pad");
    assert.equal(await page.getAttribute("#run-panel", "data-state"), "running", "training still going");
    // The clothes starter answers with Fashion-MNIST's names (a drawing scaled to fill the 28x28 frame).
    await page.selectOption("#pad-model", "fashion-cnn");
    await drawWithMouse(page, ZERO);
    await page.waitForFunction(() => /says the starter model/.test(document.getElementById("pad-top")?.textContent ?? "") &&
      document.querySelectorAll("#pad-bars li")[9]?.textContent?.startsWith("Ankle boot"), null, { timeout: 60_000 });
    assert.equal(await page.locator("#pad-maps-grid canvas").count(), 32, "the clothes CNN's 32 first-layer maps");
    await page.screenshot({ path: path.join(ARTIFACTS, "pad-phone.png"), fullPage: true });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test("the pad asks the model being trained when chosen, and says when the run has none", async () => {
  const { browser, page, errors } = await open([]);
  try {
    // A Fashion-MNIST CNN in training answers with the clothes' names.
    const set = '{"dataset":{"name":"fashion-mnist","train_limit":2000,"test_limit":500},"epochs":50}';
    await startRun(page, `preset=ch6-cnn-7x7&set=${set}`);
    await page.selectOption("#pad-model", "training");
    await drawWithMouse(page, ZERO);
    await page.waitForFunction(() => /says the model being trained/.test(document.getElementById("pad-top")?.textContent ?? ""),
      null, { timeout: 60_000 });
    const names = await page.$$eval("#pad-bars .pad-label", (l) => l.map((x) => x.textContent));
    assert.equal(names.length, 10);
    assert.ok(names.includes("Sneaker") || names.includes("sneaker"), JSON.stringify(names));
    await page.click("#reset");

    // A run on 2-D points has no model for the pad: the pad says so.
    await page.goto(`${server.base}#preset=ch4-rings-mlp&set={"epochs":400}`);
    await page.click("#train");
    await page.click("#pad-clear");
    await drawWithMouse(page, ONE);
    await page.waitForFunction(() => (document.getElementById("pad-why")?.textContent ?? "").length > 0, null,
      { timeout: 30_000 });
    assert.match(await page.textContent("#pad-why"), /does not train on 28x28 digits or clothes/);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test("a run saves itself in the browser, a reload resumes it, and its model file loads in the pad", async () => {
  const { browser, page, errors } = await open([]);
  try {
    const set = '{"dataset":{"name":"fashion-mnist","train_limit":1000,"test_limit":200},"epochs":4}';
    await startRun(page, `preset=ch6-cnn-7x7&set=${set}`);
    await page.waitForFunction(() => document.querySelectorAll("#epoch-log tbody tr").length >= 2, null,
      { timeout: 120_000 });
    await page.click("#pause");
    const downloading = page.waitForEvent("download");
    await page.click("#export-model");
    const download = await downloading;
    const file = path.join(ARTIFACTS, "saved-model.safetensors");
    await download.saveAs(file);
    assert.match(download.suggestedFilename(), /^cvjourney-ch6-cnn-7x7-epoch\d+\.safetensors$/);

    // A reload offers the saved run; resuming goes on from the epoch after the last saved one.
    await page.reload();
    await page.waitForSelector("#resume-box:not([hidden])", { timeout: 60_000 });
    const offer = await page.textContent("#resume-text");
    const saved = Number(offer.match(/after epoch (\d+)/)?.[1]);
    assert.ok(saved >= 1, offer);
    await page.click("#resume");
    await page.waitForFunction(() => document.getElementById("run-panel")?.dataset.state === "done", null,
      { timeout: 120_000 });
    const epochs = await page.$$eval("#epoch-log tbody tr", (rows) => rows.map((r) => Number(r.children[1].textContent)));
    assert.equal(epochs[0], saved + 1, `resumed after epoch ${saved}: ${epochs}`);
    assert.equal(epochs[epochs.length - 1], 4);

    // The saved file is a model the pad can load; a broken one is refused with the reason.
    await page.setInputFiles("#pad-import", file);
    await page.waitForFunction(() => document.getElementById("pad-model")?.value === "imported");
    await drawWithMouse(page, ZERO);
    await page.waitForFunction(() => /says the loaded model/.test(document.getElementById("pad-top")?.textContent ?? ""),
      null, { timeout: 60_000 });
    await page.setInputFiles("#pad-import", { name: "broken.safetensors", mimeType: "application/octet-stream",
      buffer: Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9]) });
    await page.waitForFunction(() => /broken.safetensors cannot be used: model file: cannot be read/
      .test(document.getElementById("pad-why")?.textContent ?? ""), null, { timeout: 30_000 });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
