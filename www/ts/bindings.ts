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
  chapters(): ChapterInfo[];
}
