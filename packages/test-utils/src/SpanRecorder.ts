/**
 * A tracer that records every span it opens (through the default tracer, so spans behave as usual), for tests that
 * assert what a user's tracer would see.
 */
import * as Effect from "effect/Effect"
import * as Tracer from "effect/Tracer"

/** The spans opened so far and the tracer that records them. */
export interface SpanRecorder {
  readonly spans: Array<Tracer.Span>
  readonly tracer: Tracer.Tracer
}

/** Wraps the tracer in context. */
export const make: Effect.Effect<SpanRecorder> = Effect.map(Effect.tracer, (native) => {
  const spans: Array<Tracer.Span> = []
  const tracer = Tracer.make({
    span: (...args) => {
      const span = native.span(...args)
      spans.push(span)
      return span
    },
    context: native.context
  })
  return { spans, tracer }
})
