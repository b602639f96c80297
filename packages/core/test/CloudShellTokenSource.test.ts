import { HttpClient, HttpClientResponse } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { CloudShellTokenSource, ManagedIdentity, TokenSource } from "@managed-identity/core"
import { type ConfigError, ConfigProvider, Effect, Layer, Redacted } from "effect"

const endpoint = "http://localhost:50342/oauth2/token"

interface Sent {
  readonly method: string
  readonly url: string
  readonly headers: Record<string, string>
  readonly body: string
}

const setup = (
  identity: ManagedIdentity.Identity,
  layer: Layer.Layer<
    TokenSource.TokenSource,
    ConfigError.ConfigError,
    HttpClient.HttpClient | ManagedIdentity.ManagedIdentity
  > = CloudShellTokenSource.layer({ endpoint })
) => {
  const sent: Array<Sent> = []
  const client = HttpClient.make((request, url) =>
    Effect.sync(() => {
      sent.push({
        method: request.method,
        url: url.toString(),
        headers: { ...request.headers },
        body: request.body._tag === "Uint8Array" ? new TextDecoder().decode(request.body.body) : request.body._tag
      })
      return HttpClientResponse.fromWeb(
        request,
        new Response(JSON.stringify({ access_token: "AT", expires_in: 3600 }), { status: 200 })
      )
    })
  )
  const source = layer.pipe(
    Layer.provide(Layer.succeed(HttpClient.HttpClient, client)),
    Layer.provide(ManagedIdentity.layer(identity))
  )
  return { sent, source }
}

const getToken = Effect.flatMap(
  TokenSource.TokenSource,
  (source) => source.getToken({ resource: "https://vault.azure.net" })
)

describe("CloudShellTokenSource", () => {
  it.effect("POSTs the resource as a form with Metadata: true", () => {
    const { sent, source } = setup(ManagedIdentity.systemAssigned)
    return Effect.gen(function*() {
      const token = yield* getToken
      assert.strictEqual(Redacted.value(token.token), "AT")
      assert.strictEqual(sent.length, 1)
      assert.strictEqual(sent[0].method, "POST")
      assert.strictEqual(sent[0].url, endpoint)
      assert.strictEqual(sent[0].body, "resource=https%3A%2F%2Fvault.azure.net")
      assert.strictEqual(sent[0].headers.metadata, "true")
      assert.strictEqual(sent[0].headers["content-type"], "application/x-www-form-urlencoded")
      assert.isUndefined(sent[0].headers.secret)
    }).pipe(Effect.provide(source))
  })

  for (
    const identity of [
      ManagedIdentity.clientId("client-1"),
      ManagedIdentity.resourceId("/subscriptions/s/x"),
      ManagedIdentity.objectId("object-1")
    ]
  ) {
    it.effect(`refuses ${identity._tag} before sending`, () => {
      const { sent, source } = setup(identity)
      return Effect.gen(function*() {
        const error = yield* Effect.flip(getToken)
        assert.strictEqual(error._tag, "InvalidIdentity")
        assert.strictEqual(error.source, "CloudShell")
        assert.strictEqual(sent.length, 0)
      }).pipe(Effect.provide(source))
    })
  }

  it.effect("sends no secret, so a non-loopback endpoint is allowed", () => {
    const { sent, source } = setup(
      ManagedIdentity.systemAssigned,
      CloudShellTokenSource.layer({ endpoint: "https://cloudshell.example/oauth2/token" })
    )
    return Effect.gen(function*() {
      yield* getToken
      assert.strictEqual(sent[0].url, "https://cloudshell.example/oauth2/token")
    }).pipe(Effect.provide(source))
  })

  it.effect("refuses an endpoint that is not an http URL", () => {
    const { sent, source } = setup(
      ManagedIdentity.systemAssigned,
      CloudShellTokenSource.layer({ endpoint: "file:///x" })
    )
    return Effect.gen(function*() {
      const error = yield* Effect.flip(getToken)
      assert.strictEqual(error._tag, "InvalidIdentity")
      assert.strictEqual(sent.length, 0)
    }).pipe(Effect.provide(source))
  })

  it.effect("layerConfig reads MSI_ENDPOINT", () => {
    const { sent, source } = setup(ManagedIdentity.systemAssigned, CloudShellTokenSource.layerConfig())
    return Effect.gen(function*() {
      yield* getToken
      assert.strictEqual(sent[0].url, "http://localhost:50342/from-env")
    }).pipe(
      Effect.provide(source),
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["MSI_ENDPOINT", "http://localhost:50342/from-env"]])))
    )
  })
})
