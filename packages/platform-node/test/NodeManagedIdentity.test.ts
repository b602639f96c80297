import { FetchHttpClient, HttpClient } from "@effect/platform"
import { assert, describe, layer } from "@effect/vitest"
import { ManagedIdentity, ManagedIdentityClient } from "@managed-identity/core"
import { ManagedIdentityEmulator } from "@managed-identity/emulator"
import { claimsOf } from "@managed-identity/test-utils/Jwt"
import { ConfigProvider, Effect, Layer, Redacted } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as NodeManagedIdentity from "../src/NodeManagedIdentity.js"
import { allSources, clientLayer, getToken, onHost } from "./utils/emulatorStack.js"

const userAssignedClientId = "7f4c1e55-0000-4000-8000-00000000abcd"
const supportsUserAssigned = new Set(["Imds", "AppService", "AzureArc", "MachineLearning", "WorkloadIdentity"])
const requestsPerToken = (kind: ManagedIdentityEmulator.SourceKind) => kind === "AzureArc" ? 2 : 1

/** One emulator for every test here (the real clock): each counts the requests it causes, each builds its own client. */
layer(ManagedIdentityEmulator.layer(), { excludeTestServices: true })((it) => {
  describe("NodeManagedIdentity against the emulator", () => {
    for (const kind of allSources) {
      describe(kind, () => {
        it.effect("system-assigned: token from the endpoint, then from the cache", () =>
          Effect.gen(function*() {
            const emulator = yield* ManagedIdentityEmulator.ManagedIdentityEmulator
            const before = yield* emulator.requestCount(kind)
            const [first, second, source] = yield* Effect.all([
              getToken("https://vault.azure.net"),
              getToken("https://vault.azure.net"),
              Effect.map(ManagedIdentityClient.ManagedIdentityClient, (client) => client.source)
            ]).pipe(
              Effect.provide(
                kind === "AzureArc"
                  ? clientLayer(emulator)
                  : NodeManagedIdentity.layer as Layer.Layer<ManagedIdentityClient.ManagedIdentityClient, unknown>
              ),
              onHost(emulator, kind)
            )
            assert.strictEqual(source, kind)
            assert.strictEqual(first.source, "identity_provider")
            assert.strictEqual(second.source, "cache")
            assert.strictEqual(Redacted.value(second.token), Redacted.value(first.token))
            const claims = claimsOf(first.token)
            assert.strictEqual(claims.aud, "https://vault.azure.net")
            assert.strictEqual(claims.xms_src, kind)
            assert.strictEqual(claims.appid, ManagedIdentityEmulator.systemAssignedIdentities[kind].clientId)
            assert.strictEqual((yield* emulator.requestCount(kind)) - before, requestsPerToken(kind))
          }))

        it.effect(
          supportsUserAssigned.has(kind)
            ? "user-assigned by client id: the token names that identity"
            : "user-assigned: InvalidIdentity and no request",
          () =>
            Effect.gen(function*() {
              const emulator = yield* ManagedIdentityEmulator.ManagedIdentityEmulator
              const before = yield* emulator.requestCount(kind)
              const result = yield* getToken("https://storage.azure.com").pipe(
                Effect.provide(clientLayer(emulator, ManagedIdentity.clientId(userAssignedClientId))),
                onHost(emulator, kind),
                Effect.either
              )
              if (supportsUserAssigned.has(kind)) {
                assert.strictEqual(result._tag, "Right")
                if (result._tag === "Right") {
                  assert.strictEqual(claimsOf(result.right.token).appid, userAssignedClientId)
                }
                assert.strictEqual((yield* emulator.requestCount(kind)) - before, requestsPerToken(kind))
              } else {
                assert.strictEqual(result._tag, "Left")
                if (result._tag === "Left") assert.strictEqual(result.left._tag, "InvalidIdentity")
                assert.strictEqual((yield* emulator.requestCount(kind)) - before, 0)
              }
            })
        )

        it.effect("100 concurrent first calls cause one token request", () =>
          Effect.gen(function*() {
            const emulator = yield* ManagedIdentityEmulator.ManagedIdentityEmulator
            const before = yield* emulator.requestCount(kind)
            const tokens = yield* Effect.all(
              Array.from({ length: 100 }, () => getToken("https://management.azure.com")),
              {
                concurrency: "unbounded"
              }
            ).pipe(Effect.provide(clientLayer(emulator)), onHost(emulator, kind))
            assert.strictEqual(new Set(tokens.map((token) => Redacted.value(token.token))).size, 1)
            assert.strictEqual((yield* emulator.requestCount(kind)) - before, requestsPerToken(kind))
          }))
      })
    }
  })

  describe("NodeManagedIdentity next to an app's own HttpClient", () => {
    /** A loopback server that answers every request with a 302 to the same path on `target`. */
    const redirectingServer = (target: string) =>
      Effect.acquireRelease(
        Effect.async<Http.Server>((resume) => {
          const server = Http.createServer((request, response) => {
            response.writeHead(302, { location: `${target}${request.url}` })
            response.end()
          })
          server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
        }),
        (server) =>
          Effect.async<void>((resume) => {
            server.close(() => resume(Effect.void))
          })
      )

    it.effect("FetchHttpClient.layer in the same provide: the app's client follows redirects, ours never does", () =>
      Effect.gen(function*() {
        const emulator = yield* ManagedIdentityEmulator.ManagedIdentityEmulator
        const imds = emulator.env("Imds").AZURE_POD_IDENTITY_AUTHORITY_HOST
        const server = yield* redirectingServer(imds)
        const redirecting = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
        const before = yield* emulator.requestCount("Imds")
        const [appStatus, token] = yield* Effect.all([
          Effect.map(HttpClient.get(`${redirecting}/metadata/identity/oauth2/token`), (response) => response.status),
          Effect.either(getToken("https://vault.azure.net"))
        ]).pipe(
          Effect.provide(Layer.merge(FetchHttpClient.layer, NodeManagedIdentity.layer)),
          Effect.withConfigProvider(
            ConfigProvider.fromMap(new Map([["AZURE_POD_IDENTITY_AUTHORITY_HOST", redirecting]]))
          )
        )
        assert.notStrictEqual(appStatus, 302)
        assert.strictEqual(token._tag, "Left")
        if (token._tag === "Left") {
          assert.strictEqual(token.left._tag, "TokenRequestFailed")
          if (token.left._tag === "TokenRequestFailed") assert.strictEqual(token.left.status, 302)
        }
        // The app's own request followed the redirect to the emulator once; ours never reached it.
        assert.strictEqual((yield* emulator.requestCount("Imds")) - before, 1)
      }).pipe(Effect.scoped))
  })
})
