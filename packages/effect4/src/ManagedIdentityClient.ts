/**
 * The client: tokens for a resource from the cache or the source, with one request per key at a time,
 * stale-while-revalidate refresh, claims challenges and throttle memory.
 *
 * @since 0.1.0
 */
import * as Resource from "@managed-identity/protocol/Resource"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { identity } from "effect/Function"
import * as Layer from "effect/Layer"
import type * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import type { AccessToken } from "./AccessToken.js"
import * as KeyRequests from "./internal/client/keyRequests.js"
import * as KeyState from "./internal/client/keyState.js"
import * as SyncFirst from "./internal/client/syncFirst.js"
import * as VerifyIdentity from "./internal/client/verifyIdentity.js"
import * as Metrics from "./internal/metrics.js"
import type * as ManagedIdentity from "./ManagedIdentity.js"
import { InvalidIdentity, type ManagedIdentityError } from "./ManagedIdentityError.js"
import * as TokenCache from "./TokenCache.js"
import type * as TokenRequest from "./TokenRequest.js"
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
 * import { ManagedIdentityClient, TokenCache, TokenSource } from "@managed-identity/effect4"
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
export class ManagedIdentityClient extends Context.Service<ManagedIdentityClient, ManagedIdentityClient.Service>()(
  "@managed-identity/effect4/ManagedIdentityClient"
) {}

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
  readonly refreshBackoff?: Duration.Input | undefined
  /**
   * Checks every token the source issues against the requested identity, with the rules `managed-identity doctor`
   * uses (claims read without verifying the signature): a token naming another identity fails with `IdentityMismatch`
   * and is not cached (a background refresh that gets one keeps serving the cached token). A token that cannot be
   * checked (not JWT-shaped, or without the claim the identity is compared with) is served. Default `false`.
   */
  readonly verifyIdentity?: boolean | undefined
}

const sha256Hex = (text: string): Effect.Effect<string> =>
  Effect.map(
    Effect.promise(() => globalThis.crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))),
    (digest) => Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("")
  )

/**
 * Builds the client over the `TokenSource` and `TokenCache` in context.
 *
 * - A cached token is served while at least 300 s of its lifetime remain. Past its `refreshOn` it is still served
 *   at once and one background refresh runs; a refresh that ends in anything but a token is logged and retried by
 *   the first caller after `refreshBackoff`, and the old token is served until the 300 s line.
 * - Concurrent requests for one key share one request. The request runs in a fiber owned by the layer's scope, so
 *   interrupting a waiting caller never cancels it for the others, and closing the scope stops it.
 * - The resource is an audience, not a scope: `https://vault.azure.net/.default` asks for `https://vault.azure.net`
 *   (the suffix is dropped, as the `TokenCredential` adapter does), and a text that is neither a URI with a scheme nor
 *   an application id (`vault.azure.net`) fails with `InvalidIdentity` before the cache or the source is asked.
 * - `claims` bypasses the cache (with the cached token's SHA-256 for sources that revoke); `forceRefresh` skips the
 *   cache read. Both store the new token.
 * - A `429`, or a `5xx` with `Retry-After`, is remembered per identity and resource for its `Retry-After` (at most
 *   an hour; `429` without the header 5 s): callers in that window get the same error without a request.
 * - With `verifyIdentity`, a token naming another identity than the one asked for is an `IdentityMismatch`, never
 *   cached nor served.
 *
 * The token lives in the `TokenCache`; what the client knows about each key besides it (requests in flight, a
 * throttled answer, the refresh back-off) is one state value per key in one `Ref`, changed atomically. Time comes
 * from the `Clock` the client is built with (a dependency fixed by its layer, like the source and the cache), so a
 * `TestClock` in the test that builds the layer drives expiry and refresh, and a cache hit reads it without a trip
 * through the fiber's services.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<ManagedIdentityClient.Service, never, TokenSource.TokenSource | TokenCache.TokenCache | Scope.Scope> =>
  Effect.gen(function*() {
    const issuer = yield* TokenSource.TokenSource
    const source = options.verifyIdentity === true ? VerifyIdentity.verifying(issuer) : issuer
    const cache = yield* TokenCache.TokenCache
    const clock = yield* Effect.clockWith(Effect.succeed)
    const context = yield* Effect.context<never>()
    const requests = yield* KeyRequests.make({
      source,
      cache,
      clock,
      scope: yield* Effect.scope,
      refreshBackoffMillis: Duration.toMillis(options.refreshBackoff ?? Duration.seconds(30))
    })
    const hits = Metrics.cacheHits(source.kind)
    const misses = Metrics.cacheMisses(source.kind)
    const clientCapabilities = source.capabilities.clientCapabilities ? options.clientCapabilities ?? [] : []
    const baseRequest = (resource: string): TokenRequest.TokenRequest =>
      clientCapabilities.length === 0 ? { resource } : { resource, clientCapabilities }
    const identityKey = TokenCache.key(source.identity, "")

    const getCached = (resource: string, key: string): Effect.Effect<AccessToken, ManagedIdentityError> =>
      Effect.flatMap(cache.get(key), (cached) => {
        const now = clock.currentTimeMillisUnsafe()
        if (cached._tag === "None" || !KeyRequests.isServable(cached.value.expiresOn, now)) {
          Metrics.incrementUnsafe(misses, context)
          return requests.fetch(key, KeyState.plain, baseRequest(resource))
        }
        Metrics.incrementUnsafe(hits, context)
        return KeyRequests.isRefreshDue(cached.value, now)
          ? Effect.as(requests.refresh(key, cached.value, baseRequest(resource), now), cached.value)
          : Effect.succeed(cached.value)
      })

    const getWithClaims = (resource: string, key: string, claims: string) =>
      Effect.flatMap(cache.get(key), (cached) =>
        Effect.flatMap(
          source.capabilities.tokenRevocation && cached._tag === "Some"
            ? Effect.map(sha256Hex(Redacted.value(cached.value.token)), Option.some)
            : Effect.succeedNone,
          (sha) =>
            requests.fetch(key, claims, {
              ...baseRequest(resource),
              claims,
              ...(sha._tag === "Some" ? { tokenSha256ToRefresh: sha.value } : {})
            })
        ))

    return ManagedIdentityClient.of({
      source: source.kind,
      identity: source.identity,
      getToken: (requested, options) => {
        const resource = Resource.fromScope(requested)
        if (!Resource.isResource(resource)) {
          return Effect.fail(new InvalidIdentity({ source: source.kind, reason: Resource.notAResource(requested) }))
        }
        const key = identityKey + resource
        if (options?.claims !== undefined && options.claims !== "") return getWithClaims(resource, key, options.claims)
        return options?.forceRefresh === true
          ? requests.fetch(key, KeyState.plain, baseRequest(resource))
          : getCached(resource, key)
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
  .effect(ManagedIdentityClient, make())

/**
 * The client with options, e.g. client capabilities, or identity verification:
 * `ManagedIdentityClient.layerWithOptions({ verifyIdentity: true })`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWithOptions = (
  options: Options
): Layer.Layer<ManagedIdentityClient, never, TokenSource.TokenSource | TokenCache.TokenCache> =>
  Layer.effect(ManagedIdentityClient, make(options))

/**
 * Options of a Promise caller's `getToken`: the client's options, and a signal that stops waiting.
 *
 * @since 0.1.0
 * @category models
 */
