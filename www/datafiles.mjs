// Trunk post_build hook: lists the data files the site serves in data/files.json, so the page can tell
// whether an optional dataset (CIFAR-10, which `./lab setup` downloads only where the machine is online)
// is there without asking for a file that may not exist (a 404 the browser would log as an error).
import { readdir, writeFile } from "node:fs/promises";
import path from "node:path";

const data = path.join(process.env.TRUNK_STAGING_DIR ?? "dist", "data");
const files = (await readdir(data, { recursive: true, withFileTypes: true }))
  .filter((e) => e.isFile() && !e.name.startsWith("."))
  .map((e) => path.relative(data, path.join(e.parentPath ?? e.path, e.name)).split(path.sep).join("/"))
  .filter((f) => f !== "files.json")
  .sort();
await writeFile(path.join(data, "files.json"), `${JSON.stringify(files, null, 1)}\n`);
console.log(`datafiles.mjs: ${files.length} data files listed in data/files.json`);
