// Trunk post_build hook: writes the page's Content-Security-Policy into the staged index.html.
//
// The policy allows scripts from the site itself and the inline scripts Trunk wrote (each by its SHA-256,
// computed here from the exact text; `filehash = false` keeps that text the same build to build), lets
// WebAssembly compile ('wasm-unsafe-eval'), and forbids every other inline script, eval and plugin: text
// that a link or a file smuggles into the page cannot run. Styles may be inline (plotters and the shell
// set style attributes); nothing is fetched from another origin.
//
// `trunk serve` injects a reload script whose text it rewrites per request (the server's address), so no
// hash could match it: the dev server's page goes without the policy, and says so in the build log.
import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";

const file = path.join(process.env.TRUNK_STAGING_DIR ?? "dist", "index.html");
let html = await readFile(file, "utf8");
if (html.includes("{{__TRUNK_ADDRESS__}}")) {
  console.log("csp.mjs: trunk serve's reload script is in the page: no Content-Security-Policy for the dev server");
  process.exit(0);
}
const inline = [...html.matchAll(/<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/g)].map((m) => m[1]);
const hashes = inline.map((text) => `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`);
const policy = [
  "default-src 'self'",
  `script-src 'self' 'wasm-unsafe-eval' ${hashes.join(" ")}`.trim(),
  "worker-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data: blob:",
  "style-src 'self' 'unsafe-inline'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join("; ");
const charset = /<meta charset="utf-8"\s*\/?>/i;
if (!charset.test(html)) throw new Error(`csp.mjs: no <meta charset="utf-8"> in ${file} to put the policy after`);
if (html.includes('http-equiv="Content-Security-Policy"')) throw new Error(`csp.mjs: ${file} already has a policy`);
html = html.replace(charset, (m) => `${m}\n    <meta http-equiv="Content-Security-Policy" content="${policy}" />`);
await writeFile(file, html);
console.log(`csp.mjs: Content-Security-Policy written (${hashes.length} inline script${hashes.length === 1 ? "" : "s"} allowed by hash)`);
