import * as Effect from "effect/Effect"
import type { Emulator, Library, Row } from "./common.js"
import { freshResource, libraries, log, makeIdentity, makeMsal, makeOurs, percentile, scopeOf } from "./common.js"

/**
 * Lifetime of the emulator's tokens (its default): long enough that every library sets a refresh time at half-life.
 * The figure must use the emulator the peers first talked to: msal-node resolves the IMDS endpoint once per process.
 */
export const lifetimeSeconds = 86_400
const refreshDelayMillis = 200
const rounds = 3
const callers = 50
const roundMillis = 600

const RealDate = Date
let offsetMillis = 0

/**
 * Moves the wall clock of this process (`Date.now()` and `new Date()`, which Effect's `Clock`, msal-node and the
 * emulator all read) forward, so a token reaches its refresh time without waiting hours.
 */
const installShiftedDate = (): () => void => {
  class ShiftedDate extends RealDate {
    constructor(...args: Array<any>) {
      if (args.length === 0) super(RealDate.now() + offsetMillis)
      else super(...(args as [any]))
    }
    static override now() {
      return RealDate.now() + offsetMillis
    }
  }
  globalThis.Date = ShiftedDate as DateConstructor
  return () => {
    globalThis.Date = RealDate
    offsetMillis = 0
  }
}

interface Outcome {
  readonly inside: Array<number>
  readonly outside: Array<number>
  readonly requests: number
}

const sleep = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis))

const once = async (emulator: Emulator, library: Library): Promise<Outcome> => {
  const resource = freshResource(`refresh-${library.replace(/\W/g, "")}`)
  const ours = library === "ours" ? await makeOurs() : undefined
  const call: () => Promise<string> = ours !== undefined
    ? () => Effect.runPromise(Effect.map(ours.client.getToken(resource), (token) => token.expiresOn.toString()))
    : library === "msal-node"
    ? await makeMsal().then((app) => () => app.acquireToken({ resource }).then((result) => String(result.expiresOn)))
    : await makeIdentity().then((credential) => () =>
      credential.getToken(scopeOf(resource)).then((token) => String((token as any)?.expiresOnTimestamp))
    )
  await call()
  await emulator.clearRequests()
  const outcome: Outcome = { inside: [], outside: [], requests: 0 }
  for (let round = 0; round < rounds; round++) {
    const before = await call()
    offsetMillis += (lifetimeSeconds / 2 + 60) * 1000
    await Effect.runPromise(emulator.emulator.setFaults("Imds", [{ delay: refreshDelayMillis, times: 10_000 }]))
    const roundStart = performance.now()
    let refreshedAt = Infinity
    const caller = async () => {
      while (performance.now() - roundStart < roundMillis) {
        const start = performance.now()
        const expiresOn = await call().catch(() => before)
        const end = performance.now()
        if (expiresOn !== before && end < refreshedAt) refreshedAt = end
        ;(start < refreshedAt ? outcome.inside : outcome.outside).push(end - start)
        await sleep(1)
      }
    }
    await Promise.all(Array.from({ length: callers }, caller))
  }
  await Effect.runPromise(emulator.emulator.setFaults("Imds", []))
  await ours?.dispose()
  return { ...outcome, requests: await emulator.requestCount() }
}

/** Figure 4: latency of calls that land in the refresh window (token past its refresh time) vs outside it. */
export const run = async (emulator: Emulator): Promise<ReadonlyArray<Row>> => {
  const restore = installShiftedDate()
  const outcomes: Partial<Record<Library, Outcome>> = {}
  try {
    for (const library of libraries) {
      const outcome = await once(emulator, library)
      outcomes[library] = outcome
      log(
        `  ${library}: in window p50 ${percentile(outcome.inside, 50).toFixed(3)} ms p99 ${
          percentile(outcome.inside, 99).toFixed(1)
        } ms (${outcome.inside.length} calls), outside p50 ${percentile(outcome.outside, 50).toFixed(3)} ms p99 ${
          percentile(outcome.outside, 99).toFixed(1)
        } ms, ${outcome.requests} refresh requests`
      )
    }
  } finally {
    restore()
  }
  const values = (f: (outcome: Outcome) => number) =>
    Object.fromEntries(libraries.map((library) => [library, f(outcomes[library]!)]))
  const figure = "4. Refresh under load"
  return [
    {
      figure,
      metric: "p50 latency of calls in the refresh window",
      unit: "ms",
      lowerIsBetter: true,
      values: values((o) => percentile(o.inside, 50)),
      note: `${callers} callers, ${rounds} rounds; the emulator takes ${refreshDelayMillis} ms per request`
    },
    {
      figure,
      metric: "p99 latency of calls in the refresh window",
      unit: "ms",
      lowerIsBetter: true,
      values: values((o) => percentile(o.inside, 99))
    },
    {
      figure,
      metric: "p99 latency of calls outside the refresh window",
      unit: "ms",
      lowerIsBetter: true,
      values: values((o) => percentile(o.outside, 99))
    },
    {
      figure,
      metric: `refresh requests in ${rounds} refresh windows`,
      unit: "requests",
      lowerIsBetter: true,
      values: values((o) => o.requests)
    }
  ]
}
