import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Layer, Option, Random, Redacted, Schedule } from "effect"
import { TestClock } from "effect/testing"
import * as AppServiceTokenSource from "../src/AppServiceTokenSource.js"
import * as AzureArcTokenSource from "../src/AzureArcTokenSource.js"
import * as CloudShellTokenSource from "../src/CloudShellTokenSource.js"
import * as ImdsTokenSource from "../src/ImdsTokenSource.js"
import * as MachineLearningTokenSource from "../src/MachineLearningTokenSource.js"
import { ConnectionFailed, SourceUnavailable, Timeout, TokenRequestFailed } from "../src/ManagedIdentityError.js"
import * as RetryPolicy from "../src/RetryPolicy.js"
import * as ServiceFabricTokenSource from "../src/ServiceFabricTokenSource.js"
import type * as TokenSource from "../src/TokenSource.js"
import * as WorkloadIdentityTokenSource from "../src/WorkloadIdentityTokenSource.js"
import * as FakeFileSystem from "./utils/fakeFileSystem.js"
import * as FakeHttp from "./utils/fakeHttp.js"
import * as SourceHarness from "./utils/sourceHarness.js"

const now = Date.UTC(2026, 0, 1)
const resource = "https://vault.azure.net"
const tokenValue = "AT-retry-token"
const ok = FakeHttp.json({ access_token: tokenValue, expires_in: 3600 })
const status = (code: number, headers: Record<string, string> = {}) => FakeHttp.text("", { status: code, headers })

const run = <E>(http: FakeHttp.FakeHttp, layer: Layer.Layer<TokenSource.TokenSource, E, SourceHarness.Requirements>) =>
  SourceHarness.getToken(resource).pipe(SourceHarness.provide(layer, { http }))

const imds = (http: FakeHttp.FakeHttp) => run(http, ImdsTokenSource.layer())

const appServiceOptions = { endpoint: "http://127.0.0.1:41234/msi/token", identityHeader: Redacted.make("secret") }

