/**
 * The client: tokens for a resource from the cache or the source, with one request per key at a time,
 * stale-while-revalidate refresh, claims challenges and throttle memory.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import { AccessToken } from "./AccessToken.js"
import * as Metrics from "./internal/metrics.js"
import type * as ManagedIdentity from "./ManagedIdentity.js"
import type { ManagedIdentityError } from "./ManagedIdentityError.js"
import * as TokenCache from "./TokenCache.js"
import type { TokenRequest } from "./TokenRequest.js"
import * as TokenSource from "./TokenSource.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface GetTokenOptions {
  /** A claims challenge (the decoded JSON of a `401`'s `claims="…"`); bypasses the cache. */
  readonly claims?: string | undefined
  /** Skips the cache read; the new token is still stored. */
  readonly forceRefresh?: boolean | undefined
}

/**
 * The client. Provide it with `ManagedIdentityClient.layer` over a `TokenSource` and a `TokenCache`, or with
 * `NodeManagedIdentity.layer` from `@managed-identity/platform-node`.
 *
 * @example
 * ```ts
 * import { ManagedIdentityClient, TokenCache, TokenSource } from "@managed-identity/core"
 * import { Effect, Layer, Redacted } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const client = yield* ManagedIdentityClient.ManagedIdentityClient
 *   const token = yield* client.getToken("https://vault.azure.net")
 *   return `${token.tokenType} ${Redacted.value(token.token)}`
 * })
 *
 * const TestLayer = ManagedIdentityClient.layer.pipe(
 *   Layer.provide(TokenSource.layerTest()),
 *   Layer.provide(TokenCache.layerMemory)
 * )
 *
 * Effect.runPromise(program.pipe(Effect.provide(TestLayer)))
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export class ManagedIdentityClient extends Context.Tag("@managed-identity/core/ManagedIdentityClient")<
  ManagedIdentityClient,
  ManagedIdentityClient.Service
>() {}

/**
 * @since 0.1.0
 */
