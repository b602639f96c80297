/**
 * The token cache: a `Ref`-backed map from cache key (identity + resource) to the last token issued for it.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import type { AccessToken } from "./AccessToken.js"
import * as ManagedIdentity from "./ManagedIdentity.js"

/**
 * @since 0.1.0
 * @category tags
 */
export class TokenCache extends Context.Tag("@managed-identity/core/TokenCache")<TokenCache, TokenCache.Service>() {}

/**
 * @since 0.1.0
 */
export declare namespace TokenCache {
  /**
   * Tokens are stored with `source: "cache"`, so a hit hands out the stored value as it is.
   *
   * @since 0.1.0
   * @category models
   */
  export interface Service {
    readonly get: (key: string) => Effect.Effect<Option.Option<AccessToken>>
    readonly set: (key: string, token: AccessToken) => Effect.Effect<void>
    readonly remove: (key: string) => Effect.Effect<void>
  }
}

/**
 * The cache key of an identity and resource.
 *
 * @since 0.1.0
 * @category constructors
 */
export const key = (identity: ManagedIdentity.Identity, resource: string): string =>
  `${ManagedIdentity.toKey(identity)}|${resource}`

/**
 * A cache over a `Ref` of a `HashMap`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory: Effect.Effect<TokenCache.Service> = Effect.map(
  Ref.make(HashMap.empty<string, AccessToken>()),
  (ref) => ({
    get: (key) => Effect.map(Ref.get(ref), HashMap.get(key)),
    set: (key, token) => Ref.update(ref, HashMap.set(key, token)),
    remove: (key) => Ref.update(ref, HashMap.remove(key))
  })
)

/**
 * An in-memory cache, private to the layer's scope.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<TokenCache> = Layer.effect(TokenCache, makeMemory)
