// The settings form: builds the controls for a preset's config, refuses invalid values at the control with a
// reason, and turns the form back into a config. Only fields the visitor can change are here; the full
// config is editable as JSON too.

import type { ConvBlock, SessionConfig } from "./bindings.js";

type Option = [value: string, label: string];

const OPTIMIZERS: Option[] = [["sgd", "SGD"], ["momentum", "SGD with momentum 0.9"], ["adagrad", "Adagrad"],
  ["rmsprop", "RMSProp (ρ 0.9)"], ["adam", "Adam"]];
const NORMALIZATIONS: Option[] = [["none", "none (raw values)"], ["unit-range", "[0, 1]"],
  ["symmetric-range", "[-1, 1]"], ["z-score", "z-score"], ["z-score-per-channel", "z-score per feature/channel"]];
const ACTIVATIONS: Option[] = [["relu", "ReLU"], ["tanh", "tanh"], ["sigmoid", "sigmoid"], ["gelu", "GELU"],
  ["swish", "Swish"], ["identity", "none (identity)"]];
const INITS: Option[] = [["xavier-uniform", "Xavier uniform"], ["xavier-normal", "Xavier normal"],
  ["kaiming-uniform", "He uniform"], ["kaiming-normal", "He normal"], ["zeros", "zeros"]];
const SKIPS: Option[] = [["none", "none"], ["add", "by addition (ResNet)"], ["concat", "by concatenation (DenseNet)"]];
const ON_OFF: Option[] = [["off", "off"], ["on", "on"]];
const SCHEDULES: Option[] = [["constant", "constant"], ["step-decay", "halve every epoch"],
  ["exponential", "×0.9 per epoch (exponential)"]];

/** The control names, also the keys of classroom `hide=` flags in the URL. */
export const CONTROL_NAMES = ["lr", "optimizer", "schedule", "batch_size", "epochs", "seed", "normalization",
  "hidden", "activation", "init", "batch_norm", "dropout", "input_noise", "weight_decay", "skips", "conv",
  "momentum", "rho", "betas"] as const;
export type ControlName = (typeof CONTROL_NAMES)[number];

function optimizerKey(o: SessionConfig["optimizer"]): string {
  if (o.kind === "sgd") return Number(o["momentum"] ?? 0) > 0 ? "momentum" : "sgd";
  if (o.kind === "rms-prop") return "rmsprop";
  return o.kind;
}

function optimizerConfig(key: string): SessionConfig["optimizer"] {
  switch (key) {
    case "momentum": return { kind: "sgd", momentum: 0.9 };
    case "adagrad": return { kind: "adagrad", eps: 1e-10 };
    case "rmsprop": return { kind: "rms-prop", rho: 0.9, eps: 1e-8 };
    case "adam": return { kind: "adam", betas: [0.9, 0.999], eps: 1e-8 };
    default: return { kind: "sgd", momentum: 0 };
  }
}

function scheduleConfig(key: string, current: SessionConfig["schedule"]): SessionConfig["schedule"] {
  if (key === current.kind) return current;
  switch (key) {
    case "step-decay": return { kind: "step-decay", every: 1, factor: 0.5 };
    case "exponential": return { kind: "exponential", lambda: 0.9, k: 1 };
    default: return { kind: "constant" };
  }
}

function activationKey(a: SessionConfig["model"]["activation"]): string {
  return typeof a === "string" ? a : Object.keys(a)[0] ?? "relu";
}

function initConfig(key: string): SessionConfig["model"]["init"] {
  return key.startsWith("xavier") ? { kind: key, fan_avg: false } : { kind: key };
}

function field(name: ControlName, label: string, control: HTMLElement, hint = ""): HTMLElement {
  const wrap = document.createElement("div");
  wrap.className = "field";
  wrap.dataset.control = name;
  const l = document.createElement("label");
  l.htmlFor = control.id;
  l.textContent = label;
  const message = document.createElement("span");
  message.className = "invalid";
  message.id = `${control.id}-why`;
  message.setAttribute("aria-live", "polite");
  control.setAttribute("aria-describedby", message.id);
  wrap.append(l, control);
  if (hint !== "") {
    const h = document.createElement("span");
    h.className = "hint";
    h.textContent = hint;
    wrap.append(h);
  }
  wrap.append(message);
  return wrap;
}

function select(id: string, options: Option[], value: string): HTMLSelectElement {
  const s = document.createElement("select");
  s.id = id;
  for (const [v, text] of options) s.add(new Option(text, v, false, v === value));
  if (!options.some(([v]) => v === value)) s.add(new Option(value, value, false, true));
  return s;
}

