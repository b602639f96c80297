import { assert, describe, it } from "@effect/vitest"
import { ManagedIdentity, ManagedIdentityClient } from "@managed-identity/core"
import type { Layer } from "effect"
import { Effect, Redacted } from "effect"
import * as ManagedIdentityEmulator from "../src/ManagedIdentityEmulator.js"
import * as NodeManagedIdentity from "../src/NodeManagedIdentity.js"
import { allSources, clientLayer, getToken, onHost } from "./utils/emulatorStack.js"
import { claimsOf } from "./utils/jwt.js"

const userAssignedClientId = "7f4c1e55-0000-4000-8000-00000000abcd"
const supportsUserAssigned = new Set(["Imds", "AppService", "AzureArc", "MachineLearning", "WorkloadIdentity"])
const requestsPerToken = (kind: ManagedIdentityEmulator.SourceKind) => kind === "AzureArc" ? 2 : 1

describe("NodeManagedIdentity against the emulator", () => {
  for (const kind of allSources) {
    describe(kind, () => {
      it.live("system-assigned: token from the endpoint, then from the cache", () =>
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
        }).pipe(Effect.provide(ManagedIdentityEmulator.layer())))

      it.live(
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
          }).pipe(Effect.provide(ManagedIdentityEmulator.layer()))
      )

      it.live("100 concurrent first calls cause one token request", () =>
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
        }).pipe(Effect.provide(ManagedIdentityEmulator.layer())))
    })
  }
})
