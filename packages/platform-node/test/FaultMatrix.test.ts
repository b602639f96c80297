/**
 * Every fault kind of the emulator × every source, through the real Node stack (`NodeManagedIdentity`, undici, the
 * pinned Service Fabric client) with a fast retry schedule: 3 retries 50 ms apart; 5 s per attempt, or 2 s for the
 * faults meant to time out. The whole matrix runs once (after one plain token per source, so that loading code does
 * not eat into the 2 s; then one emulator per row, five rows at a time, sources in parallel) under a
 * logger that keeps every line at every level and a tracer that keeps every span; the tests then check each cell and
 * that no secret leaked.
 *
 * Azure Arc makes two requests per attempt (challenge, then the key): its faults hit the second one, so every Arc
 * count is twice the others'. IMDS is the detected fallback, so its first contact is probed: a fault that leaves the
 * first request without the beginning of an answer within the probe's 1.5 s (a hang, a long delay) is
 * `SourceUnavailable` after that one request; an answer that has begun (a trickle) is read within the attempt's
 * timeout; a connection that breaks (a reset, a body cut short) is tried again within the probe, up to four times.
 * The table is printed after the run; `FAULT_MATRIX_WRITE=1` also writes FAULT_MATRIX.md.
 */
import { assert, layer } from "@effect/vitest"
import * as FaultMatrix from "@managed-identity/conformance/FaultMatrix"
import type * as Conformance from "@managed-identity/conformance/Line"
import { ManagedIdentity, type TokenSource } from "@managed-identity/core"
import type { ManagedIdentityError } from "@managed-identity/core/ManagedIdentityError"
import { ManagedIdentityEmulator } from "@managed-identity/emulator"
import * as SpanRecorder from "@managed-identity/test-utils/SpanRecorder"
import { Cause, Context, Effect, Exit, HashMap, Layer, Logger, LogLevel, Option, Redacted, Schedule } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import type * as NodeManagedIdentity from "../src/NodeManagedIdentity.js"
import { allSources, clientLayer, getToken, onHost } from "./utils/emulatorStack.js"
import * as FileKinds from "./utils/fileKinds.js"

type SourceKind = TokenSource.DetectedKind

const resource = "https://vault.azure.net"
const scheduleOf = (timing: Conformance.Timing) => ({
  retrySchedule: Schedule.spaced(`${timing.spacingMillis} millis`).pipe(
    Schedule.intersect(Schedule.recurs(timing.retries))
  ),
  attemptTimeout: `${timing.attemptTimeoutMillis} millis`,
  deadline: `${timing.deadlineMillis} millis`,
  probeTimeout: `${timing.probeTimeoutMillis} millis`
} as const)
/**
 * The shared scenarios' timing (`@managed-identity/conformance/FaultMatrix`) as this line's source options, IMDS's probe
 * included (1.5 s: the emulator shares this process's event loop with 35 clients at once, and its default 1 s left a
 * slow but steady answer no margin on a busy machine).
 */
const timing = scheduleOf(FaultMatrix.timing)
const cutTiming = scheduleOf(FaultMatrix.cutTiming)

type Expected = FaultMatrix.Expected
type Cell = FaultMatrix.Cell

/** A fault of a managed identity used as a federated credential: hop 1 is IMDS, hop 2 the STS's exchange. */
interface FederatedCase {
  readonly name: string
  readonly faults: ManagedIdentityEmulator.FaultScripts
  /** Variables that differ from the emulator's. */
  readonly env?: Readonly<Record<string, string>>
  /** What the caller gets · IMDS's requests · the STS's requests. */
  readonly expected: string
  readonly minGapMillis?: number
}

