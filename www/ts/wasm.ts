// Which build of the wasm module to run. The site has two (www/fma.mjs): cvjourney_fma_bg.wasm, built with
// relaxed SIMD so that the CPU kernels' multiply-adds are fused where the processor has FMA, and Trunk's
// cvjourney_bg.wasm, plain SIMD128, for browsers without relaxed SIMD (a browser refuses a whole module
// that uses an instruction it lacks). The training worker loads one through `loadModule`; so do the
// benchmarks, to time what training runs on.

/** "fma": the relaxed-SIMD module; "simd128": the plain one. */
export type Build = "fma" | "simd128";

// (module (func (result v128) (f32x4.relaxed_madd (v128.const 0) (v128.const 0) (v128.const 0)))): valid
// exactly where the engine has relaxed SIMD.
const V128_ZERO = [0xfd, 0x0c, ...new Array<number>(16).fill(0)];
const BODY = [0x00, ...V128_ZERO, ...V128_ZERO, ...V128_ZERO, 0xfd, 0x85, 0x02, 0x0b];
const RELAXED_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // types: () -> v128
  0x03, 0x02, 0x01, 0x00, // one function of type 0
  0x0a, BODY.length + 2, 0x01, BODY.length, ...BODY, // its code
]);

/** Whether this engine validates relaxed SIMD. */
export function hasRelaxedSimd(): boolean {
  try {
    return WebAssembly.validate(RELAXED_PROBE);
  } catch {
    return false;
  }
}

/** The build to run: `wanted` when given ("simd128" forces the plain module, e.g. from the page's
 * `?cpu=simd128`), else the relaxed-SIMD one where the engine has it. */
export function chooseBuild(wanted: string | null): Build {
  if (wanted === "simd128") return "simd128";
  return hasRelaxedSimd() ? "fma" : "simd128";
}

export interface Loaded<M> {
  module: M;
  build: Build;
  /** Why the relaxed-SIMD module was wanted but not used (missing from the server, refused), if it was. */
  fallback?: string;
}

interface Glue {
  default(options: { module_or_path: URL }): Promise<unknown>;
}

/** Imports and instantiates the module build `wanted` (see `chooseBuild`) from the folder `base`; when the
 * relaxed-SIMD build fails to load, the plain one is loaded instead and `fallback` says why. */
export async function loadModule<M extends Glue>(base: string, wanted: string | null): Promise<Loaded<M>> {
  const build = chooseBuild(wanted);
  const load = async (name: string): Promise<M> => {
    const module = (await import(new URL(`./${name}.js`, base).href)) as M;
    await module.default({ module_or_path: new URL(`./${name}_bg.wasm`, base) });
    return module;
  };
  if (build === "simd128") return { module: await load("cvjourney"), build };
  try {
    return { module: await load("cvjourney_fma"), build };
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    return { module: await load("cvjourney"), build: "simd128", fallback: why };
  }
}
