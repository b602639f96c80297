/**
 * The fault matrix's scenarios: every fault kind of the emulator, what a caller of each source must get and how many
 * requests its endpoint must receive, with a fast retry schedule (3 retries 50 ms apart; 5 s per attempt, or 2 s for
 * the faults meant to time out). The 3.x line's `FaultMatrix.test.ts` (which also checks logs and spans) and both
 * lines' conformance tests run these through their Node stack; {@link run} is the Promise runner the conformance
 * tests share.
 *
 * Azure Arc makes two requests per attempt (challenge, then the key): its faults hit the second one, so every Arc
 * count is twice the others'. IMDS is the detected fallback, so its first contact is probed: a fault that leaves the
 * first request without the beginning of an answer (status and headers) within the probe's time (a hang, a long
 * delay) is `SourceUnavailable` after that one request; an answer that has begun (a trickle) is read within the
 * attempt's timeout, as for every source; a connection that breaks (a reset, a body cut short) is tried again within
 * the probe, up to four times.
 */
import type { ManagedIdentityEmulator } from "@managed-identity/emulator"
import { allSources, type FaultStep, type Handle, type SourceKind, withEmulator } from "./Emulator.js"
import { hostOf, type Line, type Outcome, type Timing, withClient } from "./Line.js"
import { resource } from "./Wire.js"

type Step = FaultStep

/** Attempts per request: the first and 3 retries. */
export const attempts = 4
/**
 * Generous per attempt, so a loaded machine never turns a slow answer into a timeout; the deadline is never reached
 * (`Deadline.test.ts` in core proves it). IMDS's probe waits 1.5 s (its default is 1 s): still less than the 2 s of
 * {@link cutTiming}, so every expectation below is what the default gives, but a busy machine (the matrix runs 35
 * clients at once) does not eat the probe's budget before a reset connection's retry.
 */
export const timing: Timing = {
  retries: attempts - 1,
  spacingMillis: 50,
  attemptTimeoutMillis: 5000,
  deadlineMillis: 60_000,
  probeTimeoutMillis: 1500
}
/** For the faults meant to time out: every attempt is cut by its own timeout, and the row stays short. */
export const cutTiming: Timing = { ...timing, attemptTimeoutMillis: 2000 }

/** What a user sees: a token or an error tag, and how many requests the endpoint got. */
export interface Expected {
  readonly outcome: string
  readonly requests: number
  /** When set, any count from this to `requests` is right (the tries IMDS's probe fits into its second). */
  readonly fewest?: number
}

/** One row of the matrix. */
export interface Case {
  readonly name: string
  /** The fault as the emulator's script step; `once` or on every attempt. */
  readonly step: Step
  readonly every?: boolean
  /** Runs with {@link cutTiming}. */
  readonly cut?: boolean
  /** Runs with the client's `verifyIdentity` on. */
  readonly verifyIdentity?: boolean
  /** Per source: the outcome and the number of attempts (Azure Arc's requests are twice that). */
  readonly expect: (
    kind: SourceKind
  ) => { readonly outcome: Expected["outcome"]; readonly attempts: number; readonly fewest?: number }
  /** The least time between the faulted request and the next one. */
  readonly minGapMillis?: number
}

const same = (outcome: string, n: number) => () => ({ outcome, attempts: n })

/** A fault that leaves the first request without an answer: IMDS's probe gives up after it. */
const noAnswer = (expect: Case["expect"]): Case["expect"] => (kind) =>
  kind === "Imds" ? { outcome: "SourceUnavailable", attempts: 1 } : expect(kind)
/**
 * A connection that breaks (reset, body cut short): IMDS's probe tries it again within its second, four times at most,
 * so one break costs it one more request, and breaks on every try end in `SourceUnavailable` after as many tries as
 * fit in that second (four on a quiet machine; at least two).
 */
const brokenConnection = (every: boolean, expect: Case["expect"]): Case["expect"] => (kind) =>
  kind === "Imds"
    ? every ? { outcome: "SourceUnavailable", attempts, fewest: 2 } : { outcome: "token", attempts: 2 }
    : expect(kind)