const federatedCases: ReadonlyArray<FederatedCase> = [
  { name: "no fault", faults: {}, expected: "token · 1 · 1" },
  {
    name: "STS rejects the assertion (an audience the application does not trust: AADSTS700212)",
    faults: {},
    env: { MANAGED_IDENTITY_FEDERATED_AUDIENCE: "api://AzureADTokenExchangeUSGov" },
    expected: "TokenRequestFailed · 1 · 1"
  },
  {
    name: "STS: the assertion expired (AADSTS700024)",
    faults: { FederatedCredential: [{ aadsts: 700024 }] },
    expected: "TokenRequestFailed · 1 · 1"
  },
  {
    name: "hop 1 fails: IMDS 500 every time",
    faults: { Imds: [{ status: 500, times: FaultMatrix.attempts }] },
    expected: "TokenRequestFailed · 4 · 0"
  },
  {
    name: "hop 2 throttled: 429 + Retry-After: 1 once",
    faults: { FederatedCredential: [{ status: 429, headers: { "Retry-After": "1" } }] },
    expected: "token · 1 · 2",
    minGapMillis: 1000
  },
  {
    name: "hop 2: 500 every time",
    faults: { FederatedCredential: [{ status: 500, times: FaultMatrix.attempts }] },
    expected: "TokenRequestFailed · 1 · 4"
  },
  { name: "hop 2: reset once", faults: { FederatedCredential: [{ reset: true }] }, expected: "token · 1 · 2" }
]

interface Run {
  readonly cells: ReadonlyMap<string, ReadonlyMap<SourceKind, Cell>>
  /** Each federated case: what the caller got · IMDS's requests · the STS's requests, and the gap between exchanges. */
  readonly federated: ReadonlyMap<string, { readonly actual: string; readonly gapMillis?: number }>
  /** Workload identity with each kind of file as each of its file variables: the outcome and the STS's requests. */
  readonly files: ReadonlyMap<FileKinds.Kind, ReadonlyMap<FileKinds.Variable, Expected>>
  readonly errors: ReadonlyArray<ManagedIdentityError>
  readonly tokens: ReadonlyArray<string>
  readonly secrets: ReadonlyArray<string>
  readonly captured: string
  readonly logLines: number
  readonly spanCount: number
}

const serialise = (value: unknown) =>
  JSON.stringify(value, (_, inner) => typeof inner === "bigint" ? inner.toString() : inner)

const {
  attempts,
  cases,
  closedPort,
  closedPortCase,
  closedPortEnv,
  hostileAnswers,
  hostileToken,
  requestsPerAttempt,
  rowNames,
  script,
  show
} = FaultMatrix
type Case = FaultMatrix.Case

const outcomeOf = (exit: Exit.Exit<unknown, unknown>): string =>
  Exit.isSuccess(exit)
    ? "token"
    : Option.match(Cause.failureOption(exit.cause), {
      onNone: () => Cause.pretty(exit.cause),
      onSome: (error) => (error as ManagedIdentityError)._tag
    })

