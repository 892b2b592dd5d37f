// The drawing pad: pointer events (mouse, touch, pen) draw white ink on a black 280x280 canvas, as MNIST's
// digits are stored; the page never scrolls while a finger draws (touch-action: none, pointer capture).
// A short pause after each change sends the ink to the training worker, which prepares it the dataset's way
// (crop, scale, center by mass), classifies it with the chosen model and answers with every step, the class
// probabilities and a saliency map. Only the newest answer is shown.

import type { Classified, PadSource, Plane, ToWorker } from "./bindings.js";

/** Milliseconds of calm before a drawing is classified (drawing itself never waits for the model). */
const DEBOUNCE_MS = 60;

interface Stroke {
  width: number;
  points: [number, number][];
}

function el<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`the page has no #${id}`);
  return found as T;
}

/** Draws a grayscale image (values in [0, 1]) into a canvas, pixel-sharp, keeping its aspect ratio. */
function drawPlane(canvas: HTMLCanvasElement, plane: Plane, tint: [number, number, number] = [255, 255, 255]): void {
  const ctx = canvas.getContext("2d");
  if (ctx === null) return;
  const image = new ImageData(Math.max(plane.cols, 1), Math.max(plane.rows, 1));
  plane.values.forEach((v, i) => {
    const a = Math.max(0, Math.min(1, v));
    image.data.set([tint[0] * a, tint[1] * a, tint[2] * a, 255], i * 4);
  });
  const scratch = document.createElement("canvas");
  scratch.width = image.width;
  scratch.height = image.height;
  scratch.getContext("2d")?.putImageData(image, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  const scale = Math.min(canvas.width / image.width, canvas.height / image.height);
  const w = image.width * scale;
  const h = image.height * scale;
  ctx.drawImage(scratch, (canvas.width - w) / 2, (canvas.height - h) / 2, w, h);
}

function clearCanvas(canvas: HTMLCanvasElement): void {
  const ctx = canvas.getContext("2d");
  if (ctx === null) return;
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
}

export class Pad {
  private readonly canvas = el<HTMLCanvasElement>("pad");
  private readonly ctx: CanvasRenderingContext2D;
  private strokes: Stroke[] = [];
  private drawing: { stroke: Stroke; pointer: number } | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private nextId = 1;
  /** The id of the newest request: older answers are dropped. */
  private latest = 0;

  constructor(private readonly send: (message: ToWorker) => void) {
    const ctx = this.canvas.getContext("2d", { willReadFrequently: true });
    if (ctx === null) throw new Error("the drawing pad needs a 2-D canvas");
    this.ctx = ctx;
    this.redraw();
    this.canvas.addEventListener("pointerdown", (e) => this.down(e));
    this.canvas.addEventListener("pointermove", (e) => this.move(e));
    for (const end of ["pointerup", "pointercancel", "lostpointercapture"] as const) {
      this.canvas.addEventListener(end, (e) => this.up(e));
    }
    el("pad-clear").addEventListener("click", () => this.clear());
    el("pad-undo").addEventListener("click", () => this.undo());
    el("pad-model").addEventListener("change", () => this.schedule());
    el<HTMLInputElement>("pad-import").addEventListener("change", (e) => void this.importFile(e));
    for (const id of ["pad-steps-crop", "pad-steps-scaled", "pad-steps-input", "pad-steps-normalized", "pad-saliency"]) {
      clearCanvas(el<HTMLCanvasElement>(id));
    }
  }

  /** Sends a chosen model file to the worker, which validates it (`PadModel`). */
  private async importFile(e: Event): Promise<void> {
    const input = e.target as HTMLInputElement;
    const file = input.files?.[0];
    input.value = "";
    if (file === undefined) return;
    if (file.size > 64 * 1024 * 1024) {
      el("pad-why").textContent = `${file.name} is ${(file.size / 1048576).toFixed(0)} MiB; the lab reads model files up to 64 MiB.`;
      return;
    }
    this.send({ type: "import-model", name: file.name, bytes: new Uint8Array(await file.arrayBuffer()) });
  }

  /** The worker's verdict on an imported file: a new "imported" model to pick, or the reason it was refused. */
  onImported(name: string, classes: string[], error?: string): void {
    if (error !== undefined) {
      el("pad-why").textContent = `${name} cannot be used: ${error}`;
      return;
    }
    const select = el<HTMLSelectElement>("pad-model");
    let option = [...select.options].find((o) => o.value === "imported");
    if (option === undefined) {
      option = document.createElement("option");
      option.value = "imported";
      select.append(option);
    }
    option.textContent = `${name} (${classes.length} classes)`;
    select.value = "imported";
    el("pad-why").textContent = "";
    this.schedule();
  }

  /** The answer to a classify request; stale ones (an older drawing) are ignored. */
  onClassified(m: Classified): void {
    if (m.id !== this.latest) return;
    const why = el("pad-why");
    why.textContent = m.error ?? "";
    const steps = m.steps;
    if (m.error !== undefined || steps === null) {
      this.showBars([], []);
      for (const id of ["pad-steps-crop", "pad-steps-scaled", "pad-steps-input", "pad-steps-normalized", "pad-saliency"]) {
        clearCanvas(el<HTMLCanvasElement>(id));
      }
      el("pad-norm-range").textContent = "";
      delete el("pad-top").dataset.label;
      this.showMaps([]);
      el("pad-top").textContent = m.error !== undefined ? "" : "Draw something: the pad is empty.";
      return;
    }
    drawPlane(el<HTMLCanvasElement>("pad-steps-crop"), steps.crop);
    drawPlane(el<HTMLCanvasElement>("pad-steps-scaled"), steps.scaled);
    drawPlane(el<HTMLCanvasElement>("pad-steps-input"), { rows: 28, cols: 28, values: steps.input });
    // Normalized values can be negative (z-scores): shown from their minimum (black) to maximum (white).
    const lo = Math.min(...m.normalized);
    const hi = Math.max(...m.normalized);
    const span = hi - lo > 1e-12 ? hi - lo : 1;
    drawPlane(el<HTMLCanvasElement>("pad-steps-normalized"), { rows: 28, cols: 28, values: m.normalized.map((v) => (v - lo) / span) });
    el("pad-norm-range").textContent = `${lo.toFixed(2)} to ${hi.toFixed(2)}`;
    drawPlane(el<HTMLCanvasElement>("pad-saliency"), { rows: 28, cols: 28, values: m.saliency }, [255, 176, 0]);
    this.showBars(m.classes, m.probs);
    this.showMaps(m.maps);
    let top = 0;
    m.probs.forEach((p, i) => { if (p > (m.probs[top] ?? 0)) top = i; });
    const label = m.classes[top] ?? "?";
    const percent = Math.round((m.probs[top] ?? 0) * 100);
    const by = m.source === "training" ? "the model being trained" : m.source === "imported" ? "the loaded model" : "the starter model";
    const top_ = el("pad-top");
    top_.textContent = `${label} (${percent} %), says ${by}`;
    top_.dataset.label = label;
  }

  /** One small canvas per feature map of the first convolution. */
  private showMaps(maps: Plane[]): void {
    const box = el("pad-maps");
    box.hidden = maps.length === 0;
    el("pad-maps-grid").replaceChildren(...maps.map((plane, i) => {
      const c = document.createElement("canvas");
      c.width = 56;
      c.height = 56;
      c.setAttribute("aria-label", `feature map ${i + 1}`);
      drawPlane(c, plane, [86, 180, 233]);
      return c;
    }));
  }

  private showBars(classes: string[], probs: number[]): void {
    el("pad-bars").replaceChildren(...classes.map((name, i) => {
      const p = probs[i] ?? 0;
      const row = document.createElement("li");
      const label = document.createElement("span");
      label.className = "pad-label";
      label.textContent = name;
      const track = document.createElement("span");
      track.className = "pad-track";
      const bar = document.createElement("span");
      bar.className = "pad-bar";
      bar.style.width = `${(p * 100).toFixed(1)}%`;
      track.append(bar);
      const value = document.createElement("span");
      value.className = "pad-value";
      value.textContent = `${(p * 100).toFixed(1)} %`;
      row.append(label, track, value);
      return row;
    }));
  }

  /** Pad coordinates (the canvas's own 280x280 units) of a pointer event. */
  private at(e: PointerEvent): [number, number] {
    const r = this.canvas.getBoundingClientRect();
    return [((e.clientX - r.left) / r.width) * this.canvas.width, ((e.clientY - r.top) / r.height) * this.canvas.height];
  }

  private down(e: PointerEvent): void {
    if (this.drawing !== null || (e.pointerType === "mouse" && e.button !== 0)) return;
    e.preventDefault();
    try {
      this.canvas.setPointerCapture(e.pointerId);
    } catch {
      // A synthetic or already-released pointer: draw without capture.
    }
    const width = Number(el<HTMLInputElement>("pad-width").value) || 20;
    const stroke: Stroke = { width, points: [this.at(e)] };
    this.strokes.push(stroke);
    this.drawing = { stroke, pointer: e.pointerId };
    this.redraw();
  }

  private move(e: PointerEvent): void {
    if (this.drawing === null || e.pointerId !== this.drawing.pointer) return;
    e.preventDefault();
    const events = typeof e.getCoalescedEvents === "function" ? e.getCoalescedEvents() : [];
    for (const c of events.length > 0 ? events : [e]) this.drawing.stroke.points.push(this.at(c));
    this.redraw();
    this.schedule();
  }

  private up(e: PointerEvent): void {
    if (this.drawing === null || e.pointerId !== this.drawing.pointer) return;
    this.drawing = null;
    this.schedule();
  }

  private clear(): void {
    this.strokes = [];
    this.drawing = null;
    this.redraw();
    this.schedule();
  }

  private undo(): void {
    this.strokes.pop();
    this.drawing = null;
    this.redraw();
    this.schedule();
  }

  private redraw(): void {
    const { ctx, canvas } = this;
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.strokeStyle = "#fff";
    ctx.fillStyle = "#fff";
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    for (const s of this.strokes) {
      const [first, ...rest] = s.points;
      if (first === undefined) continue;
      ctx.lineWidth = s.width;
      if (rest.length === 0) {
        ctx.beginPath();
        ctx.arc(first[0], first[1], s.width / 2, 0, 2 * Math.PI);
        ctx.fill();
        continue;
      }
      ctx.beginPath();
      ctx.moveTo(first[0], first[1]);
      for (const [x, y] of rest) ctx.lineTo(x, y);
      ctx.stroke();
    }
    el<HTMLButtonElement>("pad-undo").disabled = this.strokes.length === 0;
  }

  /** Classifies the drawing after a short calm, off the main thread (in the worker). */
  schedule(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      const { width, height } = this.canvas;
      const rgba = this.ctx.getImageData(0, 0, width, height).data;
      const pixels = new Float32Array(width * height);
      for (let i = 0; i < pixels.length; i++) pixels[i] = (rgba[i * 4] ?? 0) / 255;
      const source = el<HTMLSelectElement>("pad-model").value as PadSource;
      this.latest = this.nextId++;
      this.send({ type: "classify", id: this.latest, source, pixels, width, height });
    }, DEBOUNCE_MS);
  }
}
