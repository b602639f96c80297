import * as ManagedIdentity from "@managed-identity/core/ManagedIdentity"
import * as ManagedIdentityClient from "@managed-identity/core/ManagedIdentityClient"
import * as ManagedIdentitySource from "@managed-identity/core/ManagedIdentitySource"
import * as TokenCache from "@managed-identity/core/TokenCache"
import type * as TokenSource from "@managed-identity/core/TokenSource"
import * as Clock from "effect/Clock"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as ManagedIdentityEmulator from "../ManagedIdentityEmulator.js"
import * as NodeManagedIdentity from "../NodeManagedIdentity.js"

const sources: ReadonlyArray<{ readonly kind: TokenSource.SourceKind; readonly name: string }> = [
  { kind: "Imds", name: "IMDS" },
  { kind: "AppService", name: "App Service" },
  { kind: "ServiceFabric", name: "Service Fabric" },
  { kind: "AzureArc", name: "Azure Arc" },
  { kind: "MachineLearning", name: "Azure ML" },
  { kind: "CloudShell", name: "Cloud Shell" }
]

const userAssignedClientId = "5c1a9b72-demo-4e0f-9a55-user-assigned"

interface Row {
  readonly source: string
  readonly step: string
  readonly result: string
  readonly millis: number
}

const claimsOf = (token: Redacted.Redacted<string>): Record<string, unknown> => {
  const payload = Redacted.value(token).split(".")[1] ?? ""
  return JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Record<string, unknown>
}

const describeToken = (token: Redacted.Redacted<string>): string => {
  const claims = claimsOf(token)
  return `aud=${String(claims.aud)} appid=${String(claims.appid)} oid=${String(claims.oid)}`
}

const timed = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<readonly [A, number], E, R> =>
  Effect.gen(function*() {
    const start = performance.now()
    const value = yield* effect
    return [value, performance.now() - start] as const
  })

const clientLayer = (emulator: ManagedIdentityEmulator.Emulator, identity: ManagedIdentity.Identity) =>
  ManagedIdentityClient.layerWithOptions({ clientCapabilities: ["cp1"] }).pipe(
    Layer.provide(ManagedIdentitySource.layerWithOptions({ azureArcKeyDirectory: emulator.arcKeyDirectory })),
    Layer.provide(TokenCache.layerMemory),
    Layer.provide(ManagedIdentity.layer(identity)),
    Layer.provide(NodeManagedIdentity.layerPlatform)
  )

const withEnvironment = (env: Record<string, string>) =>
  Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