function numberInput(id: string, value: number, min: number, max: number, step: string): HTMLInputElement {
  const i = document.createElement("input");
  i.type = "number";
  i.id = id;
  i.min = String(min);
  i.max = String(max);
  i.step = step;
  i.value = String(value);
  i.inputMode = "decimal";
  return i;
}

const PADDINGS: Option[] = [["valid", "none (valid)"], ["same", "same size"], ["1", "1 pixel"], ["2", "2 pixels"], ["3", "3 pixels"]];
const POOLS: Option[] = [["none", "none"], ["max", "max 2x2"], ["avg", "average 2x2"]];
/** The lab's limits (src/train/source.rs validates the same). */
const MAX_CONV_BLOCKS = 8;

function paddingKey(p: ConvBlock["padding"]): string {
  return p === undefined ? "valid" : typeof p === "string" ? p : String(p.explicit);
}

function paddingConfig(key: string): NonNullable<ConvBlock["padding"]> {
  return key === "valid" || key === "same" ? key : { explicit: Number(key) };
}

/** The convolution blocks as an editable table: channels, kernel, stride, padding, pooling per row, rows
 * added and removed with buttons. Invalid cells are refused with one reason under the table. */
class ConvEditor {
  readonly element: HTMLElement;
  private readonly body: HTMLTableSectionElement;
  readonly why: HTMLElement;

  constructor(blocks: ConvBlock[], private readonly onChange: () => void) {
    const table = document.createElement("table");
    table.className = "conv-table";
    const head = table.createTHead().insertRow();
    for (const title of ["#", "channels", "kernel", "stride", "padding", "pooling", ""]) {
      const th = document.createElement("th");
      th.scope = "col";
      th.textContent = title;
      head.append(th);
    }
    this.body = table.createTBody();
    const add = document.createElement("button");
    add.type = "button";
    add.className = "small conv-add";
    add.textContent = "Add a convolution";
    add.addEventListener("click", () => {
      if (this.body.rows.length >= MAX_CONV_BLOCKS) return;
      this.addRow({ channels: 16, kernel: 3, stride: 1, padding: "same", pool: "max" });
      this.onChange();
    });
    this.why = document.createElement("span");
    this.why.className = "invalid";
    this.why.id = "c-conv-why";
    this.why.setAttribute("aria-live", "polite");
    const scroll = document.createElement("div");
    scroll.className = "scroll";
    scroll.append(table);
    this.element = document.createElement("div");
    this.element.className = "field conv-field";
    this.element.dataset.control = "conv";
    this.element.append(scroll, add, this.why);
    for (const b of blocks) this.addRow(b);
  }

  private addRow(b: ConvBlock): void {
    const row = this.body.insertRow();
    const i = this.body.rows.length;
    const cell = (control: HTMLElement, label: string) => {
      control.setAttribute("aria-label", `convolution ${i}: ${label}`);
      control.addEventListener("change", this.onChange);
      row.insertCell().append(control);
    };
    row.insertCell().textContent = String(i);
    cell(numberInput(`c-conv-${i}-channels`, b.channels, 1, 1024, "1"), "channels");
    cell(numberInput(`c-conv-${i}-kernel`, b.kernel, 1, 15, "1"), "kernel size");
    cell(numberInput(`c-conv-${i}-stride`, b.stride ?? 1, 1, 8, "1"), "stride");
    cell(select(`c-conv-${i}-padding`, PADDINGS, paddingKey(b.padding)), "padding");
    cell(select(`c-conv-${i}-pool`, POOLS, b.pool ?? "none"), "pooling");
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "small";
    remove.textContent = "Remove";
    remove.setAttribute("aria-label", `remove convolution ${i}`);
    remove.addEventListener("click", () => {
      // The rows as typed, invalid cells included: removing one row must not lose the others.
      const blocks = [...this.body.rows].map((r) => this.cells(r).block);
      blocks.splice([...this.body.rows].indexOf(row), 1);
      this.body.replaceChildren();
      for (const kept of blocks) this.addRow(kept);
      this.onChange();
    });
    row.insertCell().append(remove);
  }

  /** One row's values as typed (numbers may be out of range or NaN). */
  private cells(row: HTMLTableRowElement): { block: ConvBlock; numbers: (number | undefined)[] } {
    const numbers = [...row.querySelectorAll("input")].map((e) => Number(e.value.trim() === "" ? NaN : e.value));
    const [padding, pool] = [...row.querySelectorAll("select")].map((e) => e.value);
    const [channels, kernel, stride] = numbers;
    const block = { channels: channels ?? NaN, kernel: kernel ?? NaN, stride: stride ?? NaN,
      padding: paddingConfig(padding ?? "valid"), pool: (pool ?? "none") as NonNullable<ConvBlock["pool"]> };
    return { block, numbers };
  }

