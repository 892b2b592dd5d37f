// Settings that arrive from outside (a link's `set`, an imported file, the JSON box) are fitted to the
// preset's own config before anything reads them: a value of the wrong shape (a string where the model
// goes, null for the schedule) used to throw inside the settings panel and leave the page half drawn.
// Wrong-shaped values are dropped (the preset's value stays); well-shaped values pass, even out of range,
// so that the controls refuse them with a reason; whether Rust can read the result is checked by the
// caller (`describeModel`), field by field.

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Keys never taken from outside: they would shadow object machinery. */
const FORBIDDEN = new Set(["__proto__", "constructor", "prototype"]);
const MAX_STRING = 200;
const MAX_ITEMS = 64;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A small plain value: finite numbers, short strings, booleans, null, and arrays or objects of those
 * (a few levels deep). Fields the preset does not have (dropout, conv blocks, another optimizer's
 * parameters) are taken only in this shape. */
function flat(v: unknown, depth = 0): v is Json {
  if (v === null || typeof v === "boolean") return true;
  if (typeof v === "number") return Number.isFinite(v);
  if (typeof v === "string") return v.length <= MAX_STRING;
  if (depth >= 3) return false;
  if (Array.isArray(v)) return v.length <= MAX_ITEMS && v.every((x) => flat(x, depth + 1));
  if (isObject(v)) {
    const entries = Object.entries(v);
    return entries.length <= 16 && entries.every(([k, x]) => !FORBIDDEN.has(k) && flat(x, depth + 1));
  }
  return false;
}

/** `value` shaped like `base`, or undefined when it is not. Objects are fitted key by key onto a copy of
 * `base`; an object of another variant (a different `kind` or dataset `name`) is taken whole if flat. */
export function fit(base: unknown, value: unknown): unknown {
  if (base === null) return value === null || (typeof value === "number" && Number.isFinite(value)) ? value : undefined;
  if (typeof base === "number") return typeof value === "number" && Number.isFinite(value) ? value : undefined;
  if (typeof base === "string") return typeof value === "string" && value.length <= MAX_STRING ? value : undefined;
  if (typeof base === "boolean") return typeof value === "boolean" ? value : undefined;
  if (Array.isArray(base)) {
    if (!Array.isArray(value) || value.length > MAX_ITEMS) return undefined;
    if (base.length === 0) return flat(value) ? value : undefined;
    const items = value.map((x) => fit(base[0], x));
    return items.every((x) => x !== undefined) ? items : undefined;
  }
  if (isObject(base)) {
    if (!isObject(value)) return undefined;
    const variant = (k: string): boolean => k in base && k in value && base[k] !== value[k];
    if (variant("kind") || variant("name")) return flat(value) ? value : undefined;
    const out: Record<string, unknown> = structuredClone(base);
    for (const [k, v] of Object.entries(value)) {
      if (FORBIDDEN.has(k)) continue;
      const fitted = Object.hasOwn(base, k) ? fit(base[k], v) : flat(v) ? v : undefined;
      if (fitted !== undefined) out[k] = fitted;
    }
    return out;
  }
  return undefined;
}

/** `base` with each top-level field of `edits` that fits it and that `readable` accepts (the caller
 * asks Rust whether a config with that field can be read at all), and the fields left out, so that the
 * visitor can be told which part of a link or file was ignored. */
export function fitConfig<T extends object>(base: T, edits: unknown,
  readable: (candidate: T) => boolean): { config: T; ignored: string[] } {
  const out = structuredClone(base) as Record<string, unknown>;
  const ignored: string[] = [];
  if (!isObject(edits)) return { config: out as T, ignored: edits === null || edits === undefined ? [] : ["all of it"] };
  for (const [k, v] of Object.entries(edits)) {
    if (FORBIDDEN.has(k)) {
      ignored.push(k);
      continue;
    }
    // Optional fields (weight decay) are absent from presets that do not use them: taken when flat.
    const fitted = Object.hasOwn(out, k) ? fit(out[k], v) : flat(v) ? v : undefined;
    const candidate = { ...out, [k]: fitted } as T;
    if (fitted !== undefined && readable(candidate)) out[k] = fitted;
    else ignored.push(k);
  }
  return { config: out as T, ignored };
}
