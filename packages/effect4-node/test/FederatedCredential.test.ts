/**
 * A managed identity as a federated credential through the Effect 4 Node stack and the real emulator: hop 1 (IMDS,
 * the managed identity's token for `api://AzureADTokenExchange`), hop 2 (the STS's exchange for the application's
 * token), and the diagnosis of both hops.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Emulator from "@managed-identity/conformance/Emulator"
import { ManagedIdentity, ManagedIdentityClient, ManagedIdentityDiagnosis, TokenCache } from "@managed-identity/effect4"
import { ManagedIdentityEmulator } from "@managed-identity/emulator"
import { ConfigProvider, Effect, Layer, Redacted } from "effect"
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import * as NodeManagedIdentity from "../src/NodeManagedIdentity.js"

const graph = "https://graph.microsoft.com"
const application = ManagedIdentityEmulator.systemAssignedIdentities.FederatedCredential

const emulator = Effect.acquireRelease(Effect.promise(() => Emulator.start()), (handle) => Effect.promise(handle.close))

/** The emulator's fetch (its STS CA trusted) and the host's `env` as config. */
const onHost = (handle: Emulator.Handle, env: Record<string, string>) =>
  Layer.merge(
    Layer.succeed(FetchHttpClient.Fetch, handle.fetch),
    ConfigProvider.layer(ConfigProvider.fromEnvRecord(env))
  )

/** The claims of the emulator's JWT-shaped token. */
const claimsOf = (jwt: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString("utf8"))

/** The requests each hop received: IMDS's, and the STS's exchanges. */
const hops = (handle: Emulator.Handle) =>
  Effect.promise(async () => ({
    imds: await handle.requests("Imds"),
    exchange: await handle.requests("FederatedCredential")
  }))

describe("a managed identity as a federated credential (Effect 4), against the emulator", () => {
  it.live("1000 concurrent callers: the application's token, one request to each hop", () =>
    Effect.gen(function*() {
      const handle = yield* emulator
      const env = handle.env("FederatedCredential")
      const client = yield* Layer.build(
        NodeManagedIdentity.layerFederatedCredential.pipe(Layer.provide(onHost(handle, env)))
      )
      const tokens = yield* Effect.all(
        Array.from(
          { length: 1000 },
          () => Effect.flatMap(ManagedIdentityClient.ManagedIdentityClient, (c) => c.getToken(graph))
        ),
        { concurrency: "unbounded" }
      ).pipe(Effect.provideContext(client))
      assert.strictEqual(new Set(tokens.map((token) => Redacted.value(token.token))).size, 1)
      const claims = claimsOf(Redacted.value(tokens[0].token))
      assert.strictEqual(claims.aud, graph)
      assert.strictEqual(claims.appid, application.clientId)
      assert.strictEqual(claims.xms_src, "FederatedCredential")

      const { exchange, imds } = yield* hops(handle)
      assert.strictEqual(imds.length, 1)
      assert.strictEqual(exchange.length, 1)
      assert.strictEqual(imds[0].query.resource, "api://AzureADTokenExchange")
      assert.strictEqual(exchange[0].path, `/${env.MANAGED_IDENTITY_FEDERATED_TENANT_ID}/oauth2/v2.0/token`)
      const form = Object.fromEntries(new URLSearchParams(exchange[0].body))
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
      const assertion = claimsOf(form.client_assertion)
      assert.strictEqual(assertion.aud, "api://AzureADTokenExchange")
      assert.strictEqual(assertion.appid, ManagedIdentityEmulator.systemAssignedIdentities.Imds.clientId)
    }).pipe(Effect.scoped))

  it.live("an audience the application does not trust: AADSTS700212, not retried, the assertion in no error text", () =>
    Effect.gen(function*() {
      const handle = yield* emulator
      const env = {
        ...handle.env("FederatedCredential"),
        MANAGED_IDENTITY_FEDERATED_AUDIENCE: "api://AzureADTokenExchangeUSGov"
      }
      const error = yield* Effect.flatMap(ManagedIdentityClient.ManagedIdentityClient, (c) => c.getToken(graph)).pipe(
        Effect.provide(NodeManagedIdentity.layerFederatedCredential.pipe(Layer.provide(onHost(handle, env)))),
        Effect.flip
      )
      assert(error._tag === "TokenRequestFailed", error._tag)
      assert.strictEqual(error.source, "FederatedCredential")
      assert.strictEqual(error.status, 400)
      assert.match(error.description ?? "", /^AADSTS700212: /)
      const { exchange, imds } = yield* hops(handle)
      assert.strictEqual(imds[0].query.resource, "api://AzureADTokenExchangeUSGov")
      assert.strictEqual(exchange.length, 1)
      const sent = new URLSearchParams(exchange[0].body).get("client_assertion")!
      for (const text of [String(error), JSON.stringify(error), error.message]) assert.notInclude(text, sent)
    }).pipe(Effect.scoped))

  it.live("diagnose with federatedCredential: hop 1 for the exchange audience, hop 2 exchanged; a wrong one refused", () =>
    Effect.gen(function*() {
      const handle = yield* emulator
      const env = handle.env("FederatedCredential")
      const diagnose = (audience?: string) =>
        ManagedIdentityDiagnosis.diagnose({
          resource: graph,
          federatedCredential: {
            clientId: env.MANAGED_IDENTITY_FEDERATED_CLIENT_ID,
            tenantId: env.MANAGED_IDENTITY_FEDERATED_TENANT_ID,
            authorityHost: env.AZURE_AUTHORITY_HOST,
            audience
          }
        }).pipe(
          Effect.provide(TokenCache.layerMemory),
          Effect.provide(ManagedIdentity.layerSystemAssigned),
          Effect.provide(NodeManagedIdentity.layerPlatform),
          Effect.provide(onHost(handle, env))
        )
      const good = yield* diagnose()
      assert.strictEqual(good.resource, "api://AzureADTokenExchange")
      const codes = good.findings.map((finding) => `${finding.level} ${finding.code}`)
      assert.includeMembers(codes, ["ok source.reachable", "ok identity.match", "ok federated.exchanged"])
      const bad = yield* diagnose("api://AzureADTokenExchangeUSGov")
      const refused = bad.findings.filter((finding) => finding.code.startsWith("federated."))
      assert.deepStrictEqual(refused.map((finding) => finding.level), ["error"])
      assert.strictEqual(refused[0].code, "federated.refused")
      assert.match(refused[0].message, /AADSTS700212: /)
      const { exchange, imds } = yield* hops(handle)
      assert.deepStrictEqual(imds.map((request) => request.query.resource), [
        "api://AzureADTokenExchange",
        "api://AzureADTokenExchangeUSGov"
      ])
      assert.strictEqual(exchange.length, 2)
    }).pipe(Effect.scoped))
})