  /** The blocks, or null with the reason shown when a cell is out of range. */
  read(): ConvBlock[] | null {
    this.why.textContent = "";
    const blocks: ConvBlock[] = [];
    for (const [r, row] of [...this.body.rows].entries()) {
      const { block, numbers: [channels, kernel, stride] } = this.cells(row);
      const bad = (what: string, min: number, max: number, v: number | undefined) =>
        v === undefined || !Number.isInteger(v) || v < min || v > max ? `convolution ${r + 1}: ${what} must be a whole number from ${min} to ${max}` : null;
      const reason = bad("channels", 1, 1024, channels) ?? bad("the kernel size", 1, 15, kernel) ?? bad("the stride", 1, 8, stride);
      if (reason !== null) {
        this.why.textContent = reason;
        row.setAttribute("aria-invalid", "true");
        return null;
      }
      row.removeAttribute("aria-invalid");
      blocks.push(block);
    }
    return blocks;
  }
}

/** The form for one config; `read()` validates every control and returns the edited config or null. */
export class Controls {
  private readonly base: SessionConfig;
  private readonly inputs = new Map<ControlName, HTMLInputElement | HTMLSelectElement>();
  private readonly conv: ConvEditor;

  constructor(private readonly form: HTMLFormElement, config: SessionConfig, hidden: Set<string>, onChange: () => void) {
    this.base = structuredClone(config);
    form.replaceChildren();
    const lr = numberInput("c-lr", Number(config.lr.toPrecision(6)), 1e-6, 1000, "any");
    const slider = document.createElement("input");
    slider.type = "range";
    slider.id = "c-lr-slider";
    slider.min = "-5";
    slider.max = "1";
    slider.step = "0.05";
    slider.value = String(Math.log10(config.lr));
    slider.setAttribute("aria-label", "learning rate, logarithmic slider");
    slider.addEventListener("input", () => {
      lr.value = String(Number((10 ** Number(slider.value)).toPrecision(2)));
      onChange();
    });
    lr.addEventListener("input", () => {
      if (Number(lr.value) > 0) slider.value = String(Math.log10(Number(lr.value)));
    });
    const lrField = field("lr", "Learning rate", lr);
    lrField.insertBefore(slider, lr.nextSibling);
    const add = (name: ControlName, label: string, control: HTMLInputElement | HTMLSelectElement, hint = "") => {
      this.inputs.set(name, control);
      const f = name === "lr" ? lrField : field(name, label, control, hint);
      f.hidden = hidden.has(name);
      form.append(f);
      control.addEventListener("change", onChange);
    };
    add("lr", "Learning rate", lr);
    add("optimizer", "Optimizer", select("c-optimizer", OPTIMIZERS, optimizerKey(config.optimizer)));
    // The chosen optimizer's own settings: only its fields show.
    const o = config.optimizer;
    const betas = Array.isArray(o["betas"]) ? (o["betas"] as number[]) : [0.9, 0.999];
    add("momentum", "Momentum μ", numberInput("c-momentum", Number(o["momentum"] ?? 0.9) || 0.9, 0, 0.999, "0.05"), "share of the last step kept");
    add("rho", "RMSProp ρ", numberInput("c-rho", Number(o["rho"] ?? 0.9), 0, 0.999, "0.01"), "decay of the squared-gradient average");
    const betaInput = document.createElement("input");
    betaInput.id = "c-betas";
    betaInput.value = betas.join(", ");
    add("betas", "Adam β₁, β₂", betaInput, "decays of the two moment averages");
    const showParams = () => {
      const chosen = this.value("optimizer");
      for (const [name, key] of [["momentum", "momentum"], ["rho", "rmsprop"], ["betas", "adam"]] as const) {
        const f = form.querySelector<HTMLElement>(`[data-control="${name}"]`);
        if (f !== null) f.hidden = hidden.has(name) || hidden.has("optimizer") || chosen !== key;
      }
    };
    this.inputs.get("optimizer")?.addEventListener("change", showParams);
    add("schedule", "Schedule", select("c-schedule", SCHEDULES, config.schedule.kind));
    add("batch_size", "Batch size", numberInput("c-batch", config.batch_size, 1, 100_000, "1"));
    add("epochs", "Epochs", numberInput("c-epochs", config.epochs, 1, 100_000, "1"));
    add("seed", "Seed", numberInput("c-seed", config.seed, 0, Number.MAX_SAFE_INTEGER, "1"));
    add("normalization", "Input scaling", select("c-norm", NORMALIZATIONS, config.normalization));
    const hiddenInput = document.createElement("input");
    hiddenInput.id = "c-hidden";
    hiddenInput.value = config.model.hidden.join(", ");
    hiddenInput.placeholder = "none: a linear model";
    add("hidden", "Hidden layers", hiddenInput, "units per layer, e.g. 128, 64");
    add("activation", "Activation", select("c-activation", ACTIVATIONS, activationKey(config.model.activation)));
    add("init", "Initializer", select("c-init", INITS, config.model.init.kind));
    // Chapter 8's toggles, folded away: most chapters do not need them.
    const more = document.createElement("details");
    more.className = "more-controls";
    const summary = document.createElement("summary");
    summary.textContent = "BatchNorm, dropout, noise, weight decay, skip connections";
    const inner = document.createElement("div");
    inner.className = "controls";
    more.append(summary, inner);
    const m = config.model;
    const toggles: [ControlName, string, HTMLInputElement | HTMLSelectElement, string][] = [
      ["batch_norm", "BatchNorm", select("c-bn", ON_OFF, m.batch_norm === true ? "on" : "off"), "after every hidden layer and convolution"],
      ["dropout", "Dropout", numberInput("c-dropout", m.dropout ?? 0, 0, 0.95, "0.05"), "probability, 0 = off"],
      ["input_noise", "Input noise σ", numberInput("c-noise", m.input_noise ?? 0, 0, 10, "0.05"), "Gaussian, while training"],
      ["weight_decay", "Weight decay λ", numberInput("c-wd", config.weight_decay ?? 0, 0, 1, "any"), "L2: λ‖w‖²/2"],
      ["skips", "Skip connections", select("c-skips", SKIPS, m.residual === true ? (m.join ?? "add") : "none"), ""],
    ];
    for (const [name, label, control, hint] of toggles) {
      this.inputs.set(name, control);
      const f = field(name, label, control, hint);
      f.hidden = hidden.has(name);
      inner.append(f);
      control.addEventListener("change", onChange);
    }
    more.open = toggles.some(([name]) => this.value(name) !== "off" && this.value(name) !== "none" && Number(this.value(name)) !== 0);
    // Convolutions: open when the model has some; an MLP on images can gain them here.
    const convs = document.createElement("details");
    convs.className = "more-controls conv-controls";
    const convSummary = document.createElement("summary");
    convSummary.textContent = "Convolution blocks: channels, kernel, stride, padding, pooling";
    this.conv = new ConvEditor(config.model.conv ?? [], onChange);
    convs.append(convSummary, this.conv.element);
    convs.open = (config.model.conv ?? []).length > 0;
    convs.hidden = hidden.has("conv");
    form.append(more, convs);
    showParams();
  }