const appService = (http: FakeHttp.FakeHttp, options: TokenSource.TimingOptions = {}) =>
  run(http, AppServiceTokenSource.layer({ ...appServiceOptions, ...options }))

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
          const fiber = yield* Effect.forkChild(imds(http).pipe(Random.withSeed(seed)))
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
        yield* imds(http).pipe(SourceHarness.advancing("2 seconds"))
        const [first, second] = yield* http.requests
        assert.notStrictEqual(first.headers["x-ms-client-request-id"], second.headers["x-ms-client-request-id"])
      }))

    it.effect("IMDS 500 four times: 4 requests, then the 500", () =>
      Effect.gen(function*() {
        const http = yield* FakeHttp.make([status(500)])
        const error = yield* Effect.flip(imds(http).pipe(SourceHarness.advancing("60 seconds")))
        assert.strictEqual(error._tag, "TokenRequestFailed")
        assert.strictEqual(yield* http.count, 4)
      }))

    it.effect("a connection refused after the first attempt is a retried ConnectionFailed", () =>
      Effect.gen(function*() {
        const http = yield* FakeHttp.make([status(500), FakeHttp.refused])
        const error = yield* Effect.flip(imds(http).pipe(SourceHarness.advancing("60 seconds")))
        assert(error._tag === "ConnectionFailed")
        assert.strictEqual(error.attempts, 4)
        assert.include(error.reason, "ECONNREFUSED")
        assert.strictEqual(yield* http.count, 4)
      }))

    it.effect("IMDS 410 ×8 then 200: success after at least 70 s", () =>
      Effect.gen(function*() {
        const http = yield* FakeHttp.make([...Array.from({ length: 8 }, () => status(410)), ok])
        const fiber = yield* Effect.forkChild(imds(http))
        yield* TestClock.adjust("69999 millis")
        assert.strictEqual(yield* http.count, 7)
        yield* TestClock.adjust("1 millis")
        assert.strictEqual(yield* http.count, 8)
        assert.isUndefined(fiber.pollUnsafe())
        yield* TestClock.adjust("10 seconds")
        const token = yield* Fiber.join(fiber)
        assert.strictEqual(Redacted.value(token.token), tokenValue)
        assert.strictEqual(yield* http.count, 9)
      }))

    it.effect("IMDS 410 for ever: gives up after the attempt made past 70 s", () =>
      Effect.gen(function*() {
        const http = yield* FakeHttp.make([status(410)])
        const error = yield* Effect.flip(imds(http).pipe(SourceHarness.advancing("100 seconds")))
        assert(error._tag === "TokenRequestFailed")
        assert.strictEqual(error.status, 410)
        assert.strictEqual(yield* http.count, 9)
      }))

    it.effect("IMDS 410 retries roughly every 10 s", () =>
      Effect.gen(function*() {
        const http = yield* FakeHttp.make([status(410)])
        const fiber = yield* Effect.forkChild(imds(http))
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
        yield* appService(http, { retrySchedule: Schedule.spaced("1 second") }).pipe(
          SourceHarness.requestsAfter(http, ["5 seconds"])
        )
        assert.strictEqual(yield* http.count, 2)
      }))

    it.effect("a user schedule never retries what the source considers final", () =>
      Effect.gen(function*() {
        const http = yield* FakeHttp.make([status(404), ok])
        const error = yield* Effect.flip(
          appService(http, { retrySchedule: Schedule.spaced("1 second") }).pipe(SourceHarness.advancing("10 seconds"))
        )
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

  describe("each source retries by the policy it exports", () => {
    const secret = Redacted.make("secret")
    const sources = [
      { module: { name: "ImdsTokenSource", ...ImdsTokenSource }, layer: ImdsTokenSource.layer() },
      {
        module: { name: "AppServiceTokenSource", ...AppServiceTokenSource },
        layer: AppServiceTokenSource.layer(appServiceOptions)
      },
      {
        module: { name: "MachineLearningTokenSource", ...MachineLearningTokenSource },
        layer: MachineLearningTokenSource.layer({ endpoint: "http://127.0.0.1:46808/MSI/auth", secret })
      },
      {
        module: { name: "CloudShellTokenSource", ...CloudShellTokenSource },
        layer: CloudShellTokenSource.layer({ endpoint: "http://localhost:50342/token" })
      },
      {
        module: { name: "ServiceFabricTokenSource", ...ServiceFabricTokenSource },
        layer: ServiceFabricTokenSource.layer({
          endpoint: "https://127.0.0.1:2377/token",
          identityHeader: secret,
          thumbprint: "ab".repeat(20)
        })
      },
      {
        module: { name: "AzureArcTokenSource", ...AzureArcTokenSource },
        layer: AzureArcTokenSource.layer({ keyDirectory: "/keys", platform: "linux" })
      },
      {
        module: { name: "WorkloadIdentityTokenSource", ...WorkloadIdentityTokenSource },
        layer: WorkloadIdentityTokenSource.layer({
          tenantId: "contoso.onmicrosoft.com",
          tokenFile: "/token",
          clientId: "11111111-2222-3333-4444-555555555555"
        }).pipe(Layer.provide(FakeFileSystem.make({ "/token": { content: "federated.jwt." } }).layer))
      }
    ]

    /** The delays `policy` waits before each retry when every attempt fails with `error` (attempts take no time). */
    const delaysOf = (policy: RetryPolicy.RetryPolicy, error: TokenRequestFailed) =>
      Effect.gen(function*() {
        const step = yield* Schedule.toStep(policy)
        const delays: Array<number> = []
        let now = 0
        while (delays.length < 50) {
          const next = yield* Effect.exit(step(now, error))
          if (!Exit.isSuccess(next)) break
          const delay = Duration.toMillis(next.value[1])
          delays.push(delay)
          now += delay
        }
        return delays
      })

    for (const { layer, module } of sources) {
      for (const code of [404, 410, 503]) {
        it.effect(`${module.name}: ${code} is retried when and as ${module.name}.retryPolicy says`, () =>
          Effect.gen(function*() {
            const delays = yield* delaysOf(module.retryPolicy, new TokenRequestFailed({ source: "Imds", status: code }))
            const http = yield* FakeHttp.make([status(code)])
            const error = yield* Effect.flip(run(http, layer).pipe(SourceHarness.requestsAfter(http, delays)))
            assert(error._tag === "TokenRequestFailed")
            assert.strictEqual(error.status, code)
            assert.strictEqual(yield* http.count, delays.length + 1)
          }).pipe(Effect.provideService(Random.Random, { nextIntUnsafe: () => 0, nextDoubleUnsafe: () => 0.5 })))
      }
    }

    it.effect("the policies differ where the sources do, so the test above tells them apart", () =>
      Effect.gen(function*() {
        const gone = new TokenRequestFailed({ source: "Imds", status: 410 })
        assert.strictEqual((yield* delaysOf(ImdsTokenSource.retryPolicy, gone)).length, 8)
        assert.strictEqual((yield* delaysOf(AppServiceTokenSource.retryPolicy, gone)).length, 0)
      }).pipe(Effect.provideService(Random.Random, { nextIntUnsafe: () => 0, nextDoubleUnsafe: () => 0.5 })))
  })
})
