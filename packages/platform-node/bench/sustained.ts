import * as ManagedIdentityClient from "@managed-identity/core/ManagedIdentityClient"
import * as Effect from "effect/Effect"
import type { Emulator, Library, Row } from "./common.js"
import { freshResource, libraries, log, makeIdentity, makeMsal, makeOurs, percentile, scopeOf } from "./common.js"

const resourceCount = 100
const callers = 100
const callsPerCaller = 300

interface Outcome {
  readonly callsPerSecond: number
  readonly mean: number
  readonly p50: number
  readonly p99: number
  readonly requestsPerResource: number
  readonly failures?: number
}

const callerIds = Array.from({ length: callers }, (_, c) => c)

const summarize = async (emulator: Emulator, latencies: Float64Array, millis: number): Promise<Outcome> => {
  const all = Array.from(latencies)
  return {
    callsPerSecond: latencies.length / (millis / 1000),
    mean: all.reduce((sum, latency) => sum + latency, 0) / all.length,
    p50: percentile(all, 50),
    p99: percentile(all, 99),
    requestsPerResource: (await emulator.requestCount()) / resourceCount
  }
}

const resourcesFor = (label: string) => Array.from({ length: resourceCount }, () => freshResource(label))

/** How long each call took, and how many failed, when every caller is an async loop over `call`. */
const pass = async (call: (resource: string) => Promise<unknown>, resources: ReadonlyArray<string>) => {
  const latencies = new Float64Array(callers * callsPerCaller)
  let failures = 0
  const caller = async (c: number) => {
    for (let i = 0; i < callsPerCaller; i++) {
      const start = performance.now()
      await call(resources[(c * 7 + i) % resourceCount]).catch(() => failures++)
      latencies[c * callsPerCaller + i] = performance.now() - start
    }
  }
  const start = performance.now()
  await Promise.all(callerIds.map(caller))
  return { latencies, millis: performance.now() - start, failures }
}

/**
 * Every library the same way: each caller an async loop awaiting one promise per call. The first pass starts from a
 * cold cache; the second, with the same client and resources, is every caller awaiting hits.
 */
const once = async (
  emulator: Emulator,
  library: Library
): Promise<{ readonly cold: Outcome; readonly warm: Outcome }> => {
  const resources = resourcesFor(`mixed-${library.replace(/\W/g, "")}`)
  await emulator.clearRequests()
  const ours = library === "ours" ? await makeOurs() : undefined
  const call: (resource: string) => Promise<unknown> = ours !== undefined
    ? ManagedIdentityClient.getTokenPromise(ours.runtime)
    : library === "msal-node"
    ? await makeMsal().then((app) => (resource: string) => app.acquireToken({ resource }))
    : await makeIdentity().then((credential) => (resource: string) => credential.getToken(scopeOf(resource)))
  const cold = await pass(call, resources)
  const coldOutcome = { ...(await summarize(emulator, cold.latencies, cold.millis)), failures: cold.failures }
  const warm = await pass(call, resources)
  const warmOutcome = { ...(await summarize(emulator, warm.latencies, warm.millis)), failures: warm.failures }
  await ours?.dispose()
  return { cold: coldOutcome, warm: warmOutcome }
}

/** Ours with the callers as fibers of one runtime, each a loop of `yield* client.getToken(resource)`. */
const oursInFibers = async (emulator: Emulator): Promise<Outcome> => {
  const resources = resourcesFor("mixed-fibers")
  const latencies = new Float64Array(callers * callsPerCaller)
  await emulator.clearRequests()
  const ours = await makeOurs()
  const client = ours.client
  const caller = (c: number) =>
    Effect.gen(function*() {
      for (let i = 0; i < callsPerCaller; i++) {
        const start = performance.now()
        yield* client.getToken(resources[(c * 7 + i) % resourceCount])
        latencies[c * callsPerCaller + i] = performance.now() - start
      }
    })
  const start = performance.now()
  await ours.runtime.runPromise(Effect.forEach(callerIds, caller, { concurrency: "unbounded", discard: true }))
  const millis = performance.now() - start
  await ours.dispose()
  return summarize(emulator, latencies, millis)
}

