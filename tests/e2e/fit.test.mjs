// The settings fitter (www/ts/fit.ts) fuzzed in Node with the real module: every preset's config mutated at
// random (leaves swapped for hostile values, fields deleted, junk keys added, whole objects replaced), then
// fitted as the page fits a link's settings. Whatever comes in, the result keeps every field of the preset
// with its type, has no `__proto__` of its own, and Rust reads it as a config. FIT_FUZZ_N sets how many
// inputs (2,000 in `./lab test`; `./lab fuzz` runs more).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { generator } from "./serve.mjs";

const N = Number(process.env.FIT_FUZZ_N ?? 2000);

const kind = (v) => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v);

/** Fails unless `out` has every field of `base` with the same kind (objects recursively, unless `out` is
 * another variant of them: a different `kind` or dataset `name`). */
function sameShape(base, out, where) {
  if (kind(base) === "null") return; // optional limits: a number or null
  assert.equal(kind(out), kind(base), `${where}: ${JSON.stringify(out)?.slice(0, 120)}`);
  if (kind(base) !== "object") return;
  assert.ok(!Object.hasOwn(out, "__proto__"), `${where} has its own __proto__`);
  if ((base.kind !== undefined && out.kind !== base.kind) || (base.name !== undefined && out.name !== base.name)) return;
  for (const k of Object.keys(base)) sameShape(base[k], out[k], `${where}.${k}`);
}

test(`settings from outside keep the preset's shape and stay readable (${N} hostile inputs)`, async () => {
  const module = await import(path.resolve("dist/cvjourney.js"));
  await module.default({ module_or_path: await readFile(path.resolve("dist/cvjourney_bg.wasm")) });
  const { fitConfig } = await import(path.resolve("dist/fit.js"));
  const readable = (c) => {
    try {
      module.describeModel(c);
      return true;
    } catch (e) {
      return !String(e?.message ?? e).startsWith("the settings are not a valid config");
    }
  };
  const configs = module.presets().map((p) => p.config);
  const rand = generator(2026);
  const pick = (xs) => xs[Math.floor(rand() * xs.length)];
  const hostile = () => pick([-1, 0, 1e308, -1e308, 2 ** 64, NaN, Infinity, "NaN", "<img src=x onerror=alert(1)>",
    null, true, [], [1e9], [[[]]], {}, { kind: "x" }, { name: "x" }, "a".repeat(300), { hidden: "x" }, [{ channels: -1 }]]);
  /** A copy of `v` with some leaves and objects replaced, deleted or grown. */
  const mutate = (v, depth = 0) => {
    if (rand() < 0.15) return hostile();
    if (Array.isArray(v)) return v.map((x) => mutate(x, depth + 1));
    if (v === null || typeof v !== "object") return v;
    const out = {};
    for (const [k, x] of Object.entries(v)) if (rand() > 0.1) out[k] = mutate(x, depth + 1);
    if (rand() < 0.1) out[pick(["__proto__", "constructor", "junk", "dropout", "conv"])] = hostile();
    return out;
  };
  for (let i = 0; i < N; i++) {
    const base = pick(configs);
    const edits = rand() < 0.05 ? hostile() : mutate(base);
    // The fitter alone must keep the shape (Rust's check is a second line, not the first)...
    sameShape(base, fitConfig(base, edits, () => true).config, `input ${i} (fitter alone)`);
    // ... and with Rust's check, as in the page, the result must also be readable.
    const { config: out, ignored } = fitConfig(base, edits, readable);
    // Every edited field is either taken or named as ignored.
    if (edits !== null && typeof edits === "object" && !Array.isArray(edits)) {
      for (const k of Object.keys(edits)) {
        assert.ok(ignored.includes(k) || Object.hasOwn(out, k), `input ${i}: ${k} neither taken nor named`);
      }
    }
    sameShape(base, out, `input ${i}`);
    assert.ok(readable(out), `input ${i}: Rust cannot read ${JSON.stringify(out).slice(0, 300)}`);
  }
});
