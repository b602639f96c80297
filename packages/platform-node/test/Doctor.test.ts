/**
 * `ManagedIdentitySource.diagnose` on the real Node stack against the real emulator, for every source (workload
 * identity included, whose system-assigned identity is `AZURE_CLIENT_ID`'s): a matching identity gives no error
 * finding, a token for another identity gives an error naming both, a 10-minute skew a warning, and neither the report
 * nor the page `managed-identity doctor` prints holds a token, a secret, an Azure Arc key or the federated assertion.
 */
import { assert, describe, it } from "@effect/vitest"
import { ManagedIdentity, ManagedIdentitySource, TokenCache } from "@managed-identity/core"
import { ManagedIdentityEmulator } from "@managed-identity/emulator"
import { Effect, Layer, Option, Redacted, Schema } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { formatDiagnosis } from "../src/cli/doctor.js"
import * as NodeManagedIdentity from "../src/NodeManagedIdentity.js"
import * as NodeTokenCache from "../src/NodeTokenCache.js"
import { allSources, onHost } from "./utils/emulatorStack.js"

type SourceKind = ManagedIdentityEmulator.SourceKind

const other = ManagedIdentityEmulator.otherIdentity

/** A JWT-shaped string: what no report or page may hold. */
const jwtShaped = /eyJ[\w-]{8,}\.eyJ[\w-]{8,}/

const diagnoseOn = (
  emulator: ManagedIdentityEmulator.Emulator,
  kind: SourceKind,
  identity: ManagedIdentity.Identity = ManagedIdentity.systemAssigned,
  cache: Layer.Layer<TokenCache.TokenCache, unknown> = TokenCache.layerMemory
) =>
  ManagedIdentitySource.diagnose({ azureArcKeyDirectory: emulator.arcKeyDirectory }).pipe(
    Effect.provide(cache),
    Effect.provide(ManagedIdentity.layer(identity)),
    Effect.provide(NodeManagedIdentity.layerPlatform),
    onHost(emulator, kind),
    Effect.orDie
  )

const errors = (report: ManagedIdentitySource.Diagnosis) =>
  report.findings.filter((finding) => finding.level === "error")

const findingOf = (report: ManagedIdentitySource.Diagnosis, code: ManagedIdentitySource.FindingCode) => {
  const found = report.findings.find((finding) => finding.code === code)
  assert.isDefined(found, `no ${code} in ${JSON.stringify(report.findings)}`)
  return found!
}

/** The report as JSON and as the printed page, checked for tokens and for the emulator's secrets and Arc key. */
const expectNoSecret = (emulator: ManagedIdentityEmulator.Emulator, report: ManagedIdentitySource.Diagnosis) =>
  Effect.gen(function*() {
    const arcKey = Option.map(yield* emulator.lastArcKey, Redacted.value)
    const assertion = Redacted.value(yield* emulator.workloadIdentity.federatedToken)
    const secrets = [...Object.values(emulator.secrets), ...Option.toArray(arcKey), assertion]
    for (
      const output of [
        JSON.stringify(Schema.encodeSync(ManagedIdentitySource.Diagnosis)(report)),
        formatDiagnosis(report)
      ]
    ) {
      assert.notMatch(output, jwtShaped)
      for (const secret of secrets) assert.notInclude(output, secret)
    }
  })

/** The sources that take a user-assigned identity by client id. */
const byClientId: ReadonlyArray<SourceKind> = ["Imds", "AppService", "AzureArc", "MachineLearning", "WorkloadIdentity"]

