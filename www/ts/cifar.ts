/** CIFAR-10 from the visitor's own copy: the official archive (cifar-10-binary.tar.gz) or its six .bin
 * batches, chosen or dropped on the page. The archive is unpacked here with the browser's own gzip
 * (DecompressionStream) and a walk over the tar headers; nothing leaves the browser. */

/** The six batch files a CIFAR-10 run reads, as the worker names them. */
export const CIFAR_FILES = [
  "data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin",
] as const;

/** 10,000 records of a label byte and 3x32x32 pixel bytes. */
const BATCH_BYTES = 10_000 * (1 + 3 * 32 * 32);
/** The archive unpacks to ~185 MB; anything far larger is not CIFAR-10's binary archive. */
const MAX_UNPACKED = 200_000_000;

export interface DataFile {
  name: string;
  bytes: Uint8Array;
}

/** The six batches from `files` (the .tar.gz, or .bin files), named `cifar-10/<file>`; throws with a reason
 * the visitor can act on. `progress` hears how far unpacking has come. */
export async function readCifar(files: File[], progress: (text: string) => void): Promise<DataFile[]> {
  const found = new Map<string, Uint8Array>();
  for (const file of files) {
    if (/\.(tar\.gz|tgz)$/i.test(file.name)) {
      for (const [name, bytes] of untar(await gunzip(file, progress))) found.set(name, bytes);
    } else if ((CIFAR_FILES as readonly string[]).includes(file.name)) {
      found.set(file.name, new Uint8Array(await file.arrayBuffer()));
    } else {
      throw new Error(`${file.name} is not part of CIFAR-10's binary version (cifar-10-binary.tar.gz or its .bin files)`);
    }
  }
  const missing = CIFAR_FILES.filter((f) => !found.has(f));
  if (missing.length > 0) throw new Error(`still missing: ${missing.join(", ")}`);
  return CIFAR_FILES.map((f) => {
    const bytes = found.get(f) as Uint8Array;
    if (bytes.length !== BATCH_BYTES) {
      throw new Error(`${f} has ${bytes.length} bytes; a CIFAR-10 batch has ${BATCH_BYTES}`);
    }
    return { name: `cifar-10/${f}`, bytes };
  });
}

async function gunzip(file: File, progress: (text: string) => void): Promise<Uint8Array> {
  const reader = file.stream().pipeThrough(new DecompressionStream("gzip")).getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    let chunk: ReadableStreamReadResult<Uint8Array>;
    try {
      chunk = await reader.read();
    } catch {
      throw new Error(`${file.name} is not a valid gzip file`);
    }
    if (chunk.done) break;
    size += chunk.value.length;
    if (size > MAX_UNPACKED) {
      await reader.cancel();
      throw new Error(`${file.name} unpacks to more than ${MAX_UNPACKED / 1e6} MB: not CIFAR-10's archive`);
    }
    parts.push(chunk.value);
    if (parts.length % 64 === 0) progress(`Unpacking ${file.name}: ${(size / 1e6).toFixed(0)} MB`);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return all;
}

/** The regular files of a tar archive whose base name is a CIFAR-10 batch, as views into `tar`. */
function untar(tar: Uint8Array): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  const text = (from: number, len: number) => {
    const field = tar.subarray(from, from + len);
    const end = field.indexOf(0);
    return new TextDecoder().decode(end < 0 ? field : field.subarray(0, end));
  };
  for (let at = 0; at + 512 <= tar.length;) {
    const name = text(at, 100);
    if (name === "") break; // the two zero blocks that end an archive
    const size = parseInt(text(at + 124, 12).trim() || "0", 8);
    const type = String.fromCharCode(tar[at + 156] ?? 0);
    if (!Number.isFinite(size) || size < 0 || at + 512 + size > tar.length) {
      throw new Error("the archive is damaged (a tar entry runs past its end)");
    }
    const base = name.split("/").pop() ?? "";
    if ((type === "0" || type === "\0") && (CIFAR_FILES as readonly string[]).includes(base)) {
      out.set(base, tar.subarray(at + 512, at + 512 + size));
    }
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}
