import { assert, describe, it } from "@effect/vitest"
import type { Tracer } from "effect"
import { Effect, Fiber, Layer, Logger, Metric, Redacted } from "effect"
import { TestClock } from "effect/testing"
import * as AppServiceTokenSource from "../src/AppServiceTokenSource.js"
import * as ImdsTokenSource from "../src/ImdsTokenSource.js"
import * as Metrics from "../src/internal/metrics.js"
import * as ManagedIdentityClient from "../src/ManagedIdentityClient.js"
import * as RetryPolicy from "../src/RetryPolicy.js"
import * as TokenCache from "../src/TokenCache.js"
import type * as TokenSource from "../src/TokenSource.js"
import * as FakeHttp from "./utils/fakeHttp.js"
import * as SourceHarness from "./utils/sourceHarness.js"
import * as Telemetry from "./utils/telemetry.js"

const resource = "https://vault.azure.net"
const tokenValue = "AT-observability-token-value"
const identityHeader = "observability-identity-header-secret"

const tokenBody = (lifetimeSeconds = 3600) => ({ access_token: tokenValue, expires_in: lifetimeSeconds })

const clientWith = (
  http: FakeHttp.FakeHttp,
  source: Layer.Layer<TokenSource.TokenSource, never, SourceHarness.Requirements>
) =>
  ManagedIdentityClient.layer.pipe(
    Layer.provide(SourceHarness.layer(source, { http })),
    Layer.provide(TokenCache.layerMemory)
  )

const imdsClient = (http: FakeHttp.FakeHttp, options: ImdsTokenSource.Options = {}) =>
  clientWith(http, ImdsTokenSource.layer(options))

const getToken = Effect.flatMap(ManagedIdentityClient.ManagedIdentityClient, (client) => client.getToken(resource))

const counter = (metric: Metrics.Counter) => Effect.map(Metric.value(metric), (state) => state.count)

const attributes = (span: Tracer.Span) =>
  Object.fromEntries([...span.attributes].filter(([key]) => key !== "code.stacktrace"))

const parentOf = (span: Tracer.Span) => span.parent._tag === "Some" ? span.parent.value : undefined

