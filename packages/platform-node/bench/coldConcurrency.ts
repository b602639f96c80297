import * as Effect from "effect/Effect"
import type { Emulator, Library, Row } from "./common.js"
import { freshResource, libraries, log, makeIdentity, makeMsal, makeOurs, scopeOf } from "./common.js"

const sizes = [1, 10, 100, 1000, 10_000]

/**
 * The peers send one request per caller; at N = 10 000 that is 10 000 sockets at once, which takes minutes and
 * fails part of the calls (see BENCHMARKS.md), so they stop at this N to keep the run under five minutes.
 */
export const peerMaximum = 1000

interface Outcome {
  readonly requests: number
  readonly millis: number
  readonly failed: number
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i)

const once = async (emulator: Emulator, library: Library, n: number): Promise<Outcome> => {
  const resource = freshResource(`cold-${n}`)
  await emulator.clearRequests()
  const ours = library === "ours" ? await makeOurs() : undefined
  const call: () => Promise<unknown> = ours !== undefined
    ? () => Effect.runPromise(ours.client.getToken(resource))
    : library === "msal-node"
    ? await makeMsal().then((app) => () => app.acquireToken({ resource }))
    : await makeIdentity().then((credential) => () => credential.getToken(scopeOf(resource)))
  const start = performance.now()
  const results = await Promise.allSettled(range(n).map(call))
  const millis = performance.now() - start
  const failed = results.filter((result) => result.status === "rejected").length
  await ours?.dispose()
  return { requests: await emulator.requestCount(), millis, failed }
}

/** Figure 2: N simultaneous first calls for one resource, each its own promise (`Effect.runPromise` for ours). */
export const run = async (emulator: Emulator): Promise<ReadonlyArray<Row>> => {
  const rows: Array<Row> = []
  for (const n of sizes) {
    const outcomes: Partial<Record<Library, Outcome>> = {}
    for (const library of libraries) {
      if (library !== "ours" && n > peerMaximum) continue
      outcomes[library] = await once(emulator, library, n)
      const outcome = outcomes[library]!
      log(
        `  N=${n} ${library}: ${outcome.requests} requests, ${outcome.millis.toFixed(1)} ms${
          outcome.failed > 0 ? `, ${outcome.failed} failed` : ""
        }`
      )
    }
    const ran = libraries.filter((library) => outcomes[library] !== undefined)
    const failures = ran.filter((library) => outcomes[library]!.failed > 0)
      .map((library) => `${library}: ${outcomes[library]!.failed} of ${n} calls failed`)
    if (n > peerMaximum) failures.push("peers not run at this N (one request per caller; see notes)")
    const values = (f: (outcome: Outcome) => number) =>
      Object.fromEntries(ran.map((library) => [library, f(outcomes[library]!)]))
    rows.push({
      figure: "2. Cold concurrency",
      metric: `N = ${n}: requests reaching the endpoint`,
      unit: "requests",
      lowerIsBetter: true,
      values: values((outcome) => outcome.requests),
      ...(failures.length > 0 ? { note: failures.join("; ") } : {})
    }, {
      figure: "2. Cold concurrency",
      metric: `N = ${n}: wall time to all resolved`,
      unit: "ms",
      lowerIsBetter: true,
      values: values((outcome) => outcome.millis)
    })
  }
  return rows
}
