import { assert, describe, it } from "@effect/vitest"
import {
  FederatedCredentialTokenSource,
  ManagedIdentity,
  ManagedIdentityClient,
  ManagedIdentityError,
  TokenCache,
  TokenSource
} from "@managed-identity/effect4"
import { Clock, ConfigProvider, DateTime, Effect, Fiber, Layer, Redacted, Ref } from "effect"
import type { HttpClient } from "effect/http"
import { TestClock } from "effect/testing"
import { expectRequest } from "./utils/expectRequest.js"
import * as FakeHttp from "./utils/fakeHttp.js"

const tenantId = "contoso.onmicrosoft.com"
const clientId = "11111111-2222-4333-8444-555555555555"
const tokenUrl = `https://login.microsoftonline.com/${tenantId}/oauth2/v2.0/token`
const graph = "https://graph.microsoft.com"
const options: FederatedCredentialTokenSource.Options = { clientId, tenantId }
const appToken = FakeHttp.json({ token_type: "Bearer", expires_in: 7200, ext_expires_in: 7200, access_token: "AT-app" })
const jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

/** The managed identity's source (hop 1): records the resources it is asked for, issues `MI-assertion-<n>` or fails. */
const managedIdentity = (fail?: ManagedIdentityError.ManagedIdentityError) =>
  Effect.map(Ref.make<ReadonlyArray<string>>([]), (asked) => ({
    asked: Ref.get(asked),
    layer: TokenSource.layerTest({
      getToken: (request) =>
        Effect.gen(function*() {
          const n = (yield* Ref.updateAndGet(asked, (all) => [...all, request.resource])).length
          if (fail !== undefined) return yield* Effect.fail(fail)
          const now = yield* Clock.currentTimeMillis
          return TokenSource.issuedToken({
            token: Redacted.make(`MI-assertion-${n}`),
            resource: request.resource,
            issuedAt: DateTime.makeUnsafe(now),
            expiresOn: DateTime.makeUnsafe(now + 24 * 3_600_000)
          })
        })
    })
  }))

/** Both hops: the managed identity's source and the fake STS answering with `script`. */
const hops = (script: FakeHttp.Script, fail?: ManagedIdentityError.ManagedIdentityError) =>
  Effect.gen(function*() {
    const hop1 = yield* managedIdentity(fail)
    const http = yield* FakeHttp.make(script)
    const over = <E>(
      source: Layer.Layer<TokenSource.TokenSource, E, TokenSource.TokenSource | HttpClient.HttpClient>
    ) => source.pipe(Layer.provide(hop1.layer), Layer.provide(http.layer))
    return { hop1, http, over }
  })

const getToken = (resource: string, claims?: string) =>
  Effect.flatMap(TokenSource.TokenSource, (source) => source.getToken({ resource, claims }))

const sent = (body: string | undefined) => Object.fromEntries(new URLSearchParams(body ?? ""))

