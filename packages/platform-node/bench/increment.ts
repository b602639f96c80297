/**
 * Figure 8, what a managed identity token costs an app that already does an HTTP call: the bundle and cold start of
 * a baseline app and of the same app with one token, for ours over an Effect app that already uses `effect` and
 * `@effect/platform` (`FetchHttpClient`), for msal-node and @azure/identity over a plain Node app (`fetch`). The
 * increment is the difference. `node --import tsx bench/increment.ts` runs it alone (with its own emulator).
 */
import type * as esbuild from "esbuild"
import { spawn } from "node:child_process"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { bundleApp, loadedAtStart, outDirectory, type Size } from "./bundle.js"
import type { Emulator, Library, Row } from "./common.js"
import { log, median, percentile, startEmulator } from "./common.js"

const here = Path.dirname(fileURLToPath(import.meta.url))

/** Fresh `node` processes per app; every round runs each app once, in a rotating order. */
export const runs = 21

export type App =
  | "effect"
  | "effect+ours"
  | "effect+ours-imds"
  | "node"
  | "node+msal-node"
  | "node+@azure/identity"

const entries: Record<App, string> = {
  effect: "apps/effect-http.ts",
  "effect+ours": "apps/effect-http-ours.ts",
  "effect+ours-imds": "apps/effect-http-ours-imds.ts",
  node: "apps/node-http.mjs",
  "node+msal-node": "apps/node-http-msal-node.mjs",
  "node+@azure/identity": "apps/node-http-identity.mjs"
}
const apps = Object.keys(entries) as Array<App>

/** An app with a token and the baseline it is measured against. */
export interface Variant {
  readonly library: Library
  readonly label: string
  readonly app: App
  readonly baseline: App
}

export const variants: ReadonlyArray<Variant> = [
  { library: "ours", label: "`NodeManagedIdentity.layer`", app: "effect+ours", baseline: "effect" },
  { library: "ours", label: "IMDS source", app: "effect+ours-imds", baseline: "effect" },
  { library: "msal-node", label: "msal-node", app: "node+msal-node", baseline: "node" },
  { library: "@azure/identity", label: "@azure/identity", app: "node+@azure/identity", baseline: "node" }
]

const directory = (app: App) => Path.join(outDirectory, "increment", app.replace(/\W/g, "-"))
const bundlePath = (app: App) => Path.join(directory(app), "main.mjs")

export interface Bundled {
  readonly size: Size
  /** Bytes in the output loaded at start, per input module (esbuild's `bytesInOutput`). */
  readonly modules: ReadonlyMap<string, number>
}

const modulesLoadedAtStart = (metafile: esbuild.Metafile, entry: string): Map<string, number> => {
  const modules = new Map<string, number>()
  for (const file of loadedAtStart(metafile, entry)) {
    const output = metafile.outputs[Path.relative(process.cwd(), file)]
    for (const [input, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
      modules.set(input, (modules.get(input) ?? 0) + bytesInOutput)
    }
  }
  return modules
}

/** A module path as a reader knows it: `effect/Schema`, `@managed-identity/core/internal/wire`. */
export const moduleName = (input: string): string => {
  const normalized = input.replace(/\\/g, "/")
  const inPackage = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)$/.exec(
    normalized.slice(normalized.lastIndexOf("node_modules/"))
  )
  if (inPackage !== null) {
    const [, name, rest] = inPackage
    return `${name}/${rest.replace(/^(dist\/(esm|cjs)|lib\/esm|dist|lib)\//, "").replace(/\.[mc]?js$/, "")}`
  }
  const ours = /packages\/(core|platform-node)\/src\/(.*)\.ts$/.exec(Path.resolve(normalized).replace(/\\/g, "/"))
  if (ours !== null) return `@managed-identity/${ours[1]}/${ours[2]}`
  return normalized
}

/** The package of a module name: `effect`, `@effect/platform`, `@managed-identity/core`. */
export const packageName = (module: string): string =>
  module.startsWith("@") ? module.split("/").slice(0, 2).join("/") : module.split("/")[0]

/** Bundles every app (bundle.ts's settings). */
export const build = async (): Promise<Record<App, Bundled>> => {
  const bundled: Partial<Record<App, Bundled>> = {}
  for (const app of apps) {
    const { metafile, size } = await bundleApp(Path.join(here, entries[app]), directory(app))
    bundled[app] = { size, modules: modulesLoadedAtStart(metafile, bundlePath(app)) }
  }
  return bundled as Record<App, Bundled>
}