const imdsRetries = (kind: SourceKind) =>
  kind === "Imds" ? { outcome: "token" as const, attempts: 2 } : { outcome: "TokenRequestFailed" as const, attempts: 1 }

/** Carried by the hostile answers below: no log line, span or error may show it. */
export const hostileToken = "AT-hostile-answer-token"

/** Answers that used to crash, leak or be misread (issue 11); none is retried. */
export const hostileAnswers: ReadonlyArray<readonly [string, Step & { readonly status: number }]> = [
  ["200 expires_in 1e20", { status: 200, body: { access_token: hostileToken, expires_in: 1e20 } }],
  [
    "200 expires_on in milliseconds",
    { status: 200, body: { access_token: hostileToken, expires_on: String(Date.now() + 3_600_000) } }
  ],
  [
    "200 expires_on 99/99/2030 99:99:99 +00:00",
    { status: 200, body: { access_token: hostileToken, expires_on: "99/99/2030 99:99:99 +00:00" } }
  ],
  [
    "200 access_token 20 000 arrays deep",
    {
      status: 200,
      body: `{"access_token":${"[".repeat(20_000)}"${hostileToken}"${"]".repeat(20_000)},"expires_in":3600}`
    }
  ],
  [
    "200 access_token an object holding the token",
    { status: 200, body: { access_token: { value: hostileToken }, expires_in: 3600 } }
  ],
  ["307 to another host", { status: 307, headers: { Location: "http://127.0.0.1:2/elsewhere" }, body: "" }]
]

/**
 * A fault on every attempt that only the attempt timeout ends (so the row runs with {@link cutTiming}); IMDS's probe
 * ends it sooner when no answer begins.
 */
const cutEveryAttempt = (name: string, step: Step, answerBegins = false): Case => ({
  name,
  step,
  every: true,
  cut: true,
  expect: answerBegins ? same("Timeout", attempts) : noAnswer(same("Timeout", attempts))
})

export const cases: ReadonlyArray<Case> = [
  { name: "500 once", step: { status: 500 }, expect: same("token", 2) },
  { name: "500 every time", step: { status: 500 }, every: true, expect: same("TokenRequestFailed", attempts) },
  {
    name: "429 + Retry-After: 1 once",
    step: { status: 429, headers: { "Retry-After": "1" } },
    expect: same("token", 2),
    minGapMillis: 1000
  },
  { name: "400", step: { status: 400 }, expect: same("TokenRequestFailed", 1) },
  { name: "404 once", step: { status: 404 }, expect: imdsRetries },
  { name: "410 once", step: { status: 410 }, expect: imdsRetries },
  { name: "delay 100 ms (< attempt timeout)", step: { delay: 100 }, expect: same("token", 1) },
  cutEveryAttempt("delay 10 s (> attempt timeout) every time", { delay: 10_000 }),
  { name: "reset once", step: { reset: true }, expect: brokenConnection(false, same("token", 2)) },
  {
    name: "reset every time",
    step: { reset: true },
    every: true,
    expect: brokenConnection(true, same("ConnectionFailed", attempts))
  },
  {
    name: "body cut short after the headers once",
    step: { truncated: true },
    expect: brokenConnection(false, same("token", 2))
  },
  {
    name: "body cut short after the headers every time",
    step: { truncated: true },
    every: true,
    expect: brokenConnection(true, same("ConnectionFailed", attempts))
  },
  { name: "400 echoing the request, secrets included", step: { echo: 400 }, expect: same("TokenRequestFailed", 1) },
  { name: "hang once", step: { hang: true }, cut: true, expect: noAnswer(same("token", 2)) },
  cutEveryAttempt("hang every time", { hang: true }),
  { name: "malformedJson", step: { malformedJson: true }, expect: same("InvalidTokenResponse", 1) },
  { name: "oversized (> 64 KiB)", step: { oversized: true }, expect: same("InvalidTokenResponse", 1) },
  { name: "trickle 2 ms / 16 bytes", step: { trickle: 2 }, expect: same("token", 1) },
  cutEveryAttempt("trickle 500 ms / 16 bytes every time", { trickle: 500 }, true),
  { name: "another identity's token (otherIdentity)", step: { otherIdentity: true }, expect: same("token", 1) },
  { name: "iat 10 min ahead (skew 600)", step: { skew: 600 }, expect: same("token", 1) },
  ...hostileAnswers.map(([name, step]): Case => ({
    name,
    step,
    expect: same(step.status === 200 ? "InvalidTokenResponse" : "TokenRequestFailed", 1)
  })),
  {
    name: "another identity's token, verifyIdentity on",
    step: { otherIdentity: true },
    verifyIdentity: true,
    expect: same("IdentityMismatch", 1)
  }
]

