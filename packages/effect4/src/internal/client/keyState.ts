/**
 * What the client knows about each cache key besides the token: requests in flight, a throttled answer to replay,
 * the refresh back-off — one state value per key in one `Ref`, changed atomically.
 */
import * as Cache from "@managed-identity/protocol/Cache"
import * as Cause from "effect/Cause"
import type * as Deferred from "effect/Deferred"
import type * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import type { AccessToken } from "../../AccessToken.js"
import type { ManagedIdentityError } from "../../ManagedIdentityError.js"
import type * as SharedRequest from "./sharedRequest.js"

/** A request that callers of one key share while it runs. */
export type Flight = Deferred.Deferred<AccessToken, ManagedIdentityError>

/** A throttled answer, replayed to every caller of the key until `until` (epoch milliseconds). */
export interface Throttle {
  readonly until: number
  readonly error: ManagedIdentityError
}

/**
 * What the client knows about one cache key besides the token, which lives in the `TokenCache`.
 *
 * - `flights`: the requests running now, the plain one under `""` and each claims challenge under its claims. A
 *   background refresh is the plain flight, so "a refresh is running" needs no state of its own.
 * - `throttle`: a throttled answer still to be replayed.
 * - `refreshBlockedUntil`: after a failed background refresh, no other starts before this time (epoch milliseconds).
 */
export interface KeyState {
  readonly flights: HashMap.HashMap<string, Flight>
  readonly throttle: Option.Option<Throttle>
  readonly refreshBlockedUntil: number
}

/**
 * What a request's end at `now` leaves to remember: a `429` (for its `Retry-After`, else 5 s) or a `5xx` with
 * `Retry-After`, at most an hour.
 */
export const throttleOf = (
  exit: Exit.Exit<AccessToken, ManagedIdentityError>,
  now: number
): Option.Option<Throttle> => {
  if (exit._tag === "Success") return Option.none()
  const error = Cause.findErrorOption(exit.cause)
  if (Option.isNone(error)) return Option.none()
  const millis = Cache.throttleMillis(error.value)
  return millis === undefined ? Option.none() : Option.some({ until: now + millis, error: error.value })
}

/** The variant of the plain (no claims) request. */
export const plain = ""

const idle: KeyState = { flights: HashMap.empty(), throttle: Option.none(), refreshBlockedUntil: 0 }

const isIdle = (state: KeyState, now: number): boolean =>
  HashMap.isEmpty(state.flights) && (Option.isNone(state.throttle) || state.throttle.value.until <= now) &&
  state.refreshBlockedUntil <= now

/** Every key's state, in one `Ref`. A key whose state is idle has no entry, so the map holds only live keys. */
export type KeyStates = Ref.Ref<HashMap.HashMap<string, KeyState>>

/** An empty table of key states. */
export const make: Effect.Effect<KeyStates> = Ref.make(HashMap.empty<string, KeyState>())

/** Changes one key's state atomically; `f` returns its result and the new state. */
export const modify = <B>(
  states: KeyStates,
  key: string,
  now: number,
  f: (state: KeyState) => readonly [B, KeyState]
): Effect.Effect<B> =>
  Ref.modify(states, (all) => {
    const [result, next] = f(Option.getOrElse(HashMap.get(all, key), () => idle))
    return [result, isIdle(next, now) ? HashMap.remove(all, key) : HashMap.set(all, key, next)]
  })

/** What a caller asking for a token does. */
export type Admission = SharedRequest.Admission<AccessToken, ManagedIdentityError>

/**
 * A caller asks for the `variant` request at `now`, bringing `fresh` to register if it must start one: it joins the
 * running flight, is refused with the remembered throttled answer, or starts (and `fresh` is registered).
 */
export const admit =
  (variant: string, fresh: Flight, now: number) => (state: KeyState): readonly [Admission, KeyState] => {
    const running = HashMap.get(state.flights, variant)
    if (Option.isSome(running)) return [{ _tag: "Join", flight: running.value }, state]
    if (Option.isSome(state.throttle) && state.throttle.value.until > now) {
      return [{ _tag: "Refuse", error: state.throttle.value.error }, state]
    }
    return [{ _tag: "Start" }, {
      ...state,
      flights: HashMap.set(state.flights, variant, fresh),
      throttle: Option.none()
    }]
  }

/**
 * A background refresh asks to start at `now`: only when no plain request runs and no back-off is in force; then
 * `fresh` is registered as the plain flight, exactly as {@link admit} would.
 */
export const admitRefresh =
  (fresh: Flight, now: number) => (state: KeyState): readonly [Admission | undefined, KeyState] =>
    HashMap.has(state.flights, plain) || state.refreshBlockedUntil > now
      ? [undefined, state]
      : admit(plain, fresh, now)(state)

/**
 * The `variant` flight ended: it leaves the table, and a throttled failure is remembered.
 */
export const land =
  (variant: string, failure: Option.Option<Throttle>) => (state: KeyState): readonly [void, KeyState] => [
    undefined,
    {
      ...state,
      flights: HashMap.remove(state.flights, variant),
      throttle: Option.isSome(failure) ? failure : state.throttle
    }
  ]

/** A background refresh ended: success lifts any back-off, failure sets one until `until`. */
export const refreshEnded = (until: number) => (state: KeyState): readonly [void, KeyState] => [
  undefined,
  { ...state, refreshBlockedUntil: until }
]
