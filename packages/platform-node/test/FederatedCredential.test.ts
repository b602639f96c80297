/**
 * A managed identity as a federated credential through the Node stack and the real emulator: hop 1 (IMDS, the
 * managed identity's token for `api://AzureADTokenExchange`), hop 2 (the STS's exchange for the application's token).
 * The emulator runs on the test's `TestClock`, so expiry is driven without waiting.
 */
import { assert, describe, it } from "@effect/vitest"
import { ManagedIdentity, RetryPolicy } from "@managed-identity/core"
import { ManagedIdentityEmulator } from "@managed-identity/emulator"
import { claimsOf } from "@managed-identity/test-utils/Jwt"
import { Effect, Layer, Redacted, TestClock } from "effect"
import * as NodeManagedIdentity from "../src/NodeManagedIdentity.js"
import { getToken, onHost } from "./utils/emulatorStack.js"

const graph = "https://graph.microsoft.com"
const application = ManagedIdentityEmulator.systemAssignedIdentities.FederatedCredential

/** The requests each hop received: IMDS's, and the STS's exchanges. */
const hops = (emulator: ManagedIdentityEmulator.Emulator) =>
  Effect.map(emulator.requests, (all) => ({
    imds: all.filter((request) => request.source === "Imds"),
    exchange: all.filter((request) => request.source === "FederatedCredential"),
    workload: all.filter((request) => request.source === "WorkloadIdentity")
  }))

