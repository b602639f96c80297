import { HttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Random, Redacted, Ref, Supervisor, TestClock } from "effect"
import * as ImdsTokenSource from "../src/ImdsTokenSource.js"
import * as ManagedIdentity from "../src/ManagedIdentity.js"
import * as ManagedIdentityClient from "../src/ManagedIdentityClient.js"
import * as TokenCache from "../src/TokenCache.js"
import * as FakeHttp from "./utils/fakeHttp.js"

const resource = "https://vault.azure.net"
const tokenValue = "AT-deadline-token"

/** An endpoint that never answers and records, per request, whether the request was started and interrupted. */
const silentEndpoint = Effect.map(Ref.make({ started: 0, interrupted: 0 }), (state) => ({
  state,
  layer: Layer.succeed(
    HttpClient.HttpClient,
    HttpClient.make(() =>
      Effect.zipRight(
        Ref.update(state, (s) => ({ ...s, started: s.started + 1 })),
        Effect.never.pipe(
          Effect.onInterrupt(() => Ref.update(state, (s) => ({ ...s, interrupted: s.interrupted + 1 })))
        )
      )
    )
  )
}))

const clientLayer = (http: Layer.Layer<HttpClient.HttpClient>, options: ImdsTokenSource.Options) =>
  ManagedIdentityClient.layer.pipe(
    Layer.provide(ImdsTokenSource.layer(options)),
    Layer.provide(TokenCache.layerMemory),
    Layer.provide(http),
    Layer.provide(ManagedIdentity.layerSystemAssigned)
  )

const getToken = Effect.flatMap(ManagedIdentityClient.ManagedIdentityClient, (client) => client.getToken(resource))

describe("Deadline", () => {
  it.effect("a silent endpoint: Timeout after 4 attempt timeouts and the jittered delays, before the deadline", () =>
    Effect.gen(function*() {
      const endpoint = yield* silentEndpoint
      const supervisor = yield* Supervisor.track
      const fiber = yield* Effect.fork(
        getToken.pipe(
          Effect.provide(clientLayer(endpoint.layer, { attemptTimeout: "10 seconds", deadline: "100 seconds" })),
          Effect.supervised(supervisor),
          Effect.withRandom(Random.make(7))
        )
      )
      yield* TestClock.adjust(40_000 + 0.8 * 7_000 - 1)
      assert.isNull(fiber.unsafePoll())
      assert.isAbove((yield* supervisor.value).length, 0)
      yield* TestClock.adjust(0.4 * 7_000 + 1)
      const error = yield* Effect.flip(Fiber.join(fiber))
      assert.strictEqual(error._tag, "Timeout")
      if (error._tag !== "Timeout") return
      assert.strictEqual(error.attempts, 4)
      assert.include(error.reason, "attempt 4 got no answer within 10s")
      assert.deepStrictEqual(yield* Ref.get(endpoint.state), { started: 4, interrupted: 4 })
      assert.deepStrictEqual(yield* supervisor.value, [])
      yield* TestClock.adjust("10 minutes")
      assert.strictEqual((yield* Ref.get(endpoint.state)).started, 4)
    }))

  it.effect("the deadline comes first: Timeout at exactly the deadline, the running attempt interrupted", () =>
    Effect.gen(function*() {
      const endpoint = yield* silentEndpoint
      const supervisor = yield* Supervisor.track
      const fiber = yield* Effect.fork(
        getToken.pipe(
          Effect.provide(clientLayer(endpoint.layer, { attemptTimeout: "10 seconds", deadline: "25 seconds" })),
          Effect.supervised(supervisor)
        )
      )
      yield* TestClock.adjust("24999 millis")
      assert.isNull(fiber.unsafePoll())
      assert.deepStrictEqual(yield* Ref.get(endpoint.state), { started: 3, interrupted: 2 })
      assert.isAbove((yield* supervisor.value).length, 0)
      yield* TestClock.adjust("1 millis")
      const error = yield* Effect.flip(Fiber.join(fiber))
      assert.strictEqual(error._tag, "Timeout")
      if (error._tag !== "Timeout") return
      assert.strictEqual(error.attempts, 3)
      assert.include(error.reason, "25s deadline")
      assert.deepStrictEqual(yield* Ref.get(endpoint.state), { started: 3, interrupted: 3 })
      assert.deepStrictEqual(yield* supervisor.value, [])
      yield* TestClock.adjust("10 minutes")
      assert.strictEqual((yield* Ref.get(endpoint.state)).started, 3)
    }))

  it.effect("closing the client's scope interrupts a request in flight", () =>
    Effect.gen(function*() {
      const endpoint = yield* silentEndpoint
      const fiber = yield* Effect.fork(
        Effect.scoped(Effect.flatMap(Layer.build(clientLayer(endpoint.layer, {})), (context) =>
          Effect.timeout(
            Effect.provide(getToken, context),
            "1 second"
          )))
      )
      yield* TestClock.adjust("1 second")
      const error = yield* Effect.flip(Fiber.join(fiber))
      assert.strictEqual(error._tag, "TimeoutException")
      assert.deepStrictEqual(yield* Ref.get(endpoint.state), { started: 1, interrupted: 1 })
    }))

  it.effect("a hung attempt is cut by the attempt timeout and the retry succeeds", () =>
    Effect.gen(function*() {
      const http = yield* FakeHttp.make((_, index) =>
        index === 0 ? FakeHttp.never : FakeHttp.json({ access_token: tokenValue, expires_in: 3600 })
      )
      const fiber = yield* Effect.fork(
        getToken.pipe(Effect.provide(clientLayer(http.layer, { attemptTimeout: "2 seconds" })))
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
      const fiber = yield* Effect.fork(getToken.pipe(Effect.provide(clientLayer(http.layer, {}))))
      yield* TestClock.adjust("6999 millis")
      assert.strictEqual(yield* http.count, 1)
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(fiber)
      assert.strictEqual(yield* http.count, 2)
    }))

  it.effect("IMDS Retry-After: 0 retries at once instead of after the exponential delay", () =>
    Effect.gen(function*() {
      const http = yield* FakeHttp.make([
        FakeHttp.text("", { status: 429, headers: { "retry-after": "0" } }),
        FakeHttp.json({ access_token: tokenValue, expires_in: 3600 })
      ])
      const token = yield* getToken.pipe(Effect.provide(clientLayer(http.layer, {})))
      assert.strictEqual(Redacted.value(token.token), tokenValue)
      assert.strictEqual(yield* http.count, 2)
    }))
})