export const closedPortCase = "connection refused (closed port)"

/** Requests per attempt: Azure Arc's challenge and its request with the key. */
export const requestsPerAttempt = (kind: SourceKind) => kind === "AzureArc" ? 2 : 1

/** Azure Arc: the challenge is answered normally (`delay: 0`), the fault hits the request with the key. */
export const script = (kind: SourceKind, testCase: Case): ReadonlyArray<Step> => {
  const perAttempt: ReadonlyArray<Step> = kind === "AzureArc" ? [{ delay: 0 }, testCase.step] : [testCase.step]
  return testCase.every === true ? Array.from({ length: attempts }, () => perAttempt).flat() : perAttempt
}

/**
 * Below the ephemeral range, so no server started with port 0 (the emulators) can be handed it, and not one of the
 * ports `fetch` refuses outright (1 is: "bad port").
 */
export const closedPort = 2

/** The variables of a host of `kind` whose endpoint is `port` on 127.0.0.1, the rest as the emulator sets them. */
export const closedPortEnv = (
  emulator: ManagedIdentityEmulator.Emulator,
  kind: SourceKind,
  port: number
): Record<string, string> => {
  const env = emulator.env(kind)
  const moved = (url: string) => {
    const parsed = new URL(url)
    parsed.port = String(port)
    return parsed.toString()
  }
  switch (kind) {
    case "Imds":
      return { AZURE_POD_IDENTITY_AUTHORITY_HOST: `http://127.0.0.1:${port}` }
    case "AppService":
    case "ServiceFabric":
    case "AzureArc":
      return { ...env, IDENTITY_ENDPOINT: moved(env.IDENTITY_ENDPOINT) }
    case "CloudShell":
    case "MachineLearning":
      return { ...env, MSI_ENDPOINT: moved(env.MSI_ENDPOINT) }
    case "WorkloadIdentity":
      return { ...env, AZURE_AUTHORITY_HOST: moved(env.AZURE_AUTHORITY_HOST) }
  }
}

/** One cell: what was expected, what the caller got, and (429 + Retry-After) the wait before the retry. */
export interface Cell {
  readonly expected: Expected
  readonly actual: Expected
  readonly gapMillis?: number
}

/** The matrix as run: cells by row name and source, every error as printed, every token and secret seen. */
export interface Run {
  readonly cells: ReadonlyMap<string, ReadonlyMap<SourceKind, Cell>>
  readonly printedErrors: ReadonlyArray<string>
  readonly tokens: ReadonlyArray<string>
  readonly secrets: ReadonlyArray<string>
}

/** The row names, in table order. */
export const rowNames: ReadonlyArray<string> = [...cases.map((testCase) => testCase.name), closedPortCase]

/** How a cell prints in FAULT_MATRIX.md. */
export const show = (expected: Expected): string => `${expected.outcome} · ${expected.requests}`