describe("ManagedIdentitySource.diagnose against the emulator", () => {
  it.scopedLive("every source: a matching identity has no error finding; the report and page hold no secret", () =>
    Effect.gen(function*() {
      const emulator = yield* ManagedIdentityEmulator.start()
      for (const kind of allSources) {
        const report = yield* diagnoseOn(emulator, kind)
        assert.strictEqual(report.detection.kind, kind)
        assert.deepStrictEqual(errors(report), [], kind)
        assert.strictEqual(findingOf(report, "identity.match").level, "ok")
        assert.strictEqual(findingOf(report, "clock.ok").level, "ok")
        assert.strictEqual(report.token?.claims?.appid, ManagedIdentityEmulator.systemAssignedIdentities[kind].clientId)
        assert.deepStrictEqual(report.reachability?.outcome, { _tag: "Token" }, kind)
        yield* expectNoSecret(emulator, report)
      }
      for (const kind of byClientId) {
        const report = yield* diagnoseOn(
          emulator,
          kind,
          ManagedIdentity.clientId("5c1a9b72-0d3e-4e0f-9a55-0000000000aa")
        )
        assert.deepStrictEqual(errors(report), [], kind)
        assert.strictEqual(report.identityCheck.verdict, "match", kind)
      }
    }))

  it.scopedLive("every source: another identity's token is an error finding naming both identities", () =>
    Effect.gen(function*() {
      const emulator = yield* ManagedIdentityEmulator.start()
      for (const kind of allSources) {
        yield* emulator.setFaults(kind, [{ otherIdentity: true }])
        const report = yield* diagnoseOn(emulator, kind)
        assert.deepStrictEqual(errors(report).map((finding) => finding.code), ["identity.mismatch"], kind)
        const message = findingOf(report, "identity.mismatch").message
        // On workload identity the system-assigned identity is AZURE_CLIENT_ID's.
        assert.include(
          message,
          kind === "WorkloadIdentity"
            ? `asked for client id ${emulator.workloadIdentity.clientId} (AZURE_CLIENT_ID)`
            : "asked for the system-assigned identity",
          kind
        )
        assert.include(message, other.resourceId, kind)
        assert.include(message, other.clientId, kind)
        assert.strictEqual(report.identityCheck.verdict, "mismatch")
        if (kind === "Imds") assert.include(message, "IMDS quirk")
        yield* expectNoSecret(emulator, report)
      }
      const asked = "5c1a9b72-0d3e-4e0f-9a55-0000000000aa"
      for (const kind of byClientId) {
        yield* emulator.setFaults(kind, [{ otherIdentity: true }])
        const report = yield* diagnoseOn(emulator, kind, ManagedIdentity.clientId(asked))
        assert.deepStrictEqual(errors(report).map((finding) => finding.code), ["identity.mismatch"], kind)
        const message = findingOf(report, "identity.mismatch").message
        assert.include(message, asked, kind)
        assert.include(message, other.clientId, kind)
        // Azure Arc echoes the identity it issued for, so its source refuses the token: IdentityNotConfirmed.
        assert.strictEqual(report.token === null, kind === "AzureArc", kind)
      }
    }))

  it.scopedLive("every source: an iat 10 minutes off is a clock.skew warning, and no error", () =>
    Effect.gen(function*() {
      const emulator = yield* ManagedIdentityEmulator.start()
      for (const [kind, skew] of allSources.map((kind, index) => [kind, index % 2 === 0 ? 600 : -600] as const)) {
        yield* emulator.setFaults(kind, [{ skew }])
        const report = yield* diagnoseOn(emulator, kind)
        assert.deepStrictEqual(errors(report), [], kind)
        assert.strictEqual(findingOf(report, "clock.skew").level, "warning", kind)
        assert.include(findingOf(report, "clock.skew").message, "10 min", kind)
        assert.isTrue(
          Math.abs((report.clock?.offsetSeconds ?? 0) - skew) <= 2,
          `${kind} ${report.clock?.offsetSeconds}`
        )
      }
    }))

  it.scopedLive("workload identity with identity bindings: the request goes to the token proxy, and matches", () =>
    Effect.gen(function*() {
      const emulator = yield* ManagedIdentityEmulator.start()
      const env = emulator.env("WorkloadIdentity", { identityBindings: true })
      const report = yield* ManagedIdentitySource.diagnose({ identityBindings: true }).pipe(
        Effect.provide(TokenCache.layerMemory),
        Effect.provide(ManagedIdentity.layerSystemAssigned),
        Effect.provide(NodeManagedIdentity.layerPlatform),
        onHost(emulator, "WorkloadIdentity", env),
        Effect.orDie
      )
      assert.deepStrictEqual(errors(report), [])
      assert.strictEqual(report.reachability?.endpoint, env.AZURE_KUBERNETES_TOKEN_PROXY)
      assert.deepStrictEqual(
        report.sources[0].variables.find((variable) => variable.name === "AZURE_KUBERNETES_CA_FILE")?.target,
        { _tag: "File", path: env.AZURE_KUBERNETES_CA_FILE }
      )
      yield* expectNoSecret(emulator, report)
    }))

  it.scopedLive("the file cache: a token served from it, and files or a directory open to others are an error", () =>
    Effect.gen(function*() {
      const emulator = yield* ManagedIdentityEmulator.start()
      const directory = Fs.mkdtempSync(Path.join(Os.tmpdir(), "managed-identity-doctor-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(directory, { recursive: true, force: true })))
      const cache = yield* Layer.build(NodeTokenCache.layerFile(directory))
      const first = yield* diagnoseOn(
        emulator,
        "AppService",
        ManagedIdentity.systemAssigned,
        Layer.succeedContext(cache)
      )
      assert.deepStrictEqual(first.cache, {
        description: { _tag: "Directory", directory },
        permissions: { directoryMode: "0700", files: 1, tooOpen: [] }
      })
      assert.strictEqual(findingOf(first, "cache.directory").level, "ok")

      const [file] = Fs.readdirSync(directory)
      Fs.chmodSync(Path.join(directory, file), 0o644)
      Fs.chmodSync(directory, 0o755)
      const second = yield* diagnoseOn(
        emulator,
        "AppService",
        ManagedIdentity.systemAssigned,
        Layer.succeedContext(cache)
      )
      assert.strictEqual(second.token?.origin, "cache")
      assert.deepStrictEqual(second.reachability?.outcome, { _tag: "Token" })
      assert.deepStrictEqual(second.cache.permissions, {
        directoryMode: "0755",
        files: 1,
        tooOpen: [{ name: file, mode: "0644" }]
      })
      const permissions = findingOf(second, "cache.permissions")
      assert.strictEqual(permissions.level, "error")
      assert.include(permissions.message, "the directory is 0755")
      assert.include(permissions.message, `${file} 0644`)
      assert.strictEqual(yield* emulator.requestCount("AppService"), 2)
    }))
})
