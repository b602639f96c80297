import { assert, describe, it } from "@effect/vitest"
import { Array as Arr, Deferred, Effect, Exit, Fiber, Ref, Scope } from "effect"
import * as SharedRequest from "../../../src/internal/client/sharedRequest.js"
import { tracked } from "../../utils/idle.js"

type Slot = Deferred.Deferred<string, string> | undefined

/** One registration slot, as a client's key state would hold it, and a counted request gated on `gate`. */
const setup = Effect.gen(function*() {
  const slot = yield* Ref.make<Slot>(undefined)
  const started = yield* Ref.make(0)
  const landed = yield* Ref.make<ReadonlyArray<Exit.Exit<string, string>>>([])
  const gate = yield* Deferred.make<string, string>()
  const scope = yield* Scope.make()
  const options: SharedRequest.Options<string, string> = {
    scope,
    admit: (fresh) =>
      Ref.modify(
        slot,
        (running: Slot): readonly [SharedRequest.Admission<string, string>, Slot] =>
          running === undefined ? [{ _tag: "Start" }, fresh] : [{ _tag: "Join", flight: running }, running]
      ),
    request: Effect.andThen(Ref.update(started, (n) => n + 1), Deferred.await(gate)),
    land: (exit) => Effect.andThen(Ref.set(slot, undefined), Ref.update(landed, (exits) => [...exits, exit]))
  }
  return { slot, started, landed, gate, scope, options }
})

describe("SharedRequest", () => {
  it.effect("the first caller starts the request, every later caller joins it, all get its result", () =>
    tracked((idle) =>
      Effect.gen(function*() {
        const { gate, options, slot, started } = yield* setup
        const fibers = yield* Effect.forEach(Arr.range(1, 100), () => Effect.forkChild(SharedRequest.run(options)))
        yield* idle
        assert.strictEqual(yield* Ref.get(started), 1)
        yield* Deferred.succeed(gate, "token")
        assert.deepStrictEqual(yield* Fiber.joinAll(fibers), Arr.replicate("token", 100))
        assert.isUndefined(yield* Ref.get(slot))
      })
    ))

  it.effect("a failure reaches every waiter, after land has unregistered the flight", () =>
    tracked((idle) =>
      Effect.gen(function*() {
        const { gate, landed, options, slot } = yield* setup
        const fibers = yield* Effect.forEach(Arr.range(1, 3), () => Effect.forkChild(SharedRequest.run(options)))
        yield* idle
        yield* Deferred.fail(gate, "boom")
        const exits = yield* Effect.forEach(fibers, Fiber.await)
        assert.isTrue(exits.every((exit) => Exit.isFailure(exit)))
        assert.strictEqual((yield* Ref.get(landed)).length, 1)
        assert.isUndefined(yield* Ref.get(slot))
      })
    ))

  it.effect("interrupting every waiter leaves the request running; it lands with its result", () =>
    tracked((idle) =>
      Effect.gen(function*() {
        const { gate, landed, options } = yield* setup
        const fibers = yield* Effect.forEach(Arr.range(1, 10), () => Effect.forkChild(SharedRequest.run(options)))
        yield* idle
        yield* Fiber.interruptAll(fibers)
        yield* Deferred.succeed(gate, "orphan")
        yield* idle
        assert.deepStrictEqual(yield* Ref.get(landed), [Exit.succeed("orphan")])
      })
    ))

  it.effect("closing the scope interrupts the request, which lands and wakes its waiters interrupted", () =>
    tracked((idle) =>
      Effect.gen(function*() {
        const { landed, options, scope } = yield* setup
        const fiber = yield* Effect.forkChild(SharedRequest.run(options))
        yield* idle
        yield* Scope.close(scope, Exit.void)
        assert.isTrue(Exit.hasInterrupts(yield* Fiber.await(fiber)))
        const exits = yield* Ref.get(landed)
        assert.isTrue(exits.length === 1 && Exit.hasInterrupts(exits[0]))
      })
    ))

  it.effect("a refusal fails the caller without a request", () =>
    Effect.gen(function*() {
      const { options, started } = yield* setup
      const error = yield* Effect.flip(
        SharedRequest.run({ ...options, admit: () => Effect.succeed({ _tag: "Refuse", error: "throttled" }) })
      )
      assert.strictEqual(error, "throttled")
      assert.strictEqual(yield* Ref.get(started), 0)
    }))

  it.effect("start returns at once; the request runs in the background and later callers join it", () =>
    tracked((idle) =>
      Effect.gen(function*() {
        const { gate, options, started } = yield* setup
        const admission = yield* SharedRequest.start(options)
        assert.deepStrictEqual(admission, { _tag: "Start" })
        const joined = yield* Effect.forkChild(SharedRequest.run(options))
        yield* idle
        assert.strictEqual(yield* Ref.get(started), 1)
        yield* Deferred.succeed(gate, "refreshed")
        assert.strictEqual(yield* Fiber.join(joined), "refreshed")
        assert.isUndefined(yield* SharedRequest.start({ ...options, admit: () => Effect.succeed(undefined) }))
      })
    ))
})
