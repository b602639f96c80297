import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import * as HttpClientResponse from "effect/http/HttpClientResponse"
import * as BearerAuth from "../src/BearerAuth.js"
import * as ManagedIdentityClient from "../src/ManagedIdentityClient.js"
import { TokenRequestFailed } from "../src/ManagedIdentityError.js"
import * as TokenCache from "../src/TokenCache.js"
import * as TokenSource from "../src/TokenSource.js"
import * as RecordingSource from "./utils/RecordingSource.js"

const resource = "https://vault.azure.net"
const url = "https://myvault.vault.azure.net/secrets/db?api-version=7.4"
const claimsBase64 = "eyJhY2Nlc3NfdG9rZW4iOnsibmJmIjp7ImVzc2VudGlhbCI6dHJ1ZSwidmFsdWUiOiIxNzI2MDc3NTk1In19fQ=="
const claims = `{"access_token":{"nbf":{"essential":true,"value":"1726077595"}}}`
const challenge =
  `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="${claimsBase64}"`

/** An HTTP server that answers with `answers[n - 1]` (the last one repeats) and records each request. */
const fakeServer = (answers: ReadonlyArray<{ status: number; headers?: Record<string, string> }>) => {
  const seen: Array<HttpClientRequest.HttpClientRequest> = []
  const client = HttpClient.make((request) =>
    Effect.sync(() => {
      const n = seen.push(request)
      const answer = answers[Math.min(n, answers.length) - 1]
      return HttpClientResponse.fromWeb(
        request,
        new Response(answer.status === 200 ? "secret-value" : "", answer)
      )
    })
  )
  return { seen, client }
}

const clientLayer = (source: Layer.Layer<TokenSource.TokenSource>) =>
  ManagedIdentityClient.layer.pipe(Layer.provide(source), Layer.provide(TokenCache.layerMemory))