describe("FederatedCredentialTokenSource", () => {
  it.effect("hop 1 asks for api://AzureADTokenExchange; hop 2 POSTs the client-credentials form with it", () =>
    Effect.gen(function*() {
      const { hop1, http, over } = yield* hops([appToken])
      const token = yield* getToken(graph).pipe(Effect.provide(over(FederatedCredentialTokenSource.layer(options))))
      assert.strictEqual(Redacted.value(token.token), "AT-app")
      assert.deepStrictEqual(yield* hop1.asked, ["api://AzureADTokenExchange"])
      const [request] = yield* http.requests
      const body = new URLSearchParams({
        client_id: clientId,
        scope: `${graph}/.default`,
        grant_type: "client_credentials",
        client_assertion_type: jwtBearer,
        client_assertion: "MI-assertion-1"
      }).toString()
      expectRequest(request, {
        method: "POST",
        url: tokenUrl,
        params: {},
        body,
        headers: {
          accept: "application/json",
          "content-type": "application/x-www-form-urlencoded",
          "content-length": String(body.length)
        }
      })
    }))

  it.effect("a sovereign cloud: its audience for hop 1, its authority (trailing / ignored) for hop 2; claims sent", () =>
    Effect.gen(function*() {
      const { hop1, http, over } = yield* hops([appToken])
      yield* getToken(graph, "{\"access_token\":{}}").pipe(Effect.provide(over(FederatedCredentialTokenSource.layer({
        ...options,
        audience: FederatedCredentialTokenSource.audiences.usGovernment,
        authorityHost: "https://login.microsoftonline.us/"
      }))))
      assert.deepStrictEqual(yield* hop1.asked, ["api://AzureADTokenExchangeUSGov"])
      const [request] = yield* http.requests
      assert.strictEqual(request.urlWithoutQuery, `https://login.microsoftonline.us/${tenantId}/oauth2/v2.0/token`)
      assert.strictEqual(sent(request.body).claims, "{\"access_token\":{}}")
    }))

  it.effect("the assertion is cached like any token: three exchanges, one hop-1 request", () =>
    Effect.gen(function*() {
      const { hop1, http, over } = yield* hops([appToken])
      yield* Effect.all([getToken(graph), getToken("https://vault.azure.net"), getToken(graph)]).pipe(
        Effect.provide(over(FederatedCredentialTokenSource.layer(options)))
      )
      assert.strictEqual((yield* hop1.asked).length, 1)
      assert.strictEqual(yield* http.count, 3)
      assert.deepStrictEqual((yield* http.requests).map((r) => sent(r.body).client_assertion), [
        "MI-assertion-1",
        "MI-assertion-1",
        "MI-assertion-1"
      ])
    }))

  it.effect("through the client: 1000 callers, one request to each hop; after both expire, one more to each", () =>
    Effect.gen(function*() {
      const { hop1, http, over } = yield* hops([appToken])
      const client = yield* Layer.build(
        ManagedIdentityClient.layer.pipe(
          Layer.provide(over(FederatedCredentialTokenSource.layer(options))),
          Layer.provide(TokenCache.layerMemory)
        )
      )
      const callers = Effect.all(
        Array.from(
          { length: 1000 },
          () => Effect.flatMap(ManagedIdentityClient.ManagedIdentityClient, (c) => c.getToken(graph))
        ),
        { concurrency: "unbounded" }
      ).pipe(Effect.provide(client))
      const first = yield* callers
      assert.strictEqual(new Set(first.map((token) => Redacted.value(token.token))).size, 1)
      assert.strictEqual((yield* hop1.asked).length, 1)
      assert.strictEqual(yield* http.count, 1)
      yield* TestClock.adjust("24 hours")
      yield* callers
      assert.strictEqual((yield* hop1.asked).length, 2)
      assert.strictEqual(yield* http.count, 2)
      assert.strictEqual(sent((yield* http.requests)[1].body).client_assertion, "MI-assertion-2")
    }).pipe(Effect.scoped))

  it.effect("Entra refuses: TokenRequestFailed from FederatedCredential, not retried, the assertion in no text", () =>
    Effect.gen(function*() {
      const refusal = FakeHttp.json({
        error: "invalid_client",
        error_description: "AADSTS700211: No matching federated identity record for MI-assertion-1.",
        error_codes: [700211]
      }, { status: 400 })
      const { http, over } = yield* hops([refusal])
      const error = yield* Effect.flip(
        getToken(graph).pipe(Effect.provide(over(FederatedCredentialTokenSource.layer(options))))
      )
      assert.strictEqual(error._tag, "TokenRequestFailed")
      if (error._tag !== "TokenRequestFailed") return
      assert.strictEqual(error.source, "FederatedCredential")
      assert.strictEqual(error.error, "invalid_client")
      assert.strictEqual(error.identity, `client id ${clientId}`)
      assert.strictEqual(yield* http.count, 1)
      for (const text of [error.message, String(error), JSON.stringify(error)]) {
        assert.include(text, "AADSTS700211")
        assert.notInclude(text, "MI-assertion-1")
      }
    }))

  it.effect("hop 2 throttled (429, Retry-After: 2): retried after 2 s with the cached assertion", () =>
    Effect.gen(function*() {
      const { hop1, http, over } = yield* hops([
        FakeHttp.json({ error: "temporarily_unavailable" }, { status: 429, headers: { "retry-after": "2" } }),
        appToken
      ])
      const fiber = yield* Effect.forkChild(
        getToken(graph).pipe(Effect.provide(over(FederatedCredentialTokenSource.layer(options))))
      )
      yield* TestClock.adjust("1999 millis")
      assert.strictEqual(yield* http.count, 1)
      yield* TestClock.adjust("1 millis")
      const token = yield* Fiber.join(fiber)
      assert.strictEqual(Redacted.value(token.token), "AT-app")
      assert.strictEqual(yield* http.count, 2)
      assert.strictEqual((yield* hop1.asked).length, 1)
    }))

  it.effect("hop 1 fails: its error as it is, asked once, and no exchange is sent", () =>
    Effect.gen(function*() {
      const unavailable = new ManagedIdentityError.SourceUnavailable({
        source: "Imds",
        endpoint: "http://169.254.169.254/metadata/identity/oauth2/token",
        reason: "connection refused"
      })
      const { hop1, http, over } = yield* hops([appToken], unavailable)
      const error = yield* Effect.flip(
        getToken(graph).pipe(Effect.provide(over(FederatedCredentialTokenSource.layer(options))))
      )
      assert.strictEqual(error._tag, "SourceUnavailable")
      assert.strictEqual(error.source, "Imds")
      assert.strictEqual((yield* hop1.asked).length, 1)
      assert.strictEqual(yield* http.count, 0)
    }))

  const invalid: ReadonlyArray<readonly [string, Partial<FederatedCredentialTokenSource.Options>, RegExp]> = [
    ["a client id that is not a GUID", { clientId: "my-app" }, /MANAGED_IDENTITY_FEDERATED_CLIENT_ID must be a GUID/],
    ["a tenant with a path in it", { tenantId: "contoso/../x" }, /MANAGED_IDENTITY_FEDERATED_TENANT_ID must be/],
    ["an http authority", { authorityHost: "http://login.example" }, /AZURE_AUTHORITY_HOST must be an https URL/],
    ["an empty audience", { audience: " " }, /MANAGED_IDENTITY_FEDERATED_AUDIENCE must be an audience/]
  ]
  for (const [name, change, reason] of invalid) {
    it.effect(`${name}: InvalidIdentity, and neither hop is asked`, () =>
      Effect.gen(function*() {
        const { hop1, http, over } = yield* hops([appToken])
        const error = yield* Effect.flip(
          getToken(graph).pipe(Effect.provide(over(FederatedCredentialTokenSource.layer({ ...options, ...change }))))
        )
        assert.strictEqual(error._tag, "InvalidIdentity")
        if (error._tag === "InvalidIdentity") {
          assert.strictEqual(error.source, "FederatedCredential")
          assert.match(error.reason, reason)
        }
        assert.strictEqual((yield* hop1.asked).length, 0)
        assert.strictEqual(yield* http.count, 0)
      }))
  }

  it.effect("layerConfig reads the application from MANAGED_IDENTITY_FEDERATED_* and AZURE_AUTHORITY_HOST", () =>
    Effect.gen(function*() {
      const { hop1, http, over } = yield* hops([appToken])
      const env = Object.fromEntries([
        ["MANAGED_IDENTITY_FEDERATED_CLIENT_ID", clientId],
        ["MANAGED_IDENTITY_FEDERATED_TENANT_ID", tenantId],
        ["MANAGED_IDENTITY_FEDERATED_AUDIENCE", "api://AzureADTokenExchangeChina"],
        ["AZURE_AUTHORITY_HOST", "https://login.chinacloudapi.cn"]
      ])
      const source = yield* Layer.build(over(FederatedCredentialTokenSource.layerConfig())).pipe(
        Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnvRecord(env)))
      )
      yield* getToken(graph).pipe(Effect.provide(source))
      assert.deepStrictEqual(yield* hop1.asked, ["api://AzureADTokenExchangeChina"])
      const [request] = yield* http.requests
      assert.strictEqual(request.urlWithoutQuery, `https://login.chinacloudapi.cn/${tenantId}/oauth2/v2.0/token`)
      assert.strictEqual(sent(request.body).client_id, clientId)
      const source2 = yield* TokenSource.TokenSource.pipe(Effect.provide(source))
      assert.strictEqual(source2.kind, "FederatedCredential")
      assert.deepStrictEqual(source2.identity, ManagedIdentity.clientId(clientId))
    }).pipe(Effect.scoped))
})
