import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { TestClock } from "effect/testing"
import * as AppServiceTokenSource from "../src/AppServiceTokenSource.js"
import * as ManagedIdentity from "../src/ManagedIdentity.js"
import { expectRequest } from "./utils/expectRequest.js"
import * as FakeHttp from "./utils/fakeHttp.js"
import * as SourceHarness from "./utils/sourceHarness.js"

const now = Date.UTC(2026, 0, 1)
const nowSeconds = now / 1000
const resource = "https://management.azure.com"
const tokenValue = "AT-app-service-secret-token-value"
const secret = "app-service-identity-header-secret"
const endpoint = "http://127.0.0.1:41234/msi/token"

const tokenBody = (fields: Record<string, unknown> = {}) => ({
  access_token: tokenValue,
  expires_on: String(nowSeconds + 86400),
  resource,
  token_type: "Bearer",
  ...fields
})

const getToken = (http: FakeHttp.FakeHttp, identity?: ManagedIdentity.Identity) =>
  SourceHarness.getToken(resource).pipe(
    SourceHarness.provide(AppServiceTokenSource.layer({ endpoint, identityHeader: Redacted.make(secret) }), {
      http,
      identity
    })
  )

const getTokenThroughConfig = (http: FakeHttp.FakeHttp, env: Record<string, string>) =>
  SourceHarness.getToken(resource).pipe(SourceHarness.provide(AppServiceTokenSource.layerConfig(), { http, env }))

