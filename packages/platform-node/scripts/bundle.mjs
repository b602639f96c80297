/**
 * Bundles the `managed-identity` CLI into ES modules for a fast cold start:
 * `node scripts/bundle.mjs [outfile]`, default `dist/bin/managed-identity.mjs`. What only some commands use (the
 * emulator and its HTTP servers, undici for Service Fabric and the token proxy) is split into chunks beside it, in
 * `chunks/`, loaded when used: `managed-identity token` on a host without IMDS answers within its 1 s probe plus the
 * start-up, so the start-up loads only what a token needs.
 */
import * as esbuild from "esbuild"
import * as Path from "node:path"
import process from "node:process"
import { fileURLToPath } from "node:url"

const packageDirectory = Path.dirname(Path.dirname(fileURLToPath(import.meta.url)))
const outfile = Path.resolve(process.argv[2] ?? Path.join(packageDirectory, "dist/bin/managed-identity.mjs"))

await esbuild.build({
  entryPoints: { [Path.basename(outfile, ".mjs")]: Path.join(packageDirectory, "src/bin/managed-identity.ts") },
  outdir: Path.dirname(outfile),
  outExtension: { ".js": ".mjs" },
  chunkNames: "chunks/[name]-[hash]",
  splitting: true,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  minify: true,
  legalComments: "none",
  logLevel: "warning",
  banner: {
    js:
      "import { createRequire as __createRequire } from \"node:module\";const require = __createRequire(import.meta.url);"
  }
})
