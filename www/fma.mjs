// Trunk post_build hook: the relaxed-SIMD twin of the wasm module, cvjourney_fma.js + cvjourney_fma_bg.wasm.
//
// The same crate, built with `-C target-feature=+relaxed-simd` on top of the SIMD128 flags of
// .cargo/config.toml: the CPU kernels' multiply-adds (src/backend/cpu/lanes.rs `madd`) become
// f32x4.relaxed_madd, which the engine runs as one fused multiply-add where the CPU has FMA. A browser
// without relaxed SIMD refuses the whole module, so Trunk's plain SIMD128 module stays next to it; the
// training worker picks one (www/ts/wasm.ts). The flag reaches only this crate (`cargo rustc`), so the
// dependencies Trunk's build compiled are reused; the crate itself is compiled a second time, and Trunk's
// next build compiles it again (the two builds take turns in one target directory).
import { execFileSync } from "node:child_process";
import path from "node:path";

if (process.env.CVJOURNEY_NO_FMA) {
  // A quicker `trunk serve` loop: the worker then says it loads the plain module, and does.
  console.log("fma.mjs: CVJOURNEY_NO_FMA is set: no relaxed-SIMD module in this build");
  process.exit(0);
}
const release = process.env.TRUNK_PROFILE === "release";
const staging = process.env.TRUNK_STAGING_DIR ?? "dist";
const target = "wasm32-unknown-unknown";
const run = (command, args) => execFileSync(command, args, { stdio: ["ignore", "inherit", "inherit"] });

const t0 = Date.now();
run("cargo", [
  "rustc", "--lib", "--target", target, "--no-default-features", "--locked", "--offline", "--quiet",
  ...(release ? ["--release"] : []),
  "--", "-C", "target-feature=+relaxed-simd",
]);
const targetDir = process.env.CARGO_TARGET_DIR ?? "target";
const wasm = path.join(targetDir, target, release ? "release" : "debug", "cvjourney.wasm");
run("wasm-bindgen", ["--target", "web", "--no-typescript", "--out-dir", staging, "--out-name", "cvjourney_fma", wasm]);
console.log(`fma.mjs: cvjourney_fma_bg.wasm (relaxed SIMD) in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
