/**
 * The Effect 4 Node layers against the emulator, beyond the conformance suite: Service Fabric's pin refusing a wrong
 * certificate before anything is sent, identity bindings trusting only the cluster's CA, and the file cache shared by
 * two "processes".
 */
import { assert, describe, it } from "@effect/vitest"
import * as Emulator from "@managed-identity/conformance/Emulator"
import { ManagedIdentity, ManagedIdentityClient, ManagedIdentitySource, RetryPolicy } from "@managed-identity/effect4"
import { ConfigProvider, Effect, Layer, Redacted } from "effect"
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as NodeManagedIdentity from "../src/NodeManagedIdentity.js"
import * as NodeTokenCache from "../src/NodeTokenCache.js"

const vault = "https://vault.azure.net"

const emulator = Effect.acquireRelease(Effect.promise(() => Emulator.start()), (handle) => Effect.promise(handle.close))

/** The client of `NodeManagedIdentity.layerWithOptions` on a host with `env`, the emulator's STS CA trusted. */
const clientLayer = (handle: Emulator.Handle, env: Record<string, string>, options: NodeManagedIdentity.Options = {}) =>
  NodeManagedIdentity.layerWithOptions({
    ...options,
    source: {
      azureArcKeyDirectory: handle.emulator.arcKeyDirectory,
      retrySchedule: RetryPolicy.none,
      ...options.source
    }
  }).pipe(
    Layer.provide(ManagedIdentity.layerSystemAssigned),
    Layer.provide(Layer.succeed(FetchHttpClient.Fetch, handle.fetch)),
    Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env })))
  )

const getToken = Effect.flatMap(ManagedIdentityClient.ManagedIdentityClient, (client) => client.getToken(vault))

describe("NodeManagedIdentity (Effect 4) against the emulator", () => {
  it.live("Service Fabric: a wrong thumbprint is a ServiceFabricCertificateMismatch, and nothing reaches the endpoint", () =>
    Effect.gen(function*() {
      const handle = yield* emulator
      const env = handle.env("ServiceFabric")
      const right = env.IDENTITY_SERVER_THUMBPRINT.toLowerCase()
      const wrong = `${right.slice(0, -1)}${right.endsWith("0") ? "1" : "0"}`
      const error = yield* Effect.flip(
        getToken.pipe(Effect.provide(clientLayer(handle, { ...env, IDENTITY_SERVER_THUMBPRINT: wrong })))
      )
      assert(error._tag === "ServiceFabricCertificateMismatch", error._tag)
      assert.include(error.reason, wrong)
      assert.include(error.reason, right)
      assert.strictEqual((yield* Effect.promise(() => handle.requests("ServiceFabric"))).length, 0)
      const token = yield* getToken.pipe(Effect.provide(clientLayer(handle, env)))
      assert.strictEqual(token.resource, vault)
    }).pipe(Effect.scoped))

  it.live("identity bindings: the token proxy, trusted only through the cluster's CA file", () =>
    Effect.gen(function*() {
      const handle = yield* emulator
      const env = handle.env("WorkloadIdentity", { identityBindings: true })
      const layer = clientLayer(handle, env, { source: { identityBindings: true } })
      const token = yield* getToken.pipe(Effect.provide(layer))
      assert.strictEqual(token.source, "identity_provider")
      Fs.writeFileSync(env.AZURE_KUBERNETES_CA_FILE, handle.emulator.workloadIdentity.caCertificate)
      const untrusted = yield* Effect.flip(getToken.pipe(Effect.provide(layer)))
      assert.strictEqual(untrusted._tag, "InvalidIdentity", "an untrusted certificate is never retried")
      assert.include(untrusted.message, "UNABLE_TO_VERIFY_LEAF_SIGNATURE")
      assert.deepStrictEqual(
        (yield* Effect.promise(() => handle.requests("WorkloadIdentity"))).map((request) => request.path),
        [`/identity-binding/${handle.emulator.workloadIdentity.tenantId}/oauth2/v2.0/token`]
      )
    }).pipe(Effect.scoped))

  it.live("NodeTokenCache.layerFile: a second process over the same directory gets a cache hit; 0700, 0600", () =>
    Effect.gen(function*() {
      const handle = yield* emulator
      const directory = Path.join(Fs.mkdtempSync(Path.join(Os.tmpdir(), "mi-effect4-cache-")), "tokens")
      const inProcess = getToken.pipe(
        Effect.provide(
          ManagedIdentityClient.layer.pipe(
            Layer.provide(ManagedIdentitySource.layer),
            Layer.provide(NodeTokenCache.layerFile(directory)),
            Layer.provide(ManagedIdentity.layerSystemAssigned),
            Layer.provide(NodeManagedIdentity.layerPlatform),
            Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env: handle.env("Imds") })))
          )
        )
      )
      const first = yield* inProcess
      const second = yield* inProcess
      assert.deepStrictEqual([first.source, second.source], ["identity_provider", "cache"])
      assert.strictEqual(Redacted.value(second.token), Redacted.value(first.token))
      assert.strictEqual((yield* Effect.promise(() => handle.requests("Imds"))).length, 1)
      assert.strictEqual(Fs.statSync(directory).mode & 0o777, 0o700)
      const files = Fs.readdirSync(directory)
      assert.strictEqual(files.length, 1)
      assert.match(files[0], /^[0-9a-f]{64}\.token\.json$/)
      assert.strictEqual(Fs.statSync(Path.join(directory, files[0])).mode & 0o777, 0o600)
    }).pipe(Effect.scoped))
})