describe("AppServiceTokenSource", () => {
  describe("request", () => {
    const cases = SourceHarness.selectorCases({ ClientId: "client_id", ResourceId: "mi_res_id", ObjectId: "object_id" })
    for (const [name, identity, selector] of cases) {
      it.effect(`${name}: GET with api-version, resource, the App Service selector and X-IDENTITY-HEADER`, () =>
        Effect.gen(function*() {
          yield* TestClock.setTime(now)
          const http = yield* FakeHttp.make([FakeHttp.json(tokenBody())])
          yield* getToken(http, identity)
          const [request] = yield* http.requests
          assert.strictEqual(yield* http.count, 1)
          expectRequest(request, {
            method: "GET",
            url: endpoint,
            params: { "api-version": "2019-08-01", resource, ...selector },
            headers: { "x-identity-header": secret, metadata: "true" }
          })
        }))
    }
  })

  describe("layerConfig", () => {
    it.effect("reads IDENTITY_ENDPOINT and IDENTITY_HEADER", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(now)
        const http = yield* FakeHttp.make([FakeHttp.json(tokenBody())])
        yield* getTokenThroughConfig(http, { IDENTITY_ENDPOINT: endpoint, IDENTITY_HEADER: secret })
        const [request] = yield* http.requests
        assert.strictEqual(request.urlWithoutQuery, endpoint)
        assert.strictEqual(request.headers["x-identity-header"], secret)
      }))

    const missing: ReadonlyArray<readonly [string, Record<string, string>]> = [
      ["IDENTITY_HEADER missing", { IDENTITY_ENDPOINT: endpoint }],
      ["IDENTITY_ENDPOINT missing", { IDENTITY_HEADER: secret }],
      ["IDENTITY_HEADER empty", { IDENTITY_ENDPOINT: endpoint, IDENTITY_HEADER: "" }]
    ]
    for (const [name, env] of missing) {
      it.effect(`${name}: ConfigError and no request`, () =>
        Effect.gen(function*() {
          const http = yield* FakeHttp.make([FakeHttp.json(tokenBody())])
          const error = yield* Effect.flip(getTokenThroughConfig(http, env))
          assert.isTrue(error._tag === "ConfigError")
          assert.strictEqual(yield* http.count, 0)
        }))
    }

    const refused: ReadonlyArray<readonly [string, string]> = [
      ["a non-loopback host", "http://example.com/msi/token"],
      ["https", "https://127.0.0.1:41234/msi/token"],
      ["not a URL", "not a url"]
    ]
    for (const [name, url] of refused) {
      it.effect(`IDENTITY_ENDPOINT on ${name}: InvalidIdentity and zero requests`, () =>
        Effect.gen(function*() {
          const http = yield* FakeHttp.make([FakeHttp.json(tokenBody())])
          const error = yield* Effect.flip(
            getTokenThroughConfig(http, { IDENTITY_ENDPOINT: url, IDENTITY_HEADER: secret })
          )
          assert(error._tag === "InvalidIdentity")
          assert.strictEqual(error.source, "AppService")
          assert.include(error.reason, "IDENTITY_ENDPOINT")
          assert.notInclude(error.message, secret)
          assert.strictEqual(yield* http.count, 0)
        }))
    }
  })

  describe("decoding", () => {
    const expiries = [
      {
        name: "expires_on as an epoch string",
        expires_on: String(nowSeconds + 7890),
        expiresIn: 7890,
        refreshIn: 3945
      },
      {
        name: "expires_on as MM/DD/YYYY HH:MM:SS +00:00",
        expires_on: "01/01/2026 02:11:30 +00:00",
        expiresIn: 7890,
        refreshIn: 3945
      },
      { name: "expires_on as ISO-8601", expires_on: "2026-01-01T01:00:00Z", expiresIn: 3600, refreshIn: undefined }
    ]
    for (const { expires_on, expiresIn, name, refreshIn } of expiries) {
      it.effect(name, () =>
        Effect.gen(function*() {
          yield* TestClock.setTime(now)
          const http = yield* FakeHttp.make([FakeHttp.json(tokenBody({ expires_on }))])
          const token = yield* getToken(http)
          assert.strictEqual(Redacted.value(token.token), tokenValue)
          SourceHarness.expectLifetime(token, now, { expiresIn, refreshIn })
        }))
    }

    it.effect("expires_on that is not a date: InvalidTokenResponse without the token", () =>
      Effect.gen(function*() {
        const http = yield* FakeHttp.make([FakeHttp.json(tokenBody({ expires_on: "tomorrow" }))])
        const error = yield* Effect.flip(getToken(http))
        assert.strictEqual(error._tag, "InvalidTokenResponse")
        assert.include(error.message, "expires_on")
        assert.notInclude(error.message, tokenValue)
        assert.notInclude(JSON.stringify(error), tokenValue)
      }))

    it.effect("token_type defaults to Bearer", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(now)
        const http = yield* FakeHttp.make([FakeHttp.json({ access_token: tokenValue, expires_on: nowSeconds + 3600 })])
        const token = yield* getToken(http)
        assert.strictEqual(token.tokenType, "Bearer")
      }))
  })

  describe("error answers", () => {
    it.effect("{statusCode, message} is surfaced", () =>
      Effect.gen(function*() {
        const http = yield* FakeHttp.make([
          FakeHttp.json({ statusCode: 400, message: "No managed identity found for the given client id" }, {
            status: 400
          })
        ])
        const error = yield* Effect.flip(getToken(http, ManagedIdentity.clientId("unknown")))
        assert(error._tag === "TokenRequestFailed")
        assert.strictEqual(error.source, "AppService")
        assert.strictEqual(error.status, 400)
        assert.strictEqual(error.error, undefined)
        assert.strictEqual(error.description, "No managed identity found for the given client id")
        assert.strictEqual(
          error.message,
          "AppService answered 400: No managed identity found for the given client id (asked for client id unknown)"
        )
        assert.strictEqual(yield* http.count, 1)
      }))

    it.effect("a 500 {statusCode, message} is surfaced after the retries", () =>
      Effect.gen(function*() {
        const http = yield* FakeHttp.make([
          FakeHttp.json({ statusCode: 500, message: "An unexpected error occured" }, { status: 500 })
        ])
        const error = yield* Effect.flip(getToken(http).pipe(SourceHarness.advancing("30 seconds")))
        assert(error._tag === "TokenRequestFailed")
        assert.strictEqual(error.status, 500)
        assert.strictEqual(error.error, undefined)
        assert.strictEqual(error.description, "An unexpected error occured")
        assert.strictEqual(error.message, "AppService answered 500: An unexpected error occured")
        assert.strictEqual(yield* http.count, 4)
      }))
  })

  describe("pipeline", () => {
    it.effect("connection refused on the first attempt: SourceUnavailable after exactly 1 request", () =>
      Effect.gen(function*() {
        const http = yield* FakeHttp.make([FakeHttp.refused, FakeHttp.json(tokenBody())])
        const error = yield* Effect.flip(getToken(http))
        assert.strictEqual(error._tag, "SourceUnavailable")
        assert.strictEqual(yield* http.count, 1)
      }))

    for (const status of [400, 401, 403, 404]) {
      it.effect(`${status} is never retried`, () =>
        Effect.gen(function*() {
          const http = yield* FakeHttp.make([FakeHttp.text("", { status }), FakeHttp.json(tokenBody())])
          const error = yield* Effect.flip(getToken(http).pipe(SourceHarness.advancing("30 seconds")))
          assert(error._tag === "TokenRequestFailed")
          assert.strictEqual(error.status, status)
          assert.strictEqual(yield* http.count, 1)
        }))
    }

    const retryAfter = [
      {
        name: "429 with Retry-After: 5: the next attempt comes after 5 s, not earlier",
        status: 429,
        header: "5",
        delay: "5 seconds"
      },
      { name: "Retry-After: 3600 is capped at 60 s", status: 503, header: "3600", delay: "60 seconds" }
    ] as const
    for (const { delay, header, name, status } of retryAfter) {
      it.effect(name, () =>
        Effect.gen(function*() {
          yield* TestClock.setTime(now)
          const http = yield* FakeHttp.make([
            FakeHttp.text("", { status, headers: { "retry-after": header } }),
            FakeHttp.json(tokenBody())
          ])
          const token = yield* getToken(http).pipe(SourceHarness.requestsAfter(http, [delay]))
          assert.strictEqual(Redacted.value(token.token), tokenValue)
          assert.strictEqual(yield* http.count, 2)
        }))
    }
  })
})