export interface PromiseGetTokenOptions extends GetTokenOptions {
  /** Interrupts the wait (a request shared with other callers keeps running for them); rejects with `AbortError`. */
  readonly signal?: {
    readonly aborted: boolean
    addEventListener(type: "abort", listener: () => void): void
    removeEventListener(type: "abort", listener: () => void): void
  } | undefined
}

/**
 * `getToken` for Promise code, over a runtime that provides the client (a `ManagedRuntime`, or a `Runtime` from
 * `Effect.runtime`). A cache hit is served without a trip through the scheduler: the call runs synchronously first
 * and returns an already resolved promise; a miss goes on asynchronously on the same fiber. A failure rejects with
 * the `ManagedIdentityError` itself, an aborted wait with an error named `AbortError`.
 *
 * Prefer it to `runtime.runPromise(client.getToken(resource))` where many callers await hits: `runPromise` always
 * schedules, so each awaited hit waits for every other fiber's turn.
 *
 * @example
 * ```ts
 * import { ManagedIdentityClient } from "@managed-identity/effect4"
 * import { NodeManagedIdentity } from "@managed-identity/effect4-node"
 * import { ManagedRuntime, Redacted } from "effect"
 *
 * const runtime = ManagedRuntime.make(NodeManagedIdentity.layer)
 * const getToken = ManagedIdentityClient.getTokenPromise(runtime)
 *
 * export const authorization = async (): Promise<string> =>
 *   `Bearer ${Redacted.value((await getToken("https://vault.azure.net")).token)}`
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const getTokenPromise = <ER>(
  runtime: Context.Context<ManagedIdentityClient> | ManagedRuntime.ManagedRuntime<ManagedIdentityClient, ER>
): (resource: string, options?: PromiseGetTokenOptions) => Promise<AccessToken> => {
  const run = SyncFirst.make(runtime as SyncFirst.AnyRuntime<ManagedIdentityClient>, ManagedIdentityClient)
  return (resource, options) =>
    run((client) => client.getToken(resource, options), { signal: options?.signal, map: identity })
}
