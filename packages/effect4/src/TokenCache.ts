/**
 * The token cache: a `Ref` holding a map from cache key (identity + resource) to the last token issued for it, in
 * memory only or written through to a `KeyValueStore`.
 *
 * @since 0.1.0
 */
import * as CacheEntry from "@managed-identity/protocol/CacheEntry"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as KeyValueStore from "effect/persistence/KeyValueStore"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import { AccessToken } from "./AccessToken.js"
import * as ManagedIdentity from "./ManagedIdentity.js"
import { printable } from "./ManagedIdentityError.js"

/**
 * @since 0.1.0
 * @category tags
 */
export class TokenCache
  extends Context.Service<TokenCache, TokenCache.Service>()("@managed-identity/effect4/TokenCache")
{}

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
    /**
     * What kind of cache this is, for `ManagedIdentityDiagnosis.diagnose`. A cache without one is reported as a
     * custom cache.
     */
    readonly description?: Description | undefined
  }
}

/**
 * What kind of cache a `TokenCache` is: in memory, persisted through a `KeyValueStore`, or persisted as files in a
 * directory (`NodeTokenCache.layerFile`), whose permissions `ManagedIdentityDiagnosis.diagnose` checks.
 *
 * @since 0.1.0
 * @category models
 */
export const Description = Schema.Union([
  Schema.TaggedStruct("Memory", {}),
  Schema.TaggedStruct("KeyValueStore", {}),
  Schema.TaggedStruct("Directory", { directory: Schema.String })
])

/**
 * @since 0.1.0
 * @category models
 */
export type Description = typeof Description.Type

/**
 * The cache key of an identity and resource.
 *
 * @since 0.1.0
 * @category constructors
 */
export const key = (identity: ManagedIdentity.Identity, resource: string): string =>
  `${ManagedIdentity.toKey(identity)}|${resource}`

const memoryService = (tokens: Ref.Ref<HashMap.HashMap<string, AccessToken>>): TokenCache.Service => ({
  // A read in one step: `modify` returning the map unchanged writes nothing, and costs one effect where
  // `Ref.get` + `map` cost two (the cache hit is the call users make thousands of times a second).
  get: (key) => Ref.modify(tokens, (map) => [HashMap.get(map, key), map]),
  set: (key, token) => Ref.update(tokens, HashMap.set(key, token)),
  remove: (key) => Ref.update(tokens, HashMap.remove(key)),
  description: { _tag: "Memory" }
})

/**
 * A cache over a `Ref<HashMap<string, AccessToken>>` owned by the service: a hit is one `Ref` read and one `HashMap`
 * lookup.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory: Effect.Effect<TokenCache.Service> = Effect.map(
  Ref.make(HashMap.empty<string, AccessToken>()),
  memoryService
)

/**
 * An in-memory cache, private to the layer's scope.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<TokenCache> = Layer.effect(TokenCache, makeMemory)

/**
 * The version of the persisted entry format (`@managed-identity/protocol/CacheEntry`, the same text as the Effect 3
 * line's). An entry of another version is ignored (and later overwritten).
 *
 * @since 0.1.0
 * @category constants
 */
export const entryVersion: number = CacheEntry.version

/** A stored token as an `AccessToken` served from the cache. */
const fromStored = (stored: CacheEntry.StoredToken): AccessToken =>
  new AccessToken({
    token: Redacted.make(stored.token),
    tokenType: stored.tokenType,
    resource: stored.resource,
    expiresOn: DateTime.makeUnsafe(stored.expiresOn),
    refreshOn: stored.refreshOn === undefined ? Option.none() : Option.some(DateTime.makeUnsafe(stored.refreshOn)),
    source: stored.source
  }, { disableChecks: true })

/** An `AccessToken` as the protocol stores it. */
const toStored = (token: AccessToken): CacheEntry.StoredToken => ({
  token: Redacted.value(token.token),
  tokenType: token.tokenType,
  resource: token.resource,
  expiresOn: token.expiresOn.epochMilliseconds,
  refreshOn: Option.getOrUndefined(Option.map(token.refreshOn, (refreshOn) => refreshOn.epochMilliseconds)),
  source: token.source
})

/**
 * A cache that keeps tokens in memory and writes them through to the `KeyValueStore` in context. Reads are served
 * from memory; a key missing there is looked up in the store once and kept in memory. A store entry that does not
 * decode (corrupt whatever its bytes, written by another format version, or expiring more than a year ahead) and a
 * failing store are logged and treated as a miss, never as an error: the next token issued for the key overwrites
 * the entry. The log names what is wrong, never the entry's content.
 *
 * The store holds tokens in clear text: give it storage only this user can read.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeKeyValueStore: Effect.Effect<TokenCache.Service, never, KeyValueStore.KeyValueStore> = Effect.gen(
  function*() {
    const store = yield* KeyValueStore.KeyValueStore
    const memory = yield* makeMemory
    const warn = (message: string, key: string, reason: string) =>
      Effect.logWarning(message).pipe(Effect.annotateLogs({ key: printable(key), reason: printable(reason) }))

    const load = (key: string): Effect.Effect<Option.Option<AccessToken>> =>
      store.get(key).pipe(
        Effect.map(Option.fromUndefinedOr),
        Effect.flatMap(Option.match({
          onNone: () => Effect.succeedNone,
          onSome: (text) =>
            Effect.flatMap(Clock.currentTimeMillis, (now) => {
              const stored = CacheEntry.decode(text, now)
              if (stored._tag === "Err") {
                return Effect.as(warn("ignoring an unreadable persisted token", key, stored.error), Option.none())
              }
              const token = fromStored(stored.value)
              return Effect.as(memory.set(key, token), Option.some(token))
            })
        })),
        Effect.catch((error) =>
          Effect.as(warn("cannot read the persisted token cache", key, error.message), Option.none())
        )
      )

    return TokenCache.of({
      description: { _tag: "KeyValueStore" },
      get: (key) =>
        Effect.flatMap(memory.get(key), (cached) => cached._tag === "Some" ? Effect.succeed(cached) : load(key)),
      set: (key, token) =>
        Effect.andThen(
          memory.set(key, token),
          Effect.catch(store.set(key, CacheEntry.encode(toStored(token))), (error) =>
            warn("cannot write the persisted token cache", key, error.message))
        ),
      remove: (key) =>
        Effect.andThen(
          memory.remove(key),
          Effect.catch(store.remove(key), (error) =>
            warn("cannot remove from the persisted token cache", key, error.message))
        )
    })
  }
)

/**
 * A persistent cache over the `KeyValueStore` in context, e.g. `NodeTokenCache.layerFile(directory)` or
 * `KeyValueStore.layerFileSystem`. See {@link makeKeyValueStore}.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerKeyValueStore: Layer.Layer<TokenCache, never, KeyValueStore.KeyValueStore> = Layer.effect(
  TokenCache,
  makeKeyValueStore
)
