/**
 * Runs an effect for Promise code, settling at once what completes without suspending: a root fiber starts running
 * synchronously, so a cache hit is done when `runFork` returns and its promise is created resolved; anything else is
 * observed to its end on the same fiber.
 */
import * as Cause from "effect/Cause"
import type * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"

/** A runtime to run on: a `Runtime` (e.g. from `Effect.runtime`) or a `ManagedRuntime`. */
export type AnyRuntime<R> = Runtime.Runtime<R> | ManagedRuntime.ManagedRuntime<R, unknown>

/** The part of an `AbortSignal` the runner uses. */
export interface Signal {
  readonly aborted: boolean
  addEventListener(type: "abort", listener: () => void): void
  removeEventListener(type: "abort", listener: () => void): void
}

/** The rejection for an interrupted wait, as `fetch` and the Azure SDK name it. */
export const abortError = (): Error => Object.assign(new Error("The operation was aborted."), { name: "AbortError" })

const rejection = <E>(cause: Cause.Cause<E>, failure: (error: E) => unknown): unknown =>
  Option.match(Cause.failureOption(cause), {
    onNone: () => Cause.isInterruptedOnly(cause) ? abortError() : Cause.squash(cause),
    onSome: failure
  })

const settle = <A, E>(exit: Exit.Exit<A, E>, failure: (error: E) => unknown): Promise<A> =>
  Exit.isSuccess(exit) ? Promise.resolve(exit.value) : Promise.reject(rejection(exit.cause, failure))

/**
 * A runner over `runtime`: `run(effect, signal, failure)` resolves with the effect's value, already settled when the
 * effect completes without suspending. `signal` interrupts the wait (the promise rejects with an `AbortError`);
 * `failure` turns a typed failure into the rejection (by default the failure itself).
 */
export const make = <R>(runtime: AnyRuntime<R>) => {
  const runFork: <A, E>(effect: Effect.Effect<A, E, R>) => Fiber.RuntimeFiber<A, unknown> =
    ManagedRuntime.isManagedRuntime(runtime)
      ? (effect) => runtime.runFork(effect)
      : Runtime.runFork(runtime as Runtime.Runtime<R>)
  return <A, E>(
    effect: Effect.Effect<A, E, R>,
    signal?: Signal | undefined,
    failure: (error: E) => unknown = (error) => error
  ): Promise<A> => {
    if (signal?.aborted) return Promise.reject(abortError())
    const fiber = runFork(effect) as Fiber.RuntimeFiber<A, E>
    const done = fiber.unsafePoll()
    if (done !== null) return settle(done, failure)
    return new Promise<A>((resolve, reject) => {
      const onAbort = () => fiber.unsafeInterruptAsFork(FiberId.none)
      signal?.addEventListener("abort", onAbort)
      fiber.addObserver((exit) => {
        signal?.removeEventListener("abort", onAbort)
        if (Exit.isSuccess(exit)) resolve(exit.value)
        else reject(rejection(exit.cause, failure))
      })
    })
  }
}