/** Bytes an app's bundle has beyond its baseline's, per module and per package, largest first. */
export const added = (
  bundled: Record<App, Bundled>,
  variant: Variant
): { readonly modules: Array<[string, number]>; readonly packages: Array<[string, number]> } => {
  const base = new Map<string, number>()
  for (const [input, bytes] of bundled[variant.baseline].modules) {
    base.set(moduleName(input), (base.get(moduleName(input)) ?? 0) + bytes)
  }
  const modules = new Map<string, number>()
  for (const [input, bytes] of bundled[variant.app].modules) {
    const name = moduleName(input)
    modules.set(name, (modules.get(name) ?? 0) + bytes)
  }
  for (const [name, bytes] of modules) {
    // The apps' own entry files differ by the lines that ask for a token: not the library's bytes.
    if (name.startsWith("bench/")) modules.delete(name)
    else modules.set(name, bytes - (base.get(name) ?? 0))
  }
  const packages = new Map<string, number>()
  for (const [name, bytes] of modules) {
    packages.set(packageName(name), (packages.get(packageName(name)) ?? 0) + bytes)
  }
  const sorted = (map: Map<string, number>) =>
    Array.from(map).filter(([, bytes]) => bytes !== 0).sort((a, b) => b[1] - a[1])
  return { modules: sorted(modules), packages: sorted(packages) }
}

/** A loopback server answering every request with a small body: the baseline's HTTP call. */
const startServer = () =>
  new Promise<{ readonly url: string; readonly close: () => Promise<void> }>((resolve) => {
    const server = Http.createServer((_, response) => response.end("ok"))
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      resolve({
        url: `http://127.0.0.1:${port}/hello`,
        close: () => new Promise((done) => server.close(() => done()))
      })
    })
  })

const preload = Path.join(here, "cpuAtFirstOutput.mjs")

/** One fresh process: milliseconds from spawning `node` to the first byte on stdout (the app's one line, printed
 * when all is done), and the process's CPU time at that moment. */
const timeToLine = (env: Record<string, string>, app: App, expectToken: boolean) =>
  new Promise<{ readonly wall: number; readonly cpu: number }>((resolve, reject) => {
    const start = performance.now()
    let first: number | undefined
    let stdout = ""
    let stderr = ""
    const child = spawn(process.execPath, ["--import", pathToFileURL(preload).href, bundlePath(app)], {
      env: { ...process.env, ...env },
      cwd: Path.dirname(here)
    })
    child.stdout.on("data", (chunk) => {
      first ??= performance.now() - start
      stdout += chunk
    })
    child.stderr.on("data", (chunk) => (stderr += chunk))
    child.on("error", reject)
    child.on("close", (code) => {
      const fields = stdout.trim().split(" ")
      const cpu = Number(/^cpu-ms (\S+)$/m.exec(stderr)?.[1])
      const ok = code === 0 && first !== undefined && fields[0] === "200" && Number.isFinite(cpu) &&
        fields.length === (expectToken ? 3 : 2) && (!expectToken || Number(fields[2]) > 0)
      return ok ? resolve({ wall: first!, cpu }) : reject(new Error(`${app} exited ${code}: ${stdout} ${stderr}`))
    })
  })

export interface Spread {
  readonly median: number
  readonly p25: number
  readonly p75: number
}

const spread = (values: ReadonlyArray<number>): Spread => ({
  median: median(values),
  p25: percentile(values, 25),
  p75: percentile(values, 75)
})

export interface Measured {
  /** Each app's time to its line. */
  readonly absolute: Record<App, Spread>
  /** Per variant, the app's figure minus its baseline's in the same round. */
  readonly increment: ReadonlyMap<Variant, Spread>
}

export interface ColdStarts {
  readonly runs: number
  /** Wall time from spawning `node` to the line. */
  readonly wall: Measured
  /** CPU time of the process when it printed the line. */
  readonly cpu: Measured
}

/** Cold starts of every app, `rounds` rounds, each round every app once in a rotating order; bundles must exist. */
export const coldStarts = async (emulator: Emulator, rounds: number = runs): Promise<ColdStarts> => {
  const server = await startServer()
  const env = { ...emulator.env, BENCH_HTTP_URL: server.url }
  const samples = new Map(apps.map((app) => [app, [] as Array<{ readonly wall: number; readonly cpu: number }>]))
  try {
    for (let round = -1; round < rounds; round++) {
      for (let i = 0; i < apps.length; i++) {
        const app = apps[(i + Math.max(round, 0)) % apps.length]
        const sample = await timeToLine(env, app, app.includes("+"))
        if (round >= 0) samples.get(app)!.push(sample) // round -1 warms the file cache
      }
    }
  } finally {
    await server.close()
  }
  const measured = (f: (sample: { readonly wall: number; readonly cpu: number }) => number): Measured => ({
    absolute: Object.fromEntries(apps.map((app) => [app, spread(samples.get(app)!.map(f))])) as Record<App, Spread>,
    increment: new Map(variants.map((variant) => {
      const base = samples.get(variant.baseline)!
      return [variant, spread(samples.get(variant.app)!.map((sample, round) => f(sample) - f(base[round])))]
    }))
  })
  return { runs: rounds, wall: measured((s) => s.wall), cpu: measured((s) => s.cpu) }
}

