/**
 * `managed-identity demo`: the emulator on loopback and a token through every source, shown as a table.
 */
import * as Command from "@effect/cli/Command"
import type * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as ManagedIdentity from "@managed-identity/core/ManagedIdentity"
import * as ManagedIdentityClient from "@managed-identity/core/ManagedIdentityClient"
import type { ManagedIdentityError } from "@managed-identity/core/ManagedIdentityError"
import * as ManagedIdentitySource from "@managed-identity/core/ManagedIdentitySource"
import * as TokenCache from "@managed-identity/core/TokenCache"
import * as TokenSource from "@managed-identity/core/TokenSource"
import type * as ManagedIdentityEmulator from "@managed-identity/emulator/ManagedIdentityEmulator"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as FileSystem from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import * as NodeManagedIdentity from "../NodeManagedIdentity.js"
import * as NodeTokenCache from "../NodeTokenCache.js"
import { type Row, table } from "./demoTable.js"
import { json } from "./flags.js"

const userAssignedClientId = "5c1a9b72-0d3e-4e0f-9a55-0000000000aa"
const claimsChallenge = "{\"access_token\":{\"nbf\":{\"essential\":true,\"value\":\"1726077595\"}}}"

const describeToken = (token: Redacted.Redacted<string>): string => {
  const payload = Redacted.value(token).split(".")[1] ?? ""
  const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Record<string, unknown>
  return `aud=${String(claims.aud)} appid=${String(claims.appid)}`
}

const timed = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<readonly [A, number], E, R> =>
  Effect.suspend(() => {
    const start = performance.now()
    return Effect.map(effect, (value) => [value, performance.now() - start] as const)
  })

/**
 * `effect` timed, with what reached the emulator meanwhile: `count` read before and after, put in words by
 * `describe`.
 */
const counted =
  <C>(count: Effect.Effect<C>, describe: (before: C, after: C) => string) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<readonly [A, number, string], E, R> =>
    Effect.flatMap(
      count,
      (before) =>
        Effect.flatMap(timed(effect), ([value, millis]) =>
          Effect.map(count, (after) => [value, millis, describe(before, after)] as const))
    )

const plural = (count: number, what: string) => `${count} ${what}${count === 1 ? "" : "s"}`

/**
 * One source's rows. `trust` is provided around each client: for workload identity, the emulator's STS CA trusted as
 * `NODE_EXTRA_CA_CERTS` would make a fresh process trust it (this process started before the CA existed).
 */
