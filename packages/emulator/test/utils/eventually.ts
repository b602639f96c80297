/** Waiting for a condition that another process or socket makes true. */
import { type Duration, Effect, Schedule } from "effect"

/**
 * Checks `condition` until it holds; fails with `description` if it still does not after `within` (real time: use
 * it in `it.live` tests, where the condition depends on sockets or other processes).
 */
export const eventually = <E, R>(
  description: string,
  condition: Effect.Effect<boolean, E, R>,
  within: Duration.DurationInput = "5 seconds"
): Effect.Effect<void, E | Error, R> =>
  condition.pipe(
    Effect.repeat({ schedule: Schedule.spaced("5 millis"), until: (holds) => holds }),
    Effect.asVoid,
    Effect.timeoutFail({ duration: within, onTimeout: () => new Error(`timed out waiting until ${description}`) })
  )
