import { HttpClient, HttpClientResponse } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { MachineLearningTokenSource, ManagedIdentity, TokenSource } from "@managed-identity/core"
import { ConfigProvider, Effect, Layer, Redacted } from "effect"

const endpoint = "http://127.0.0.1:46808/MSI/auth"

interface Sent {
  readonly method: string
  readonly url: string
  readonly headers: Record<string, string>
}

const setup = (
  identity: ManagedIdentity.Identity,
  options: Partial<MachineLearningTokenSource.Options> = {},
  respond: () => Response = () =>
    new Response(JSON.stringify({ access_token: "AT", expires_on: 1_900_000_000 }), { status: 200 })
) => {
  const sent: Array<Sent> = []
  const client = HttpClient.make((request, url) =>
    Effect.sync(() => {
      sent.push({ method: request.method, url: url.toString(), headers: { ...request.headers } })
      return HttpClientResponse.fromWeb(request, respond())
    })
  )
  const source = MachineLearningTokenSource.layer({ endpoint, secret: Redacted.make("ml-secret"), ...options }).pipe(
    Layer.provide(Layer.succeed(HttpClient.HttpClient, client)),
    Layer.provide(ManagedIdentity.layer(identity))
  )
  return { sent, source }
}

const getToken = Effect.flatMap(
  TokenSource.TokenSource,
  (source) => source.getToken({ resource: "https://vault.azure.net" })
)

const wireHeaders = (headers: Record<string, string>) =>
  Object.fromEntries(
    Object.entries(headers).filter(([name]) => !["b3", "traceparent", "x-ms-client-request-id"].includes(name))
  )

const query = "api-version=2017-09-01&resource=https%3A%2F%2Fvault.azure.net"

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
    it.effect(`${name}: GET with clientid as the table says, secret and Metadata headers`, () => {
      const { sent, source } = setup(identity, options)
      return Effect.gen(function*() {
        const token = yield* getToken
        assert.strictEqual(Redacted.value(token.token), "AT")
        assert.strictEqual(sent.length, 1)
        assert.strictEqual(sent[0].method, "GET")
        assert.strictEqual(sent[0].url, url)
        assert.deepStrictEqual(wireHeaders(sent[0].headers), {
          secret: "ml-secret",
          metadata: "true",
          "user-agent": "managed-identity/0.1.0 (@managed-identity/core)"
        })
      }).pipe(Effect.provide(source))
    })
  }

  for (const identity of [ManagedIdentity.resourceId("/subscriptions/s/x"), ManagedIdentity.objectId("object-1")]) {
    it.effect(`refuses ${identity._tag} before sending`, () => {
      const { sent, source } = setup(identity)
      return Effect.gen(function*() {
        const error = yield* Effect.flip(getToken)
        assert.strictEqual(error._tag, "InvalidIdentity")
        assert.strictEqual(error.source, "MachineLearning")
        assert.strictEqual(sent.length, 0)
      }).pipe(Effect.provide(source))
    })
  }

  it.effect("refuses to send the secret to a non-loopback endpoint", () => {
    const { sent, source } = setup(ManagedIdentity.systemAssigned, { endpoint: "http://ml.example.com/MSI/auth" })
    return Effect.gen(function*() {
      const error = yield* Effect.flip(getToken)
      assert.strictEqual(error._tag, "InvalidIdentity")
      assert.strictEqual(sent.length, 0)
    }).pipe(Effect.provide(source))
  })

  it.effect("surfaces a JSON error body", () => {
    const { source } = setup(
      ManagedIdentity.systemAssigned,
      {},
      () => new Response(JSON.stringify({ error: "invalid_request", error_description: "bad secret" }), { status: 400 })
    )
    return Effect.gen(function*() {
      const error = yield* Effect.flip(getToken)
      assert(error._tag === "TokenRequestFailed")
      assert.strictEqual(error.error, "invalid_request")
      assert.strictEqual(error.description, "bad secret")
    }).pipe(Effect.provide(source))
  })

  it.effect("layerConfig reads MSI_ENDPOINT, MSI_SECRET and DEFAULT_IDENTITY_CLIENT_ID", () => {
    const sent: Array<Sent> = []
    const client = HttpClient.make((request, url) =>
      Effect.sync(() => {
        sent.push({ method: request.method, url: url.toString(), headers: { ...request.headers } })
        return HttpClientResponse.fromWeb(
          request,
          new Response(JSON.stringify({ access_token: "AT", expires_on: "1900000000" }), { status: 200 })
        )
      })
    )
    return Effect.gen(function*() {
      yield* getToken
      assert.strictEqual(sent[0].url, `${endpoint}?${query}&clientid=default-env`)
      assert.strictEqual(sent[0].headers.secret, "env-secret")
    }).pipe(
      Effect.provide(
        MachineLearningTokenSource.layerConfig().pipe(
          Layer.provide(Layer.succeed(HttpClient.HttpClient, client)),
          Layer.provide(ManagedIdentity.layerSystemAssigned)
        )
      ),
      Effect.withConfigProvider(ConfigProvider.fromMap(
        new Map([
          ["MSI_ENDPOINT", endpoint],
          ["MSI_SECRET", "env-secret"],
          ["DEFAULT_IDENTITY_CLIENT_ID", "default-env"]
        ])
      ))
    )
  })
})
