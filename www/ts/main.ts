// The page shell: finds the wasm module that Trunk loads, starts the lab (lab.ts), asks for a backend, runs
// the kernel check and shows every outcome in words. Nothing here computes; the Rust side (src/web/) does.

import type { BackendChoice, KernelCheck, Lab, LabBindings } from "./bindings.js";
import { LabPage } from "./lab.js";

declare global {
  interface Window {
    wasmBindings?: LabBindings;
  }
}

/** How many floats the kernel check adds: large enough to take many workgroups, small enough for a phone. */
const CHECK_SIZE = 1 << 20;
/** How long the module may take to load before the page says something went wrong. */
const LOAD_TIMEOUT_MS = 30_000;

function element(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`page is missing #${id}`);
  return el;
}

function show(id: string, text: string, state: "pending" | "ok" | "error" | "fallback"): void {
  const el = element(id);
  el.textContent = text;
  el.dataset.state = state;
}

function describeError(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

/** Resolves with the bindings once Trunk's loader has instantiated the module. */
function whenLoaded(): Promise<LabBindings> {
  return new Promise((resolve, reject) => {
    if (window.wasmBindings !== undefined) {
      resolve(window.wasmBindings);
      return;
    }
    const timer = window.setTimeout(() => {
      reject(new Error(`the WebAssembly module did not start within ${LOAD_TIMEOUT_MS / 1000} s`));
    }, LOAD_TIMEOUT_MS);
    addEventListener("TrunkApplicationStarted", () => {
      window.clearTimeout(timer);
      if (window.wasmBindings === undefined) reject(new Error("the WebAssembly module exported nothing"));
      else resolve(window.wasmBindings);
    });
  });
}

function showBackend(choice: BackendChoice): void {
  // The adapter's limits that bound a model here: the largest buffer one kernel may bind.
  const a = choice.adapter;
  const limits = a ? ` (${a.deviceType}, buffers up to ${Math.round(a.maxStorageBufferBytes / 2 ** 20).toLocaleString("en-US")} MiB)` : "";
  show("backend", choice.label + limits, choice.kind === "webgpu" ? "ok" : "fallback");
  const reason = element("fallback-reason");
  if (choice.fallbackReason) {
    reason.textContent = `WebGPU is not available here (${choice.fallbackReason}), so the lab trains on the CPU.`;
    reason.hidden = false;
  }
}

function showCheck(lab: Lab, check: KernelCheck, millis: number): void {
  const where = check.kind === "webgpu" ? "on the GPU" : "with SIMD on the CPU";
  const n = check.n.toLocaleString("en-US");
  const verdict = check.ok ? "matches the CPU reference" : "DIFFERS from the CPU reference";
  const text = `${check.kernel}: ${n} floats added ${where}; ${verdict} (max |diff| = ${check.maxAbsDiff}). ` +
    `The whole check, set-up included, took ${millis.toFixed(0)} ms.`;
  show("kernel-result", text, check.ok ? "ok" : "error");
  lab.drawKernelCheck("kernel-plot", check);
}

async function main(): Promise<void> {
  let bindings: LabBindings;
  try {
    bindings = await whenLoaded();
  } catch (e) {
    show("backend", `The lab could not start: ${describeError(e)}`, "error");
    show("kernel-result", "Not run.", "error");
    return;
  }
  try {
    new LabPage(bindings);
  } catch (e) {
    show("chapter-title", `The lab could not start: ${describeError(e)}`, "error");
  }
  const lab = await bindings.createLab();
  showBackend(lab.backend());
  show("kernel-result", "Running…", "pending");
  const started = performance.now();
  try {
    const check = await lab.kernelCheck(CHECK_SIZE);
    showCheck(lab, check, performance.now() - started);
  } catch (e) {
    show("kernel-result", `The kernel check failed: ${describeError(e)}`, "error");
  }
}

// A failure the code above did not foresee still ends up on the page, not only in the console.
addEventListener("unhandledrejection", (event) => {
  show("kernel-result", `Unexpected error: ${describeError(event.reason)}`, "error");
});

void main();
