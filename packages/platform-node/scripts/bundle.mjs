/**
 * Bundles the `managed-identity` CLI into one ES module for a fast cold start:
 * `node scripts/bundle.mjs [outfile]`, default `dist/bin/managed-identity.mjs`.
 */
import * as esbuild from "esbuild"
import * as Path from "node:path"
import process from "node:process"
import { fileURLToPath } from "node:url"

const packageDirectory = Path.dirname(Path.dirname(fileURLToPath(import.meta.url)))
const outfile = Path.resolve(process.argv[2] ?? Path.join(packageDirectory, "dist/bin/managed-identity.mjs"))

await esbuild.build({
  entryPoints: [Path.join(packageDirectory, "src/bin/managed-identity.ts")],
  outfile,
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
