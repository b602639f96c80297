/**
 * `verifyIdentity` through the Node stack (`NodeManagedIdentity.layerWithOptions`) against the real emulator: its
 * `{ otherIdentity: true }` fault issues a token for another identity, as IMDS does for a VM with one user-assigned
 * identity and no system-assigned one.
 */
import { assert, describe, layer } from "@effect/vitest"
import { ManagedIdentity } from "@managed-identity/core"
import { ManagedIdentityEmulator } from "@managed-identity/emulator"
import { claimsOf } from "@managed-identity/test-utils/Jwt"
import { Effect, Redacted } from "effect"
import { allSources, clientLayer, getToken, onHost } from "./utils/emulatorStack.js"

const vault = "https://vault.azure.net"
const other = ManagedIdentityEmulator.otherIdentity
const requestsPerToken = (kind: ManagedIdentityEmulator.SourceKind) => kind === "AzureArc" ? 2 : 1
const verifying = { client: { verifyIdentity: true } } as const

/** One emulator for every test here (the real clock); each test builds its own client, so its own cache. */
layer(ManagedIdentityEmulator.layer(), { excludeTestServices: true })((it) => {
  describe("verifyIdentity against the emulator", () => {
    for (const kind of allSources) {
      it.effect(`${kind}: another identity's token is IdentityMismatch, not cached; the next call gets the right one`, () =>
        Effect.gen(function*() {
          const emulator = yield* ManagedIdentityEmulator.ManagedIdentityEmulator
          const before = yield* emulator.requestCount(kind)
          yield* emulator.setFaults(kind, [{ otherIdentity: true }])
          const [error, first, second] = yield* Effect.all([
            Effect.flip(getToken(vault)),
            getToken(vault),
            getToken(vault)
          ]).pipe(
            Effect.provide(clientLayer(emulator, ManagedIdentity.systemAssigned, verifying)),
            onHost(emulator, kind)
          )
          assert(error._tag === "IdentityMismatch", `${kind}: ${error._tag}: ${error.message}`)
          assert.strictEqual(error.source, kind)
          assert.strictEqual(
            error.requested,
            kind === "WorkloadIdentity"
              ? `client id ${emulator.env(kind).AZURE_CLIENT_ID} (AZURE_CLIENT_ID)`
              : "the system-assigned identity"
          )
          assert.include(error.received, other.clientId)
          assert.include(error.message, other.clientId)
          assert.notInclude(`${String(error)}${JSON.stringify(error)}`, "eyJ")
          assert.deepStrictEqual([first.source, second.source], ["identity_provider", "cache"])
          assert.strictEqual(
            claimsOf(first.token).appid,
            ManagedIdentityEmulator.systemAssignedIdentities[kind].clientId
          )
          assert.strictEqual(Redacted.value(second.token), Redacted.value(first.token))
          assert.strictEqual((yield* emulator.requestCount(kind)) - before, 2 * requestsPerToken(kind))
        }))
    }

    it.effect("IMDS, user-assigned by client id: another identity's token names both ids; a match is served", () =>
      Effect.gen(function*() {
        const emulator = yield* ManagedIdentityEmulator.ManagedIdentityEmulator
        const clientId = "7f4c1e55-0000-4000-8000-0000000verif"
        yield* emulator.setFaults("Imds", [{ otherIdentity: true }])
        const [error, token] = yield* Effect.all([Effect.flip(getToken(vault)), getToken(vault)]).pipe(
          Effect.provide(clientLayer(emulator, ManagedIdentity.clientId(clientId), verifying)),
          onHost(emulator, "Imds")
        )
        assert.strictEqual(claimsOf(token.token).appid, clientId)
        assert(error._tag === "IdentityMismatch", error._tag)
        assert.strictEqual(error.requested, `client id ${clientId}`)
        assert.include(error.message, `not for client id ${clientId}`)
        assert.include(error.message, other.resourceId)
      }))

    it.effect("Azure ML with DEFAULT_IDENTITY_CLIENT_ID: the compute's default identity answers system-assigned", () =>
      Effect.gen(function*() {
        const emulator = yield* ManagedIdentityEmulator.ManagedIdentityEmulator
        const defaultClientId = "7f4c1e55-0000-4000-8000-00000000def1"
        const token = yield* getToken(vault).pipe(
          Effect.provide(clientLayer(emulator, ManagedIdentity.systemAssigned, verifying)),
          onHost(emulator, "MachineLearning", {
            ...emulator.env("MachineLearning"),
            DEFAULT_IDENTITY_CLIENT_ID: defaultClientId
          })
        )
        assert.strictEqual(claimsOf(token.token).appid, defaultClientId)
        assert.match(claimsOf(token.token).xms_mirid, /userAssignedIdentities/)
      }))
  })
})
