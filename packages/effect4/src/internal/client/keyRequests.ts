/**
 * The requests behind the client's cache: one shared request per key and variant, background refreshes, and what a
 * request's end leaves in the key's state.
 */
import * as Cache from "@managed-identity/protocol/Cache"
import * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import { AccessToken } from "../../AccessToken.js"
import { type ManagedIdentityError, printable } from "../../ManagedIdentityError.js"
import type * as TokenCache from "../../TokenCache.js"
import type { TokenRequest } from "../../TokenRequest.js"
import type * as TokenSource from "../../TokenSource.js"
import * as Metrics from "../metrics.js"
import * as KeyState from "./keyState.js"
import * as SharedRequest from "./sharedRequest.js"

/** Whether a token expiring at `expiresOn` may be served (and so cached) at `now`. */
export const isServable = (expiresOn: DateTime.Utc, now: number): boolean =>
  Cache.isServable(expiresOn.epochMilliseconds, now)

/** Whether a cached token is past its `refreshOn` at `now`. */
export const isRefreshDue = (token: AccessToken, now: number): boolean =>
  token.refreshOn._tag === "Some" && token.refreshOn.value.epochMilliseconds <= now

/** The requests behind the cache, one shared request per key and variant. */
export interface KeyRequests {
  /** Joins or starts the `variant` request of `key` (`KeyState.plain`, or a claims challenge) and waits for it. */
  readonly fetch: (
    key: string,
    variant: string,
    request: TokenRequest
  ) => Effect.Effect<AccessToken, ManagedIdentityError>
  /**
   * Starts a background refresh of `cached` at `now` unless a plain request runs or a back-off holds; never waits.
   * A refresh that ends in anything but a token (an error, a defect, a throttled answer) sets the back-off, counts a
   * refresh failure and logs a warning.
   */
  readonly refresh: (key: string, cached: AccessToken, request: TokenRequest, now: number) => Effect.Effect<void>
}

/** Builds the requests of one client over its source, cache and clock; every fiber runs in `scope`. */
export const make = (options: {
  readonly source: TokenSource.TokenSource.Service
  readonly cache: TokenCache.TokenCache.Service
  readonly clock: Clock.Clock
  readonly scope: Scope.Scope
  readonly refreshBackoffMillis: number
}): Effect.Effect<KeyRequests> =>
  Effect.map(KeyState.make, (states): KeyRequests => {
    const { cache, clock, scope, source } = options
    const now = Effect.sync(() => clock.currentTimeMillisUnsafe())
    const refreshFailures = Metrics.refreshFailures(source.kind)

    /** One request to the source; a token that lasts is stored in the cache before any waiter wakes. */
    const issue = (key: string, request: TokenRequest): Effect.Effect<AccessToken, ManagedIdentityError> =>
      source.getToken(request).pipe(
        Effect.flatMap((issued) =>
          Effect.flatMap(now, (millis) => {
            const token = new AccessToken({ ...issued, source: "identity_provider" }, { disableChecks: true })
            return isServable(issued.expiresOn, millis)
              ? Effect.as(
                cache.set(key, new AccessToken({ ...issued, source: "cache" }, { disableChecks: true })),
                token
              )
              : Effect.succeed(token)
          })
        ),
        Effect.tapError((error) =>
          Effect.logDebug("managed identity token request failed").pipe(
            Effect.annotateLogs({ source: source.kind, resource: printable(request.resource), error: error._tag })
          )
        ),
        Effect.withSpan("ManagedIdentityClient.getToken", {
          attributes: { "managed_identity.source": source.kind, "managed_identity.resource": request.resource }
        })
      )

    const flight = (key: string, variant: string, request: Effect.Effect<AccessToken, ManagedIdentityError>) => ({
      scope,
      request,
      land: (exit: Exit.Exit<AccessToken, ManagedIdentityError>) =>
        Effect.flatMap(
          now,
          (millis) => KeyState.modify(states, key, millis, KeyState.land(variant, KeyState.throttleOf(exit, millis)))
        )
    })

    const refreshEnded = (key: string, cached: AccessToken, cause: Cause.Cause<ManagedIdentityError> | undefined) =>
      Effect.flatMap(now, (millis) => {
        const until = cause === undefined ? 0 : millis + options.refreshBackoffMillis
        const recorded = KeyState.modify(states, key, millis, KeyState.refreshEnded(until))
        if (cause === undefined) {
          return recorded
        }
        const error = Cause.findErrorOption(cause)
        return Effect.andThen(
          Effect.andThen(recorded, Metrics.increment(refreshFailures)),
          Effect.logWarning("background token refresh failed; serving the cached token").pipe(
            Effect.annotateLogs({
              source: source.kind,
              resource: printable(cached.resource),
              expiresOn: DateTime.formatIso(cached.expiresOn),
              retryAfter: Option.match(DateTime.make(until), {
                onNone: () => "never",
                onSome: DateTime.formatIso
              }),
              error: Option.isSome(error) ? error.value._tag : "Defect",
              message: Option.isSome(error) ? error.value.message : "the refresh ended without a typed error"
            })
          )
        )
      })

    return {
      fetch: (key, variant, request) =>
        SharedRequest.run({
          ...flight(key, variant, issue(key, request)),
          admit: (fresh) =>
            Effect.flatMap(
              now,
              (millis) => KeyState.modify(states, key, millis, KeyState.admit(variant, fresh, millis))
            )
        }),
      refresh: (key, cached, request, at) =>
        SharedRequest.start({
          ...flight(
            key,
            KeyState.plain,
            Effect.onExit(issue(key, request), (exit) =>
              exit._tag === "Success"
                ? refreshEnded(key, cached, undefined)
                : Cause.hasInterruptsOnly(exit.cause)
                ? Effect.void
                : refreshEnded(key, cached, exit.cause))
          ),
          admit: (fresh) => KeyState.modify(states, key, at, KeyState.admitRefresh(fresh, at))
        }).pipe(
          Effect.flatMap((admission) =>
            admission?._tag === "Refuse" ? refreshEnded(key, cached, Cause.fail(admission.error)) : Effect.void
          )
        )
    }
  })