describe("a managed identity as a federated credential, against the emulator", () => {
  it.scoped("1000 concurrent callers: one request to each hop; after expiry, one more to each", () =>
    Effect.gen(function*() {
      const emulator = yield* ManagedIdentityEmulator.start()
      const env = emulator.env("FederatedCredential")
      yield* Effect.gen(function*() {
        const client = yield* Layer.build(NodeManagedIdentity.layerFederatedCredential)
        const tokens = yield* Effect.all(Array.from({ length: 1000 }, () => getToken(graph)), {
          concurrency: "unbounded"
        }).pipe(Effect.provide(client))
        assert.strictEqual(new Set(tokens.map((token) => Redacted.value(token.token))).size, 1)
        const claims = claimsOf(tokens[0].token)
        assert.strictEqual(claims.aud, graph)
        assert.strictEqual(claims.appid, application.clientId)
        assert.strictEqual(claims.xms_src, "FederatedCredential")
        const first = yield* hops(emulator)
        assert.strictEqual(first.imds.length, 1)
        assert.strictEqual(first.exchange.length, 1)
        assert.strictEqual(first.workload.length, 0)
        assert.strictEqual(first.imds[0].query.resource, "api://AzureADTokenExchange")
        const form = Object.fromEntries(new URLSearchParams(first.exchange[0].body))
        assert.strictEqual(first.exchange[0].path, `/${env.MANAGED_IDENTITY_FEDERATED_TENANT_ID}/oauth2/v2.0/token`)
        assert.deepStrictEqual(Object.keys(form), [
          "client_id",
          "scope",
          "grant_type",
          "client_assertion_type",
          "client_assertion"
        ])
        assert.strictEqual(form.client_id, application.clientId)
        assert.strictEqual(form.scope, `${graph}/.default`)
        assert.strictEqual(form.grant_type, "client_credentials")
        assert.strictEqual(form.client_assertion_type, "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
        assert.strictEqual(claimsOf(form.client_assertion).aud, "api://AzureADTokenExchange")
        assert.strictEqual(
          claimsOf(form.client_assertion).appid,
          ManagedIdentityEmulator.systemAssignedIdentities.Imds.clientId
        )

        const cached = yield* getToken(graph).pipe(Effect.provide(client))
        assert.strictEqual(cached.source, "cache")
        yield* TestClock.adjust("86401 seconds")
        const renewed = yield* Effect.all(Array.from({ length: 1000 }, () => getToken(graph)), {
          concurrency: "unbounded"
        }).pipe(Effect.provide(client))
        assert.strictEqual(renewed[0].source, "identity_provider")
        assert.notStrictEqual(Redacted.value(renewed[0].token), Redacted.value(tokens[0].token))
        const second = yield* hops(emulator)
        assert.strictEqual(second.imds.length, 2)
        assert.strictEqual(second.exchange.length, 2)
        const renewedAssertion = new URLSearchParams(second.exchange[1].body).get("client_assertion")
        assert.notStrictEqual(renewedAssertion, form.client_assertion)
      }).pipe(onHost(emulator, "FederatedCredential"))
    }))

  it.scoped("a user-assigned managed identity is the credential: hop 1 names it", () =>
    Effect.gen(function*() {
      const emulator = yield* ManagedIdentityEmulator.start()
      const env = emulator.env("FederatedCredential")
      const managedIdentity = "7f4c1e55-0000-4000-8000-00000000abcd"
      const token = yield* getToken(graph).pipe(
        Effect.provide(
          NodeManagedIdentity.layerWithOptions({
            federatedCredential: {
              clientId: env.MANAGED_IDENTITY_FEDERATED_CLIENT_ID,
              tenantId: env.MANAGED_IDENTITY_FEDERATED_TENANT_ID,
              authorityHost: env.AZURE_AUTHORITY_HOST
            }
          }).pipe(Layer.provide(ManagedIdentity.layer(ManagedIdentity.clientId(managedIdentity))))
        ),
        onHost(emulator, "FederatedCredential")
      )
      assert.strictEqual(claimsOf(token.token).appid, application.clientId)
      const { exchange, imds } = yield* hops(emulator)
      assert.strictEqual(imds[0].query.client_id, managedIdentity)
      assert.strictEqual(
        claimsOf(new URLSearchParams(exchange[0].body).get("client_assertion")!).appid,
        managedIdentity
      )
    }))

  /** The error of the federated flow with `env` changed and `faults` played, hop 1 not retried. */
  const refused = (
    change: (env: Record<string, string>) => Record<string, string>,
    faults?: ManagedIdentityEmulator.FaultScripts
  ) =>
    Effect.gen(function*() {
      const emulator = yield* ManagedIdentityEmulator.start(faults === undefined ? {} : { faults })
      const error = yield* getToken(graph).pipe(
        Effect.provide(
          NodeManagedIdentity.layerWithOptions({
            federatedCredential: "config",
            source: { retrySchedule: RetryPolicy.none }
          }).pipe(Layer.provide(ManagedIdentity.layerSystemAssigned))
        ),
        onHost(emulator, "FederatedCredential", change(emulator.env("FederatedCredential"))),
        Effect.flip
      )
      return { emulator, error, hops: yield* hops(emulator) }
    })

  /** No text of `error` holds the assertion the exchange carried. */
  const assertionHidden = (error: unknown, exchange: ReadonlyArray<{ readonly body: string }>) => {
    for (const request of exchange) {
      const assertion = new URLSearchParams(request.body).get("client_assertion")!
      assert.isAbove(assertion.length, 20)
      for (const text of [String(error), JSON.stringify(error), (error as Error).message]) {
        assert.notInclude(text, assertion)
      }
    }
  }

  it.scoped("an audience the application does not trust: AADSTS700212, the assertion in no error text", () =>
    Effect.gen(function*() {
      const { error, hops } = yield* refused((env) => ({
        ...env,
        MANAGED_IDENTITY_FEDERATED_AUDIENCE: "api://AzureADTokenExchangeUSGov"
      }))
      assert.strictEqual(error._tag, "TokenRequestFailed")
      if (error._tag !== "TokenRequestFailed") return
      assert.strictEqual(error.source, "FederatedCredential")
      assert.strictEqual(error.status, 400)
      assert.strictEqual(error.error, "invalid_client")
      assert.match(error.description ?? "", /^AADSTS700212: /)
      assert.strictEqual(hops.imds[0].query.resource, "api://AzureADTokenExchangeUSGov")
      assert.strictEqual(hops.exchange.length, 1)
      assertionHidden(error, hops.exchange)
    }))

  it.scoped("an application not registered in the tenant: AADSTS700016, not retried", () =>
    Effect.gen(function*() {
      const { error, hops } = yield* refused((env) => ({
        ...env,
        MANAGED_IDENTITY_FEDERATED_CLIENT_ID: "0d0d0d0d-0000-4000-8000-000000000000"
      }))
      assert.strictEqual(error._tag, "TokenRequestFailed")
      assert.match(error._tag === "TokenRequestFailed" ? error.description ?? "" : "", /^AADSTS700016: /)
      assert.strictEqual(hops.exchange.length, 1)
      assertionHidden(error, hops.exchange)
    }))

  it.scoped("hop 1 fails: its own error (IMDS's), and no exchange is sent", () =>
    Effect.gen(function*() {
      const { error, hops } = yield* refused((env) => env, { Imds: [{ status: 500 }] })
      assert.strictEqual(error._tag, "TokenRequestFailed")
      if (error._tag === "TokenRequestFailed") {
        assert.strictEqual(error.source, "Imds")
        assert.strictEqual(error.status, 500)
      }
      assert.strictEqual(hops.imds.length, 1)
      assert.strictEqual(hops.exchange.length, 0)
    }))
})
