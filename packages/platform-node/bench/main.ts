/**
 * `pnpm bench`: every figure of issue 7 for this library, msal-node's `ManagedIdentityApplication` and
 * @azure/identity's `ManagedIdentityCredential`, against the local emulator, in one run. Prints the table and writes
 * it to BENCHMARKS.md at the repository root.
 */
import { writeFileSync } from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import * as Bundle from "./bundle.js"
import * as CacheHit from "./cacheHit.js"
import * as ColdConcurrency from "./coldConcurrency.js"
import * as ColdStart from "./coldStart.js"
import type { Library, Row } from "./common.js"
import { libraries, log, startEmulator } from "./common.js"
import * as Effect4CacheHit from "./effect4CacheHit.js"
import * as Increment from "./increment.js"
import * as Memory from "./memory.js"
import * as OffAzure from "./offAzure.js"
import * as Refresh from "./refresh.js"
import * as Sustained from "./sustained.js"

const here = Path.dirname(fileURLToPath(import.meta.url))
const started = performance.now()
const loadAtStart = Os.loadavg()[0]
const rows: Array<Row> = []

log("7. bundle size (the CLI bundle is needed by 9)")
const sizes = await Bundle.build()
log("9. off Azure (three silent IMDS at once; the peers keep waiting while the other figures run)")
const offAzure = OffAzure.start()
await offAzure.quick
const emulator = await startEmulator()
log("1. cache hit")
rows.push(...(await CacheHit.run(emulator)))
rows.push(...(await Effect4CacheHit.run(emulator, rows)))
log("2. cold concurrency")
rows.push(...(await ColdConcurrency.run(emulator)))
log("3. sustained mixed load")
rows.push(...(await Sustained.run(emulator)))
log("4. refresh under load")
rows.push(...(await Refresh.run(emulator)))
log("5. memory")
rows.push(...(await Memory.run(emulator)))
log("6. cold start")
const coldStarts = await ColdStart.run(emulator)
log("8. cost to an app: the increment over an app that already makes an HTTP call")
const increment = await Increment.run(emulator)
await emulator.close()

const coldStart = (app: ColdStart.ColdStart["app"], bundled: boolean) =>
  coldStarts.find((c) => c.app === app && c.bundled === bundled)!.millis
rows.push({
  figure: "6. Cold start",
  metric: "fresh `node` to first token: our bundled CLI vs each peer's plain script (as installed)",
  unit: "ms",
  lowerIsBetter: true,
  values: {
    ours: coldStart("ours-cli", true),
    "msal-node": coldStart("msal-node", false),
    "@azure/identity": coldStart("@azure/identity", false)
  },
  note: "median of 5 runs"
}, {
  figure: "6. Cold start",
  metric: "the same, every library's one-token app bundled by esbuild",
  unit: "ms",
  lowerIsBetter: true,
  values: {
    ours: coldStart("ours", true),
    "msal-node": coldStart("msal-node", true),
    "@azure/identity": coldStart("@azure/identity", true)
  }
}, {
  figure: "6. Cold start",
  metric: "the same, ours with only the IMDS source over `fetch`",
  unit: "ms",
  lowerIsBetter: true,
  values: {
    ours: coldStart("ours-imds", true),
    "msal-node": coldStart("msal-node", true),
    "@azure/identity": coldStart("@azure/identity", true)
  }
})
log("9. off Azure: waiting for the peers")
const offAzureRows = await offAzure.rows

const sizeRow = (metric: string, ours: Bundle.App, f: (size: Bundle.Size) => number): Row => ({
  figure: "7. Bundle size",
  metric,
  unit: "bytes",
  lowerIsBetter: true,
  values: { ours: f(sizes[ours]), "msal-node": f(sizes["msal-node"]), "@azure/identity": f(sizes["@azure/identity"]) }
})
rows.push(
  sizeRow("one-token app, minified (ours: `NodeManagedIdentity.layer`, every source)", "ours", (s) => s.bytes),
  sizeRow("the same, gzip", "ours", (s) => s.gzipBytes),
  sizeRow("one-token app, minified (ours: IMDS source over `fetch`)", "ours-imds", (s) => s.bytes),
  sizeRow("the same, gzip", "ours-imds", (s) => s.gzipBytes)
)
rows.push(...increment.rows, ...offAzureRows)

