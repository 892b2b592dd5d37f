// The lab: chapter navigation, preset cards, the settings form, run control (Train / Pause / Step /
// Reset) and live figures. Training happens in the worker (worker.ts); this thread only draws, so the page
// stays responsive. The chapter, preset, changed settings and classroom flags live in the URL hash.

import type { ChapterText, EpochMetrics, Figure, FromWorker, LabBindings, MatrixCells, PresetInfo,
  SessionConfig, SavedRun, TrainBackend, TrainStatus, ToWorker } from "./bindings.js";
import { CIFAR_FILES, type DataFile, readCifar } from "./cifar.js";
import { Controls } from "./controls.js";
import { fitConfig } from "./fit.js";
import { Pad } from "./pad.js";

function el<T extends HTMLElement = HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (e === null) throw new Error(`page is missing #${id}`);
  return e as T;
}

/** Whole numbers with thousands separators. One formatter for the page: `toLocaleString` builds a new one
 * per call, which the progress line (many times a second) and the epoch log would pay each time. */
const WHOLE = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
function whole(n: number): string {
  return WHOLE.format(Math.round(n));
}

function h(tag: string, text = "", cls = ""): HTMLElement {
  const e = document.createElement(tag);
  e.textContent = text;
  if (cls !== "") e.className = cls;
  return e;
}

/** State kept in the URL: `#preset=ch4-xor&set={"lr":0.05}&hide=lr,optimizer`. */
interface UrlState {
  chapter: string | null;
  preset: string | null;
  set: Partial<SessionConfig>;
  hide: Set<string>;
}

function readUrl(): UrlState {
  const p = new URLSearchParams(location.hash.slice(1));
  let set: Partial<SessionConfig> = {};
  try {
    const raw = p.get("set");
    if (raw !== null) set = JSON.parse(raw) as Partial<SessionConfig>;
  } catch {
    set = {};
  }
  return { chapter: p.get("chapter"), preset: p.get("preset"), set, hide: new Set((p.get("hide") ?? "").split(",").filter((s) => s !== "")) };
}

/** The top-level fields of `edited` that differ from `base` (what a shared link must carry). */
function changed(base: SessionConfig, edited: SessionConfig): Partial<SessionConfig> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(edited)) {
    if (JSON.stringify(v) !== JSON.stringify((base as unknown as Record<string, unknown>)[k])) out[k] = v;
  }
  return out as Partial<SessionConfig>;
}

function fmt(v: number | null | undefined, digits = 4): string {
  return v === null || v === undefined || !Number.isFinite(v) ? "–" : v.toFixed(digits);
}

