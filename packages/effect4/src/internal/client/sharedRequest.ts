/**
 * One request that many callers share: the first starts it in a fiber of a scope, the others join it, and
 * interrupting a waiting caller never cancels it for the rest.
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import type * as Scope from "effect/Scope"

/** What a caller does about a shared request: join the running one, take a refusal, or start it. */
export type Admission<A, E> =
  | { readonly _tag: "Join"; readonly flight: Deferred.Deferred<A, E> }
  | { readonly _tag: "Refuse"; readonly error: E }
  | { readonly _tag: "Start" }

/** How one shared request is admitted, run and landed. */
export interface Options<A, E> {
  /** Where the request runs: closing the scope interrupts it and so every caller waiting for it. */
  readonly scope: Scope.Scope
  /**
   * Decides atomically, given the caller's `fresh` flight: join a running flight, refuse, or start — in which case it
   * has registered `fresh` so that later callers join it.
   */
  readonly admit: (fresh: Deferred.Deferred<A, E>) => Effect.Effect<Admission<A, E>>
  /** The request itself. */
  readonly request: Effect.Effect<A, E>
  /** Runs when the request ends, before its waiters wake: it must unregister the flight. */
  readonly land: (exit: Exit.Exit<A, E>) => Effect.Effect<void>
}

const launch = <A, E>(options: Omit<Options<A, E>, "admit">, flight: Deferred.Deferred<A, E>): Effect.Effect<void> =>
  Effect.asVoid(Effect.forkIn(
    Effect.onExit(
      Effect.interruptible(options.request),
      (exit) => Effect.andThen(options.land(exit), Deferred.done(flight, exit))
    ),
    options.scope
  ))

/**
 * Gets the result of the shared request: joins the running one or starts it, and waits. The request runs in a fiber
 * of `scope`, so interrupting a waiting caller never cancels it for the others (nor for the cache it fills).
 */
export const run = <A, E>(options: Options<A, E>): Effect.Effect<A, E> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(
      Deferred.make<A, E>(),
      (fresh) =>
        Effect.flatMap(options.admit(fresh), (admission): Effect.Effect<A, E> => {
          switch (admission._tag) {
            case "Join":
              return restore(Deferred.await(admission.flight))
            case "Refuse":
              return Effect.fail(admission.error)
            case "Start":
              return Effect.andThen(launch(options, fresh), restore(Deferred.await(fresh)))
          }
        })
    )
  )

/**
 * Starts the shared request in the background when `admit` says `Start`, without waiting for it; returns the
 * admission (`undefined` when `admit` declined to decide, e.g. nothing to do).
 */
export const start = <A, E>(
  options: Omit<Options<A, E>, "admit"> & {
    readonly admit: (fresh: Deferred.Deferred<A, E>) => Effect.Effect<Admission<A, E> | undefined>
  }
): Effect.Effect<Admission<A, E> | undefined> =>
  Effect.uninterruptible(
    Effect.flatMap(Deferred.make<A, E>(), (fresh) =>
      Effect.tap(options.admit(fresh), (admission) =>
        admission?._tag === "Start" ? launch(options, fresh) : Effect.void))
  )
