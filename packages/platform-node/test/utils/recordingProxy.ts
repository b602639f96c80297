/** The conformance package's recording proxy (`RecordingProxy.start`) for the scope of an Effect 3 test. */
import * as RecordingProxy from "@managed-identity/conformance/RecordingProxy"
import { Effect, type Scope } from "effect"

export type { RecordingProxy } from "@managed-identity/conformance/RecordingProxy"

/** Listens on a free port of 127.0.0.1 until the scope closes. */
export const make: Effect.Effect<RecordingProxy.RecordingProxy, never, Scope.Scope> = Effect.acquireRelease(
  Effect.promise(RecordingProxy.start),
  (proxy) => Effect.promise(proxy.close)
)

/** @see RecordingProxy.environment */
export const environment = RecordingProxy.environment
