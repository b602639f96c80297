import { assert, describe, it } from "@effect/vitest"
import { CloudShellTokenSource, ManagedIdentity } from "@managed-identity/effect4"
import { Effect, Redacted } from "effect"
import * as FakeHttp from "./utils/fakeHttp.js"
import * as SourceHarness from "./utils/sourceHarness.js"

const endpoint = "http://localhost:50342/oauth2/token"

const getToken = (
  host: Omit<SourceHarness.Host, "http">,
  layer: ReturnType<typeof CloudShellTokenSource.layerConfig> = CloudShellTokenSource.layer({ endpoint })
) =>
  Effect.gen(function*() {
    const http = yield* FakeHttp.make([FakeHttp.json({ access_token: "AT", expires_in: 3600 })])
    const result = yield* Effect.result(
      SourceHarness.getToken("https://vault.azure.net").pipe(SourceHarness.provide(layer, { ...host, http }))
    )
    return { result, sent: yield* http.requests }
  })

describe("CloudShellTokenSource", () => {
  it.effect("POSTs the resource as a form with Metadata: true", () =>
    Effect.gen(function*() {
      const { result, sent } = yield* getToken({})
      assert(result._tag === "Success")
      assert.strictEqual(Redacted.value(result.success.token), "AT")
      assert.strictEqual(sent.length, 1)
      assert.strictEqual(sent[0].method, "POST")
      assert.strictEqual(sent[0].url, endpoint)
      assert.strictEqual(sent[0].body, "resource=https%3A%2F%2Fvault.azure.net")
      assert.strictEqual(sent[0].headers.metadata, "true")
      assert.strictEqual(sent[0].headers["content-type"], "application/x-www-form-urlencoded")
      assert.isUndefined(sent[0].headers.secret)
    }))

  for (
    const identity of [
      ManagedIdentity.clientId("client-1"),
      ManagedIdentity.resourceId("/subscriptions/s/x"),
      ManagedIdentity.objectId("object-1")
    ]
  ) {
    it.effect(`refuses ${identity._tag} before sending`, () =>
      Effect.gen(function*() {
        const { result, sent } = yield* getToken({ identity })
        assert(result._tag === "Failure" && result.failure._tag === "InvalidIdentity")
        assert.strictEqual(result.failure.source, "CloudShell")
        assert.strictEqual(sent.length, 0)
      }))
  }

  it.effect("sends no secret, so a non-loopback endpoint is allowed", () =>
    Effect.gen(function*() {
      const url = "https://cloudshell.example/oauth2/token"
      const { sent } = yield* getToken({}, CloudShellTokenSource.layer({ endpoint: url }))
      assert.strictEqual(sent[0].url, url)
    }))

  it.effect("refuses an endpoint that is not an http URL", () =>
    Effect.gen(function*() {
      const { result, sent } = yield* getToken({}, CloudShellTokenSource.layer({ endpoint: "file:///x" }))
      assert(result._tag === "Failure")
      assert.strictEqual(result.failure._tag, "InvalidIdentity")
      assert.strictEqual(sent.length, 0)
    }))

  it.effect("layerConfig reads MSI_ENDPOINT", () =>
    Effect.gen(function*() {
      const env = { MSI_ENDPOINT: "http://localhost:50342/from-env" }
      const { sent } = yield* getToken({ env }, CloudShellTokenSource.layerConfig())
      assert.strictEqual(sent[0].url, "http://localhost:50342/from-env")
    }))
})
