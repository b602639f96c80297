/**
 * Everything a user's tracer and logger would see: every span (through the default tracer) and every log line at
 * every level, and one text holding all of it, for tests that assert no token or secret is in any of it.
 */
import * as SpanRecorder from "@managed-identity/test-utils/SpanRecorder"
import type { Tracer } from "effect"
import { Cause, Effect, HashMap, Layer, Logger, LogLevel } from "effect"

/** The spans and log lines recorded so far, and the layer that records them. */
export interface Telemetry {
  readonly spans: Array<Tracer.Span>
  readonly logs: Array<{ readonly level: string; readonly message: string; readonly annotations: string }>
  readonly layer: Layer.Layer<never>
  /** Every log line and every span (name, attributes, events, status) as one text. */
  readonly everything: () => string
}

/** `JSON.stringify` that writes bigints as strings. */
export const serialise = (value: unknown): string =>
  JSON.stringify(value, (_, inner) => typeof inner === "bigint" ? inner.toString() : inner)

/** Records every span and every log line at every level. */
export const make: Effect.Effect<Telemetry> = Effect.map(SpanRecorder.make, ({ spans, tracer }): Telemetry => {
  const logs: Telemetry["logs"] = []
  const logger = Logger.make(({ annotations, cause, logLevel, message }) => {
    logs.push({
      level: logLevel.label,
      message: `${serialise(message)} ${Cause.isEmpty(cause) ? "" : Cause.pretty(cause)}`,
      annotations: serialise(Object.fromEntries(HashMap.toEntries(annotations)))
    })
  })
  return {
    spans,
    logs,
    layer: Layer.mergeAll(
      Layer.setTracer(tracer),
      Logger.replace(Logger.defaultLogger, logger),
      Logger.minimumLogLevel(LogLevel.All)
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
