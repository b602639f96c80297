/**
 * Waiting on a condition instead of on scheduling: `tracked(f)` runs `f` with every fiber it forks (also those forked
 * into another scope, such as the client's background requests) tracked, and hands it `idle`, which returns once
 * every tracked fiber is done or suspended (waiting on a latch, a sleep, I/O) in two checks in a row — nothing more
 * will happen until the test acts.
 *
 * ```ts
 * yield* tracked((idle) => Effect.gen(function*() {
 *   yield* client.getToken(resource) // starts a background refresh
 *   yield* idle
 *   assert.strictEqual(source.requests.length, 2)
 * }))
 * ```
 */
import { Effect, type Fiber, FiberStatus, Supervisor } from "effect"

const maxChecks = 100_000

const allIdle = (fibers: ReadonlyArray<Fiber.RuntimeFiber<unknown, unknown>>) =>
  Effect.map(
    Effect.forEach(fibers, (fiber) => fiber.status),
    (statuses) => statuses.every((status) => FiberStatus.isDone(status) || FiberStatus.isSuspended(status))
  )

const awaitIdle = (supervisor: Supervisor.Supervisor<Array<Fiber.RuntimeFiber<unknown, unknown>>>) =>
  Effect.suspend(function check(n = 0, idleBefore = false): Effect.Effect<void> {
    if (n > maxChecks) return Effect.dieMessage("the forked fibers never became idle")
    return Effect.flatMap(
      Effect.flatMap(supervisor.value, allIdle),
      (idle) => idle && idleBefore ? Effect.void : Effect.zipRight(Effect.yieldNow(), check(n + 1, idle))
    )
  })

/** Runs `f` with its forked fibers tracked; `idle` waits until all of them are done or suspended. */
export const tracked = <A, E, R>(f: (idle: Effect.Effect<void>) => Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(Supervisor.track, (supervisor) => Effect.supervised(f(awaitIdle(supervisor)), supervisor))
