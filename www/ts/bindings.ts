// The shapes that cross the wasm boundary (see src/web.rs and the serde structs it returns). Keep in step
// with the Rust side: the e2e test fails if a field the page shows goes missing.

export type BackendKind = "webgpu" | "cpu";

export interface AdapterSummary {
  name: string;
  backend: string;
  deviceType: string;
  maxStorageBufferBytes: number;
}

export interface BackendChoice {
  kind: BackendKind;
  label: string;
  adapter?: AdapterSummary | null;
  fallbackReason?: string | null;
}

export interface KernelCheck {
  kind: BackendKind;
  kernel: string;
  n: number;
  maxAbsDiff: number;
  ok: boolean;
  /** The first results: [a, b, fast, reference]. */
  sample: [number, number, number, number][];
}

export interface ChapterInfo {
  number: number;
  id: string;
  title: string;
}

export interface Lab {
  backend(): BackendChoice;
  kernelCheck(n: number): Promise<KernelCheck>;
  drawKernelCheck(canvasId: string, check: KernelCheck): void;
  free(): void;
}

export interface WasmBindings {
  createLab(): Promise<Lab>;
  chapters(): ChapterText[];
}

/** One convolution block (src/train/config.rs `ConvBlock`): conv, activation, optional 2x2 pooling. */
export interface ConvBlock {
  channels: number;
  kernel: number;
  stride?: number;
  padding?: "valid" | "same" | { explicit: number };
  pool?: "none" | "max" | "avg";
}

/** A training run's settings (src/train/config.rs, serde names). The page edits a few fields by name. */
export interface SessionConfig {
  dataset: { name: string } & Record<string, unknown>;
  test_fraction: number;
  normalization: string;
  model: {
    hidden: number[]; activation: string | Record<string, number>; init: { kind: string } & Record<string, unknown>;
    batch_norm?: boolean; dropout?: number; input_noise?: number; residual?: boolean; join?: string;
    conv?: ConvBlock[];
  };
  weight_decay?: number;
  loss: string;
  optimizer: { kind: string } & Record<string, unknown>;
  lr: number;
  schedule: { kind: string } & Record<string, unknown>;
  batch_size: number;
  epochs: number;
  seed: number;
}

export interface PresetInfo {
  id: string;
  chapter: number;
  title: string;
  summary: string;
  config: SessionConfig;
  variants: { label: string; config: SessionConfig }[];
  plots: string[];
  textbook: string;
}

export interface ChapterText extends ChapterInfo {
  intro: string;
  equations: string[];
}

export interface EpochMetrics {
  epoch: number;
  trainLoss: number;
  testLoss: number;
  testAccuracy?: number | null;
  lr: number;
  examplesPerS: number;
  seconds: number;
}

/** What the worker's trainer reports after each time slice (src/web/trainer.rs `Status`). */
export interface TrainStatus {
  run: number;
  runs: number;
  label: string;
  step: number;
  stepsPerEpoch: number;
  epoch: number;
  epochs: number;
  lastLoss?: number | null;
  seconds: number;
  newEpochs: [number, EpochMetrics][];
  done: boolean;
  error?: string | null;
  suggestedLr?: number | null;
  check?: string | null;
  checkPassed?: boolean | null;
  /** Where the runs train, e.g. "WebGPU: nvidia ampere" or "CPU: WebAssembly SIMD". */
  backend: string;
}

/** Where to train: the GPU when there is one (auto), the GPU or an explained fallback (webgpu), the CPU. */
export type TrainBackend = "auto" | "webgpu" | "cpu";

/** Where a drawn confusion matrix's cells are, in canvas pixels: columns (predicted class) across
 * `x`, rows (true class) down `y`, k of each (src/plot/draw.rs `Cells`). */
export interface MatrixCells {
  x: [number, number];
  y: [number, number];
  k: number;
}

/** A plot as data (src/plot/mod.rs `Figure`); only drawFigure looks inside. */
export interface Figure {
  kind: string;
  title: string;
}