  private value(name: ControlName): string {
    return this.inputs.get(name)?.value.trim() ?? "";
  }

  /** Marks a control invalid with a reason (shown next to it and to screen readers). */
  private refuse(name: ControlName, reason: string): null {
    const control = this.inputs.get(name);
    if (control !== undefined) {
      control.setAttribute("aria-invalid", "true");
      const why = document.getElementById(`${control.id}-why`);
      if (why !== null) why.textContent = reason;
    }
    return null;
  }

  private clear(): void {
    for (const control of this.inputs.values()) {
      control.removeAttribute("aria-invalid");
      const why = document.getElementById(`${control.id}-why`);
      if (why !== null) why.textContent = "";
    }
  }

  private integer(name: ControlName, min: number, max: number, what: string): number | null {
    const text = this.value(name);
    const v = Number(text);
    if (text === "" || !Number.isInteger(v) || v < min || v > max) {
      return this.refuse(name, `${what} must be a whole number from ${min} to ${max.toLocaleString("en-US")}`);
    }
    return v;
  }

  /** The edited config, or null when a control holds an invalid value (each says why). */
  read(): SessionConfig | null {
    this.clear();
    const c = structuredClone(this.base);
    let ok = true;
    const lr = Number(this.value("lr"));
    if (!(Number.isFinite(lr) && lr > 0 && lr <= 1000)) ok = this.refuse("lr", "the learning rate must be above 0 and at most 1000") ?? false;
    else c.lr = lr;
    const batch = this.integer("batch_size", 1, 100_000, "the batch size");
    const epochs = this.integer("epochs", 1, 100_000, "epochs");
    const seed = this.integer("seed", 0, Number.MAX_SAFE_INTEGER, "the seed");
    if (batch === null || epochs === null || seed === null) ok = false;
    else [c.batch_size, c.epochs, c.seed] = [batch, epochs, seed];
    const units = this.value("hidden") === "" ? [] : this.value("hidden").split(/[\s,]+/).filter((s) => s !== "").map(Number);
    if (units.length > 16 || units.some((u) => !Number.isInteger(u) || u < 1 || u > 16_384)) {
      ok = this.refuse("hidden", "give up to 16 layer widths, each a whole number from 1 to 16,384") ?? false;
    } else c.model.hidden = units;
    const optimizer = this.value("optimizer");
    const o = optimizer !== optimizerKey(this.base.optimizer) ? optimizerConfig(optimizer) : structuredClone(this.base.optimizer);
    const unit = (name: ControlName, what: string): number | null => {
      const text = this.value(name);
      const v = Number(text);
      return text !== "" && Number.isFinite(v) && v >= 0 && v < 1 ? v : this.refuse(name, `${what} must be at least 0 and below 1`);
    };
    if (optimizer === "momentum") {
      const m = unit("momentum", "momentum");
      if (m === null || m === 0) ok = m === null ? false : (this.refuse("momentum", "momentum 0 is plain SGD: choose SGD instead") ?? false);
      else o["momentum"] = m;
    } else if (optimizer === "rmsprop") {
      const rho = unit("rho", "ρ");
      if (rho === null) ok = false;
      else o["rho"] = rho;
    } else if (optimizer === "adam") {
      const parts = this.value("betas").split(/[\s,]+/).filter((p) => p !== "").map(Number);
      const [b1, b2] = parts;
      if (parts.length !== 2 || b1 === undefined || b2 === undefined || !parts.every((v) => Number.isFinite(v) && v >= 0 && v < 1)) {
        ok = this.refuse("betas", "give two numbers, each at least 0 and below 1, e.g. 0.9, 0.999") ?? false;
      } else o["betas"] = [b1, b2];
    }
    if (JSON.stringify(o) !== JSON.stringify(this.base.optimizer)) c.optimizer = o;
    c.schedule = scheduleConfig(this.value("schedule"), this.base.schedule);
    c.normalization = this.value("normalization");
    const activation = this.value("activation");
    if (activation !== activationKey(this.base.model.activation)) c.model.activation = activation;
    const init = this.value("init");
    if (init !== this.base.model.init.kind) c.model.init = initConfig(init);
    // The toggles: only a changed value is written, so a preset's config keeps its exact shape.
    const real = (name: ControlName, min: number, max: number, what: string): number | null => {
      const text = this.value(name);
      const v = Number(text);
      if (text === "" || !Number.isFinite(v) || v < min || v > max) return this.refuse(name, `${what} must be from ${min} to ${max}`);
      return v;
    };
    const dropout = real("dropout", 0, 0.95, "dropout");
    const noise = real("input_noise", 0, 10, "the noise σ");
    const decay = real("weight_decay", 0, 1, "weight decay");
    if (dropout === null || noise === null || decay === null) ok = false;
    else {
      if (dropout !== (this.base.model.dropout ?? 0)) c.model.dropout = dropout;
      if (noise !== (this.base.model.input_noise ?? 0)) c.model.input_noise = noise;
      if (decay !== (this.base.weight_decay ?? 0)) c.weight_decay = decay;
    }
    const bn = this.value("batch_norm") === "on";
    if (bn !== (this.base.model.batch_norm === true)) c.model.batch_norm = bn;
    const skips = this.value("skips");
    const baseSkips = this.base.model.residual === true ? (this.base.model.join ?? "add") : "none";
    if (skips !== baseSkips) {
      c.model.residual = skips !== "none";
      if (skips === "concat") c.model.join = "concat";
      else delete c.model.join;
    }
    // Convolutions: written only when they differ from the preset's (same key order as serde's output).
    const blocks = this.conv.read();
    if (blocks === null) ok = false;
    else {
      const base = (this.base.model.conv ?? []).map((b) => ({ channels: b.channels, kernel: b.kernel, stride: b.stride ?? 1,
        padding: b.padding ?? "valid", pool: b.pool ?? "none" }));
      if (JSON.stringify(blocks) !== JSON.stringify(base)) c.model.conv = blocks;
    }
    return ok ? c : null;
  }

  /** Sets the learning rate control (the divergence guard's one-click fix). */
  setLearningRate(lr: number): void {
    const control = this.inputs.get("lr");
    if (control !== undefined) control.value = String(lr);
    const slider = this.form.querySelector<HTMLInputElement>("#c-lr-slider");
    if (slider !== null) slider.value = String(Math.log10(lr));
  }
}