const runMatrix = Effect.gen(function*() {
  const { spans, tracer } = yield* SpanRecorder.make
  const lines: Array<unknown> = []
  const errors: Array<ManagedIdentityError> = []
  const tokens: Array<string> = []
  const secrets: Array<string> = []
  const logger = Logger.make(({ annotations, cause, date, fiberId, logLevel, message, spans: logSpans }) => {
    lines.push({
      date,
      fiberId,
      level: logLevel.label,
      message,
      cause: Cause.isEmpty(cause) ? undefined : Cause.pretty(cause),
      annotations: Object.fromEntries(HashMap.toEntries(annotations)),
      spans: [...logSpans].map((span) => span.label)
    })
  })

  /** The client on the Node stack, every span and log line captured. */
  const observedToken = (
    emulator: ManagedIdentityEmulator.Emulator,
    kind: ManagedIdentityEmulator.SourceKind,
    env: Record<string, string>,
    testCase?: Case,
    federatedCredential?: NodeManagedIdentity.Options["federatedCredential"]
  ) =>
    getToken(resource).pipe(
      Effect.provide(
        clientLayer(emulator, ManagedIdentity.systemAssigned, {
          source: testCase?.cut === true ? cutTiming : timing,
          client: { verifyIdentity: testCase?.verifyIdentity === true },
          federatedCredential
        })
      ),
      onHost(emulator, kind, env),
      Effect.withTracer(tracer),
      Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
      Logger.withMinimumLogLevel(LogLevel.All),
      Effect.exit,
      Effect.tap((exit) =>
        Exit.match(exit, {
          onSuccess: (token) => tokens.push(Redacted.value(token.token)),
          onFailure: (cause) =>
            Option.map(Cause.failureOption(cause), (error) => errors.push(error as ManagedIdentityError))
        })
      )
    )

  const runCell = (emulator: ManagedIdentityEmulator.Emulator, kind: SourceKind, testCase: Case) =>
    Effect.gen(function*() {
      yield* emulator.setFaults(kind, script(kind, testCase))
      const exit = yield* observedToken(emulator, kind, emulator.env(kind), testCase)
      const recorded = (yield* emulator.requests).filter((request) => request.source === kind)
      const expected = testCase.expect(kind)
      const faulted = requestsPerAttempt(kind) - 1
      const gap = testCase.minGapMillis === undefined || recorded.length < faulted + 2
        ? undefined
        : recorded[faulted + 1].at - recorded[faulted].at
      const cell: Cell = {
        expected: {
          outcome: expected.outcome,
          requests: expected.attempts * requestsPerAttempt(kind),
          ...(expected.fewest === undefined ? {} : { fewest: expected.fewest })
        },
        actual: { outcome: outcomeOf(exit), requests: recorded.length },
        ...(gap === undefined ? {} : { gapMillis: gap })
      }
      return [kind, cell] as const
    })

  const closedPortCell = (emulator: ManagedIdentityEmulator.Emulator, kind: SourceKind) =>
    Effect.gen(function*() {
      const exit = yield* observedToken(emulator, kind, closedPortEnv(emulator, kind, closedPort))
      const cell: Cell = {
        expected: { outcome: "SourceUnavailable", requests: 0 },
        actual: { outcome: outcomeOf(exit), requests: yield* emulator.requestCount(kind) }
      }
      return [kind, cell] as const
    })

  /** One emulator per row, so rows run side by side; its secrets and every Arc key it wrote are kept. */
  const row = (
    name: string,
    cell: (emulator: ManagedIdentityEmulator.Emulator, kind: SourceKind) => Effect.Effect<readonly [SourceKind, Cell]>
  ) =>
    Effect.scoped(Effect.gen(function*() {
      const emulator = yield* ManagedIdentityEmulator.start()
      const cells = yield* Effect.forEach(allSources, (kind) => cell(emulator, kind), { concurrency: "unbounded" })
      const lastKey = yield* emulator.lastArcKey
      secrets.push(
        ...[
          Redacted.value(yield* emulator.workloadIdentity.federatedToken),
          emulator.secrets.identityHeader,
          emulator.secrets.msiSecret,
          emulator.secrets.serviceFabricSecret,
          ...Option.toArray(Option.map(lastKey, Redacted.value)),
          ...Fs.readdirSync(emulator.arcKeyDirectory).map((file) =>
            Fs.readFileSync(Path.join(emulator.arcKeyDirectory, file), "utf8")
          )
        ].filter((secret) => secret.length > 0)
      )
      return [name, new Map(cells)] as const
    }))

  yield* Effect.scoped(
    Effect.flatMap(
      ManagedIdentityEmulator.start(),
      (emulator) =>
        Effect.forEach(
          allSources,
          (kind) => getToken(resource).pipe(Effect.provide(clientLayer(emulator)), onHost(emulator, kind)),
          { discard: true }
        )
    )
  )

  const slowFirst = [...cases.filter((testCase) => testCase.cut === true), ...cases.filter((testCase) => !testCase.cut)]
  const rows = yield* Effect.all(
    [
      ...slowFirst.map((testCase) => row(testCase.name, (emulator, kind) => runCell(emulator, kind, testCase))),
      row(closedPortCase, closedPortCell)
    ],
    { concurrency: 5 }
  )

  /** A federated case on an emulator of its own, hop 2 with the matrix's timing; the assertions join the secrets. */
  const federatedRow = (testCase: FederatedCase) =>
    Effect.scoped(Effect.gen(function*() {
      const emulator = yield* ManagedIdentityEmulator.start({ faults: testCase.faults })
      const env = { ...emulator.env("FederatedCredential"), ...testCase.env }
      const exit = yield* observedToken(emulator, "FederatedCredential", env, undefined, {
        ...timing,
        clientId: env.MANAGED_IDENTITY_FEDERATED_CLIENT_ID,
        tenantId: env.MANAGED_IDENTITY_FEDERATED_TENANT_ID,
        audience: env.MANAGED_IDENTITY_FEDERATED_AUDIENCE,
        authorityHost: env.AZURE_AUTHORITY_HOST
      })
      const recorded = yield* emulator.requests
      const exchanges = recorded.filter((request) => request.source === "FederatedCredential")
      secrets.push(...exchanges.map((request) => new URLSearchParams(request.body).get("client_assertion")!))
      const imds = recorded.filter((request) => request.source === "Imds").length
      const gap = exchanges.length < 2 ? undefined : exchanges[1].at - exchanges[0].at
      return [
        testCase.name,
        {
          actual: `${outcomeOf(exit)} · ${imds} · ${exchanges.length}`,
          ...(gap === undefined ? {} : { gapMillis: gap })
        }
      ] as const
    }))
  const federated = new Map(yield* Effect.all(federatedCases.map(federatedRow), { concurrency: 5 }))

  const files = new Map(
    yield* Effect.forEach(FileKinds.kinds, (kind) =>
      Effect.scoped(Effect.gen(function*() {
        const directory = yield* FileKinds.directory
        const cells = yield* Effect.forEach(FileKinds.variables, (variable) =>
          Effect.scoped(Effect.gen(function*() {
            const emulator = yield* ManagedIdentityEmulator.start()
            const content = yield* FileKinds.validContent(emulator, variable)
            const path = FileKinds.make(kind, Path.join(directory, variable), content)
            const exit = yield* FileKinds.tokenOn(emulator, variable, path)
            const cell: Expected = {
              outcome: outcomeOf(exit),
              requests: yield* emulator.requestCount("WorkloadIdentity")
            }
            return [variable, cell] as const
          })))
        return [kind, new Map(cells)] as const
      })))
  )

  const captured = serialise({
    lines,
    spans: spans.map((span) => ({
      name: span.name,
      attributes: Object.fromEntries(span.attributes),
      events: "events" in span ? span.events : [],
      links: span.links,
      status: span.status._tag === "Started"
        ? "Started"
        : Exit.isSuccess(span.status.exit)
        ? "Success"
        : Cause.pretty(span.status.exit.cause)
    }))
  })
  const run: Run = {
    cells: new Map(rows),
    federated,
    files,
    errors,
    tokens,
    secrets,
    captured,
    logLines: lines.length,
    spanCount: spans.length
  }
  return run
}).pipe(Effect.orDie)

