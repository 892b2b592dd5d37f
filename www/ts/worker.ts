// The training worker: loads the same wasm module as the page, fetches the preset's data files, and trains
// in slices of about 40 ms so that pause, step and stop messages are answered between slices. The page's
// main thread only draws.

import type {
  Classified, FromWorker, PadModel, SavedRun, SessionConfig, ToWorker, TrainBackend, Trainer, WorkerModule,
} from "./bindings.js";
import { loadModule } from "./wasm.js";

/** Milliseconds of training per slice: short enough to answer a pause at once, long enough to be efficient. */
const SLICE_MS = 40;
/** At most how often the run is saved to this browser's storage (IndexedDB), at an epoch's end. */
const SAVE_EVERY_MS = 5000;
let lastSaved = -Infinity;
/** How often fresh figures are sent while training. */
const FIGURES_EVERY_MS = 250;

/** The parts of a dedicated worker's global scope used here (the DOM typings do not describe workers). */
interface WorkerScope {
  postMessage(message: FromWorker): void;
  location: { href: string };
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
}

const scope = self as unknown as WorkerScope;
let glue: WorkerModule | null = null;
let trainer: Trainer | null = null;
let paused = false;
/** Bumped by every start and stop: a loop or a download of an older run sees it changed and gives up. */
let generation = 0;
let lastFigures = 0;
/** A slice is in flight (its GPU readbacks awaited): a Step message waits for it instead of overlapping. */
let busy = false;
let stepQueued = false;
/** The preset of the run in the worker (for the saved copy's label). */
let currentPreset = "";

// The last run, saved in this browser after every epoch so that a reload can resume it (IndexedDB: one
// database, one store, one record under the key "last").
interface StoredRun extends SavedRun {
  bytes: Uint8Array;
}

function database(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open("cvjourney", 1);
    request.onupgradeneeded = () => request.result.createObjectStore("runs");
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error("IndexedDB refused to open"));
  });
}

async function stored(mode: IDBTransactionMode, act: (store: IDBObjectStore) => IDBRequest): Promise<unknown> {
  const db = await database();
  try {
    return await new Promise((resolve, reject) => {
      const request = act(db.transaction("runs", mode).objectStore("runs"));
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error ?? new Error("IndexedDB request failed"));
    });
  } finally {
    db.close();
  }
}

const loadSaved = async (): Promise<StoredRun | null> =>
  ((await stored("readonly", (s) => s.get("last"))) as StoredRun | undefined) ?? null;

/** Saves the run after an epoch; a browser without storage (private mode, quota) just does not save. */
async function saveRun(t: Trainer, epochs: number): Promise<void> {
  try {
    const record: StoredRun = { presetId: currentPreset, config: currentConfig as SessionConfig, epochs, savedAt: Date.now(), bytes: await t.exportModel() };
    await stored("readwrite", (s) => s.put(record, "last"));
  } catch {
    // Not saved: the run itself goes on.
  }
}

let currentConfig: SessionConfig | null = null;

/** The newest drawing waiting to be classified (older ones are dropped: only the latest matters). */
let classifyQueued: Extract<ToWorker, { type: "classify" }> | null = null;
/** Work for the trainer that waits for the slice in flight (an export). */
const jobs: (() => Promise<boolean>)[] = [];

/** Runs `job` now, or as soon as the slice in flight ends. */
function betweenSlices(job: () => Promise<boolean>): void {
  if (busy) jobs.push(job);
  else void guarded(job);
}

/** Starter models, read once on demand. */
const padModels = new Map<string, Promise<PadModel>>();
/** Trainers to free once the slice in flight has let go of them. */
const retired: Trainer[] = [];

/** Frees a trainer now, or after the slice in flight (freeing one that an awaited call holds would throw). */
function retire(t: Trainer | null): void {
  if (t === null) return;
  if (busy) retired.push(t);
  else t.free();
}