export interface Result {
  readonly rows: ReadonlyArray<Row>
  /** The "Targets" line. */
  readonly target: string
  /** Where our bytes go, for the notes. */
  readonly whereTheBytesGo: string
  readonly runs: number
}

const kb = (bytes: number) => `${(bytes / 1000).toFixed(1)} KB`
const ms = (millis: number) => millis.toFixed(0)
const range = (s: Spread) => `${ms(s.p25)}–${ms(s.p75)}`

/** Figure 8: bundles, cold starts, the rows, the target and where the bytes go. */
export const run = async (emulator: Emulator, rounds: number = runs): Promise<Result> => {
  const bundled = await build()
  const starts = await coldStarts(emulator, rounds)
  const [full, imds, msal, identity] = variants
  const figure = "8. Cost to an app"
  const row = (metric: string, unit: string, f: (variant: Variant) => number, ours: Variant, note?: string): Row => ({
    figure,
    metric,
    unit,
    lowerIsBetter: true,
    values: { ours: f(ours), "msal-node": f(msal), "@azure/identity": f(identity) },
    ...(note === undefined ? {} : { note })
  })
  const bytesAdded = (v: Variant) => bundled[v.app].size.bytes - bundled[v.baseline].size.bytes
  const gzipAdded = (v: Variant) => bundled[v.app].size.gzipBytes - bundled[v.baseline].size.gzipBytes
  const wallAdded = (v: Variant) => starts.wall.increment.get(v)!.median
  const cpuAdded = (v: Variant) => starts.cpu.increment.get(v)!.median
  const incrementNote = (measured: Measured, ours: Variant) =>
    `median of ${starts.runs} per-round differences; p25–p75 ${
      [ours, msal, identity].map((v) => range(measured.increment.get(v)!)).join(", ")
    } ms`
  const absoluteNote = (app: (v: Variant) => App, ours: Variant) =>
    `median of ${starts.runs}; p25–p75 ${
      [ours, msal, identity].map((v) => range(starts.wall.absolute[app(v)])).join(", ")
    } ms`

  const rows: Array<Row> = []
  for (const ours of [full, imds]) {
    const which = ours === full
      ? "ours: `NodeManagedIdentity.layer` over an Effect app; peers over a plain Node app"
      : "ours: the IMDS source over the app's `HttpClient`"
    rows.push(
      row(`increment: bundle, minified (${which})`, "bytes", bytesAdded, ours),
      row("increment: the same, gzip", "bytes", gzipAdded, ours),
      row("increment: cold start, fresh `node` to the token", "ms", wallAdded, ours, incrementNote(starts.wall, ours)),
      row("increment: CPU time of that process", "ms", cpuAdded, ours, incrementNote(starts.cpu, ours))
    )
  }
  rows.push(
    row(
      "app without a token, minified (ours: Effect + `FetchHttpClient`; peers: Node `fetch`)",
      "bytes",
      (v) => bundled[v.baseline].size.bytes,
      full
    ),
    row("the same, gzip", "bytes", (v) => bundled[v.baseline].size.gzipBytes, full),
    row(
      "the same, cold start to its line",
      "ms",
      (v) => starts.wall.absolute[v.baseline].median,
      full,
      absoluteNote((v) => v.baseline, full)
    )
  )
  for (const ours of [full, imds]) {
    const which = ours === full ? "ours: `NodeManagedIdentity.layer`" : "ours: IMDS source"
    rows.push(
      row(`app with a token, minified (${which})`, "bytes", (v) => bundled[v.app].size.bytes, ours),
      row("the same, gzip", "bytes", (v) => bundled[v.app].size.gzipBytes, ours),
      row(
        "the same, cold start to the token",
        "ms",
        (v) => starts.wall.absolute[v.app].median,
        ours,
        absoluteNote((v) => v.app, ours)
      )
    )
  }

  const met = (ours: Variant) =>
    bytesAdded(ours) <= bytesAdded(msal) && gzipAdded(ours) <= gzipAdded(msal) && wallAdded(ours) <= wallAdded(msal)
  const describe = (v: Variant) =>
    `${kb(bytesAdded(v))} / ${kb(gzipAdded(v))} gzip / ${ms(wallAdded(v))} ms (CPU ${ms(cpuAdded(v))} ms)`
  const verdict = met(full) && met(imds)
    ? "**met**"
    : met(imds)
    ? "**met** with the IMDS source, **missed** with `NodeManagedIdentity.layer`"
    : met(full)
    ? "**met** with `NodeManagedIdentity.layer`, **missed** with the IMDS source"
    : "**missed**"
  const target = `- Increment to an app (bundle, gzip, cold start) ≤ msal-node's: ours ${
    describe(full)
  } with ${full.label}, ${describe(imds)} with the IMDS source; msal-node ${describe(msal)} — ${verdict}.`

  const top = (ours: Variant) => {
    const { modules, packages } = added(bundled, ours)
    return `${ours.label} adds ${
      modules.slice(0, 3).map(([name, bytes]) => `\`${name}\` ${kb(bytes)}`).join(", ")
    } (by package: ${packages.slice(0, 4).map(([name, bytes]) => `\`${name}\` ${kb(bytes)}`).join(", ")})`
  }
  return { rows, target, whereTheBytesGo: `${top(full)}; the ${top(imds)}`, runs: starts.runs }
}

/** The note on figure 8 in BENCHMARKS.md. */
export const note = (result: Result): string =>
  `Apps in \`packages/platform-node/bench/apps\`, bundled as in 7: (a) \`effect-http.ts\`, an Effect app that makes one
  \`HttpClient.get\` (\`FetchHttpClient\`) to a loopback server and prints the status; (b) \`effect-http-ours.ts\`, the same
  plus a token through \`NodeManagedIdentity.layer\`, and (b′) \`effect-http-ours-imds.ts\`, through the narrowest honest
  composition, \`ManagedIdentityClient.layer\` over \`ImdsTokenSource.layerConfig()\`, \`TokenCache.layerMemory\` and
  \`ManagedIdentity.layerSystemAssigned\` on the app's own \`HttpClient\`; (c) \`node-http.mjs\`, the same call with Node's
  \`fetch\`; (d) \`node-http-msal-node.mjs\` and (e) \`node-http-identity.mjs\`, (c) plus msal-node's
  \`ManagedIdentityApplication\` or @azure/identity's \`ManagedIdentityCredential\`. The increment is (b) − (a) for ours,
  (d) − (c) and (e) − (c) for the peers. Each app prints one line when it is done; ${result.runs} rounds run every app once
  in a rotating order (after one unrecorded round), and an increment is the median of the per-round differences, with
  p25–p75. The CPU row is the process's CPU time (user + system, all threads) when it printed its line, reported by the
  preloaded \`bench/cpuAtFirstOutput.mjs\` (in every app alike): far steadier than wall time when other processes load the machine. Where the
  bytes go (esbuild's metafile: bytes in the output loaded at start, less the baseline's): ${result.whereTheBytesGo}.`

