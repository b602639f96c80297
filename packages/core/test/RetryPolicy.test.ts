import type { HttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Option, Random, Redacted, Schedule, TestClock } from "effect"
import * as AppServiceTokenSource from "../src/AppServiceTokenSource.js"
import * as ImdsTokenSource from "../src/ImdsTokenSource.js"
import * as ManagedIdentity from "../src/ManagedIdentity.js"
import { ConnectionFailed, SourceUnavailable, Timeout, TokenRequestFailed } from "../src/ManagedIdentityError.js"
import * as RetryPolicy from "../src/RetryPolicy.js"
import * as ServiceFabricTokenSource from "../src/ServiceFabricTokenSource.js"
import * as TokenRequest from "../src/TokenRequest.js"
import type * as TokenSource from "../src/TokenSource.js"
import * as FakeHttp from "./utils/fakeHttp.js"

const now = Date.UTC(2026, 0, 1)
const resource = "https://vault.azure.net"
const tokenValue = "AT-retry-token"
const ok = FakeHttp.json({ access_token: tokenValue, expires_in: 3600 })
const status = (code: number, headers: Record<string, string> = {}) => FakeHttp.text("", { status: code, headers })

const run = (
  http: FakeHttp.FakeHttp,
  make: Effect.Effect<TokenSource.TokenSource.Service, never, HttpClient.HttpClient | ManagedIdentity.ManagedIdentity>
) =>
  Effect.flatMap(make, (source) => source.getToken(TokenRequest.make(resource))).pipe(
    Effect.provide(http.layer),
    Effect.provide(ManagedIdentity.layerSystemAssigned)
  )

const imds = (http: FakeHttp.FakeHttp, options: ImdsTokenSource.Options = {}) =>
  run(http, ImdsTokenSource.make(options))

const appService = (http: FakeHttp.FakeHttp, options: Partial<AppServiceTokenSource.Options> = {}) =>
  run(
    http,
    AppServiceTokenSource.make({
      endpoint: "http://127.0.0.1:41234/msi/token",
      identityHeader: Redacted.make("secret"),
      ...options
    })
  )

const failed = (code: number, retryAfter?: number) =>
  new TokenRequestFailed({ source: "Imds", status: code, ...(retryAfter === undefined ? {} : { retryAfter }) })