/**
 * Figure 3: 100 resources, 100 concurrent Promise callers, a fixed number of calls: first from a cold cache, then the
 * same calls again with every caller awaiting hits.
 */
export const run = async (emulator: Emulator): Promise<ReadonlyArray<Row>> => {
  const cold: Partial<Record<Library, Outcome>> = {}
  const warm: Partial<Record<Library, Outcome>> = {}
  const describe = (outcome: Outcome) =>
    `${outcome.callsPerSecond.toFixed(0)} calls/s, p50 ${outcome.p50.toFixed(3)} ms, p99 ${
      outcome.p99.toFixed(3)
    } ms, mean ${outcome.mean.toFixed(3)} ms`
  for (const library of libraries) {
    const outcome = await once(emulator, library)
    cold[library] = outcome.cold
    warm[library] = outcome.warm
    log(`  ${library}, cold: ${describe(outcome.cold)}, ${outcome.cold.requestsPerResource} requests per resource`)
    log(`  ${library}, awaiting hits: ${describe(outcome.warm)}`)
  }
  const fibers = await oursInFibers(emulator)
  log(`  ours, callers as fibers: ${fibers.callsPerSecond.toFixed(0)} calls/s, p50 ${fibers.p50.toFixed(3)} ms`)
  const values = (outcomes: Partial<Record<Library, Outcome>>, f: (outcome: Outcome) => number) =>
    Object.fromEntries(libraries.map((library) => [library, f(outcomes[library]!)]))
  const figure = "3. Sustained mixed load"
  const failed = libraries.filter((library) => (cold[library]!.failures ?? 0) + (warm[library]!.failures ?? 0) > 0)
    .map((library) => `; ${library}: ${(cold[library]!.failures ?? 0) + (warm[library]!.failures ?? 0)} calls failed`)
    .join("")
  const note =
    `${resourceCount} resources, ${callers} concurrent callers × ${callsPerCaller} calls, cold cache at start${failed}`
  const hits = "every caller awaiting hits (the same calls again)"
  return [
    {
      figure,
      metric: "throughput, cold cache at start",
      unit: "calls/s",
      lowerIsBetter: false,
      values: values(cold, (o) => o.callsPerSecond),
      note
    },
    {
      figure,
      metric: "throughput, ours with the callers as fibers (`yield*` loops in one runtime)",
      unit: "calls/s",
      lowerIsBetter: false,
      values: { ...values(cold, (o) => o.callsPerSecond), ours: fibers.callsPerSecond }
    },
    {
      figure,
      metric: "p50 latency, cold cache at start",
      unit: "ms",
      lowerIsBetter: true,
      values: values(cold, (o) => o.p50)
    },
    {
      figure,
      metric: "p99 latency, cold cache at start",
      unit: "ms",
      lowerIsBetter: true,
      values: values(cold, (o) => o.p99)
    },
    {
      figure,
      metric: "mean latency, cold cache at start",
      unit: "ms",
      lowerIsBetter: true,
      values: values(cold, (o) => o.mean),
      note: "the mean weighs every caller's wait; see the note for why p50 and the mean part ways"
    },
    {
      figure,
      metric: "requests per resource",
      unit: "requests",
      lowerIsBetter: true,
      values: values(cold, (o) => o.requestsPerResource)
    },
    {
      figure,
      metric: `throughput, ${hits}`,
      unit: "calls/s",
      lowerIsBetter: false,
      values: values(warm, (o) => o.callsPerSecond)
    },
    { figure, metric: `p50 latency, ${hits}`, unit: "ms", lowerIsBetter: true, values: values(warm, (o) => o.p50) },
    { figure, metric: `p99 latency, ${hits}`, unit: "ms", lowerIsBetter: true, values: values(warm, (o) => o.p99) }
  ]
}