export declare namespace ManagedIdentityClient {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Service {
    readonly source: TokenSource.SourceKind
    readonly identity: ManagedIdentity.Identity
    readonly getToken: (resource: string, options?: GetTokenOptions) => Effect.Effect<AccessToken, ManagedIdentityError>
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Client capabilities sent as `xms_cc` to sources that take them, e.g. `["cp1"]`. */
  readonly clientCapabilities?: ReadonlyArray<string> | undefined
  /** After a failed background refresh, how long before the next caller may start another (default 30 s). */
  readonly refreshBackoff?: Duration.DurationInput | undefined
}

/**
 * A cached token is served while at least this much of its lifetime remains.
 *
 * @since 0.1.0
 * @category constants
 */
export const minimumRemainingMillis = 300_000

/**
 * How long a throttled answer is remembered at most.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxThrottleMillis = 3_600_000

/**
 * How long a `429` without `Retry-After` is remembered.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultThrottleMillis = 5_000

const throttleMillis = (error: ManagedIdentityError): number | undefined => {
  if (error._tag !== "TokenRequestFailed") return undefined
  if (error.status === 429) {
    return Math.min(error.retryAfter === undefined ? defaultThrottleMillis : error.retryAfter * 1000, maxThrottleMillis)
  }
  return error.status >= 500 && error.status <= 599 && error.retryAfter !== undefined
    ? Math.min(error.retryAfter * 1000, maxThrottleMillis)
    : undefined
}

const sha256Hex = (text: string): Effect.Effect<string> =>
  Effect.map(
    Effect.promise(() => globalThis.crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))),
    (digest) => Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("")
  )

const toAccessToken = (issued: TokenSource.IssuedToken, source: AccessToken["source"]): AccessToken =>
  new AccessToken({ ...issued, source }, true)

/**
 * Builds the client over the `TokenSource` and `TokenCache` in context.
 *
 * - A cached token is served while at least 300 s of its lifetime remain. Past its `refreshOn` it is still served
 *   at once and one background refresh runs; a failed refresh is logged and retried by the first caller after
 *   `refreshBackoff`, and the old token is served until the 300 s line.
 * - Concurrent requests for one key share one request. The request runs in a fiber owned by the layer's scope, so
 *   interrupting a waiting caller never cancels it for the others, and closing the scope stops it.
 * - `claims` bypasses the cache (with the cached token's SHA-256 for sources that revoke); `forceRefresh` skips the
 *   cache read. Both store the new token.
 * - A `429`, or a `5xx` with `Retry-After`, is remembered per identity and resource for its `Retry-After` (at most
 *   an hour; `429` without the header 5 s): callers in that window get the same error without a request.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<ManagedIdentityClient.Service, never, TokenSource.TokenSource | TokenCache.TokenCache | Scope.Scope> =>
  Effect.gen(function*() {
    const source = yield* TokenSource.TokenSource
    const cache = yield* TokenCache.TokenCache
    const scope = yield* Effect.scope
    const refreshBackoffMillis = Duration.toMillis(options.refreshBackoff ?? Duration.seconds(30))
    const cacheHits = Metrics.cacheHits(source.kind)
    const cacheMisses = Metrics.cacheMisses(source.kind)
    const refreshFailures = Metrics.refreshFailures(source.kind)
    const clientCapabilities = source.capabilities.clientCapabilities && options.clientCapabilities !== undefined &&
        options.clientCapabilities.length > 0
      ? options.clientCapabilities
      : undefined
    const identityKey = TokenCache.key(source.identity, "")
    const keys = new Map<string, string>()
    const inFlight = new Map<string, Deferred.Deferred<AccessToken, ManagedIdentityError>>()
    const throttled = new Map<string, { readonly until: number; readonly error: ManagedIdentityError }>()
    const refreshing = new Set<string>()
    const refreshBlockedUntil = new Map<string, number>()

    const keyOf = (resource: string): string => {
      let key = keys.get(resource)
      if (key === undefined) {
        key = identityKey + resource
        keys.set(resource, key)
      }
      return key
    }

    const request = (
      key: string,
      flightKey: string,
      tokenRequest: TokenRequest,
      deferred: Deferred.Deferred<AccessToken, ManagedIdentityError>
    ): Effect.Effect<AccessToken, ManagedIdentityError> =>
      source.getToken(tokenRequest).pipe(
        Effect.flatMap((issued) =>
          Effect.clockWith((clock) =>
            issued.expiresOn.epochMillis - clock.unsafeCurrentTimeMillis() < minimumRemainingMillis
              ? Effect.succeed(toAccessToken(issued, "identity_provider"))
              : Effect.as(cache.set(key, toAccessToken(issued, "cache")), toAccessToken(issued, "identity_provider"))
          )
        ),
        Effect.tapError((error) =>
          Effect.clockWith((clock) => {
            const millis = throttleMillis(error)
            if (millis !== undefined) throttled.set(key, { until: clock.unsafeCurrentTimeMillis() + millis, error })
            return Effect.logDebug("managed identity token request failed").pipe(
              Effect.annotateLogs({ source: source.kind, resource: tokenRequest.resource, error: error._tag })
            )
          })
        ),
        Effect.withSpan("ManagedIdentityClient.getToken", {
          attributes: { "managed_identity.source": source.kind, "managed_identity.resource": tokenRequest.resource }
        }),
        Effect.onExit((exit) =>
          Effect.sync(() => {
            inFlight.delete(flightKey)
            Deferred.unsafeDone(deferred, exit)
          })
        )
      )

    const fetch = (
      key: string,
      flightKey: string,
      tokenRequest: TokenRequest
    ): Effect.Effect<AccessToken, ManagedIdentityError> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.clockWith((clock) => {
          const existing = inFlight.get(flightKey)
          if (existing !== undefined) return restore(Deferred.await(existing))
          const throttle = throttled.get(key)
          if (throttle !== undefined) {
            if (throttle.until > clock.unsafeCurrentTimeMillis()) return Effect.fail(throttle.error)
            throttled.delete(key)
          }
          const deferred = Deferred.unsafeMake<AccessToken, ManagedIdentityError>(FiberId.none)
          inFlight.set(flightKey, deferred)
          return Effect.zipRight(
            Effect.forkIn(Effect.interruptible(request(key, flightKey, tokenRequest, deferred)), scope),
            restore(Deferred.await(deferred))
          )
        })
      )

    const baseRequest = (resource: string): TokenRequest =>
      clientCapabilities === undefined ? { resource } : { resource, clientCapabilities }

    const refresh = (key: string, cached: AccessToken): Effect.Effect<void> =>
      fetch(key, key, baseRequest(cached.resource)).pipe(
        Effect.matchCauseEffect({
          onSuccess: () => Effect.sync(() => refreshBlockedUntil.delete(key)),
          onFailure: (cause) =>
            Option.match(Cause.failureOption(cause), {
              onNone: () => Effect.void,
              onSome: (error) =>
                Effect.clockWith((clock) => {
                  const retryAt = clock.unsafeCurrentTimeMillis() + refreshBackoffMillis
                  refreshBlockedUntil.set(key, retryAt)
                  Metrics.increment(refreshFailures)
                  return Effect.logWarning("background token refresh failed; serving the cached token").pipe(
                    Effect.annotateLogs({
                      source: source.kind,
                      resource: cached.resource,
                      expiresOn: DateTime.formatIso(cached.expiresOn),
                      retryAfter: DateTime.formatIso(DateTime.unsafeMake(retryAt)),
                      error: error._tag,
                      message: error.message
                    })
                  )
                })
            })
        }),
        Effect.ensuring(Effect.sync(() => refreshing.delete(key))),
        Effect.interruptible
      )

    const startRefresh = (key: string, cached: AccessToken): Effect.Effect<void> =>
      Effect.uninterruptible(Effect.suspend(() => {
        if (refreshing.has(key)) return Effect.void
        refreshing.add(key)
        return Effect.asVoid(Effect.forkIn(refresh(key, cached), scope))
      }))

    const serve = (
      resource: string,
      key: string,
      token: AccessToken | undefined,
      now: number
    ): Effect.Effect<AccessToken, ManagedIdentityError> => {
      if (token === undefined || token.expiresOn.epochMillis - now < minimumRemainingMillis) {
        Metrics.increment(cacheMisses)
        return fetch(key, key, baseRequest(resource))
      }
      Metrics.increment(cacheHits)
      if (
        token.refreshOn._tag === "Some" && token.refreshOn.value.epochMillis <= now && !refreshing.has(key) &&
        !inFlight.has(key) && (refreshBlockedUntil.get(key) ?? 0) <= now
      ) {
        return Effect.as(startRefresh(key, token), token)
      }
      return Effect.succeed(token)
    }

    const getCachedThroughService = (resource: string, key: string): Effect.Effect<AccessToken, ManagedIdentityError> =>
      Effect.flatMap(
        cache.get(key),
        (cached) =>
          Effect.clockWith((clock) =>
            serve(resource, key, Option.getOrUndefined(cached), clock.unsafeCurrentTimeMillis())
          )
      )

    const unsafeGet = cache.unsafeGet
    const getCached = unsafeGet === undefined ? getCachedThroughService : (
      resource: string,
      key: string
    ): Effect.Effect<AccessToken, ManagedIdentityError> =>
      Effect.clockWith((clock) => {
        const token = unsafeGet(key)
        return token === undefined
          ? getCachedThroughService(resource, key)
          : serve(resource, key, token, clock.unsafeCurrentTimeMillis())
      })

    const getWithClaims = (resource: string, key: string, claims: string) =>
      Effect.flatMap(cache.get(key), (cached) =>
        Effect.flatMap(
          source.capabilities.tokenRevocation && cached._tag === "Some"
            ? Effect.map(sha256Hex(Redacted.value(cached.value.token)), Option.some)
            : Effect.succeedNone,
          (sha) =>
            fetch(key, `${key}\u0000claims\u0000${claims}`, {
              ...baseRequest(resource),
              claims,
              ...(sha._tag === "Some" ? { tokenSha256ToRefresh: sha.value } : {})
            })
        ))

    return ManagedIdentityClient.of({
      source: source.kind,
      identity: source.identity,
      getToken: (resource, options) => {
        const key = keyOf(resource)
        if (
          options === undefined || ((options.claims === undefined || options.claims === "") && !options.forceRefresh)
        ) {
          return getCached(resource, key)
        }
        if (options.claims !== undefined && options.claims !== "") return getWithClaims(resource, key, options.claims)
        return fetch(key, key, baseRequest(resource))
      }
    })
  })

/**
 * The client with default options.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<ManagedIdentityClient, never, TokenSource.TokenSource | TokenCache.TokenCache> = Layer
  .scoped(ManagedIdentityClient, make())

/**
 * The client with options, e.g. client capabilities.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWithOptions = (
  options: Options
): Layer.Layer<ManagedIdentityClient, never, TokenSource.TokenSource | TokenCache.TokenCache> =>
  Layer.scoped(ManagedIdentityClient, make(options))