describe("RetryPolicy", () => {
  describe("predicates", () => {
    it("IMDS retries 404, 408, 410, 429, 5xx, transport failures and timeouts", () => {
      for (const code of [404, 408, 410, 429, 500, 501, 503, 599]) {
        assert.isTrue(RetryPolicy.isRetryableImds(failed(code)), `${code}`)
      }
      for (const code of [400, 401, 403, 405, 409]) {
        assert.isFalse(RetryPolicy.isRetryableImds(failed(code)), `${code}`)
      }
      assert.isTrue(
        RetryPolicy.isRetryableImds(new ConnectionFailed({ source: "Imds", endpoint: "e", reason: "r", attempts: 1 }))
      )
      assert.isTrue(RetryPolicy.isRetryableImds(new Timeout({ source: "Imds", attempts: 1, reason: "r" })))
      assert.isFalse(
        RetryPolicy.isRetryableImds(new SourceUnavailable({ source: "Imds", endpoint: "e", reason: "r" }))
      )
    })

    it("other sources retry 408, 429, 500, 502, 503, 504 and never 404", () => {
      for (const code of [408, 429, 500, 502, 503, 504]) {
        assert.isTrue(RetryPolicy.isRetryableDefault(failed(code)), `${code}`)
      }
      for (const code of [400, 401, 403, 404, 410, 501, 505]) {
        assert.isFalse(RetryPolicy.isRetryableDefault(failed(code)), `${code}`)
      }
      assert.strictEqual(ImdsTokenSource.isRetryable, RetryPolicy.isRetryableImds)
      assert.strictEqual(ServiceFabricTokenSource.isRetryable, RetryPolicy.isRetryableDefault)
    })
  })

  describe("Retry-After", () => {
    it("parses seconds and HTTP dates, ignores garbage", () => {
      assert.strictEqual(RetryPolicy.parseRetryAfter("5", now), 5)
      assert.strictEqual(RetryPolicy.parseRetryAfter(" 120 ", now), 120)
      assert.strictEqual(RetryPolicy.parseRetryAfter("Thu, 01 Jan 2026 00:01:00 GMT", now), 60)
      assert.strictEqual(RetryPolicy.parseRetryAfter("Wed, 31 Dec 2025 23:00:00 GMT", now), 0)
      assert.strictEqual(RetryPolicy.parseRetryAfter("soon", now), undefined)
      assert.strictEqual(RetryPolicy.parseRetryAfter(undefined, now), undefined)
    })

    it("retryAfter is capped at 60 s", () => {
      assert.deepStrictEqual(RetryPolicy.retryAfter(failed(429, 5)), Option.some(Duration.seconds(5)))
      assert.deepStrictEqual(RetryPolicy.retryAfter(failed(429, 3600)), Option.some(Duration.seconds(60)))
      assert.deepStrictEqual(RetryPolicy.retryAfter(failed(429)), Option.none())
    })
  })

  describe("through a source", () => {
    for (const seed of [1, 42, 2026]) {
      it.effect(`IMDS 500, 500, 200: 3 requests, retries after 1 s and 2 s jittered 0.8–1.2× (seed ${seed})`, () =>
        Effect.gen(function*() {
          const http = yield* FakeHttp.make([status(500), status(500), ok])
          const fiber = yield* Effect.fork(imds(http).pipe(Effect.withRandom(Random.make(seed))))
          yield* TestClock.adjust("799 millis")
          assert.strictEqual(yield* http.count, 1)
          yield* TestClock.adjust("401 millis")
          assert.strictEqual(yield* http.count, 2)
          yield* TestClock.adjust("1199 millis")
          assert.strictEqual(yield* http.count, 2)
          yield* TestClock.adjust("1201 millis")
          const token = yield* Fiber.join(fiber)
          assert.strictEqual(Redacted.value(token.token), tokenValue)
          assert.strictEqual(yield* http.count, 3)
        }))
    }

    it.effect("each attempt carries its own request id", () =>
      Effect.gen(function*() {
        const http = yield* FakeHttp.make([status(500), ok])
        const fiber = yield* Effect.fork(imds(http))
        yield* TestClock.adjust("2 seconds")
        yield* Fiber.join(fiber)
        const [first, second] = yield* http.requests
        assert.notStrictEqual(first.headers["x-ms-client-request-id"], second.headers["x-ms-client-request-id"])
      }))

    it.effect("IMDS 500 four times: 4 requests, then the 500", () =>
      Effect.gen(function*() {
        const http = yield* FakeHttp.make([status(500)])
        const fiber = yield* Effect.fork(imds(http))
        yield* TestClock.adjust("60 seconds")
        const error = yield* Effect.flip(Fiber.join(fiber))
        assert.strictEqual(error._tag, "TokenRequestFailed")
        assert.strictEqual(yield* http.count, 4)
      }))

    it.effect("a connection refused after the first attempt is a retried ConnectionFailed", () =>
      Effect.gen(function*() {
        const http = yield* FakeHttp.make([status(500), FakeHttp.refused])
        const fiber = yield* Effect.fork(imds(http))
        yield* TestClock.adjust("60 seconds")
        const error = yield* Effect.flip(Fiber.join(fiber))
        assert.strictEqual(error._tag, "ConnectionFailed")
        if (error._tag !== "ConnectionFailed") return
        assert.strictEqual(error.attempts, 4)
        assert.include(error.reason, "ECONNREFUSED")
        assert.strictEqual(yield* http.count, 4)
      }))

    it.effect("IMDS 410 ×8 then 200: success after at least 70 s", () =>
      Effect.gen(function*() {
        const http = yield* FakeHttp.make([...Array.from({ length: 8 }, () => status(410)), ok])
        const fiber = yield* Effect.fork(imds(http))
        yield* TestClock.adjust("69999 millis")
        assert.strictEqual(yield* http.count, 7)
        yield* TestClock.adjust("1 millis")
        assert.strictEqual(yield* http.count, 8)
        assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)))
        yield* TestClock.adjust("10 seconds")
        const token = yield* Fiber.join(fiber)
        assert.strictEqual(Redacted.value(token.token), tokenValue)
        assert.strictEqual(yield* http.count, 9)
      }))

    it.effect("IMDS 410 for ever: gives up after the attempt made past 70 s", () =>
      Effect.gen(function*() {
        const http = yield* FakeHttp.make([status(410)])
        const fiber = yield* Effect.fork(imds(http))
        yield* TestClock.adjust("100 seconds")
        const error = yield* Effect.flip(Fiber.join(fiber))
        assert.strictEqual(error._tag, "TokenRequestFailed")
        if (error._tag !== "TokenRequestFailed") return
        assert.strictEqual(error.status, 410)
        assert.strictEqual(yield* http.count, 9)
      }))

    it.effect("IMDS 410 retries roughly every 10 s", () =>
      Effect.gen(function*() {
        const http = yield* FakeHttp.make([status(410)])
        const fiber = yield* Effect.fork(imds(http))
        yield* TestClock.adjust("9999 millis")
        assert.strictEqual(yield* http.count, 1)
        yield* TestClock.adjust("1 millis")
        assert.strictEqual(yield* http.count, 2)
        yield* TestClock.adjust("100 seconds")
        yield* Effect.flip(Fiber.join(fiber))
      }))

    it.effect("App Service 429 with Retry-After 5 honoured by a user schedule too", () =>
      Effect.gen(function*() {
        const http = yield* FakeHttp.make([status(429, { "retry-after": "5" }), ok])
        const fiber = yield* Effect.fork(appService(http, { retrySchedule: Schedule.spaced("1 second") }))
        yield* TestClock.adjust("4999 millis")
        assert.strictEqual(yield* http.count, 1)
        yield* TestClock.adjust("1 millis")
        yield* Fiber.join(fiber)
        assert.strictEqual(yield* http.count, 2)
      }))

    it.effect("a user schedule never retries what the source considers final", () =>
      Effect.gen(function*() {
        const http = yield* FakeHttp.make([status(404), ok])
        const fiber = yield* Effect.fork(appService(http, { retrySchedule: Schedule.spaced("1 second") }))
        yield* TestClock.adjust("10 seconds")
        const error = yield* Effect.flip(Fiber.join(fiber))
        assert.strictEqual(error._tag, "TokenRequestFailed")
        assert.strictEqual(yield* http.count, 1)
      }))

    it.effect("retrySchedule: RetryPolicy.none: 1 request", () =>
      Effect.gen(function*() {
        const http = yield* FakeHttp.make([status(503), ok])
        const error = yield* Effect.flip(appService(http, { retrySchedule: RetryPolicy.none }))
        assert.strictEqual(error._tag, "TokenRequestFailed")
        assert.strictEqual(yield* http.count, 1)
      }))
  })
})
