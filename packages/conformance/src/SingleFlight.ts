/**
 * Single flight: 10 000 callers of one client at once, on every source, while the endpoint takes 200 ms to answer.
 */
import { allSources, type SourceKind, withEmulator } from "./Emulator.js"
import { hostOf, type Line, type Outcome, withClient } from "./Line.js"
import { resource } from "./Wire.js"

/** How many callers ask at once. */
export const callers = 10_000

/** Per source: what the callers got (outcome → how many) and how many requests reached the endpoint. */
export interface Result {
  readonly outcomes: Readonly<Record<string, number>>
  readonly distinctTokens: number
  readonly requests: number
}

/** What both lines must see: every caller a token, all the same one, after one request (Azure Arc: two). */
export const expected = (kind: SourceKind): Result => ({
  outcomes: { token: callers },
  distinctTokens: 1,
  requests: kind === "AzureArc" ? 2 : 1
})

const count = (outcomes: ReadonlyArray<Outcome>) =>
  outcomes.reduce<Record<string, number>>(
    (counts, { outcome }) => ({ ...counts, [outcome]: (counts[outcome] ?? 0) + 1 }),
    {}
  )

/** {@link callers} callers per source through `line`. */
export const run = (line: Line): Promise<Record<SourceKind, Result>> =>
  withEmulator(async (handle) => {
    const results = {} as Record<SourceKind, Result>
    for (const kind of allSources) {
      await handle.setFaults(kind, kind === "AzureArc" ? [{ delay: 0 }, { delay: 200 }] : [{ delay: 200 }])
      const outcomes = await withClient(
        line,
        { host: hostOf(handle, kind), identity: { kind: "SystemAssigned" } },
        (client) => client.getTokenConcurrently(resource, callers)
      )
      results[kind] = {
        outcomes: count(outcomes),
        distinctTokens: new Set(outcomes.flatMap((outcome) => "token" in outcome ? [outcome.token] : [])).size,
        requests: (await handle.requests(kind)).length
      }
    }
    return results
  })