const demoSource = (
  emulator: ManagedIdentityEmulator.Emulator,
  kind: TokenSource.SourceKind,
  cacheDirectory: string,
  trust: Layer.Layer<never> | Layer.Layer<FetchHttpClient.Fetch>
): Effect.Effect<ReadonlyArray<Row>> => {
  const name = TokenSource.titles[kind]
  const rows: Array<Row> = []
  const row = (step: string, result: string, millis: number) => rows.push({ source: name, step, result, millis })
  const exchanges = (count: number) =>
    count === 0
      ? "no request"
      : kind === "AzureArc"
      ? `${count} HTTP requests (each exchange: challenge + answer)`
      : plural(count, "token request")
  const countedRequests = counted(emulator.requestCount(kind), (before, after) => exchanges(after - before))
  const withClient = <A, E, CacheError>(
    identity: ManagedIdentity.Identity,
    cache: Layer.Layer<TokenCache.TokenCache, CacheError>,
    use: (client: ManagedIdentityClient.ManagedIdentityClient.Service) => Effect.Effect<A, E>
  ) =>
    Effect.flatMap(ManagedIdentityClient.ManagedIdentityClient, use).pipe(
      Effect.provide(
        ManagedIdentityClient.layerWithOptions({ clientCapabilities: ["cp1"] }).pipe(
          Layer.provide(ManagedIdentitySource.layerWithOptions({ azureArcKeyDirectory: emulator.arcKeyDirectory })),
          Layer.provide(cache),
          Layer.provide(ManagedIdentity.layer(identity)),
          Layer.provide(NodeManagedIdentity.layerPlatform)
        )
      ),
      Effect.provide(trust)
    )
  const describeOutcome = (outcome: { readonly source: string; readonly token: Redacted.Redacted<string> }) =>
    `${outcome.source}: ${describeToken(outcome.token)}`

  return Effect.gen(function*() {
    yield* withClient(ManagedIdentity.systemAssigned, TokenCache.layerMemory, (client) =>
      Effect.gen(function*() {
        const [first, firstMillis] = yield* timed(client.getToken("https://vault.azure.net"))
        row("system-assigned token", describeOutcome(first), firstMillis)
        const [second, secondMillis, secondRequests] = yield* countedRequests(
          client.getToken("https://vault.azure.net")
        )
        row(
          "second call",
          `${second.source}, ${secondRequests.replace(/^0 token requests.*/, "no request")}`,
          secondMillis
        )
        const [, burstMillis, burstRequests] = yield* countedRequests(
          Effect.all(Array.from({ length: 1000 }, () => client.getToken("https://storage.azure.com")), {
            concurrency: "unbounded"
          })
        )
        row("1000 concurrent calls", burstRequests, burstMillis)
        yield* emulator.setFaults(kind, [{ status: 500 }])
        const [retried, retryMillis, retryRequests] = yield* countedRequests(
          client.getToken("https://management.azure.com")
        )
        row("injected 500", `${retried.source} after a jittered back-off, ${retryRequests}`, retryMillis)
        const [challenged, claimsMillis] = yield* timed(
          client.getToken("https://vault.azure.net", { claims: claimsChallenge })
        )
        const last = (yield* emulator.requests).filter((request) => request.source === kind).at(-1)
        const sent = [
          last?.query.token_sha256_to_refresh === undefined ? undefined : "token_sha256_to_refresh",
          last?.query.xms_cc === undefined ? undefined : `xms_cc=${last.query.xms_cc}`,
          new URLSearchParams(last?.body ?? "").has("claims") ? "the claims in the form" : undefined
        ].filter((part) => part !== undefined)
        row(
          "claims challenge",
          `${challenged.source}, ${
            Redacted.value(challenged.token) === Redacted.value(first.token) ? "same" : "new"
          } token${sent.length === 0 ? "" : `, sent ${sent.join(" and ")}`}`,
          claimsMillis
        )
      }))

    const [userAssigned, userMillis] = yield* timed(
      Effect.either(withClient(
        ManagedIdentity.clientId(userAssignedClientId),
        TokenCache.layerMemory,
        (client) => client.getToken("https://vault.azure.net")
      ))
    )
    row(
      "user-assigned (client id)",
      userAssigned._tag === "Right"
        ? describeOutcome(userAssigned.right)
        : `${userAssigned.left._tag}: ${userAssigned.left.message}`,
      userMillis
    )

    const fileCache = NodeTokenCache.layerFile(Path.join(cacheDirectory, kind))
    yield* withClient(ManagedIdentity.systemAssigned, fileCache, (client) => client.getToken("https://vault.azure.net"))
    const [restarted, restartMillis, restartRequests] = yield* countedRequests(
      withClient(ManagedIdentity.systemAssigned, fileCache, (client) => client.getToken("https://vault.azure.net"))
    )
    row("file cache after a restart", `${restarted.source}, ${restartRequests}`, restartMillis)
    return rows
  }).pipe(
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(emulator.env(kind))))),
    Effect.catchAll((error: ManagedIdentityError | unknown) =>
      Effect.succeed([...rows, {
        source: name,
        step: "failed",
        result: typeof error === "object" && error !== null && "message" in error
          ? String(error.message)
          : String(error),
        millis: 0
      }])
    )
  )
}

/**
 * The federated credential's rows: the emulator's application's token, got by exchanging the system-assigned identity's
 * IMDS token at the STS (`NodeManagedIdentity.layerWithOptions({ federatedCredential: "config" })`), and what each hop
 * received for a first token, a second resource and 1000 concurrent callers.
 */