const table = (run: Run) =>
  [
    `| fault | ${allSources.join(" | ")} |`,
    `| --- | ${allSources.map(() => "---").join(" | ")} |`,
    ...rowNames.map((name) =>
      `| ${name} | ${allSources.map((kind) => show(run.cells.get(name)!.get(kind)!.actual)).join(" | ")} |`
    )
  ].join("\n")

const filesTable = (run: Run) =>
  [
    `| file | ${FileKinds.variables.join(" | ")} |`,
    `| --- | ${FileKinds.variables.map(() => "---").join(" | ")} |`,
    ...FileKinds.kinds.map((kind) =>
      `| ${kind} | ${FileKinds.variables.map((variable) => show(run.files.get(kind)!.get(variable)!)).join(" | ")} |`
    )
  ].join("\n")

/** The table, printed when the matrix is released; `FAULT_MATRIX_WRITE=1` also writes FAULT_MATRIX.md. */
const report = (run: Run) => {
  const markdown = [
    "# Fault matrix",
    "",
    "Generated by `packages/platform-node/test/FaultMatrix.test.ts` (`FAULT_MATRIX_WRITE=1 pnpm vitest run " +
    "packages/platform-node/test/FaultMatrix.test.ts`). Each cell: what the caller got · requests the endpoint " +
    `received. Schedule: ${attempts - 1} retries 50 ms apart; 5 s per attempt, or 2 s ` +
    "for the faults meant to time out (delay 10 s, hang, trickle 500 ms). Azure Arc makes two requests per attempt " +
    "(challenge, then the key) and its faults hit the second. IMDS is the detected fallback, so its first request " +
    "is a probe (1.5 s here, the default 1 s): a fault that leaves it without the beginning of an answer (status and " +
    "headers) within that time is `SourceUnavailable` after that request, an answer that has begun (a trickle) is " +
    "read within the attempt's timeout, and a connection that breaks (reset, body cut short) is tried again " +
    "within that time, up to four times. An echo " +
    "of the request holds its secrets: the errors that quote it show none of them (checked below). The scenarios " +
    "are `@managed-identity/conformance`'s, and the Effect 4 line (`@managed-identity/effect4-node`) passes the same " +
    "cells in `packages/effect4-node/test/Conformance.test.ts`.",
    "",
    table(run),
    "",
    "## A managed identity as a federated credential",
    "",
    "The system-assigned identity's IMDS token for `api://AzureADTokenExchange` (hop 1) exchanged at the STS for the " +
    "emulator's application's token (hop 2), through `NodeManagedIdentity.layerWithOptions({ federatedCredential })` " +
    "with the schedule above on both hops. Cell: what the caller got · IMDS's requests · the STS's requests. A failed " +
    "hop 1 sends no exchange; a refused exchange is not retried; the assertion shows in no error, log line or span. " +
    "(The Effect 3 line's stack; the Effect 4 line's federated source meets the emulator in " +
    "`packages/effect4-node/test/FederatedCredential.test.ts`.)",
    "",
    "| fault | outcome · hop 1 · hop 2 |",
    "| --- | --- |",
    ...federatedCases.map((testCase) => `| ${testCase.name} | ${run.federated.get(testCase.name)!.actual} |`),
    "",
    "## Workload identity's files",
    "",
    "Each kind of file as `AZURE_FEDERATED_TOKEN_FILE`, and as `AZURE_KUBERNETES_CA_FILE` with identity bindings " +
    "(the other variables as the emulator sets them), through the same Node stack. Cell: what the caller got · " +
    "requests the STS or token proxy received. Only a regular file, or a link to one, is read (at most 64 KiB for " +
    "the token, 1 MiB for the CA); anything else is a `SourceUnavailable` naming the variable, found without " +
    "blocking, reading or sending anything.",
    "",
    filesTable(run),
    ""
  ].join("\n")
  console.log(`\n${markdown}`)
  if (process.env.FAULT_MATRIX_WRITE === "1") {
    Fs.writeFileSync(new URL("FAULT_MATRIX.md", import.meta.url), markdown)
  }
}