const format = (value: number | undefined, unit: string): string => {
  if (value === undefined || Number.isNaN(value)) return "—"
  if (value === Infinity) return `> ${OffAzure.limitMillis.toLocaleString("en-US")}`
  if (unit === "ns/call" || unit === "bytes" || unit === "calls/s") return Math.round(value).toLocaleString("en-US")
  if (unit === "requests") return Number.isInteger(value) ? value.toLocaleString("en-US") : value.toFixed(2)
  return value >= 100 ? value.toFixed(0) : value >= 1 ? value.toFixed(1) : value.toFixed(3)
}

/** How many times better ours is than the peer (above 1: ours wins). */
const ratio = (row: Row, peer: Library): string => {
  const ours = row.values.ours
  const theirs = row.values[peer]
  if (ours === undefined || theirs === undefined) return "—"
  if (ours === 0 && theirs === 0) return "="
  const value = row.lowerIsBetter ? theirs / ours : ours / theirs
  return Number.isFinite(value) ? `${value >= 10 ? value.toFixed(0) : value.toFixed(2)}×` : "∞"
}

const header = `| figure | metric | unit | ${libraries.join(" | ")} | vs msal-node | vs @azure/identity | notes |`
const table = [
  header,
  `|${header.split("|").slice(1, -1).map(() => " --- ").join("|")}|`,
  ...rows.map((row) =>
    `| ${row.figure} | ${row.metric} | ${row.unit} | ${
      libraries.map((library) => format(row.values[library], row.unit)).join(" | ")
    } | ${ratio(row, "msal-node")} | ${ratio(row, "@azure/identity")} | ${row.note ?? ""} |`
  )
].join("\n")

const find = (figure: string, metric: string) =>
  rows.find((row) => row.figure === figure && row.metric.startsWith(metric))!
const hitFiber = find("1. Cache hit", "inside one fiber")
const hitPromise = find("1. Cache hit", "through `Effect.runPromise`")
const hitFloor = find("1. Cache hit", "Effect floor")
const coldRows = rows.filter((row) => row.figure.startsWith("2.") && row.metric.includes("requests"))
const startRow = find("6. Cold start", "fresh `node`")
const sustainedP50 = find("3. Sustained mixed load", "p50 latency, every caller awaiting hits")
const sustainedP99 = find("3. Sustained mixed load", "p99 latency, every caller awaiting hits")
const memoryRow = find("5. Memory", "the same, less")
const offAzureRow = find("9. Off Azure", "silent IMDS: fresh")
const bundleRows = [
  find("7. Bundle size", "one-token app, minified (ours: `NodeManagedIdentity.layer`"),
  find("7. Bundle size", "one-token app, minified (ours: IMDS")
]
const met = (ok: boolean) => ok ? "**met**" : "**missed**"
const targets = [
  `- Cache hit ≥ 15× faster than msal-node inside a fiber: ${ratio(hitFiber, "msal-node")} — ${
    met(hitFiber.values["msal-node"]! / hitFiber.values.ours! >= 15)
  }.`,
  `- Cache hit inside a fiber within 1.5× of the Effect floor and ≥ 10× faster than msal-node: ${
    (hitFiber.values.ours! / hitFloor.values.ours!).toFixed(2)
  }× the floor, ${ratio(hitFiber, "msal-node")} msal-node — ${
    met(
      hitFiber.values.ours! <= 1.5 * hitFloor.values.ours! &&
        hitFiber.values["msal-node"]! / hitFiber.values.ours! >= 10
    )
  }.`,
  `- Cache hit ≥ 3× faster than msal-node through \`runPromise\`: ${ratio(hitPromise, "msal-node")} — ${
    met(hitPromise.values["msal-node"]! / hitPromise.values.ours! >= 3)
  }.`,
  `- 100 Promise callers awaiting hits (figure 3): p50 and p99 at or under msal-node's: ours ${
    format(sustainedP50.values.ours, "ms")
  } / ${format(sustainedP99.values.ours, "ms")} ms, msal-node ${format(sustainedP50.values["msal-node"], "ms")} / ${
    format(sustainedP99.values["msal-node"], "ms")
  } ms — ${
    met(
      sustainedP50.values.ours! <= sustainedP50.values["msal-node"]! &&
        sustainedP99.values.ours! <= sustainedP99.values["msal-node"]!
    )
  }.`,
  `- Cold concurrency: exactly 1 request for every N (peers send N): ours ${
    coldRows.map((row) => row.values.ours).join(", ")
  } for N = 1, 10, 100, 1000, 10 000 — ${met(coldRows.every((row) => row.values.ours === 1))}.`,
  `- Cold start no slower than msal-node: ${format(startRow.values.ours, "ms")} ms vs ${
    format(startRow.values["msal-node"], "ms")
  } ms — ${met(startRow.values.ours! <= startRow.values["msal-node"]!)}.`,
  `- Bundle ≤ one third of msal-node's: ${
    bundleRows.map((row) =>
      `${((row.values.ours! / row.values["msal-node"]!) * 100).toFixed(0)}% (${
        row.metric.replace(/^.*\(ours: |\)$/g, "")
      })`
    ).join(", ")
  } — ${met(bundleRows.some((row) => row.values.ours! * 3 <= row.values["msal-node"]!))}.`,
  `- ≤ 1 KiB per cached token (beyond the token's own characters): ${format(memoryRow.values.ours, "bytes")} bytes — ${
    met(memoryRow.values.ours! <= 1024)
  }.`,
  increment.target,
  `- Off Azure, a silent IMDS gives \`SourceUnavailable\` within 1.5 s (CLI \`token\`, process start included): ${
    format(offAzureRow.values.ours, "ms")
  } ms — ${met(offAzureRow.values.ours! <= 1500)}.`
].join("\n")