/** The cells of `kind` whose outcome or request count is not the expected one, as readable lines. */
export const mismatches = (run: Pick<Run, "cells">, kind: SourceKind): ReadonlyArray<string> =>
  rowNames.flatMap((name) => {
    const { actual, expected } = run.cells.get(name)!.get(kind)!
    const within = expected.fewest !== undefined && actual.outcome === expected.outcome &&
      actual.requests >= expected.fewest && actual.requests <= expected.requests
    return show(actual) === show(expected) || within ? [] : [`${name}: expected ${show(expected)}, got ${show(actual)}`]
  })

/** Runs `tasks` at most `limit` at a time, results in order. */
const pool = async <A>(tasks: ReadonlyArray<() => Promise<A>>, limit: number): Promise<Array<A>> => {
  const results: Array<A> = new Array(tasks.length)
  let next = 0
  const worker = async () => {
    while (next < tasks.length) {
      const index = next++
      results[index] = await tasks[index]()
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker))
  return results
}

/**
 * The whole matrix through `line`: one plain token per source first (so that loading code does not eat into the
 * 2 s), then one emulator per row, five rows at a time (the slow rows first), sources in parallel.
 */
export const run = async (line: Line): Promise<Run> => {
  const printedErrors: Array<string> = []
  const tokens: Array<string> = []
  const secrets: Array<string> = []
  const observed = (handle: Handle, kind: SourceKind, env: Record<string, string>, testCase?: Case): Promise<Outcome> =>
    withClient(
      line,
      {
        host: hostOf(handle, kind, env),
        identity: { kind: "SystemAssigned" },
        timing: testCase?.cut === true ? cutTiming : timing,
        verifyIdentity: testCase?.verifyIdentity === true
      },
      (client) => client.getToken(resource)
    ).then((outcome) => {
      if ("token" in outcome) tokens.push(outcome.token)
      if ("printed" in outcome) printedErrors.push(outcome.printed)
      return outcome
    })

  const runCell = async (handle: Handle, kind: SourceKind, testCase: Case): Promise<readonly [SourceKind, Cell]> => {
    await handle.setFaults(kind, script(kind, testCase))
    const { outcome } = await observed(handle, kind, handle.env(kind), testCase)
    const recorded = await handle.requests(kind)
    const expected = testCase.expect(kind)
    const faulted = requestsPerAttempt(kind) - 1
    const gap = testCase.minGapMillis === undefined || recorded.length < faulted + 2
      ? undefined
      : recorded[faulted + 1].at - recorded[faulted].at
    return [kind, {
      expected: {
        outcome: expected.outcome,
        requests: expected.attempts * requestsPerAttempt(kind),
        ...(expected.fewest === undefined ? {} : { fewest: expected.fewest })
      },
      actual: { outcome, requests: recorded.length },
      ...(gap === undefined ? {} : { gapMillis: gap })
    }]
  }

  const closedPortCell = async (handle: Handle, kind: SourceKind): Promise<readonly [SourceKind, Cell]> => {
    const { outcome } = await observed(handle, kind, closedPortEnv(handle.emulator, kind, closedPort))
    return [kind, {
      expected: { outcome: "SourceUnavailable", requests: 0 },
      actual: { outcome, requests: (await handle.requests(kind)).length }
    }]
  }

  const row = (name: string, cell: (handle: Handle, kind: SourceKind) => Promise<readonly [SourceKind, Cell]>) => () =>
    withEmulator(async (handle) => {
      const cells = await Promise.all(allSources.map((kind) => cell(handle, kind)))
      secrets.push(...await handle.secrets())
      return [name, new Map(cells)] as const
    })

  await withEmulator((handle) =>
    Promise.all(allSources.map((kind) => observed(handle, kind, handle.env(kind)))).then(() => undefined)
  )
  const slowFirst = [...cases.filter((testCase) => testCase.cut === true), ...cases.filter((testCase) => !testCase.cut)]
  const rows = await pool(
    [
      ...slowFirst.map((testCase) => row(testCase.name, (handle, kind) => runCell(handle, kind, testCase))),
      row(closedPortCase, closedPortCell)
    ],
    5
  )
  return { cells: new Map(rows), printedErrors, tokens, secrets }
}