describe("BearerAuth", () => {
  it("claimsFromChallenge decodes base64 and base64url, padded or not, and ignores the rest", () => {
    assert.deepStrictEqual(BearerAuth.claimsFromChallenge(challenge), Option.some(claims))
    const unpadded = claimsBase64.replace(/=+$/, "")
    assert.deepStrictEqual(BearerAuth.claimsFromChallenge(`Bearer claims="${unpadded}"`), Option.some(claims))
    const url = Buffer.from(`{"a":"??>>"}`).toString("base64url")
    assert.deepStrictEqual(
      BearerAuth.claimsFromChallenge(`Bearer error="insufficient_claims", claims="${url}"`),
      Option.some(`{"a":"??>>"}`)
    )
    const standard = Buffer.from(`{"a":"??>>"}`).toString("base64")
    assert.notStrictEqual(standard, url)
    assert.deepStrictEqual(BearerAuth.claimsFromChallenge(`Bearer claims="${standard}"`), Option.some(`{"a":"??>>"}`))
    assert.deepStrictEqual(BearerAuth.claimsFromChallenge(`Bearer realm="", error="invalid_token"`), Option.none())
    assert.deepStrictEqual(BearerAuth.claimsFromChallenge(`Bearer claims="***"`), Option.none())
    assert.deepStrictEqual(BearerAuth.claimsFromChallenge(`Bearer claims=""`), Option.none())
    assert.deepStrictEqual(BearerAuth.claimsFromChallenge(undefined), Option.none())
  })

  it.effect("sets Authorization: Bearer and serves later requests from the token cache", () => {
    const source = RecordingSource.make()
    const server = fakeServer([{ status: 200 }])
    return Effect.gen(function*() {
      const client = yield* BearerAuth.withManagedIdentity(server.client, resource)
      const response = yield* client.get(url)
      assert.strictEqual(response.status, 200)
      assert.strictEqual(yield* response.text, "secret-value")
      yield* client.get(url)
      assert.deepStrictEqual(server.seen.map((r) => r.headers["authorization"]), ["Bearer token-1", "Bearer token-1"])
      assert.deepStrictEqual(server.seen.map((r) => `${r.method} ${r.url}`), [`GET ${url}`, `GET ${url}`])
      assert.strictEqual(source.requests.length, 1)
    }).pipe(Effect.provide(clientLayer(source.layer)))
  })

  it.effect("answers a 401 claims challenge once: a new token with the claims, the request sent again", () => {
    const source = RecordingSource.make()
    const server = fakeServer([{ status: 401, headers: { "www-authenticate": challenge } }, { status: 200 }])
    return Effect.gen(function*() {
      const client = yield* server.client.pipe(BearerAuth.withManagedIdentity(resource))
      const response = yield* client.execute(HttpClientRequest.post(url).pipe(HttpClientRequest.bodyText("payload")))
      assert.strictEqual(response.status, 200)
      assert.strictEqual(server.seen.length, 2)
      assert.deepStrictEqual(server.seen.map((r) => r.headers["authorization"]), ["Bearer token-1", "Bearer token-2"])
      assert.deepStrictEqual(server.seen.map((r) => r.method), ["POST", "POST"])
      assert.deepStrictEqual(source.requests, [{ resource }, { resource, claims }])
      yield* client.get(url)
      assert.strictEqual(server.seen[2].headers["authorization"], "Bearer token-2")
      assert.strictEqual(source.requests.length, 2)
    }).pipe(Effect.provide(clientLayer(source.layer)))
  })

  it.effect("returns a second 401 as it is, and a 401 without claims without retrying", () => {
    const source = RecordingSource.make()
    const always = fakeServer([{ status: 401, headers: { "www-authenticate": challenge } }])
    const plain = fakeServer([{
      status: 401,
      headers: { "www-authenticate": `Bearer realm="", error="invalid_token"` }
    }])
    return Effect.gen(function*() {
      const first = yield* (yield* BearerAuth.withManagedIdentity(always.client, resource)).get(url)
      assert.strictEqual(first.status, 401)
      assert.strictEqual(always.seen.length, 2)
      const second = yield* (yield* BearerAuth.withManagedIdentity(plain.client, resource)).get(url)
      assert.strictEqual(second.status, 401)
      assert.strictEqual(plain.seen.length, 1)
      assert.strictEqual(source.requests.length, 2)
    }).pipe(Effect.provide(clientLayer(source.layer)))
  })

  it.effect("a token failure is a ManagedIdentityError and nothing is sent", () => {
    const server = fakeServer([{ status: 200 }])
    const failing = TokenSource.layerTest({
      getToken: () => Effect.fail(new TokenRequestFailed({ source: "Imds", status: 400, error: "invalid_request" }))
    })
    return Effect.gen(function*() {
      const client = yield* BearerAuth.withManagedIdentity(server.client, resource)
      const error = yield* Effect.flip(client.get(url))
      assert.strictEqual(error._tag, "TokenRequestFailed")
      assert.strictEqual(server.seen.length, 0)
    }).pipe(Effect.provide(clientLayer(failing)))
  })

  it.effect("layer replaces the HttpClient in context; a token failure becomes a RequestError", () => {
    const source = RecordingSource.make()
    const server = fakeServer([{ status: 401, headers: { "www-authenticate": challenge } }, { status: 200 }])
    const failing = TokenSource.layerTest({
      getToken: () => Effect.fail(new TokenRequestFailed({ source: "Imds", status: 400, error: "invalid_request" }))
    })
    const base = Layer.succeed(HttpClient.HttpClient, server.client)
    return Effect.gen(function*() {
      const response = yield* Effect.flatMap(HttpClient.HttpClient, (client) => client.get(url)).pipe(
        Effect.provide(BearerAuth.layer(resource).pipe(Layer.provide(base), Layer.provide(clientLayer(source.layer))))
      )
      assert.strictEqual(response.status, 200)
      assert.deepStrictEqual(server.seen.map((r) => r.headers["authorization"]), ["Bearer token-1", "Bearer token-2"])
      assert.deepStrictEqual(source.requests[1], { resource, claims })
      const error = yield* Effect.flip(
        Effect.flatMap(HttpClient.HttpClient, (client) => client.get(url)).pipe(
          Effect.provide(BearerAuth.layer(resource).pipe(Layer.provide(base), Layer.provide(clientLayer(failing))))
        )
      )
      assert.strictEqual(error._tag, "HttpClientError")
      assert.strictEqual(error.reason._tag, "TransportError")
      assert.strictEqual((error.reason.cause as { _tag: string })._tag, "TokenRequestFailed")
      assert.strictEqual(server.seen.length, 2)
    })
  })
})