const seconds = ((performance.now() - started) / 1000).toFixed(0)
const document = `# Benchmarks

Generated by \`pnpm bench\` (\`packages/platform-node/bench/main.ts\`) on ${new Date().toISOString().slice(0, 10)}:
${Os.cpus()[0]?.model.trim() ?? "unknown CPU"} (${Os.cpus().length} cores), Node ${process.version}, ${seconds} s for
the whole run; the machine's 1-minute load average was ${loadAtStart.toFixed(1)} at the start and ${
  Os.loadavg()[0].toFixed(1)
} at the end (above 1, other processes shared the cores and timings are slower than on a quiet machine). Do not edit
by hand: run \`pnpm bench\` again.

All three libraries get tokens from the same local \`ManagedIdentityEmulator\` on 127.0.0.1 in one process run, as
IMDS: \`AZURE_POD_IDENTITY_AUTHORITY_HOST\` points at the emulator, which msal-node 7 and @azure/identity 4 read
for IMDS (and with which @azure/identity skips its IMDS probe), and every other source variable is unset, so
nothing reaches 169.254.169.254. "ours" is \`NodeManagedIdentity.layer\` (detected source, memory cache, undici).
A ratio is how many times better ours is (above 1×: ours wins).

## Targets

${targets}

## Figures

${table}

## Notes

- **1.** Warm-up, then the median of 5 rounds (200 000 calls in a fiber, 40 000 awaited calls otherwise). The peers'
  hit is their \`acquireToken\` / \`getToken\` awaited in a loop, the same value in each of the three rows.
- **2.** N callers each start their own promise at once (\`Effect.runPromise(client.getToken(r))\` for ours). The
  peers send one request per caller; they are not run at N = 10 000, where (measured once while building this
  harness) msal-node took 63 s and 1 112 of 10 000 calls failed, and @azure/identity took over 5 minutes with
  4 560 failures. Our N = 10 000 time is mostly Effect's cost of 10 000 suspended root fibers (a bare
  \`Deferred.await\` costs the same), not the request.
- **3.** Each caller is an async loop awaiting one call at a time (ours through
  \`ManagedIdentityClient.getTokenPromise\`, which settles a cache hit before it returns: no scheduler task), so
  latency includes waiting for the other callers' turns: an \`await\` resumes after every callback queued before it,
  so with all 100 callers runnable each call waits for the other 99 (about 100 × the cost of one call). A library
  whose callers spend the run waiting on requests of their own has few runnable callers at a time: a small p50 and a
  long run, which the mean and the throughput show. The extra throughput row runs our callers as fibers in one
  runtime instead.
- **4.** Tokens live ${Refresh.lifetimeSeconds} s, so every library sets a refresh time at half-life; the process clock is
  moved past it (\`Date\` is shifted for all three and the emulator), then 50 callers call every millisecond while the
  emulator takes 200 ms per request. A call is in the window if it starts before the first caller sees the new token.
  msal-node (and @azure/identity through it) awaits the refresh in every caller that lands in the window, one request
  each; ours serves the cached token and runs one background refresh.
- **5.** Each library in a fresh \`node --expose-gc\` process: heap after caching the tokens minus heap before, after
  full collections, divided by the count. Most of a token's cost is the token itself; the second row subtracts its
  characters (one byte each).
- **6.** Time from spawning \`node\` to the first byte of the token on stdout, median of 5 runs. Bundles are built
  fresh by the run (\`scripts/bundle.mjs\` for the CLI).
- **7.** esbuild \`bundle: true, splitting: true, minify: true, platform: "node", format: "esm"\`; the size is the
  entry file and the chunks it imports statically, what a process loads to get its token (chunks loaded only on demand — for us undici, which only Service
  Fabric's pinned TLS client uses — are not counted); gzip level 9. Entries are in \`packages/platform-node/bench/apps\`.
- **8.** ${Increment.note(increment)}
- **9.** Each library in a fresh \`node\` process (ours: the bundled CLI's \`token\`, through
  \`NodeManagedIdentity.layer\`; the peers: their one-token scripts as installed) whose only variable is
  \`AZURE_POD_IDENTITY_AUTHORITY_HOST\`, pointing at a loopback server of its own that accepts the connection and
  never answers, as a black-holed 169.254.169.254 does (the variable is the one way to point all three away from
  169.254.169.254). The peers start first, before the other figures; once both wait on their server, ours runs five
  times in a row (the median is shown) while they keep waiting. The time is from spawning \`node\` to its exit; a
  library still waiting after ${
  OffAzure.limitMillis / 1000
} s is killed and shown as \`>\` that. Ours gives up after its
  1 s probe; the peers bound that request by nothing of their own (\`ManagedIdentityCredential\`
  probes IMDS only inside \`DefaultAzureCredential\`, and not when this variable is set). The issue that asked for
  this figure measured msal-node 7.2.1 at 199 s and @azure/identity 4.14.1 at 5.2 s on another machine; the requests
  row counts the requests the silent server received.

## What we tried for the missed targets

- **Promise callers (figure 3).** A cache hit awaited from Promise code is settled before the call returns
  (\`ManagedIdentityClient.getTokenPromise\` and the \`TokenCredential\` adapter run the call's fiber and poll it;
  Effect 3 starts a root fiber synchronously, so no scheduler task is involved). The figure now has two passes with
  the same client: the cold pass it always had, and the same calls again with every caller awaiting hits, which is
  what the target speaks of. In the hits pass a resumed caller runs after every callback queued before it, so each
  call waits for the other 99 callers' hits: about 100 × our 3 µs Promise call against 100 × msal-node's hit, which
  is slower. In the cold pass msal-node's p50 is small for the opposite reason: its callers spend much of that pass
  waiting on requests of their own (no single flight: about 2 requests per resource), so few are ready at a time and
  the ready ones pass quickly; the pass takes longer in all, which its mean latency and throughput show.

- **Increment to an Effect app.** ${Increment.tried}

- **Bundle and cold start.** An esbuild metafile of the \`NodeManagedIdentity.layer\` app showed undici at 537 KB of
  859 KB. The default \`HttpClient\` is now Node's built-in \`fetch\` (\`FetchHttpClient\`, redirects never followed)
  and undici is imported on first use by the Service Fabric pinned client only, so it is neither evaluated at start
  nor (with code splitting) in the entry bundle. What remains is mostly \`effect\` itself (~260–280 KB minified,
  runtime, Schema, Schedule, Layer); the library's own code is ~27 KB. A third of msal-node's 194 KB (65 KB) is below
  the size of the Effect runtime the library is built on, so that target cannot be met without leaving Effect; the
  comparison that matters for users already on Effect is the ~45 KB the library adds to their bundle.
- **Cache hit in a fiber.** The cache is a \`Ref<HashMap>\` and the client keeps one state per key in a \`Ref\`. A hit
  is one \`Ref\` read (a \`Ref.modify\` that returns the map unchanged: one effect instead of \`Ref.get\` + \`map\`),
  one \`HashMap\` lookup and one read of the \`Clock\` the client was built with (reading it through the fiber's
  services, as \`Clock.currentTimeMillis\` does, costs ~250 ns here, more than the rest of the hit). That is why our
  hit is below the Effect floor, which reads the clock the usual way. msal-node's hit measured ~14.5 µs on
  2026-11-22 and ~7.5 µs in runs on this machine since, so the 15× target of that day moved with it.
- **Memory per cached token.** Measured in isolation (no HTTP, 10 000 resources), a \`Ref<HashMap>\` costs ~215 bytes
  per entry more than the mutable \`Map\` the cache used before (Effect's HAMT keeps a leaf node and an \`Option\` per
  entry); the design asks for the \`Ref\`-backed cache, so the 1 KiB line (986 bytes with the \`Map\`) is now missed
  by about a tenth. Still about half of either peer.
`

writeFileSync(Path.join(here, "../../../BENCHMARKS.md"), document)
process.stdout.write(`${table}\n\n${targets}\n`)
log(`wrote BENCHMARKS.md in ${seconds} s`)
