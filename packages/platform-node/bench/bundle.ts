import * as esbuild from "esbuild"
import { execFileSync } from "node:child_process"
import { mkdirSync, readFileSync, rmSync } from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import * as Zlib from "node:zlib"
import type { Library } from "./common.js"

const here = Path.dirname(fileURLToPath(import.meta.url))
export const outDirectory = Path.join(Os.tmpdir(), "managed-identity-bench")

/** A variant of an app: `ours` uses `NodeManagedIdentity.layer`, `ours-imds` only the IMDS source over `fetch`. */
export type App = Library | "ours-imds"

export const appEntries: Record<App, string> = {
  ours: Path.join(here, "apps/ours.ts"),
  "ours-imds": Path.join(here, "apps/ours-imds.ts"),
  "msal-node": Path.join(here, "apps/msal-node.mjs"),
  "@azure/identity": Path.join(here, "apps/identity.mjs")
}

/** Each app is bundled into its own directory: its entry file plus the chunks it loads only on demand. */
const appDirectory = (app: App): string => Path.join(outDirectory, app.replace(/\W/g, ""))

export const bundlePath = (app: App): string => Path.join(appDirectory(app), "main.mjs")

export const cliBundlePath = Path.join(outDirectory, "managed-identity.mjs")

export interface Size {
  readonly bytes: number
  readonly gzipBytes: number
}

/** The entry file and every chunk it imports statically, transitively: what a process loads at start. */
export const loadedAtStart = (metafile: esbuild.Metafile, entry: string): ReadonlyArray<string> => {
  const relative = (file: string) => Path.relative(process.cwd(), file)
  const seen = new Set<string>()
  const visit = (output: string) => {
    if (seen.has(output)) return
    seen.add(output)
    for (const imported of metafile.outputs[output]?.imports ?? []) {
      if (imported.kind === "import-statement" && !imported.external) visit(imported.path)
    }
  }
  visit(relative(entry))
  return Array.from(seen, (output) => Path.resolve(process.cwd(), output))
}

/**
 * Bundles an app that gets one IMDS token for each library (esbuild, minified, platform node, ESM, code splitting,
 * so what an app imports only on demand — for us undici, used only by Service Fabric — lands in a separate chunk)
 * and the CLI with the package's own `scripts/bundle.mjs`, fresh from the sources. The size is the entry file's
 * plus every chunk it imports statically: what a process loads to get its token.
 */
export const build = async (): Promise<Record<App, Size>> => {
  rmSync(outDirectory, { recursive: true, force: true })
  mkdirSync(outDirectory, { recursive: true })
  execFileSync(process.execPath, [Path.join(here, "../scripts/bundle.mjs"), cliBundlePath], { stdio: "inherit" })
  const sizes: Partial<Record<App, Size>> = {}
  for (const [app, entry] of Object.entries(appEntries) as Array<[App, string]>) {
    sizes[app] = (await bundleApp(entry, appDirectory(app))).size
  }
  return sizes as Record<App, Size>
}

/**
 * Bundles one app the way every app here is bundled (the settings above) into `directory/main.mjs`; returns the
 * size a process loads at start and esbuild's metafile.
 */
export const bundleApp = async (
  entry: string,
  directory: string
): Promise<{ readonly size: Size; readonly metafile: esbuild.Metafile }> => {
  const result = await esbuild.build({
    entryPoints: { main: entry },
    outdir: directory,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    splitting: true,
    minify: true,
    platform: "node",
    format: "esm",
    target: "node20",
    legalComments: "none",
    logLevel: "error",
    metafile: true,
    banner: {
      js:
        "import { createRequire as __createRequire } from \"node:module\";const require = __createRequire(import.meta.url);"
    }
  })
  if (result.errors.length > 0) throw new Error(`esbuild failed for ${entry}`)
  const contents = Buffer.concat(
    loadedAtStart(result.metafile, Path.join(directory, "main.mjs")).map((file) => readFileSync(file))
  )
  return {
    size: { bytes: contents.byteLength, gzipBytes: Zlib.gzipSync(contents, { level: 9 }).byteLength },
    metafile: result.metafile
  }
}