/** The matrix, run once for the tests below (with the real clock: retries and timeouts take real time). */
class Matrix extends Context.Tag("FaultMatrix/Matrix")<Matrix, Run>() {}

const MatrixLive = Layer.scoped(
  Matrix,
  Effect.tap(runMatrix, (run) => Effect.addFinalizer(() => Effect.sync(() => report(run))))
)

layer(MatrixLive, { timeout: "30 seconds", excludeTestServices: true })(
  "fault matrix: every fault kind × every source through the Node stack and the emulator",
  (it) => {
    for (const kind of allSources) {
      it.effect(`${kind}: error tag or token, and request count, for every fault`, () =>
        Effect.map(Matrix, (run) => {
          const mismatches = FaultMatrix.mismatches(run, kind)
          assert.deepStrictEqual(mismatches, [])
        }))
    }

    it.effect("workload identity's files: a token from a regular file or a link to one, else SourceUnavailable, nothing sent", () =>
      Effect.map(Matrix, (run) => {
        const mismatches = FileKinds.kinds.flatMap((kind) =>
          FileKinds.variables.flatMap((variable) => {
            const expected = FileKinds.isReadable(kind) ? "token · 1" : "SourceUnavailable · 0"
            const actual = show(run.files.get(kind)!.get(variable)!)
            return actual === expected ? [] : [`${kind} as ${variable}: expected ${expected}, got ${actual}`]
          })
        )
        assert.deepStrictEqual(mismatches, [])
      }))

    it.effect("a managed identity as a federated credential: each hop's requests and the outcome, for every fault", () =>
      Effect.map(Matrix, (run) => {
        const mismatches = federatedCases.flatMap((testCase) => {
          const { actual, gapMillis } = run.federated.get(testCase.name)!
          return [
            ...(actual === testCase.expected ? [] : [`${testCase.name}: expected ${testCase.expected}, got ${actual}`]),
            ...(testCase.minGapMillis === undefined || (gapMillis ?? 0) >= testCase.minGapMillis
              ? []
              : [`${testCase.name}: the retry came after ${gapMillis} ms`])
          ]
        })
        assert.deepStrictEqual(mismatches, [])
      }))

    it.effect("429 with Retry-After: 1: the retry waits at least 1 s (the schedule alone would wait 50 ms)", () =>
      Effect.map(Matrix, (run) => {
        for (const kind of allSources) {
          const gap = run.cells.get("429 + Retry-After: 1 once")!.get(kind)!.gapMillis
          assert.isDefined(gap, kind)
          assert.isAtLeast(gap!, 1000, kind)
        }
      }))

    it.effect("every Timeout and ConnectionFailed says how many attempts were made", () =>
      Effect.map(Matrix, (run) => {
        const exhausted = run.errors.flatMap((error) =>
          error._tag === "Timeout" || error._tag === "ConnectionFailed" ? [error.attempts] : []
        )
        const expected = cases.flatMap((testCase) =>
          allSources.filter((kind) => ["Timeout", "ConnectionFailed"].includes(testCase.expect(kind).outcome))
        )
        assert.isAbove(expected.length, 0)
        assert.strictEqual(exhausted.length, expected.length)
        assert.deepStrictEqual(new Set(exhausted), new Set([attempts]))
      }))

    it.effect("no log line, span, String(error) or JSON.stringify(error) holds a token, secret or Arc key", () =>
      Effect.map(Matrix, (run) => {
        assert.isAbove(run.logLines, 0)
        assert.isAbove(run.spanCount, 0)
        assert.isAtLeast(run.tokens.length, allSources.length)
        assert.isAtLeast(run.secrets.length, 4)
        assert.notInclude(run.captured, "http.request.header.")
        const errorText = run.errors.map((error) => `${String(error)}\n${JSON.stringify(error)}`).join("\n")
        assert.isAtLeast(run.errors.length, allSources.length * (10 + hostileAnswers.length))
        for (const [name, text] of [["logs and spans", run.captured], ["errors", errorText]] as const) {
          for (const token of [...run.tokens, hostileToken]) assert.notInclude(text, token, name)
          for (const secret of run.secrets) assert.notInclude(text, secret, name)
          assert.notInclude(text, "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0", `${name}: a JWT header`)
        }
      }))
  }
)
