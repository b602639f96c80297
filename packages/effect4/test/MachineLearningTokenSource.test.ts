import { assert, describe, it } from "@effect/vitest"
import { MachineLearningTokenSource, ManagedIdentity } from "@managed-identity/effect4"
import { Effect, Redacted } from "effect"
import { TestClock } from "effect/testing"
import * as FakeHttp from "./utils/fakeHttp.js"
import * as SourceHarness from "./utils/sourceHarness.js"

const endpoint = "http://127.0.0.1:46808/MSI/auth"
const query = "api-version=2017-09-01&resource=https%3A%2F%2Fvault.azure.net"

const getToken = (
  host: Omit<SourceHarness.Host, "http">,
  options: Partial<MachineLearningTokenSource.Options> = {},
  reply: FakeHttp.Reply = FakeHttp.json({ access_token: "AT", expires_on: 1_900_000_000 })
) =>
  Effect.gen(function*() {
    yield* TestClock.setTime(1_899_990_000_000)
    const http = yield* FakeHttp.make([reply])
    const layer = MachineLearningTokenSource.layer({ endpoint, secret: Redacted.make("ml-secret"), ...options })
    const result = yield* Effect.result(
      SourceHarness.getToken("https://vault.azure.net").pipe(SourceHarness.provide(layer, { ...host, http }))
    )
    return { result, sent: yield* http.requests }
  })

const wireHeaders = (headers: Readonly<Record<string, string>>) =>
  Object.fromEntries(
    Object.entries(headers).filter(([name]) => !["b3", "traceparent", "x-ms-client-request-id"].includes(name))
  )

describe("MachineLearningTokenSource", () => {
  const accepted = [
    { name: "system-assigned", identity: ManagedIdentity.systemAssigned, options: {}, url: `${endpoint}?${query}` },
    {
      name: "system-assigned with DEFAULT_IDENTITY_CLIENT_ID",
      identity: ManagedIdentity.systemAssigned,
      options: { defaultClientId: "default-1" },
      url: `${endpoint}?${query}&clientid=default-1`
    },
    {
      name: "client id",
      identity: ManagedIdentity.clientId("client-1"),
      options: { defaultClientId: "default-1" },
      url: `${endpoint}?${query}&clientid=client-1`
    }
  ]
  for (const { identity, name, options, url } of accepted) {
    it.effect(`${name}: GET with clientid as the table says, secret and Metadata headers`, () =>
      Effect.gen(function*() {
        const { result, sent } = yield* getToken({ identity }, options)
        assert(result._tag === "Success")
        assert.strictEqual(Redacted.value(result.success.token), "AT")
        assert.strictEqual(sent.length, 1)
        assert.strictEqual(sent[0].method, "GET")
        assert.strictEqual(sent[0].url, url)
        assert.deepStrictEqual(wireHeaders(sent[0].headers), {
          secret: "ml-secret",
          metadata: "true",
          "user-agent": "managed-identity/0.1.0 (@managed-identity/effect4)"
        })
      }))
  }

  for (const identity of [ManagedIdentity.resourceId("/subscriptions/s/x"), ManagedIdentity.objectId("object-1")]) {
    it.effect(`refuses ${identity._tag} before sending`, () =>
      Effect.gen(function*() {
        const { result, sent } = yield* getToken({ identity })
        assert(result._tag === "Failure")
        assert.strictEqual(result.failure._tag, "InvalidIdentity")
        assert.strictEqual(result.failure.source, "MachineLearning")
        assert.strictEqual(sent.length, 0)
      }))
  }

  it.effect("refuses to send the secret to a non-loopback endpoint", () =>
    Effect.gen(function*() {
      const { result, sent } = yield* getToken({}, { endpoint: "http://ml.example.com/MSI/auth" })
      assert(result._tag === "Failure")
      assert.strictEqual(result.failure._tag, "InvalidIdentity")
      assert.strictEqual(sent.length, 0)
    }))

  it.effect("surfaces a JSON error body", () =>
    Effect.gen(function*() {
      const { result } = yield* getToken(
        {},
        {},
        FakeHttp.json({ error: "invalid_request", error_description: "bad secret" }, { status: 400 })
      )
      assert(result._tag === "Failure" && result.failure._tag === "TokenRequestFailed")
      assert.strictEqual(result.failure.error, "invalid_request")
      assert.strictEqual(result.failure.description, "bad secret")
    }))

  it.effect("layerConfig reads MSI_ENDPOINT, MSI_SECRET and DEFAULT_IDENTITY_CLIENT_ID", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(1_899_990_000_000)
      const http = yield* FakeHttp.make([FakeHttp.json({ access_token: "AT", expires_on: "1900000000" })])
      yield* SourceHarness.getToken("https://vault.azure.net").pipe(
        SourceHarness.provide(MachineLearningTokenSource.layerConfig(), {
          http,
          env: { MSI_ENDPOINT: endpoint, MSI_SECRET: "env-secret", DEFAULT_IDENTITY_CLIENT_ID: "default-env" }
        })
      )
      const [sent] = yield* http.requests
      assert.strictEqual(sent.url, `${endpoint}?${query}&clientid=default-env`)
      assert.strictEqual(sent.headers.secret, "env-secret")
    }))
})
