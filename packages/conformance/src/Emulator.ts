/**
 * The emulator (an Effect 3 program) behind Promises, so that either Effect line's tests can start and steer it: its
 * scope, its recorded requests, its fault scripts, and a `fetch` trusting its STS CA.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { ManagedIdentityEmulator } from "@managed-identity/emulator"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"

/**
 * The hosts the suite runs the lines on: every source the emulator serves but `FederatedCredential` (an application's
 * exchange, which only the Effect 3 line has so far).
 */
export type SourceKind = Exclude<ManagedIdentityEmulator.SourceKind, "FederatedCredential">
/** @see ManagedIdentityEmulator.FaultStep */
export type FaultStep = ManagedIdentityEmulator.FaultStep
/** @see ManagedIdentityEmulator.RecordedRequest */
export type RecordedRequest = ManagedIdentityEmulator.RecordedRequest

/** Every source, in `SourceKind` order. */
export const allSources: ReadonlyArray<SourceKind> = ManagedIdentityEmulator.SourceKind.literals.filter(
  (kind): kind is SourceKind => kind !== "FederatedCredential"
)

/** A running emulator. */
export interface Handle {
  readonly emulator: ManagedIdentityEmulator.Emulator
  readonly env: ManagedIdentityEmulator.Emulator["env"]
  /** The requests `kind`'s endpoint received, in order (`FederatedCredential`: the STS's exchanges for applications). */
  readonly requests: (kind: ManagedIdentityEmulator.SourceKind) => Promise<ReadonlyArray<RecordedRequest>>
  readonly clearRequests: () => Promise<void>
  readonly setFaults: (kind: SourceKind, steps: ReadonlyArray<FaultStep>) => Promise<void>
  /** Every secret this emulator handed out or expects: none may show in an error. */
  readonly secrets: () => Promise<ReadonlyArray<string>>
  /** `fetch` trusting the STS CA besides Node's roots (`ManagedIdentityEmulator.layerTrustingFetch`). */
  readonly fetch: typeof globalThis.fetch
  readonly close: () => Promise<void>
}

/** Starts an emulator; `close` stops it and removes its files. */
export const start = async (options?: ManagedIdentityEmulator.Options): Promise<Handle> => {
  const scope = Effect.runSync(Scope.make())
  const inScope = <A, E>(effect: Effect.Effect<A, E, Scope.Scope>) => Effect.runPromise(Scope.extend(effect, scope))
  const emulator = await inScope(ManagedIdentityEmulator.start(options))
  const trusting = await inScope(Layer.buildWithScope(ManagedIdentityEmulator.layerTrustingFetch(emulator), scope))
  return {
    emulator,
    env: emulator.env,
    requests: (kind) =>
      Effect.runPromise(Effect.map(emulator.requests, (all) => all.filter((request) => request.source === kind))),
    clearRequests: () => Effect.runPromise(emulator.clearRequests),
    setFaults: (kind, steps) => Effect.runPromise(emulator.setFaults(kind, steps)),
    secrets: () =>
      Effect.runPromise(Effect.gen(function*() {
        const arcKey = yield* emulator.lastArcKey
        return [
          Redacted.value(yield* emulator.workloadIdentity.federatedToken),
          emulator.secrets.identityHeader,
          emulator.secrets.msiSecret,
          emulator.secrets.serviceFabricSecret,
          ...Option.toArray(Option.map(arcKey, Redacted.value))
        ].filter((secret) => secret.length > 0)
      })),
    fetch: Context.get(trusting, FetchHttpClient.Fetch),
    close: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

/** Starts an emulator, runs `use` and closes it. */
export const withEmulator = async <A>(
  use: (handle: Handle) => Promise<A>,
  options?: ManagedIdentityEmulator.Options
): Promise<A> => {
  const handle = await start(options)
  try {
    return await use(handle)
  } finally {
    await handle.close()
  }
}