function post(message: FromWorker): void {
  scope.postMessage(message);
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The module, loaded once: the relaxed-SIMD build where the browser has it (www/ts/wasm.ts), unless the
 * page asked for the plain one (`?cpu=simd128` on the page's address, passed on to this worker's). */
async function load(): Promise<WorkerModule> {
  if (glue !== null) return glue;
  const base = scope.location.href;
  const loaded = await loadModule<WorkerModule>(base, new URL(base).searchParams.get("cpu"));
  if (loaded.fallback !== undefined) {
    post({ type: "note", text: `The CPU path runs without fused multiply-adds: the relaxed-SIMD module did not load (${loaded.fallback}).` });
  }
  glue = loaded.module;
  return glue;
}

/** Files the visitor gave the page (CIFAR-10), by the name a Trainer asks for. */
const provided = new Map<string, Uint8Array>();

/** Fetches a data file, reporting progress for the large ones; a file the visitor provided is used as is. */
async function fetchData(name: string, gen: number): Promise<Uint8Array | null> {
  const given = provided.get(name);
  if (given !== undefined) return given;
  const response = await fetch(new URL(`./data/${name}`, scope.location.href));
  if (!response.ok && name.startsWith("cifar-10/")) {
    throw new Error(`CIFAR-10 is not on this server (data/${name}: HTTP ${response.status}): add your copy in ` +
      "the CIFAR-10 box above the settings, or run the same experiment on Fashion-MNIST");
  }
  if (!response.ok) throw new Error(`could not fetch data/${name}: HTTP ${response.status}`);
  const total = Number(response.headers.get("content-length") ?? 0);
  const reader = response.body?.getReader();
  if (reader === undefined) return new Uint8Array(await response.arrayBuffer());
  const parts: Uint8Array[] = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (gen !== generation) return null;
    if (done) break;
    parts.push(value);
    received += value.length;
    const mb = (received / 1e6).toFixed(1);
    post({ type: "loading", text: `Loading ${name}: ${mb} MB${total > 0 ? ` of ${(total / 1e6).toFixed(1)} MB` : ""}` });
  }
  const bytes = new Uint8Array(received);
  let at = 0;
  for (const p of parts) {
    bytes.set(p, at);
    at += p.length;
  }
  return bytes;
}

/** Loads the data and starts training; with `stepOnly`, takes one step and waits (the page's Step). */
async function start(presetId: string, config: SessionConfig, stepOnly: boolean, backend: TrainBackend, resume: boolean): Promise<void> {
  const gen = ++generation;
  currentPreset = presetId;
  currentConfig = config;
  retire(trainer);
  trainer = null;
  const module = await load();
  const next = new module.Trainer(presetId, config);
  for (const name of next.filesNeeded()) {
    const bytes = await fetchData(name, gen);
    if (bytes === null) {
      next.free();
      return;
    }
    next.addFile(name, bytes);
  }
  if (gen !== generation) {
    next.free();
    return;
  }
  if (backend !== "cpu") {
    post({ type: "loading", text: "Opening the GPU…" });
    try {
      await next.useGpu();
    } catch (e) {
      // No WebGPU, no adapter, or a refused device: the run goes on the CPU, and the page says why.
      await next.fallBackToCpu(describe(e));
    }
  }
  if (gen !== generation) {
    next.free();
    return;
  }
  post({ type: "loading", text: "Preparing the data…" });
  if (resume) {
    const saved = await loadSaved().catch(() => null);
    if (saved === null) throw new Error("no saved run was found in this browser");
    const epochs = next.restore(saved.bytes);
    post({ type: "note", text: `Resumed the saved run after epoch ${epochs}.` });
  }
  trainer = next;
  paused = stepOnly;
  lastFigures = 0;
  if (stepOnly) await guarded(() => slice(0, 1, true), true);
  else void loop(gen);
}

/** Runs `f` unless a slice is in flight. Then a Step (`queueStep`) runs when the slice ends; the training
 * loop's own slice is simply skipped (the loop comes back on its next turn). */
