import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Random, Redacted } from "effect"
import { TestClock } from "effect/testing"
import * as ImdsTokenSource from "../src/ImdsTokenSource.js"
import * as ManagedIdentityClient from "../src/ManagedIdentityClient.js"
import * as TokenCache from "../src/TokenCache.js"
import * as FakeHttp from "./utils/fakeHttp.js"
import * as SourceHarness from "./utils/sourceHarness.js"

const resource = "https://vault.azure.net"
const tokenValue = "AT-deadline-token"

/** An endpoint that never answers: how many requests were started, and how many of them were interrupted. */
const silentEndpoint = Effect.map(FakeHttp.make([FakeHttp.never]), (http) => ({
  http,
  state: Effect.all({ started: http.count, interrupted: http.interrupted })
}))

const clientLayer = (http: FakeHttp.FakeHttp, options: ImdsTokenSource.Options) =>
  ManagedIdentityClient.layer.pipe(
    Layer.provide(SourceHarness.layer(ImdsTokenSource.layer(options), { http })),
    Layer.provide(TokenCache.layerMemory)
  )

const getToken = Effect.flatMap(ManagedIdentityClient.ManagedIdentityClient, (client) => client.getToken(resource))

describe("Deadline", () => {
  const silent = [
    {
      name: "a silent endpoint: Timeout after 4 attempt timeouts and the jittered delays, before the deadline",
      deadline: "100 seconds" as const,
      before: 40_000 + 0.8 * 7_000 - 1,
      stateBefore: undefined,
      after: 0.4 * 7_000 + 1,
      attempts: 4,
      reason: "attempt 4 got no answer within 10s"
    },
    {
      name: "the deadline comes first: Timeout at exactly the deadline, the running attempt interrupted",
      deadline: "25 seconds" as const,
      before: 24_999,
      stateBefore: { started: 3, interrupted: 2 },
      after: 1,
      attempts: 3,
      reason: "25s deadline"
    }
  ]
  for (const { after, attempts, before, deadline, name, reason, stateBefore } of silent) {
    it.effect(name, () =>
      Effect.gen(function*() {
        const endpoint = yield* silentEndpoint
        const fiber = yield* Effect.forkChild(
          getToken.pipe(
            Effect.provide(clientLayer(endpoint.http, { attemptTimeout: "10 seconds", deadline })),
            Random.withSeed(7)
          )
        )
        yield* TestClock.adjust(before)
        assert.isUndefined(fiber.pollUnsafe())
        if (stateBefore !== undefined) assert.deepStrictEqual(yield* endpoint.state, stateBefore)
        yield* TestClock.adjust(after)
        const error = yield* Effect.flip(Fiber.join(fiber))
        assert(error._tag === "Timeout")
        assert.strictEqual(error.attempts, attempts)
        assert.include(error.reason, reason)
        assert.deepStrictEqual(yield* endpoint.state, { started: attempts, interrupted: attempts })
        yield* TestClock.adjust("10 minutes")
        assert.strictEqual((yield* endpoint.state).started, attempts)
      }))
  }

  it.effect("closing the client's scope interrupts a request in flight", () =>
    Effect.gen(function*() {
      const endpoint = yield* silentEndpoint
      const fiber = yield* Effect.forkChild(
        Effect.scoped(Effect.flatMap(Layer.build(clientLayer(endpoint.http, {})), (context) =>
          Effect.timeout(
            Effect.provide(getToken, context),
            "1 second"
          )))
      )
      yield* TestClock.adjust("1 second")
      const error = yield* Effect.flip(Fiber.join(fiber))
      assert.strictEqual(error._tag, "TimeoutError")
      assert.deepStrictEqual(yield* endpoint.state, { started: 1, interrupted: 1 })
    }))

  it.effect("a hung attempt is cut by the attempt timeout and the retry succeeds", () =>
    Effect.gen(function*() {
      const http = yield* FakeHttp.make((_, index) =>
        index === 0 ? FakeHttp.never : FakeHttp.json({ access_token: tokenValue, expires_in: 3600 })
      )
      const fiber = yield* Effect.forkChild(
        getToken.pipe(Effect.provide(clientLayer(http, { attemptTimeout: "2 seconds" })))
      )
      yield* TestClock.adjust("2 seconds")
      assert.strictEqual(yield* http.count, 1)
      yield* TestClock.adjust("2 seconds")
      const token = yield* Fiber.join(fiber)
      assert.strictEqual(Redacted.value(token.token), tokenValue)
      assert.strictEqual(yield* http.count, 2)
    }))
})

describe("Retry-After through a source", () => {
  it.effect("IMDS 503 with Retry-After as an HTTP date: the next attempt comes at that date", () =>
    Effect.gen(function*() {
      const http = yield* FakeHttp.make([
        FakeHttp.text("", { status: 503, headers: { "retry-after": "Thu, 01 Jan 1970 00:00:07 GMT" } }),
        FakeHttp.json({ access_token: tokenValue, expires_in: 3600 })
      ])
      yield* getToken.pipe(Effect.provide(clientLayer(http, {})), SourceHarness.requestsAfter(http, ["7 seconds"]))
      assert.strictEqual(yield* http.count, 2)
    }))

  it.effect("IMDS Retry-After: 0 retries at once instead of after the exponential delay", () =>
    Effect.gen(function*() {
      const http = yield* FakeHttp.make([
        FakeHttp.text("", { status: 429, headers: { "retry-after": "0" } }),
        FakeHttp.json({ access_token: tokenValue, expires_in: 3600 })
      ])
      const token = yield* getToken.pipe(Effect.provide(clientLayer(http, {})))
      assert.strictEqual(Redacted.value(token.token), tokenValue)
      assert.strictEqual(yield* http.count, 2)
    }))
})
