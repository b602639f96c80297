/**
 * Everything a user's tracer and logger would see: every span (through the native tracer) and every log line at
 * every level, and one text holding all of it, for tests that assert no token or secret is in any of it.
 */
import type { Tracer as TracerModel } from "effect"
import { Cause, Effect, Layer, Logger, References, Tracer } from "effect"

/** The spans and log lines recorded so far, and the layer that records them. */
export interface Telemetry {
  readonly spans: Array<TracerModel.Span>
  readonly logs: Array<{ readonly level: string; readonly message: string; readonly annotations: string }>
  readonly layer: Layer.Layer<never>
  /** Every log line and every span (name, attributes, events, status) as one text. */
  readonly everything: () => string
}

/** `JSON.stringify` that writes bigints as strings. */
export const serialise = (value: unknown): string =>
  JSON.stringify(value, (_, inner) => typeof inner === "bigint" ? inner.toString() : inner)

/** Records every span and every log line at every level. */
export const make: Effect.Effect<Telemetry> = Effect.map(Effect.tracer, (native): Telemetry => {
  const spans: Array<TracerModel.Span> = []
  const tracer = Tracer.make({
    span: (options) => {
      const span = native.span(options)
      spans.push(span)
      return span
    },
    context: native.context
  })
  const logs: Telemetry["logs"] = []
  const logger = Logger.make(({ cause, fiber, logLevel, message }) => {
    logs.push({
      level: logLevel.toUpperCase(),
      message: `${serialise(message)} ${cause.reasons.length === 0 ? "" : Cause.pretty(cause)}`,
      annotations: serialise(fiber.getRef(References.CurrentLogAnnotations))
    })
  })
  return {
    spans,
    logs,
    layer: Layer.mergeAll(
      Layer.succeed(Tracer.Tracer, tracer),
      Logger.layer([logger]),
      Layer.succeed(References.MinimumLogLevel, "All")
    ),
    everything: () =>
      serialise([
        logs,
        spans.map((span) => ({
          name: span.name,
          attributes: Object.fromEntries(span.attributes),
          events: "events" in span ? span.events : [],
          status: span.status._tag === "Started"
            ? "Started"
            : span.status.exit._tag === "Success"
            ? "Success"
            : Cause.pretty(span.status.exit.cause)
        }))
      ])
  }
})
