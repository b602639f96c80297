/**
 * Capturing log lines in tests, in the shape the Effect 3 line's tests read them: `logLevel.label` (`"WARN"`,
 * `"DEBUG"`, …), the message parts, and the fiber's log annotations as a `Map`.
 */
import { Layer, Logger, References } from "effect"

/** One log line. */
export interface Line {
  readonly logLevel: { readonly label: string }
  readonly message: unknown
  readonly annotations: ReadonlyMap<string, unknown>
}

/** A logger calling `f` with each line. */
export const make = (f: (line: Line) => void): Logger.Logger<unknown, void> =>
  Logger.make(({ fiber, logLevel, message }) =>
    f({
      logLevel: { label: logLevel.toUpperCase() },
      message,
      annotations: new Map(Object.entries(fiber.getRef(References.CurrentLogAnnotations)))
    })
  )

/** Replaces the loggers with `logger`, at every level from `Debug` up. */
export const layer = (logger: Logger.Logger<unknown, void>): Layer.Layer<never> =>
  Layer.merge(Logger.layer([logger]), Layer.succeed(References.MinimumLogLevel, "Debug"))