describe("Observability", () => {
  it.effect("getToken is a span whose children are the attempts: source, attempt, delay before it, status", () =>
    Effect.gen(function*() {
      const capture = yield* Telemetry.make
      const http = yield* FakeHttp.make([
        FakeHttp.text("", { status: 500, headers: { "retry-after": "3" } }),
        FakeHttp.text("", { status: 429, headers: { "retry-after": "5" } }),
        FakeHttp.json(tokenBody())
      ])
      yield* Effect.gen(function*() {
        const fiber = yield* Effect.forkChild(getToken)
        yield* TestClock.adjust("8 seconds")
        yield* Fiber.join(fiber)
      }).pipe(Effect.provide(imdsClient(http)), Effect.provide(capture.layer))

      const root = capture.spans.filter((span) => span.name === "ManagedIdentityClient.getToken")
      assert.strictEqual(root.length, 1)
      assert.deepStrictEqual(attributes(root[0]), {
        "managed_identity.source": "Imds",
        "managed_identity.resource": resource
      })
      const attempts = capture.spans.filter((span) => span.name === "ManagedIdentity.attempt")
      assert.deepStrictEqual(attempts.map(attributes), [
        {
          "managed_identity.source": "Imds",
          "managed_identity.attempt": 1,
          "managed_identity.delay_ms": 0,
          "http.response.status_code": 500,
          "managed_identity.outcome": "TokenRequestFailed"
        },
        {
          "managed_identity.source": "Imds",
          "managed_identity.attempt": 2,
          "managed_identity.delay_ms": 3000,
          "http.response.status_code": 429,
          "managed_identity.outcome": "TokenRequestFailed"
        },
        {
          "managed_identity.source": "Imds",
          "managed_identity.attempt": 3,
          "managed_identity.delay_ms": 5000,
          "http.response.status_code": 200,
          "managed_identity.outcome": "token"
        }
      ])
      for (const attempt of attempts) {
        assert.strictEqual(parentOf(attempt), root[0])
        assert.strictEqual(attempt.status._tag, "Ended")
      }
      assert.strictEqual(
        attempts.filter((span) => span.status._tag === "Ended" && span.status.exit._tag === "Success")
          .length,
        1
      )
      // the platform's http.client span (whose success value holds the request and its secret headers) is off
      assert.strictEqual(capture.spans.filter((span) => span.name.startsWith("http.client")).length, 0)
    }))

  it.effect("a cache hit opens no span and makes no request", () =>
    Effect.gen(function*() {
      const capture = yield* Telemetry.make
      const http = yield* FakeHttp.make([FakeHttp.json(tokenBody())])
      yield* Effect.gen(function*() {
        yield* getToken
        const spansAfterMiss = capture.spans.length
        const hit = yield* getToken
        assert.strictEqual(hit.source, "cache")
        assert.strictEqual(capture.spans.length, spansAfterMiss)
      }).pipe(Effect.provide(imdsClient(http)), Effect.provide(capture.layer))
      assert.strictEqual(yield* http.count, 1)
    }))

  it.effect("counts requests by source and status, retries, cache hits and misses", () =>
    Effect.gen(function*() {
      const http = yield* FakeHttp.make([
        FakeHttp.text("", { status: 503, headers: { "retry-after": "1" } }),
        FakeHttp.json(tokenBody())
      ])
      const read = Effect.all({
        r503: counter(Metrics.requests("Imds", "503")),
        r200: counter(Metrics.requests("Imds", "200")),
        retries: counter(Metrics.retries("Imds")),
        hits: counter(Metrics.cacheHits("Imds")),
        misses: counter(Metrics.cacheMisses("Imds"))
      })
      const before = yield* read
      yield* Effect.gen(function*() {
        const fiber = yield* Effect.forkChild(getToken)
        yield* TestClock.adjust("1 second")
        yield* Fiber.join(fiber)
        yield* getToken
        yield* getToken
      }).pipe(Effect.provide(imdsClient(http)))
      const after = yield* read
      assert.deepStrictEqual({
        r503: after.r503 - before.r503,
        r200: after.r200 - before.r200,
        retries: after.retries - before.retries,
        hits: after.hits - before.hits,
        misses: after.misses - before.misses
      }, { r503: 1, r200: 1, retries: 1, hits: 2, misses: 1 })
    }))

  it.effect("a request that got no response is counted by its error tag, or as interrupted by a timeout", () =>
    Effect.gen(function*() {
      const refused = yield* FakeHttp.make([FakeHttp.refused])
      const hanging = yield* FakeHttp.make([FakeHttp.never])
      const read = Effect.all([
        counter(Metrics.requests("Imds", "SourceUnavailable")),
        counter(Metrics.requests("Imds", "interrupted"))
      ])
      const [unavailable, interrupted] = yield* read
      yield* Effect.flip(getToken.pipe(Effect.provide(imdsClient(refused))))
      const fiber = yield* Effect.forkChild(
        getToken.pipe(
          Effect.provide(imdsClient(hanging, { retrySchedule: RetryPolicy.none, attemptTimeout: "2 seconds" }))
        )
      )
      yield* TestClock.adjust("2 seconds")
      const error = yield* Effect.flip(Fiber.join(fiber))
      assert.strictEqual(error._tag, "Timeout")
      const [unavailableAfter, interruptedAfter] = yield* read
      assert.strictEqual(unavailableAfter - unavailable, 1)
      assert.strictEqual(interruptedAfter - interrupted, 1)
    }))

  it.effect("a failed background refresh is counted and the cached token still served", () =>
    Effect.gen(function*() {
      const http = yield* FakeHttp.make([
        FakeHttp.json(tokenBody(7200)),
        FakeHttp.json({ error: "invalid_request" }, { status: 400 })
      ])
      const before = yield* counter(Metrics.refreshFailures("Imds"))
      yield* Effect.gen(function*() {
        yield* getToken
        yield* TestClock.adjust("3601 seconds")
        const served = yield* getToken
        assert.strictEqual(served.source, "cache")
        yield* TestClock.adjust("1 millis")
      }).pipe(Effect.provide(imdsClient(http)))
      assert.strictEqual(yield* http.count, 2)
      assert.strictEqual((yield* counter(Metrics.refreshFailures("Imds"))) - before, 1)
    }))

  it.effect("debug logs tell each failed and retried attempt, and no line or span holds the token or secret", () =>
    Effect.gen(function*() {
      const capture = yield* Telemetry.make
      const http = yield* FakeHttp.make([
        FakeHttp.json({ statusCode: 500, message: "busy" }, { status: 500, headers: { "retry-after": "2" } }),
        FakeHttp.json({ access_token: tokenValue, expires_on: "86400" })
      ])
      const source = AppServiceTokenSource.layer({
        endpoint: "http://127.0.0.1:41234/msi/token",
        identityHeader: Redacted.make(identityHeader)
      })
      const token = yield* Effect.gen(function*() {
        const fiber = yield* Effect.forkChild(getToken)
        yield* TestClock.adjust("2 seconds")
        return yield* Fiber.join(fiber)
      }).pipe(Effect.provide(clientWith(http, source)), Effect.provide(capture.layer))
      assert.strictEqual(Redacted.value(token.token), tokenValue)
      const [first] = yield* http.requests
      assert.strictEqual(first.headers["x-identity-header"], identityHeader)

      const debug = capture.logs.filter((line) => line.level === "DEBUG")
      const failed = debug.find((line) => line.message.includes("managed identity token attempt failed"))
      const retried = debug.find((line) => line.message.includes("managed identity token request retried"))
      assert.isDefined(failed)
      assert.include(failed!.annotations, "\"source\":\"AppService\"")
      assert.include(failed!.annotations, "\"attempt\":1")
      assert.include(failed!.annotations, "\"error\":\"TokenRequestFailed\"")
      assert.isDefined(retried)
      assert.include(retried!.annotations, "\"attempt\":2")
      assert.include(retried!.annotations, "\"delayMillis\":2000")

      assert.isUndefined(capture.spans.find((span) => span.attributes.has("http.request.header.x-identity-header")))
      const everything = capture.everything()
      assert.notInclude(everything, tokenValue)
      assert.notInclude(everything, identityHeader)
    }))

  it.effect("log lines show what an endpoint sent with its control characters escaped (issue 17, item 4)", () =>
    Effect.gen(function*() {
      const capture = yield* Telemetry.make
      const hostile = "\u001b[2J\u001b]52;c;ZXZpbA==\u0007\ndoctor: 0 errors"
      const http = yield* FakeHttp.make([
        FakeHttp.json({ ...tokenBody(7200), resource: `${resource}${hostile}` }),
        FakeHttp.json({ error: "invalid_request", error_description: hostile }, { status: 400 })
      ])
      yield* Effect.gen(function*() {
        yield* getToken
        yield* TestClock.adjust("3601 seconds")
        yield* getToken
        yield* TestClock.adjust("1 millis")
      }).pipe(Effect.provide(imdsClient(http)), Effect.provide(capture.layer))
      const lines = capture.logs.filter((line) =>
        line.message.includes("attempt failed") || line.message.includes("refresh failed")
      )
      assert.strictEqual(lines.length, 2)
      for (const line of lines) {
        const annotations = JSON.parse(line.annotations) as Record<string, unknown>
        for (const value of Object.values(annotations)) {
          assert.notMatch(String(value), /\p{Cc}/u, JSON.stringify(value))
        }
        assert.include(String(annotations.message ?? annotations.resource), "\\x1b[2J")
      }
    }))

  it.effect("at the default minimum level nothing is logged for a retried request", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const logger = Logger.make(({ message }) => {
        lines.push(String(message))
      })
      const http = yield* FakeHttp.make([FakeHttp.text("", { status: 500 }), FakeHttp.json(tokenBody())])
      yield* Effect.gen(function*() {
        const fiber = yield* Effect.forkChild(getToken)
        yield* TestClock.adjust("2 seconds")
        yield* Fiber.join(fiber)
      }).pipe(Effect.provide(imdsClient(http)), Effect.provide(Logger.layer([logger])))
      assert.strictEqual(yield* http.count, 2)
      assert.deepStrictEqual(lines, [])
    }))
})
