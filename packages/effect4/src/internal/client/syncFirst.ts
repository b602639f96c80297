/**
 * Runs a service's effect for Promise code, settling at once what completes without suspending: a root fiber starts
 * running synchronously, so a cache hit is done when `runFork` returns and its promise is created resolved; anything
 * else is observed to its end on the same fiber.
 */
import * as Cause from "effect/Cause"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"

/** A runtime to run on: a `Runtime` (e.g. from `Effect.runtime`) or a `ManagedRuntime`. */
export type AnyRuntime<R> = Context.Context<R> | ManagedRuntime.ManagedRuntime<R, unknown>

/** The part of an `AbortSignal` the runner uses. */
export interface Signal {
  readonly aborted: boolean
  addEventListener(type: "abort", listener: () => void): void
  removeEventListener(type: "abort", listener: () => void): void
}

/** The rejection for an interrupted wait, as `fetch` and the Azure SDK name it. */
export const abortError = (): Error => Object.assign(new Error("The operation was aborted."), { name: "AbortError" })

const rejection = <E>(cause: Cause.Cause<E>, failure: (error: E) => unknown): unknown =>
  Option.match(Cause.findErrorOption(cause), {
    onNone: () => Cause.hasInterruptsOnly(cause) ? abortError() : Cause.squash(cause),
    onSome: failure
  })

/** How `run` settles: `signal` interrupts the wait, `failure` turns a typed failure into the rejection, `map` the value. */
export interface RunOptions<A, E, B> {
  readonly signal?: Signal | undefined
  readonly failure?: ((error: E) => unknown) | undefined
  readonly map: (value: A) => B
}

/**
 * A runner over `runtime` for the service of `tag`: `run(use, options)` resolves with `use(service)`'s value, already
 * settled when it completes without suspending. The service is read from the runtime's context once, on the first
 * call (a runtime's context does not change), so a later call is one fiber running `use` and nothing else.
 */
export const make = <I, S>(runtime: AnyRuntime<I>, tag: Context.Key<I, S>) => {
  const runFork: <A, E>(effect: Effect.Effect<A, E, I>) => Fiber.Fiber<A, unknown> =
    ManagedRuntime.isManagedRuntime(runtime)
      ? (effect) => runtime.runFork(effect)
      : Effect.runForkWith(runtime as Context.Context<I>)
  let service: S | undefined
  const withService = <A, E>(use: (service: S) => Effect.Effect<A, E>): Effect.Effect<A, E, I> =>
    service !== undefined ? use(service) : Effect.flatMap(tag, (found) => {
      service = found
      return use(found)
    })
  return <A, E, B>(use: (service: S) => Effect.Effect<A, E>, options: RunOptions<A, E, B>): Promise<B> => {
    const { map, signal } = options
    const failure = options.failure ?? ((error: E): unknown => error)
    if (signal?.aborted) return Promise.reject(abortError())
    const fiber = runFork(withService(use)) as Fiber.Fiber<A, E>
    const done = fiber.pollUnsafe()
    if (done !== undefined) {
      return Exit.isSuccess(done) ? Promise.resolve(map(done.value)) : Promise.reject(rejection(done.cause, failure))
    }
    return new Promise<B>((resolve, reject) => {
      const onAbort = () => fiber.interruptUnsafe()
      signal?.addEventListener("abort", onAbort)
      fiber.addObserver((exit) => {
        signal?.removeEventListener("abort", onAbort)
        if (Exit.isSuccess(exit)) resolve(map(exit.value))
        else reject(rejection(exit.cause, failure))
      })
    })
  }
}
