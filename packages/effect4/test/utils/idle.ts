/**
 * Letting forked fibers (the client's background requests included) run until nothing more happens before the test
 * acts: `tracked(f)` hands `f` an `idle` effect that yields to every other runnable fiber, many times over. Effect 4
 * has no `Supervisor` to list the forked fibers (the Effect 3 line's helper waits on their status instead), so this
 * waits on scheduling: enough turns for the fakes here, which answer without I/O.
 *
 * ```ts
 * yield* tracked((idle) => Effect.gen(function*() {
 *   yield* client.getToken(resource) // starts a background refresh
 *   yield* idle
 *   assert.strictEqual(source.requests.length, 2)
 * }))
 * ```
 */
import { Effect } from "effect"

const turns = 200

const idle: Effect.Effect<void> = Effect.suspend(function loop(n = 0): Effect.Effect<void> {
  return n >= turns ? Effect.void : Effect.flatMap(Effect.yieldNow, () => loop(n + 1))
})

/** Runs `f` with `idle`, which returns once every other runnable fiber has had many turns. */
export const tracked = <A, E, R>(f: (idle: Effect.Effect<void>) => Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  f(idle)