function duration(s: number): string {
  if (!Number.isFinite(s)) return "–";
  return s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

/** The (true, predicted) cell of a drawn confusion matrix under canvas pixel (x, y), or null. */
export function cellAt(cells: MatrixCells, x: number, y: number): [number, number] | null {
  const pick = (p: number, [a, b]: [number, number]) => {
    const t = (p - a) / Math.max(1, b - a);
    return t >= 0 && t < 1 ? Math.floor(t * cells.k) : null;
  };
  const row = pick(y, cells.y);
  const col = pick(x, cells.x);
  return row === null || col === null ? null : [row, col];
}

export class LabPage {
  private readonly chapters: ChapterText[];
  private readonly presets: PresetInfo[];
  private worker: Worker;
  private workerReady = false;
  private pendingStart: ToWorker | null = null;
  private preset: PresetInfo | null = null;
  private controls: Controls | null = null;
  private hidden = new Set<string>();
  private state: "idle" | "loading" | "running" | "paused" | "done" = "idle";
  private lastStatus: TrainStatus | null = null;
  private lastEpoch: EpochMetrics | null = null;
  private figures: Figure[] = [];
  private drawScheduled = false;
  private readonly pad: Pad;
  /** The run saved in this browser, offered for resuming. */
  private saved: SavedRun | null = null;
  /** CIFAR-10 as the visitor gave it (kept here too, for a fresh worker), and whether the server has it
   * (null: not asked yet). */
  private cifarFiles: DataFile[] | null = null;
  private cifarOnServer: Promise<boolean> | null = null;

  constructor(private readonly bindings: LabBindings) {
    this.chapters = bindings.chapters();
    this.presets = bindings.presets();
    this.worker = this.startWorker();
    this.pad = new Pad((m) => this.worker.postMessage(m));
    this.buildNav();
    el("train").addEventListener("click", () => this.train());
    el("pause").addEventListener("click", () => this.pause());
    el("step").addEventListener("click", () => this.step());
    el("reset").addEventListener("click", () => this.reset());
    el("guard-fix").addEventListener("click", () => this.applyFix());
    el("export-model").addEventListener("click", () => this.send({ type: "export" }));
    el("resume").addEventListener("click", () => this.resumeSaved());
    el("apply-json").addEventListener("click", () => this.applyJson());
    el("export-json").addEventListener("click", () => this.exportJson());
    el<HTMLInputElement>("import-json").addEventListener("change", (e) => void this.importJson(e));
    this.wireDataBox();
    addEventListener("hashchange", () => this.openFromUrl());
    this.openFromUrl();
  }

  private buildNav(): void {
    el("chapter-nav").replaceChildren(...this.chapters.map((c) => {
      const li = document.createElement("li");
      const b = h("button", `${c.number}. ${c.title.split(":")[0] ?? c.title}`) as HTMLButtonElement;
      b.type = "button";
      b.dataset.chapter = c.id;
      const count = this.presets.filter((p) => p.chapter === c.number).length;
      if (count === 0) b.append(h("span", " (coming)", "status"));
      b.addEventListener("click", () => this.navigate(c.id, null));
      li.append(b);
      return li;
    }));
  }

  private navigate(chapter: string, preset: string | null, set: Partial<SessionConfig> = {}): void {
    const p = new URLSearchParams();
    if (preset !== null) p.set("preset", preset);
    else p.set("chapter", chapter);
    if (Object.keys(set).length > 0) p.set("set", JSON.stringify(set));
    if (this.hidden.size > 0) p.set("hide", [...this.hidden].join(","));
    location.hash = p.toString();
  }

  private openFromUrl(): void {
    const s = readUrl();
    const backend = new URLSearchParams(location.hash.slice(1)).get("backend");
    if (backend === "webgpu" || backend === "cpu" || backend === "auto") {
      (el("backend-choice") as HTMLSelectElement).value = backend;
    }
    this.hidden = s.hide;
    const preset = this.presets.find((p) => p.id === s.preset) ?? null;
    const chapter = this.chapters.find((c) => c.number === preset?.chapter || c.id === s.chapter) ?? this.chapters[0];
    if (chapter === undefined) return;
    this.showChapter(chapter, preset ?? this.presets.find((p) => p.chapter === chapter.number) ?? null, s.set);
  }

  /** Whether Rust can read `config` as a config at all (its serde types; ranges are the controls' job). */
  private readable(config: SessionConfig): boolean {
    try {
      this.bindings.describeModel(config);
      return true;
    } catch (e) {
      return !String(e instanceof Error ? e.message : e).startsWith("the settings are not a valid config");
    }
  }

  private showChapter(c: ChapterText, preset: PresetInfo | null, set: Partial<SessionConfig>): void {
    for (const b of document.querySelectorAll<HTMLButtonElement>("#chapter-nav button")) {
      b.setAttribute("aria-current", b.dataset.chapter === c.id ? "page" : "false");
    }
    el("chapter-title").textContent = `${c.number}. ${c.title}`;
    el("chapter-intro").textContent = c.intro;
    el("equations").replaceChildren(...c.equations.map((e) => h("li", e)));
    const mine = this.presets.filter((p) => p.chapter === c.number);
    el("presets").replaceChildren(...mine.map((p) => {
      const card = h("button", "", "card") as HTMLButtonElement;
      card.type = "button";
      card.dataset.preset = p.id;
      card.setAttribute("aria-pressed", String(p.id === preset?.id));
      card.append(h("strong", p.title), h("span", p.summary));
      if (p.variants.length > 0) card.append(h("span", `${p.variants.length} runs compared`, "badge"));
      card.addEventListener("click", () => this.navigate(c.id, p.id));
      return card;
    }));
    el("lab-body").hidden = preset === null;
    el("coming").hidden = preset !== null;
    if (preset === null) {
      this.stopWorker();
      this.preset = null;
      return;
    }
    const sameConfig = this.preset?.id === preset.id && this.state !== "idle";
    if (sameConfig) return; // the hash only changed because a setting did
    this.stopWorker();
    this.preset = preset;
    const { config, ignored } = fitConfig(preset.config, set, (c) => this.readable(c));
    // Said where the JSON box's own errors go: which settings of the link or file were not used.
    el("json-why").textContent = ignored.length > 0
      ? `Ignored from the link or file (not a valid value there): ${ignored.map((k) => k.slice(0, 40)).join(", ")}.`
      : "";
    this.controls = new Controls(el<HTMLFormElement>("controls"), config, this.hidden, () => this.onSettings());
    el<HTMLTextAreaElement>("config-json").value = JSON.stringify(config, null, 2);
    el("textbook").textContent = `Textbook: ${preset.textbook}`;
    this.showShapes(config);
    this.clearRun();
    void this.showDataBox(config);
  }

  /** Whether `config` reads CIFAR-10. */
  private static cifar(config: SessionConfig): boolean {
    return config.dataset.name === "cifar-10";
  }

  /** The CIFAR-10 box of a preset that reads CIFAR-10: where the images come from, a place to drop them,
   * and the same experiment on Fashion-MNIST for a visitor without them. Hidden for every other preset. */
  private async showDataBox(config: SessionConfig): Promise<void> {
    const preset = this.preset;
    const twin = preset === null ? null : this.bindings.presetOnFashion(preset.id);
    const box = el("data-box");
    box.hidden = twin === null;
    if (twin === null || preset === null) return;
    const fashion = el<HTMLButtonElement>("data-fashion");
    const status = el("data-status");
    const chapter = this.chapters.find((c) => c.number === preset.chapter)?.id ?? "";
    if (!LabPage.cifar(config)) {
      status.textContent = "This run uses Fashion-MNIST in place of CIFAR-10: the same runs, with any pooling " +
        "that would shrink a 28x28 image to nothing left out (see the layer table).";
      el("data-drop").hidden = true;
      fashion.textContent = "Use CIFAR-10";
      fashion.onclick = () => this.navigate(chapter, preset.id);
      return;
    }
    el("data-drop").hidden = false;
    fashion.textContent = "Run it on Fashion-MNIST instead";
    fashion.onclick = () => this.navigate(chapter, preset.id, changed(preset.config, twin.config));
    if (this.cifarFiles !== null) {
      status.textContent = "CIFAR-10 is loaded from your files: press Train.";
      return;
    }
    status.textContent = "Looking for CIFAR-10 on this server…";
    status.textContent = (await this.serverHasCifar())
      ? "CIFAR-10 is on this server: press Train."
      : "CIFAR-10 is not on this server: add your copy below, or run the same experiment on Fashion-MNIST.";
  }

  private serverHasCifar(): Promise<boolean> {
    // The build lists the served data files (www/datafiles.mjs): no request for a file that may be absent.
    this.cifarOnServer ??= fetch(new URL("./data/files.json", document.baseURI))
      .then((r) => (r.ok ? r.json() : []), () => [])
      .then((files: unknown) => Array.isArray(files) && CIFAR_FILES.every((f) => files.includes(`cifar-10/${f}`)));
    return this.cifarOnServer;
  }

  /** The file picker and drag and drop of the CIFAR-10 box. */
  private wireDataBox(): void {
    const take = async (files: File[]) => {
      const status = el("data-status");
      if (files.length === 0) return;
      try {
        status.textContent = "Reading your files…";
        const data = await readCifar(files, (text) => (status.textContent = text));
        this.cifarFiles = data;
        this.worker.postMessage({ type: "data-files", files: data } satisfies ToWorker);
        const mb = data.reduce((n, f) => n + f.bytes.length, 0) / 1e6;
        status.textContent = `CIFAR-10 is loaded from your files (${mb.toFixed(0)} MB, six batches): press Train.`;
      } catch (e) {
        status.textContent = `Those files could not be used: ${e instanceof Error ? e.message : String(e)}.`;
      }
    };
    const input = el<HTMLInputElement>("data-files");
    input.addEventListener("change", () => void take([...(input.files ?? [])]).then(() => (input.value = "")));
    const drop = el("data-drop");
    drop.addEventListener("dragover", (e) => {
      e.preventDefault();
      drop.classList.add("over");
    });
    drop.addEventListener("dragleave", () => drop.classList.remove("over"));
    drop.addEventListener("drop", (e) => {
      e.preventDefault();
      drop.classList.remove("over");
      void take([...(e.dataTransfer?.files ?? [])]);
    });
  }

  /** Fills the layer-by-layer table for `config`; returns the reason when the model cannot be built. */
  private showShapes(config: SessionConfig): string | null {
    const body = el("shapes").querySelector("tbody");
    try {
      const rows = this.bindings.describeModel(config);
      body?.replaceChildren(...rows.map((r) => {
        const tr = document.createElement("tr");
        tr.append(h("td", r.layer), h("td", r.shape), h("td", whole(r.parameters)));
        return tr;
      }));
      el("param-count").textContent = whole(rows.reduce((n, r) => n + r.parameters, 0));
      el("model-why").textContent = "";
      return null;
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      body?.replaceChildren();
      el("model-why").textContent = `This model cannot be built: ${why}`;
      return why;
    }
  }

  private onSettings(): void {
    const config = this.controls?.read();
    if (config === null || config === undefined || this.preset === null) return;
    this.showShapes(config);
    el<HTMLTextAreaElement>("config-json").value = JSON.stringify(config, null, 2);
    const set = changed(this.preset.config, config);
    const p = new URLSearchParams({ preset: this.preset.id });
    if (Object.keys(set).length > 0) p.set("set", JSON.stringify(set));
    if (this.hidden.size > 0) p.set("hide", [...this.hidden].join(","));
    history.replaceState(null, "", `#${p.toString()}`);
  }

  private clearRun(): void {
    this.generation++;
    this.state = "idle";
    this.lastStatus = null;
    this.lastEpoch = null;
    this.figures = [];
    this.drawn = [];
    this.stoppedRuns = [];
    el("stopped-runs").textContent = "";
    el("figures").replaceChildren();
    el("cell-examples").hidden = true;
    el("cell-examples-said").textContent = "";
    el("epoch-log").querySelector("tbody")?.replaceChildren();
    el("guard").hidden = true;
    el("progress").textContent = "Press Train to start.";
    el("metrics").textContent = "";
    this.updateButtons();
    this.drawPlaceholders();
  }

  /** Empty axes for each plot the preset will draw, so the visitor sees where the curves will appear (and
   * the drawing code for each kind of plot is warm before training starts). */
  private drawPlaceholders(): void {
    const axes = { x_label: "", y_label: "" };
    const lines = (title: string): Figure => ({ kind: "lines", title, ...axes, series: [] } as Figure);
    const grid = { ...axes, x: [0, 1], y: [0, 1], cols: 1 };
    const shapes: Record<string, Figure[]> = {
      "loss": [lines("Loss per epoch")],
      "accuracy": [lines("Test accuracy")],
      "regression-fit": [{ kind: "scatter", title: "Fitted line", ...axes, points: [], line: [] } as Figure],
      "loss-contour": [{ kind: "contour", title: "Loss surface and the path of descent", ...grid, values: [], paths: [] } as Figure],
      "decision-regions": [{ kind: "regions", title: "Decision regions", ...grid, cells: [], points: [], classes: [] } as Figure],
      "activations": [lines("Sigmoid and tanh")],
      "curvature": [lines("Loss along one weight"), lines("Second derivative")],
      "layer-stats": [{ kind: "bars", title: "Per-layer statistics", y_label: "", labels: [], series: [] } as Figure],
      "toy-path": [lines("Where the point goes"), lines("The function and each path")],
      "graph": [{ kind: "graph", title: "The computation graph", nodes: [], edges: [] } as Figure],
      "confusion": [lines("Confusion matrix")],
      "mistakes": [lines("Test images the model gets wrong")],
      "samples": [lines("The first test images")],
      "vectorize": [{ kind: "bars", title: "Why vectorize: one epoch three ways", y_label: "", labels: [], series: [] } as Figure],
      "histograms": [lines("Per layer: distribution of the activations"), lines("Per layer: distribution of the weight gradients")],
      "feature-maps": [lines("Feature maps of the first convolution")],
      "filters": [lines("First-layer filters")],
    };
    const empty = (this.preset?.plots ?? []).flatMap((kind) => shapes[kind] ?? [lines(kind)]);
    // Drawn like live figures, one per task: a click on Train stays a short task.
    this.figures = empty.map((fig) => ({ ...fig, title: `${fig.title} (press Train)` }));
    this.scheduleDraw();
  }

  /** Offers the saved run when the page shows no run of its own. */
  private showSaved(): void {
    const run = this.saved;
    const box = el("resume-box");
    box.hidden = run === null || this.state !== "idle";
    if (run === null) return;
    const preset = this.presets.find((p) => p.id === run.presetId);
    const when = new Date(run.savedAt).toLocaleString();
    el("resume-text").textContent =
      `Your last run (${preset?.title ?? run.presetId}, after epoch ${run.epochs}) was saved in this browser on ${when}.`;
  }

  private resumeSaved(): void {
    const run = this.saved;
    const preset = this.presets.find((p) => p.id === run?.presetId);
    if (run === null || preset === undefined) return;
    const chapter = this.chapters.find((c) => c.number === preset.chapter)?.id ?? "";
    this.navigate(chapter, preset.id, run.config);
    this.openFromUrl();
    this.train(false, true);
  }

  /** Offers a model file to the visitor as a download. */
  private download(bytes: Uint8Array, presetId: string): void {
    const url = URL.createObjectURL(new Blob([new Uint8Array(bytes)], { type: "application/octet-stream" }));
    const a = document.createElement("a");
    a.href = url;
    a.download = `cvjourney-${presetId}-epoch${this.lastEpoch?.epoch ?? 0}.safetensors`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    el("run-backend").textContent = `Saved ${a.download} (${(bytes.length / 1024).toFixed(0)} KB).`;
  }

  private send(message: ToWorker): void {
    if (message.type === "start" && !this.workerReady) {
      this.pendingStart = message;
      return;
    }
    this.worker.postMessage(message);
  }

  private stopWorker(): void {
    if (this.state !== "idle") this.send({ type: "stop" });
    this.state = "idle";
  }

  private train(stepOnly = false, resume = false): void {
    if (this.state === "paused") {
      this.state = "running";
      this.send({ type: "resume" });
      this.updateButtons();
      return;
    }
    const config = this.controls?.read();
    if (config === null || config === undefined || this.preset === null) {
      el("progress").textContent = "Fix the settings marked in red first.";
      return;
    }
    if (this.showShapes(config) !== null) {
      el("progress").textContent = "Fix the model first (see the message under the settings).";
      return;
    }
    if (LabPage.cifar(config) && this.cifarFiles === null && this.cifarOnServer !== null) {
      // Asked when the preset opened; a run without the images would only fail in the worker.
      void this.cifarOnServer.then((here) => {
        if (!here) el("progress").textContent = "CIFAR-10 is missing: add it in the CIFAR-10 box, or run on Fashion-MNIST.";
        else this.startTraining(config, stepOnly, resume);
      });
      return;
    }
    this.startTraining(config, stepOnly, resume);
  }

  private startTraining(config: SessionConfig, stepOnly: boolean, resume: boolean): void {
    if (this.preset === null) return;
    this.clearRun();
    this.state = "loading";
    el("progress").textContent = "Starting the training worker…";
    this.startedPaused = stepOnly;
    this.send({ type: "start", presetId: this.preset.id, config, stepOnly, backend: this.backendChoice(), resume });
    el("resume-box").hidden = true;
    this.updateButtons();
  }

  /** The visitor's backend choice; a link may preset it (`#…&backend=cpu`), anything unknown means auto. */
  private backendChoice(): TrainBackend {
    const select = el("backend-choice") as HTMLSelectElement;
    const v = select.value;
    return v === "webgpu" || v === "cpu" ? v : "auto";
  }

  private pause(): void {
    if (this.state !== "running") return;
    this.state = "paused";
    this.send({ type: "pause" });
    this.updateButtons();
  }

  private step(): void {
    if (this.state === "idle" || this.state === "done") {
      this.train(true);
      return;
    }
    this.state = "paused";
    this.send({ type: "step" });
    this.updateButtons();
  }

  private reset(): void {
    this.stopWorker();
    this.clearRun();
  }

  private updateButtons(): void {
    const s = this.state;
    el<HTMLButtonElement>("train").textContent = s === "paused" ? "Resume" : s === "done" ? "Train again" : "Train";
    el<HTMLButtonElement>("train").disabled = s === "running" || s === "loading";
    el<HTMLButtonElement>("pause").disabled = s !== "running";
    el<HTMLButtonElement>("step").disabled = s === "loading";
    el<HTMLButtonElement>("reset").disabled = s === "idle";
    el<HTMLButtonElement>("export-model").disabled = s === "idle" || s === "loading";
    el("run-panel").dataset.state = s;
  }

  private onWorker(m: FromWorker): void {
    switch (m.type) {
      case "ready":
        this.workerReady = true;
        if (this.pendingStart !== null) this.worker.postMessage(this.pendingStart);
        this.pendingStart = null;
        break;
      case "loading":
        if (this.state === "loading") el("progress").textContent = m.text;
        break;
      case "progress":
        this.onProgress(m.status);
        break;
      case "figures":
        if (this.state === "idle") return;
        this.figures = m.figures;
        // Placeholders beyond the real figures (a 2-D toy has one path plot, not two) go.
        for (const extra of [...el("figures").children].slice(m.figures.length)) extra.remove();
        this.drawn.length = Math.min(this.drawn.length, m.figures.length);
        this.scheduleDraw();
        break;
      case "error":
        this.fail(m.message);
        break;
      case "classified":
        this.pad.onClassified(m);
        break;
      case "imported":
        this.pad.onImported(m.name, m.classes, m.error);
        break;
      case "exported":
        this.download(m.bytes, m.presetId);
        break;
      case "cell-examples":
        this.showCellExamples(m.figure, m.error);
        break;
      case "saved":
        this.saved = m.run;
        this.showSaved();
        break;
      case "note":
        el("run-backend").textContent = m.text;
        break;
    }
  }

  private onProgress(s: TrainStatus): void {
    if (this.state === "idle") return;
    if (this.state === "loading") this.state = this.startedPaused ? "paused" : "running";
    this.lastStatus = s;
    const log = el("epoch-log").querySelector("tbody");
    for (const [run, m] of s.newEpochs) {
      const row = document.createElement("tr");
      const acc = m.testAccuracy !== null && m.testAccuracy !== undefined ? `${(m.testAccuracy * 100).toFixed(2)} %` : "–";
      for (const cell of [String(run + 1), String(m.epoch), fmt(m.trainLoss, 6), fmt(m.testLoss, 6), acc,
        whole(m.examplesPerS)]) row.append(h("td", cell));
      log?.append(row);
    }
    const last = s.newEpochs[s.newEpochs.length - 1];
    if (last !== undefined) this.lastEpoch = last[1];
    const run = s.runs > 1 ? `Run ${s.run + 1} of ${s.runs} (${s.label}) · ` : "";
    const perEpoch = this.lastEpoch !== null && this.lastEpoch.epoch > 0 ? this.lastEpoch.seconds / this.lastEpoch.epoch : NaN;
    const eta = perEpoch * (s.epochs - s.epoch);
    const speed = this.lastEpoch !== null ? ` · ${whole(this.lastEpoch.examplesPerS)} examples/s` : "";
    el("progress").textContent = `${run}epoch ${s.epoch} of ${s.epochs} · step ${whole(s.step)}` +
      `${speed} · ${duration(s.seconds)} elapsed` + (Number.isFinite(eta) && !s.done ? ` · about ${duration(eta)} left` : "");
    el("run-backend").textContent = `Training on ${s.backend}.`;
    if (last !== undefined) {
      const m = last[1];
      const acc = m.testAccuracy !== null && m.testAccuracy !== undefined ? `, test accuracy ${(m.testAccuracy * 100).toFixed(1)} %` : "";
      el("metrics").textContent = `Epoch ${m.epoch}: train loss ${fmt(m.trainLoss)}, test loss ${fmt(m.testLoss)}${acc}.`;
    }
    if (s.error !== null && s.error !== undefined) {
      // A study goes on when one of its runs blows up (often the point of the study): a note, not an alarm.
      if (s.runs > 1) this.stoppedRuns.push(s.error);
      else this.showGuard(s.error, s.suggestedLr ?? null);
    }
    el("stopped-runs").textContent = this.stoppedRuns.length > 0 ? `Stopped early: ${this.stoppedRuns.join(" · ")}` : "";
    if (s.done) {
      this.state = "done";
      if (s.check !== null && s.check !== undefined) {
        const verdict = s.checkPassed === true ? "Success check passed" : "Success check not met";
        el("metrics").textContent += ` ${verdict}: ${s.check}.`;
      }
    }
    this.updateButtons();
  }

  private suggested: number | null = null;
  /** Whether the current run was started by Step (one step, then paused). */
  private startedPaused = false;
  /** Runs of a study that the divergence guard stopped, with its message. */
  private stoppedRuns: string[] = [];

  private showGuard(message: string, lr: number | null): void {
    this.suggested = lr;
    el("guard-text").textContent = message;
    const fix = el<HTMLButtonElement>("guard-fix");
    fix.hidden = lr === null;
    if (lr !== null) fix.textContent = `Use learning rate ${Number(lr.toPrecision(2))} and train again`;
    el("guard").hidden = false;
  }

  private applyFix(): void {
    if (this.suggested === null || this.controls === null) return;
    this.controls.setLearningRate(Number(this.suggested.toPrecision(2)));
    this.onSettings();
    this.state = "idle";
    this.train();
  }

  /** A module worker for training and the pad, wired to this page. */
  private startWorker(): Worker {
    this.workerReady = false;
    // `?cpu=simd128` on the page's address makes the worker load the plain SIMD128 module (www/ts/wasm.ts).
    const url = new URL("./worker.js", document.baseURI);
    const cpu = new URL(location.href).searchParams.get("cpu");
    if (cpu !== null) url.searchParams.set("cpu", cpu);
    const worker = new Worker(url, { type: "module" });
    worker.onmessage = (e: MessageEvent<FromWorker>) => this.onWorker(e.data);
    worker.onerror = (e) => this.workerCrashed(e.message || "an error it did not name");
    // A fresh worker (after a crash) gets the visitor's files again: they were only in the old one.
    if (this.cifarFiles !== null) worker.postMessage({ type: "data-files", files: this.cifarFiles } satisfies ToWorker);
    return worker;
  }

  /** The worker died (an uncaught error, a trap in the module): nothing in it can be trusted any more. A
   * fresh worker replaces it, the visitor is told, and the run saved at an epoch's end (at most every five
   * seconds: `SAVE_EVERY_MS` in worker.ts) is offered for resuming once the fresh worker reports it. */
  private workerCrashed(why: string): void {
    this.worker.terminate();
    this.worker = this.startWorker();
    this.generation++;
    this.state = "idle";
    this.showGuard(`The training worker stopped (${why}). A fresh one has started: resume the run it saved at ` +
      "its last epoch's end, if one is offered below, or press Train to start over.", null);
    this.updateButtons();
  }

  private fail(message: string): void {
    this.state = "done";
    this.showGuard(message, null);
    this.updateButtons();
  }

  /** Draws on the next animation frame: several figure messages in one frame cost one drawing. */
  private scheduleDraw(): void {
    if (this.drawScheduled) return;
    this.drawScheduled = true;
    requestAnimationFrame(() => {
      this.drawScheduled = false;
      this.draw();
    });
  }

  /** What each canvas shows now (as JSON), so unchanged figures are not redrawn. */
  private drawn: string[] = [];

  /** Counts resets (new preset, new run): drawing left over from before one stops. */
  private generation = 0;

  /** Draws the figures that changed, one per task: each task stays short and the page keeps answering. */
  private draw(): void {
    const generation = this.generation;
    const pending: [Figure, number, string][] = [];
    this.figures.forEach((fig, i) => {
      const json = JSON.stringify(fig);
      if (json !== this.drawn[i]) pending.push([fig, i, json]);
    });
    const next = (): void => {
      const item = pending.shift();
      if (item === undefined || generation !== this.generation) return;
      this.drawOne(item[0], item[1]);
      this.drawn[item[1]] = item[2];
      if (pending.length > 0) setTimeout(next, 0);
    };
    next();
  }

  private drawOne(fig: Figure, i: number): void {
    const holder = el("figures");
    {
      const id = `fig-${i}`;
      let canvas = document.getElementById(id) as HTMLCanvasElement | null;
      if (canvas === null) {
        const figure = document.createElement("figure");
        canvas = document.createElement("canvas");
        canvas.id = id;
        canvas.width = 560;
        canvas.height = 380;
        canvas.setAttribute("role", "img");
        const save = h("button", "Save PNG", "small") as HTMLButtonElement;
        save.type = "button";
        const c = canvas;
        save.addEventListener("click", () => {
          const a = document.createElement("a");
          a.download = `${this.preset?.id ?? "plot"}-${i + 1}.png`;
          a.href = c.toDataURL("image/png");
          a.click();
        });
        figure.append(canvas, save);
        holder.append(figure);
      }
      canvas.setAttribute("aria-label", fig.title);
      try {
        const cells = this.bindings.drawFigure(id, this.stepper(canvas, fig, i));
        // Cells open their test images when the data are images (the preset's dataset says so; reading the
        // form here would validate every control at every redraw).
        const images = ["fashion-mnist", "mnist-sample", "cifar-10"].includes(this.preset?.config.dataset.name ?? "");
        if (cells !== null && cells !== undefined && images) this.cellPicker(canvas, fig, cells);
      } catch (e) {
        canvas.setAttribute("aria-label", `${fig.title}: could not be drawn (${e instanceof Error ? e.message : String(e)})`);
      }
    }
  }

  /** Under a confusion matrix: pick a cell (a click on it, or the two lists and the button, for the
   * keyboard) to see the test images behind its count, drawn in a figure below. */
  private cellPicker(canvas: HTMLCanvasElement, fig: Figure, cells: MatrixCells): void {
    const holder = canvas.parentElement as HTMLElement;
    const labels = (fig as Figure & { labels?: string[] }).labels ?? [];
    let row = holder.querySelector<HTMLElement>(".cell-pick");
    if (row === null) {
      row = h("div", "", "row cell-pick");
      const choose = (name: string) => {
        const select = document.createElement("select");
        select.className = `cell-${name}`;
        select.setAttribute("aria-label", name === "truth" ? "true class" : "predicted class");
        return select;
      };
      const show = h("button", "Show these test images", "small") as HTMLButtonElement;
      show.type = "button";
      row.append(h("span", "Open a cell: true "), choose("truth"), h("span", " predicted "), choose("predicted"), show);
      holder.append(row);
      const picked = row;
      const ask = () => {
        const truth = Number(picked.querySelector<HTMLSelectElement>(".cell-truth")?.value ?? 0);
        const predicted = Number(picked.querySelector<HTMLSelectElement>(".cell-predicted")?.value ?? 0);
        el("cell-examples-said").textContent = "Fetching the test images…";
        this.worker.postMessage({ type: "cell-examples", truth, predicted } satisfies ToWorker);
      };
      show.addEventListener("click", ask);
      canvas.addEventListener("click", (e) => {
        const grid = canvas.dataset.cells === undefined ? undefined : (JSON.parse(canvas.dataset.cells) as MatrixCells);
        const scale = canvas.width / Math.max(1, canvas.clientWidth);
        const hit = grid === undefined ? null : cellAt(grid, e.offsetX * scale, e.offsetY * scale);
        if (hit === null) return;
        (picked.querySelector(".cell-truth") as HTMLSelectElement).value = String(hit[0]);
        (picked.querySelector(".cell-predicted") as HTMLSelectElement).value = String(hit[1]);
        ask();
      });
      canvas.style.cursor = "pointer";
    }
    // Where the cells are now: the click handler reads it (the e2e test too).
    canvas.dataset.cells = JSON.stringify(cells);
    for (const select of row.querySelectorAll<HTMLSelectElement>("select")) {
      if (select.options.length === labels.length) continue;
      select.replaceChildren(...labels.map((l, i) => {
        const o = document.createElement("option");
        o.value = String(i);
        o.textContent = l;
        return o;
      }));
    }
  }

  /** Draws a cell's test images (or says why there are none) in the box under the figures. */
  private showCellExamples(figure: Figure | null, error?: string): void {
    const box = el("cell-examples");
    const said = el("cell-examples-said");
    if (figure === null) {
      said.textContent = `No images: ${error ?? "unknown reason"}.`;
      return;
    }
    const count = (figure as Figure & { images?: unknown[] }).images?.length ?? 0;
    box.hidden = false;
    said.textContent = count === 0 ? `${figure.title}: none.` : `${figure.title}: ${count} shown.`;
    try {
      this.bindings.drawFigure("cell-canvas", figure);
    } catch (e) {
      said.textContent = `Could not draw them: ${e instanceof Error ? e.message : String(e)}`;
    }
    box.scrollIntoView({ block: "nearest" });
  }

  /** Backward node by node, for a graph: a slider under its canvas picks how many nodes (from the loss)
   *  backward has reached; the figure is redrawn with only their gradients. Other figures pass through. */
  private stepper(canvas: HTMLCanvasElement, fig: Figure, i: number): Figure {
    const nodes = (fig as Figure & { nodes?: unknown[] }).nodes;
    if (fig.kind !== "graph" || nodes === undefined || nodes.length === 0) return fig;
    const holder = canvas.parentElement as HTMLElement;
    let slider = holder.querySelector<HTMLInputElement>("input.graph-step");
    let said = holder.querySelector<HTMLElement>(".graph-step-said");
    if (slider === null || said === null) {
      const label = h("label", "Backward, node by node ", "graph-step-label");
      slider = document.createElement("input");
      slider.type = "range";
      slider.className = "graph-step";
      slider.min = "0";
      slider.value = String(nodes.length);
      slider.max = String(nodes.length);
      said = h("span", "", "graph-step-said");
      label.append(slider, said);
      holder.append(label);
      const input = slider;
      input.addEventListener("input", () => {
        const current = this.figures[i];
        if (current !== undefined) this.bindings.drawFigure(canvas.id, this.stepper(canvas, current, i));
      });
    }
    // A graph that grew or shrank (another run) keeps the slider's place, within its new length.
    const all = slider.value === slider.max;
    slider.max = String(nodes.length);
    const k = all ? nodes.length : Math.min(Number(slider.value), nodes.length);
    slider.value = String(k);
    said.textContent = k === nodes.length ? `all ${k} nodes have their gradient` : `${k} of ${nodes.length} nodes reached`;
    return { ...fig, shown: k } as Figure;
  }

  private applyJson(): void {
    if (this.preset === null) return;
    try {
      const config = JSON.parse(el<HTMLTextAreaElement>("config-json").value) as SessionConfig;
      this.navigate(String(this.preset.chapter), this.preset.id, changed(this.preset.config, config));
      this.state = "done";
      this.preset = null; // force a rebuild of the controls from the URL
      this.openFromUrl();
      el("json-why").textContent = "";
    } catch (e) {
      el("json-why").textContent = `Not valid JSON: ${e instanceof Error ? e.message : String(e)}`;
    }
  }

  private exportJson(): void {
    const config = this.controls?.read();
    if (config === null || config === undefined || this.preset === null) return;
    const blob = new Blob([JSON.stringify({ preset: this.preset.id, config }, null, 2)], { type: "application/json" });
    const a = document.createElement("a");
    a.download = `${this.preset.id}.json`;
    a.href = URL.createObjectURL(blob);
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  }

  private async importJson(e: Event): Promise<void> {
    const file = (e.target as HTMLInputElement).files?.[0];
    if (file === undefined) return;
    try {
      if (file.size > 1_000_000) throw new Error("the file is larger than 1 MB; a config is a few hundred bytes");
      const data = JSON.parse(await file.text()) as { preset?: string; config?: SessionConfig };
      const preset = this.presets.find((p) => p.id === data.preset);
      if (preset === undefined || data.config === undefined) throw new Error("expected { preset, config } as Export writes it");
      this.preset = null;
      this.navigate(String(preset.chapter), preset.id, changed(preset.config, data.config));
      el("json-why").textContent = "";
    } catch (err) {
      el("json-why").textContent = `Cannot import: ${err instanceof Error ? err.message : String(err)}`;
    }
  }
}
