import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import type { RecordedRequest, SourceKind } from "./model.js"

/**
 * Every request to a token endpoint, in order.
 *
 * @internal
 */
export interface Recorder {
  /** Records a request as received now (by the `Clock`). */
  readonly record: (request: Omit<RecordedRequest, "at">) => Effect.Effect<void>
  readonly requests: Effect.Effect<ReadonlyArray<RecordedRequest>>
  /** How many requests `kind` received; without `kind`, all sources together. */
  readonly count: (kind?: SourceKind) => Effect.Effect<number>
  readonly clear: Effect.Effect<void>
}

/** @internal */
export const make: Effect.Effect<Recorder> = Effect.map(
  Ref.make(Chunk.empty<RecordedRequest>()),
  (records): Recorder => ({
    record: (request) =>
      Effect.flatMap(Clock.currentTimeMillis, (at) => Ref.update(records, Chunk.append({ ...request, at }))),
    requests: Effect.map(Ref.get(records), Chunk.toReadonlyArray),
    count: (kind) =>
      Effect.map(
        Ref.get(records),
        (all) => kind === undefined ? Chunk.size(all) : Chunk.size(Chunk.filter(all, (r) => r.source === kind))
      ),
    clear: Ref.set(records, Chunk.empty())
  })
)
