import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Redacted, Schedule } from "effect"
import { FetchHttpClient, HttpClient, HttpClientError, HttpClientResponse } from "effect/http"
import type * as Net from "node:net"
import * as AppServiceTokenSource from "../../../src/AppServiceTokenSource.js"
import * as ManagedIdentity from "../../../src/ManagedIdentity.js"
import type * as TokenSource from "../../../src/TokenSource.js"
import * as FakeHttp from "../../utils/fakeHttp.js"
import * as LoopbackServer from "../../utils/loopbackServer.js"
import * as SourceHarness from "../../utils/sourceHarness.js"

const resource = "https://vault.azure.net"
const secret = "transport-identity-header-secret"
const tokenValue = "AT-from-the-redirect-target"

/** One `getToken` from App Service at `endpoint` over `client` (a real one: these tests open sockets). */
const appServiceToken = (
  endpoint: string,
  client: Layer.Layer<HttpClient.HttpClient>,
  timing: TokenSource.TimingOptions = {}
) =>
  SourceHarness.getToken(resource).pipe(
    Effect.provide(
      AppServiceTokenSource.layer({ endpoint, identityHeader: Redacted.make(secret), ...timing }).pipe(
        Layer.provide(client),
        Layer.provide(ManagedIdentity.layerSystemAssigned)
      )
    )
  )

/** The redirect target: answers a token to anyone, and records who came. */
const target = LoopbackServer.start((_, response) => {
  response.writeHead(200, { "content-type": "application/json" })
  response.end(JSON.stringify({ access_token: tokenValue, expires_in: 3600 }))
})

/** The identity endpoint: answers every request with `status` to `location`. */
const redirecting = (status: number, location: string) =>
  LoopbackServer.start((_, response) => {
    response.writeHead(status, { location })
    response.end()
  })

/** A client that follows redirects whatever it is asked: plain `fetch`, no `RequestInit` read from the context. */
const followingClient = Layer.succeed(
  HttpClient.HttpClient,
  HttpClient.make((request, url) =>
    Effect.map(
      Effect.tryPromise({
        try: () => fetch(url, { method: request.method, headers: request.headers, redirect: "follow" }),
        catch: (cause) =>
          new HttpClientError.HttpClientError({ reason: new HttpClientError.TransportError({ request, cause }) })
      }),
      (response) => HttpClientResponse.fromWeb(request, response)
    )
  )
)

