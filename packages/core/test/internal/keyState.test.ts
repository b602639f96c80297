import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, HashMap, Option, Ref } from "effect"
import type { AccessToken } from "../../src/AccessToken.js"
import * as KeyState from "../../src/internal/keyState.js"
import { type ManagedIdentityError, TokenRequestFailed } from "../../src/ManagedIdentityError.js"

const key = "system|https://vault.azure.net"
const throttled = new TokenRequestFailed({ source: "Imds", status: 429, retryAfter: 30 })
const flight = () => Deferred.unsafeMake<AccessToken, ManagedIdentityError>(undefined as never)
const failed = (error: ManagedIdentityError) => Exit.fail(error)

describe("KeyState", () => {
  it.effect("a caller starts the plain flight, the next joins it, a claims variant starts its own", () =>
    Effect.gen(function*() {
      const states = yield* KeyState.make
      const first = flight()
      assert.deepStrictEqual(yield* KeyState.modify(states, key, 0, KeyState.admit(KeyState.plain, first, 0)), {
        _tag: "Start"
      })
      const joined = yield* KeyState.modify(states, key, 0, KeyState.admit(KeyState.plain, flight(), 0))
      assert.deepStrictEqual(joined, { _tag: "Join", flight: first })
      const claims = yield* KeyState.modify(states, key, 0, KeyState.admit("{\"claims\":1}", flight(), 0))
      assert.strictEqual(claims._tag, "Start")
    }))

  it.effect("a throttled landing refuses callers until it expires; then the entry is gone once idle", () =>
    Effect.gen(function*() {
      const states = yield* KeyState.make
      yield* KeyState.modify(states, key, 0, KeyState.admit(KeyState.plain, flight(), 0))
      const throttle = KeyState.throttleOf(failed(throttled), 0)
      assert.deepStrictEqual(Option.map(throttle, (t) => t.until), Option.some(30_000))
      yield* KeyState.modify(states, key, 0, KeyState.land(KeyState.plain, throttle))
      const refused = yield* KeyState.modify(states, key, 29_999, KeyState.admit(KeyState.plain, flight(), 29_999))
      assert.deepStrictEqual(refused, { _tag: "Refuse", error: throttled })
      const started = yield* KeyState.modify(states, key, 30_000, KeyState.admit(KeyState.plain, flight(), 30_000))
      assert.strictEqual(started._tag, "Start")
      yield* KeyState.modify(states, key, 30_000, KeyState.land(KeyState.plain, Option.none()))
      assert.isTrue(HashMap.isEmpty(yield* Ref.get(states)))
    }))

  it.effect("a refresh starts only without a plain flight and outside its back-off", () =>
    Effect.gen(function*() {
      const states = yield* KeyState.make
      yield* KeyState.modify(states, key, 0, KeyState.admit(KeyState.plain, flight(), 0))
      assert.isUndefined(yield* KeyState.modify(states, key, 0, KeyState.admitRefresh(flight(), 0)))
      yield* KeyState.modify(states, key, 0, KeyState.land(KeyState.plain, Option.none()))
      yield* KeyState.modify(states, key, 0, KeyState.refreshEnded(30_000))
      assert.isUndefined(yield* KeyState.modify(states, key, 29_999, KeyState.admitRefresh(flight(), 29_999)))
      const refresh = flight()
      assert.deepStrictEqual(yield* KeyState.modify(states, key, 30_000, KeyState.admitRefresh(refresh, 30_000)), {
        _tag: "Start"
      })
      const joined = yield* KeyState.modify(states, key, 30_000, KeyState.admit(KeyState.plain, flight(), 30_000))
      assert.deepStrictEqual(joined, { _tag: "Join", flight: refresh })
    }))

  it("remembers a 429 (5 s without Retry-After) and a 5xx with Retry-After (at most an hour), nothing else", () => {
    const until = (error: ManagedIdentityError) => Option.map(KeyState.throttleOf(failed(error), 1000), (t) => t.until)
    assert.deepStrictEqual(until(new TokenRequestFailed({ source: "Imds", status: 429 })), Option.some(6000))
    assert.deepStrictEqual(
      until(new TokenRequestFailed({ source: "Imds", status: 503, retryAfter: 7200 })),
      Option.some(1000 + 3_600_000)
    )
    assert.isTrue(Option.isNone(until(new TokenRequestFailed({ source: "Imds", status: 500 }))))
    assert.isTrue(Option.isNone(until(new TokenRequestFailed({ source: "Imds", status: 400, retryAfter: 5 }))))
    assert.isTrue(Option.isNone(KeyState.throttleOf(Exit.die("defect"), 0)))
  })
})