async function guarded(f: () => Promise<boolean>, queueStep = false): Promise<boolean> {
  if (busy) {
    if (queueStep) stepQueued = true;
    return false;
  }
  busy = true;
  try {
    return await f();
  } finally {
    busy = false;
    for (const t of retired.splice(0)) t.free();
    if (stepQueued && trainer !== null) {
      stepQueued = false;
      void guarded(() => slice(0, 1, true));
    } else if (jobs.length > 0) {
      const job = jobs.shift();
      if (job !== undefined) void guarded(job);
    } else if (classifyQueued !== null) {
      void guarded(classifyNext);
    }
  }
}

/** One slice of training; sends progress and, now and then, figures. Returns whether the run is over.
 * A GPU failure in the slice (a lost device, an out-of-memory) moves the run to the CPU and goes on. */
async function slice(budgetMs: number, maxSteps: number, forceFigures: boolean): Promise<boolean> {
  const t = trainer;
  if (t === null) return true;
  let status;
  try {
    status = await t.runForAsync(budgetMs, maxSteps);
  } catch (e) {
    const why = describe(e);
    if (!/GPU|WebGPU|device|memory/i.test(why)) throw e;
    await t.fallBackToCpu(why);
    status = await t.runForAsync(budgetMs, maxSteps);
  }
  if (t !== trainer) return true;
  post({ type: "progress", status });
  // Saved at an epoch's end, at most every few seconds (a fast run finishes many epochs a second).
  if (status.newEpochs.length > 0 && !status.error && (status.done || performance.now() - lastSaved >= SAVE_EVERY_MS)) {
    lastSaved = performance.now();
    await onCpuIfGpuFails(t, () => saveRun(t, status.epoch));
  }
  const now = performance.now();
  if (forceFigures || status.done || now - lastFigures >= FIGURES_EVERY_MS) {
    lastFigures = now;
    post({ type: "figures", figures: await onCpuIfGpuFails(t, () => t.figuresAsync()) });
  }
  return status.done;
}

/** Runs `f`; when the GPU fails in it (reading weights back for figures or a save, not only while
 * training), moves the run to the CPU as a failed training step would, and runs `f` again there. */
async function onCpuIfGpuFails<T>(t: Trainer, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    const why = describe(e);
    if (!/GPU|WebGPU|device|memory|map a buffer/i.test(why)) throw e;
    await t.fallBackToCpu(why);
    return await f();
  }
}

/** Reads a starter model file (served from `models/`) the first time it is asked for. */
function padModel(module: WorkerModule, id: string): Promise<PadModel> {
  let model = padModels.get(id);
  if (model === undefined) {
    model = (async () => {
      const response = await fetch(new URL(`./models/${id}.safetensors`, scope.location.href));
      if (!response.ok) throw new Error(`could not fetch the ${id} model: HTTP ${response.status}`);
      return new module.PadModel(new Uint8Array(await response.arrayBuffer()));
    })();
    model.catch(() => padModels.delete(id));
    padModels.set(id, model);
  }
  return model;
}

/** Classifies the newest queued drawing with a starter model or the model being trained (its newest
 * weights: this runs between training slices). Always answers, with `error` set when it cannot. */