describe("transport", () => {
  describe("redirects are never followed, whatever the client", () => {
    for (const status of [301, 302, 303, 307, 308]) {
      it.live(`a ${status} through the stock FetchHttpClient.layer: TokenRequestFailed, the secret stays`, () =>
        Effect.gen(function*() {
          const elsewhere = yield* target
          const endpoint = yield* redirecting(status, `${elsewhere.url}/msi/token`)
          const error = yield* Effect.flip(appServiceToken(`${endpoint.url}/msi/token`, FetchHttpClient.layer))
          assert(error._tag === "TokenRequestFailed")
          assert.strictEqual(error.status, status)
          assert.include(error.message, "redirect")
          assert.strictEqual(endpoint.received.length, 1, "not retried")
          assert.strictEqual(endpoint.received[0]["x-identity-header"], secret)
          assert.deepStrictEqual(elsewhere.received, [], "nothing reached the redirect target")
        }))
    }

    it.live("an answer a client reached by following a redirect anyway is refused", () =>
      Effect.gen(function*() {
        const elsewhere = yield* target
        const endpoint = yield* redirecting(307, `${elsewhere.url}/msi/token`)
        const error = yield* Effect.flip(appServiceToken(`${endpoint.url}/msi/token`, followingClient))
        assert(error._tag === "TokenRequestFailed")
        assert.include(error.message, "followed a redirect")
        assert.notInclude(JSON.stringify(error), tokenValue)
        assert.strictEqual(elsewhere.received.length, 1, "this client did follow")
        assert.strictEqual(endpoint.received.length, 1, "not retried")
      }))

    it.effect("every 3xx of any client is a TokenRequestFailed after exactly one request, its body unread", () =>
      Effect.gen(function*() {
        for (const status of [300, 301, 302, 303, 304, 305, 307, 308, 399]) {
          const http = yield* FakeHttp.make([
            FakeHttp.json({ access_token: tokenValue, expires_in: 3600 }, { status, headers: { location: "/x" } })
          ])
          const error = yield* Effect.flip(
            SourceHarness.getToken(resource).pipe(
              SourceHarness.provide(
                AppServiceTokenSource.layer({
                  endpoint: "http://127.0.0.1:41234/msi/token",
                  identityHeader: Redacted.make(secret)
                }),
                { http }
              )
            )
          )
          assert(error._tag === "TokenRequestFailed", String(status))
          assert.strictEqual(error.status, status)
          assert.notInclude(JSON.stringify(error), tokenValue)
          assert.strictEqual(yield* http.count, 1)
        }
      }))
  })

  describe("requests the client refuses to send are InvalidIdentity, never retried", () => {
    it.live("a port fetch blocks (6000, X11): InvalidIdentity at once instead of four ConnectionFailed attempts", () =>
      Effect.gen(function*() {
        const started = Date.now()
        const error = yield* Effect.flip(
          appServiceToken("http://127.0.0.1:6000/msi/token?sig=query-secret", FetchHttpClient.layer)
        )
        assert(error._tag === "InvalidIdentity")
        assert.include(error.message, "port")
        assert.include(error.message, "http://127.0.0.1:6000/msi/token")
        assert.notInclude(error.message, "query-secret")
        assert.isBelow(Date.now() - started, 900, "no retry delay was waited")
      }))

    it.effect("a server certificate the client does not trust is InvalidIdentity after one request, not retried", () =>
      Effect.gen(function*() {
        const untrusted = Object.assign(new Error("unable to verify the first certificate"), {
          code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE"
        })
        const http = yield* FakeHttp.make([
          FakeHttp.transportError(new TypeError("fetch failed", { cause: untrusted }))
        ])
        const error = yield* Effect.flip(
          SourceHarness.getToken(resource).pipe(
            Effect.provide(
              SourceHarness.layer(
                AppServiceTokenSource.layer({
                  endpoint: "http://127.0.0.1:41234/msi/token",
                  identityHeader: Redacted.make(secret)
                }),
                { http }
              )
            )
          )
        )
        assert(error._tag === "InvalidIdentity")
        assert.include(error.message, "UNABLE_TO_VERIFY_LEAF_SIGNATURE")
        assert.include(error.message, "http://127.0.0.1:41234/msi/token")
        assert.strictEqual((yield* http.requests).length, 1)
      }))
  })

  describe("a socket that fails after the answer began is a retryable ConnectionFailed (issue 17, item 1)", () => {
    const body = JSON.stringify({ access_token: tokenValue, expires_in: 3600 })
    /** Answers the first request with its headers and part of the body, then ends it as `end` says; later ones whole. */
    const failingOnce = (end: (socket: Net.Socket) => void, framing: "length" | "chunked") => {
      let served = 0
      return LoopbackServer.start((_, response) => {
        if (served++ > 0) {
          response.writeHead(200, { "content-type": "application/json" })
          response.end(body)
          return
        }
        response.writeHead(200, {
          "content-type": "application/json",
          ...(framing === "length" ? { "content-length": String(body.length) } : {})
        })
        response.write(body.slice(0, 10))
        setTimeout(() => end(response.socket!), 20)
      })
    }
    const fastRetries = Schedule.max([Schedule.spaced("10 millis"), Schedule.recurs(3)])
    const cases: ReadonlyArray<readonly [string, (socket: Net.Socket) => void, "length" | "chunked"]> = [
      ["a reset after the headers (content-length)", (socket) => socket.resetAndDestroy(), "length"],
      ["a reset after the headers (chunked)", (socket) => socket.resetAndDestroy(), "chunked"],
      ["a body cut short (the server closes before content-length bytes)", (socket) => socket.end(), "length"],
      ["a chunked body cut short", (socket) => socket.destroy(), "chunked"]
    ]
    for (const [name, end, framing] of cases) {
      it.live(`${name}: retried, and the second answer's token is returned`, () =>
        Effect.gen(function*() {
          const server = yield* failingOnce(end, framing)
          const token = yield* appServiceToken(`${server.url}/msi/token`, FetchHttpClient.layer, {
            retrySchedule: fastRetries
          })
          assert.strictEqual(Redacted.value(token.token), tokenValue)
          assert.strictEqual(server.received.length, 2)
        }))
    }

    it.live("on every attempt: ConnectionFailed naming the attempts, never InvalidIdentity", () =>
      Effect.gen(function*() {
        const server = yield* LoopbackServer.start((_, response) => {
          response.writeHead(200, { "content-type": "application/json", "content-length": String(body.length) })
          response.write(body.slice(0, 10))
          setTimeout(() => response.socket!.resetAndDestroy(), 20)
        })
        const error = yield* Effect.flip(
          appServiceToken(`${server.url}/msi/token`, FetchHttpClient.layer, { retrySchedule: fastRetries })
        )
        assert(error._tag === "ConnectionFailed", error.message)
        assert.strictEqual(error.attempts, 4)
        assert.strictEqual(server.received.length, 4)
      }))
  })
})