const demoSource = (
  emulator: ManagedIdentityEmulator.Emulator,
  kind: TokenSource.SourceKind,
  name: string
): Effect.Effect<ReadonlyArray<Row>> =>
  Effect.gen(function*() {
    const rows: Array<Row> = []
    const row = (step: string, result: string, millis: number) => rows.push({ source: name, step, result, millis })
    const requests = emulator.requestCount(kind)
    const exchanges = (count: number) =>
      kind === "AzureArc"
        ? `${count / 2} token request${count === 2 ? "" : "s"} (${count} HTTP requests: challenge + answer)`
        : `${count} token request${count === 1 ? "" : "s"}`

    yield* Effect.scoped(Effect.gen(function*() {
      const client = yield* Layer.build(clientLayer(emulator, ManagedIdentity.systemAssigned)).pipe(
        Effect.map((context) => context.unsafeMap.get(ManagedIdentityClient.ManagedIdentityClient.key) as ManagedIdentityClient.ManagedIdentityClient.Service)
      )
      const [first, firstMillis] = yield* timed(client.getToken("https://vault.azure.net"))
      row("system-assigned token", `${first.source}: ${describeToken(first.token)}`, firstMillis)
      const before = yield* requests
      const [second, secondMillis] = yield* timed(client.getToken("https://vault.azure.net"))
      row("second call", `${second.source}, ${(yield* requests) - before} new requests`, secondMillis)

      const beforeBurst = yield* requests
      const [, burstMillis] = yield* timed(
        Effect.all(Array.from({ length: 1000 }, () => client.getToken("https://storage.azure.com")), {
          concurrency: "unbounded"
        })
      )
      row("1000 concurrent calls", exchanges((yield* requests) - beforeBurst), burstMillis)

      yield* emulator.setFaults(kind, [{ status: 500 }])
      const beforeRetry = yield* requests
      const [retried, retryMillis] = yield* timed(client.getToken("https://management.azure.com"))
      row(
        "injected 500",
        `${retried.source} after a jittered back-off: ${exchanges((yield* requests) - beforeRetry)}`,
        retryMillis
      )

      const [challenged, claimsMillis] = yield* timed(
        client.getToken("https://vault.azure.net", { claims: "{\"access_token\":{\"nbf\":{\"essential\":true}}}" })
      )
      const last = (yield* emulator.requests).filter((request) => request.source === kind).at(-1)
      const revocation = last?.query.token_sha256_to_refresh === undefined ? "" : ", token_sha256_to_refresh sent"
      const capabilities = last?.query.xms_cc === undefined ? "" : `, xms_cc=${last.query.xms_cc}`
      row(
        "claims challenge",
        `${challenged.source}, new token ${
          Redacted.value(challenged.token) === Redacted.value(first.token) ? "NOT " : ""
        }issued${revocation}${capabilities}`,
        claimsMillis
      )
    }))

    yield* Effect.scoped(Effect.gen(function*() {
      const client = yield* Layer.build(clientLayer(emulator, ManagedIdentity.clientId(userAssignedClientId))).pipe(
        Effect.map((context) => context.unsafeMap.get(ManagedIdentityClient.ManagedIdentityClient.key) as ManagedIdentityClient.ManagedIdentityClient.Service)
      )
      const [outcome, millis] = yield* timed(Effect.either(client.getToken("https://vault.azure.net")))
      row(
        "user-assigned (client id)",
        outcome._tag === "Right"
          ? `${outcome.right.source}: ${describeToken(outcome.right.token)}`
          : `${outcome.left._tag}: ${outcome.left.message}`,
        millis
      )
    }))
    return rows
  }).pipe(
    withEnvironment(emulator.env(kind)),
    Effect.catchAll((error) =>
      Effect.succeed([{ source: name, step: "failed", result: `${error._tag}: ${error.message}`, millis: 0 }])
    )
  )

const formatMillis = (millis: number): string =>
  millis < 1 ? `${(millis * 1000).toFixed(0)} µs` : `${millis.toFixed(1)} ms`

const table = (rows: ReadonlyArray<Row>): string => {
  const widths = {
    source: Math.max(6, ...rows.map((row) => row.source.length)),
    step: Math.max(4, ...rows.map((row) => row.step.length)),
    result: Math.max(6, ...rows.map((row) => row.result.length))
  }
  const line = (source: string, step: string, result: string, time: string) =>
    `${source.padEnd(widths.source)}  ${step.padEnd(widths.step)}  ${result.padEnd(widths.result)}  ${time.padStart(9)}`
  return [
    line("Source", "Step", "Result", "Time"),
    line("-".repeat(widths.source), "-".repeat(widths.step), "-".repeat(widths.result), "-".repeat(9)),
    ...rows.map((row, index) =>
      line(
        index > 0 && rows[index - 1].source === row.source ? "" : row.source,
        row.step,
        row.result,
        formatMillis(row.millis)
      )
    )
  ].join("\n")
}

/** The demo: the emulator on loopback and a token through every source, shown as a table. */
export const run: Effect.Effect<void, ManagedIdentityEmulator.EmulatorError> = Effect.scoped(
  Effect.gen(function*() {
    const started = yield* Clock.currentTimeMillis
    const emulator = yield* ManagedIdentityEmulator.start()
    yield* Console.log(`Emulator on ${emulator.baseUrl} (Service Fabric on ${emulator.serviceFabricUrl})\n`)
    const rows = yield* Effect.forEach(sources, ({ kind, name }) => demoSource(emulator, kind, name))
    yield* Console.log(table(rows.flat()))
    const failed = rows.flat().filter((row) => row.step === "failed")
    yield* Console.log(`\nDone in ${(((yield* Clock.currentTimeMillis) - started) / 1000).toFixed(1)} s.`)
    if (failed.length > 0) yield* Effect.sync(() => process.exitCode = 1)
  })
)