export interface Trainer {
  filesNeeded(): string[];
  addFile(name: string, bytes: Uint8Array): void;
  runFor(budgetMs: number, maxSteps: number): TrainStatus;
  runForAsync(budgetMs: number, maxSteps: number): Promise<TrainStatus>;
  figures(): Figure[];
  figuresAsync(): Promise<Figure[]>;
  cellExamplesAsync(truth: number, predicted: number): Promise<Figure>;
  useGpu(): Promise<string>;
  fallBackToCpu(why: string): Promise<string>;
  exportModel(): Promise<Uint8Array>;
  restore(bytes: Uint8Array): number;
  padClasses(): string[];
  padSide(): number;
  classifyAsync(input: Float32Array): Promise<Float32Array>;
  saliencyAsync(input: Float32Array): Promise<Float32Array>;
  featureMapsAsync(input: Float32Array): Promise<Plane[]>;
  normalized(input: Float32Array): Float32Array;
  free(): void;
}

/** A small image (src/data/image.rs `Plane`). */
export interface Plane {
  rows: number;
  cols: number;
  values: number[];
}

/** A drawing made into a model input, step by step (src/data/image.rs `DrawingSteps`). */
export interface DrawingSteps {
  crop: Plane;
  scaled: Plane;
  input: number[];
}

/** A model file read for the drawing pad (src/web/pad.rs `PadModel`). */
export interface PadModel {
  classes(): string[];
  side(): number;
  predict(input: Float32Array): Float32Array;
  saliency(input: Float32Array): Float32Array;
  featureMaps(input: Float32Array): Plane[];
  normalized(input: Float32Array): Float32Array;
  free(): void;
}

/** Which model the pad asks: a starter model file (by id) or the model being trained. */
export type PadSource = "mnist-cnn" | "fashion-cnn" | "training" | "imported";

/** The last run saved in this browser (IndexedDB), as the page offers to resume it. */
export interface SavedRun {
  presetId: string;
  config: SessionConfig;
  epochs: number;
  savedAt: number;
}

/** The pad's answer: the preparation steps, class probabilities and the saliency map. */
export interface Classified {
  type: "classified";
  id: number;
  source: PadSource;
  steps: DrawingSteps | null;
  classes: string[];
  probs: number[];
  saliency: number[];
  /** The input after the model's own normalization (what its first layer receives). */
  normalized: number[];
  /** The first convolution's activated outputs (none for a model without convolutions). */
  maps: Plane[];
  error?: string;
}

export interface LayerShape {
  layer: string;
  shape: string;
  parameters: number;
}

/** The page's bindings: everything the main thread calls. */
export interface LabBindings extends WasmBindings {
  presets(): PresetInfo[];
  describeModel(config: SessionConfig): LayerShape[];
  /** The preset on Fashion-MNIST in place of CIFAR-10; null when it does not read CIFAR-10. */
  presetOnFashion(id: string): PresetInfo | null;
  /** Draws a figure; for a confusion matrix, says where its cells landed. */
  drawFigure(canvasId: string, figure: Figure): MatrixCells | null | undefined;
}

/** The module as the worker imports it (wasm-bindgen's `web` target). */
export interface WorkerModule {
  default(options: { module_or_path: URL }): Promise<unknown>;
  Trainer: new (id: string, config: SessionConfig) => Trainer;
  PadModel: new (bytes: Uint8Array) => PadModel;
  prepareDrawing(pixels: Float32Array, width: number, height: number, side: number): DrawingSteps | null;
}

/** Messages from the page to the training worker. */
export type ToWorker =
  | { type: "start"; presetId: string; config: SessionConfig; stepOnly: boolean; backend: TrainBackend; resume?: boolean }
  | { type: "export" }
  /** Test images of one confusion-matrix cell (true class, predicted class). */
  | { type: "cell-examples"; truth: number; predicted: number }
  /** Data files the visitor gave the page (CIFAR-10), used in place of fetching them. */
  | { type: "data-files"; files: { name: string; bytes: Uint8Array }[] }
  | { type: "import-model"; name: string; bytes: Uint8Array }
  | { type: "pause" }
  | { type: "resume" }
  | { type: "step" }
  | { type: "stop" }
  | { type: "classify"; id: number; source: PadSource; pixels: Float32Array; width: number; height: number };

/** Messages from the training worker to the page. */
export type FromWorker =
  | { type: "ready" }
  | { type: "loading"; text: string }
  | { type: "progress"; status: TrainStatus }
  | { type: "figures"; figures: Figure[] }
  | { type: "error"; message: string }
  | { type: "exported"; bytes: Uint8Array; presetId: string; epochs: number }
  | { type: "imported"; name: string; classes: string[]; error?: string }
  | { type: "saved"; run: SavedRun | null }
  | { type: "note"; text: string }
  | { type: "cell-examples"; figure: Figure | null; error?: string }
  | Classified;