const demoFederated = (
  emulator: ManagedIdentityEmulator.Emulator,
  trust: Layer.Layer<FetchHttpClient.Fetch>
): Effect.Effect<ReadonlyArray<Row>> => {
  const name = "Federated credential"
  const rows: Array<Row> = []
  const row = (step: string, result: string, millis: number) => rows.push({ source: name, step, result, millis })
  const countedHops = counted(
    Effect.zip(emulator.requestCount("Imds"), emulator.requestCount("FederatedCredential")),
    ([imdsBefore, stsBefore], [imdsAfter, stsAfter]) =>
      `${plural(imdsAfter - imdsBefore, "IMDS request")}, ${plural(stsAfter - stsBefore, "STS exchange")}`
  )
  return Effect.gen(function*() {
    const client = yield* ManagedIdentityClient.ManagedIdentityClient
    const [first, firstMillis, firstRequests] = yield* countedHops(client.getToken("https://vault.azure.net"))
    row("application token", `${first.source}: ${describeToken(first.token)}, ${firstRequests}`, firstMillis)
    const [, otherMillis, otherRequests] = yield* countedHops(client.getToken("https://storage.azure.com"))
    row("another resource", `${otherRequests} (the assertion from the cache)`, otherMillis)
    const [, burstMillis, burstRequests] = yield* countedHops(
      Effect.all(Array.from({ length: 1000 }, () => client.getToken("https://management.azure.com")), {
        concurrency: "unbounded"
      })
    )
    row("1000 concurrent calls", burstRequests, burstMillis)
    return rows
  }).pipe(
    Effect.provide(
      NodeManagedIdentity.layerWithOptions({ federatedCredential: "config" }).pipe(
        Layer.provide(ManagedIdentity.layer(ManagedIdentity.systemAssigned))
      )
    ),
    Effect.provide(trust),
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(emulator.env("FederatedCredential"))))),
    Effect.catchAll((error) =>
      Effect.succeed([...rows, { source: name, step: "failed", result: error.message, millis: 0 }])
    )
  )
}

/**
 * The demo: the emulator on loopback and a token through every source, then an application's token with the managed
 * identity as its federated credential, shown as a table (or JSON rows).
 */
const run = (options: { readonly json: boolean }): Effect.Effect<void, ManagedIdentityEmulator.EmulatorError> =>
  Effect.scoped(
    Effect.gen(function*() {
      const started = performance.now()
      const Emulator = yield* Effect.promise(() => import("@managed-identity/emulator/ManagedIdentityEmulator"))
      const emulator = yield* Emulator.start()
      const cacheDirectory = yield* Effect.acquireRelease(
        Effect.promise(() => FileSystem.mkdtemp(Path.join(Os.tmpdir(), "managed-identity-demo-"))),
        (directory) => Effect.promise(() => FileSystem.rm(directory, { recursive: true, force: true }))
      )
      if (!options.json) {
        yield* Console.log(
          `Emulator on ${emulator.baseUrl}, Service Fabric on ${emulator.serviceFabricUrl}\n` +
            `AKS workload identity's STS on ${emulator.workloadIdentity.authorityHost} ` +
            "(its CA trusted as NODE_EXTRA_CA_CERTS would)\n"
        )
      }
      const perSource = yield* Effect.forEach(TokenSource.DetectedKind.literals, (kind) =>
        demoSource(
          emulator,
          kind,
          cacheDirectory,
          kind === "WorkloadIdentity" ? Emulator.layerTrustingFetch(emulator) : Layer.empty
        ))
      const rows = [...perSource.flat(), ...yield* demoFederated(emulator, Emulator.layerTrustingFetch(emulator))]
      const seconds = ((performance.now() - started) / 1000).toFixed(1)
      yield* Console.log(
        options.json
          ? JSON.stringify({ rows, seconds: Number(seconds) })
          : `${table(rows)}\n\nEvery token came from the emulator on 127.0.0.1 in ${seconds} s.`
      )
      if (rows.some((row) => row.step === "failed")) {
        yield* Effect.sync(() => {
          process.exitCode = 1
        })
      }
    })
  )

/**
 * `managed-identity demo [--json]`.
 *
 * @category commands
 */
export const demo = Command.make("demo", { json }, run).pipe(
  Command.withDescription(
    "Start the emulator and get a token through every source, showing cache, single flight, retry, claims and the " +
      "file cache, then an application's token with the managed identity as its federated credential (with --json: " +
      "the rows as JSON)"
  )
)