async function classifyNext(): Promise<boolean> {
  const request = classifyQueued;
  classifyQueued = null;
  if (request === null) return false;
  const answer: Classified = { type: "classified", id: request.id, source: request.source, steps: null, classes: [], probs: [], saliency: [], normalized: [], maps: [] };
  try {
    const module = await load();
    if (request.source === "training") {
      const t = trainer;
      if (t === null || t.padClasses().length === 0) {
        throw new Error("the current run does not train on 28x28 digits or clothes: pick a starter model, or train an MNIST or Fashion-MNIST preset");
      }
      answer.classes = t.padClasses();
      answer.steps = module.prepareDrawing(request.pixels, request.width, request.height, t.padSide());
      if (answer.steps !== null) {
        const input = Float32Array.from(answer.steps.input);
        answer.probs = Array.from(await t.classifyAsync(input));
        answer.saliency = Array.from(await t.saliencyAsync(input));
        answer.maps = await t.featureMapsAsync(input);
        answer.normalized = Array.from(t.normalized(input));
      }
    } else {
      if (request.source === "imported" && !padModels.has("imported")) throw new Error("load a model file first");
      const model = await padModel(module, request.source);
      answer.classes = model.classes();
      answer.steps = module.prepareDrawing(request.pixels, request.width, request.height, model.side());
      if (answer.steps !== null) {
        const input = Float32Array.from(answer.steps.input);
        answer.probs = Array.from(model.predict(input));
        answer.saliency = Array.from(model.saliency(input));
        answer.maps = model.featureMaps(input);
        answer.normalized = Array.from(model.normalized(input));
      }
    }
  } catch (e) {
    answer.error = describe(e);
  }
  post(answer);
  return false;
}

async function loop(gen: number): Promise<void> {
  if (gen !== generation || paused || trainer === null) return;
  try {
    if (await guarded(() => slice(SLICE_MS, 1_000_000, false))) return;
  } catch (e) {
    post({ type: "error", message: describe(e) });
    return;
  }
  setTimeout(() => void loop(gen), 0);
}

scope.onmessage = (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  try {
    switch (message.type) {
      case "start":
        start(message.presetId, message.config, message.stepOnly, message.backend, message.resume === true)
          .catch((e: unknown) => post({ type: "error", message: describe(e) }));
        break;
      case "cell-examples":
        betweenSlices(async () => {
          try {
            if (trainer === null) throw new Error("no run has started yet: press Train first");
            const figure = await trainer.cellExamplesAsync(message.truth, message.predicted);
            post({ type: "cell-examples", figure });
          } catch (e) {
            post({ type: "cell-examples", figure: null, error: describe(e) });
          }
          return false;
        });
        break;
      case "data-files":
        for (const f of message.files) provided.set(f.name, f.bytes);
        break;
      case "pause":
        paused = true;
        break;
      case "resume":
        paused = false;
        void loop(generation);
        break;
      case "step":
        paused = true;
        guarded(() => slice(0, 1, true), true).catch((e: unknown) => post({ type: "error", message: describe(e) }));
        break;
      case "stop":
        generation++;
        retire(trainer);
        trainer = null;
        break;
      case "export":
        betweenSlices(async () => {
          try {
            if (trainer === null) throw new Error("no run has started yet: press Train first");
            const bytes = await trainer.exportModel();
            post({ type: "exported", bytes, presetId: currentPreset, epochs: 0 });
          } catch (e) {
            post({ type: "note", text: `Could not save the model: ${describe(e)}` });
          }
          return false;
        });
        break;
      case "import-model":
        void (async () => {
          try {
            const module = await load();
            const model = new module.PadModel(message.bytes);
            const old = padModels.get("imported");
            padModels.set("imported", Promise.resolve(model));
            void old?.then((m) => m.free(), () => undefined);
            post({ type: "imported", name: message.name, classes: model.classes() });
          } catch (e) {
            post({ type: "imported", name: message.name, classes: [], error: describe(e) });
          }
        })();
        break;
      case "classify":
        // Between training slices: a slice in flight runs it when it ends (guarded's finally).
        classifyQueued = message;
        if (!busy) void guarded(classifyNext);
        break;
    }
  } catch (e) {
    post({ type: "error", message: describe(e) });
  }
};

load().then(
  () => {
    post({ type: "ready" });
    // Offer the run this browser saved last (none, or no storage: nothing to offer).
    loadSaved().then(
      (run) => post({ type: "saved", run: run === null ? null : { presetId: run.presetId, config: run.config, epochs: run.epochs, savedAt: run.savedAt } }),
      () => post({ type: "saved", run: null }),
    );
  },
  (e: unknown) => post({ type: "error", message: `the training worker could not start: ${describe(e)}` }),
);