/** What was found and changed for the increment target, for BENCHMARKS.md. */
export const tried = `Found with the metafile, \`node --cpu-prof\` and the CPU time of each phase (module
  evaluation, layer build, first token) of instrumented copies of (b) and (b′): the bytes were never the problem (a
  third of msal-node's), Effect's cost of running a feature for the first time in a cold process was. Before, the
  increment was ~83 ms of CPU with \`NodeManagedIdentity.layer\` and ~63 ms with the IMDS source (msal-node ~33 ms).
  (1) A token endpoint's body was read through \`Stream\`, whose channel executor only the token request used, so it was
  compiled and run cold (12–15 ms); a body framed by a \`content-length\` within the 64 KiB limit and without transfer or
  content coding is now read whole, the limit checked the same, and any other body still streams. (2) Schema parsers
  that were compiled at import (the token and error bodies, the persistent cache's entry) are compiled on first use,
  and \`ManagedIdentity.systemAssigned\` no longer validates \`{}\` at import. (3) \`NodeManagedIdentity.layerWithOptions\`
  and \`layerPlatform\` are one layer node each instead of four \`Layer.provide\` and three merges (each costs a cold
  process 2–4 ms); building their HTTP client with its own memo map also fixed a bug: an app providing
  \`FetchHttpClient.layer\` in the same \`Effect.provide\` shared its redirect-following client with ours. After: ~59 and
  ~48 ms of CPU. The rest is that first-use cost of what the library is made of (layers, \`Config\`, timeouts, spans,
  metrics, Schema classes, the fiber runtime not yet compiled by V8), which an app that already uses these pays once
  for both, and which msal-node's plain promises never pay.`

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === Path.resolve(process.argv[1])) {
  const emulator = await startEmulator()
  const rounds = Number(process.env.INCREMENT_RUNS ?? runs)
  const result = await run(emulator, rounds)
  await emulator.close()
  for (const row of result.rows) {
    log(
      `${row.metric} [${row.unit}]: ${
        Object.entries(row.values).map(([library, value]) => `${library} ${value?.toFixed(0)}`).join(", ")
      }${row.note === undefined ? "" : ` (${row.note})`}`
    )
  }
  log(result.target)
  log(`where the bytes go: ${result.whereTheBytesGo}`)
}
