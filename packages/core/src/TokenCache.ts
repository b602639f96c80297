/**
 * The token cache: a `Ref` holding a map from cache key (identity + resource) to the last token issued for it, in
 * memory only or written through to a `KeyValueStore`.
 *
 * @since 0.1.0
 */
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as HashMap from "effect/HashMap"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import { AccessToken } from "./AccessToken.js"
import * as Issues from "./internal/issues.js"
import * as Lazy from "./internal/lazy.js"
import * as ManagedIdentity from "./ManagedIdentity.js"
import { printable } from "./ManagedIdentityError.js"

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
export const Description = Schema.Union(
  Schema.TaggedStruct("Memory", {}),
  Schema.TaggedStruct("KeyValueStore", {}),
  Schema.TaggedStruct("Directory", { directory: Schema.String })
)

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
 * The version of the persisted entry format. An entry of another version is ignored (and later overwritten).
 *
 * @since 0.1.0
 * @category constants
 */
export const entryVersion = 1

/**
 * A persisted entry: the format version and the token, as JSON. The token is in clear text in the encoded form.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Entry = Schema.parseJson(Schema.Struct({ version: Schema.Literal(entryVersion), token: AccessToken }))

const decodeEntryJson = Lazy.lazy(() => Schema.decodeUnknownEither(Entry.to))
const encodeEntry = Lazy.lazy(() => Schema.encodeEither(Entry))

/** A persisted entry expiring further ahead than this is not one this library wrote: tokens live a year at most. */
const maxStoredLifetimeMillis = 366 * 24 * 60 * 60 * 1000

/**
 * The token of a persisted entry read at `now`, or why it is ignored: not JSON, not an entry of this version, an
 * empty token, or expiring implausibly far ahead (an entry written before lifetimes were checked). The reason names fields and what
 * they expected, never a value; any text is safe, however deeply nested.
 */
const decodeEntry = (text: string, now: number): Either.Either<AccessToken, string> => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return Either.left("the entry is not JSON")
  }
  return decodeEntryJson()(json).pipe(
    Either.mapLeft((error) => Issues.describe(error.issue)),
    Either.filterOrLeft((entry) => Redacted.value(entry.token.token) !== "", () => "the token is empty"),
    Either.filterOrLeft(
      (entry) => entry.token.expiresOn.epochMillis - now <= maxStoredLifetimeMillis,
      () => "the token expires more than a year from now"
    ),
    Either.map((entry) => entry.token)
  )
}

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
        Effect.flatMap(Option.match({
          onNone: () => Effect.succeedNone,
          onSome: (text) =>
            Effect.flatMap(Clock.currentTimeMillis, (now) =>
              Either.match(decodeEntry(text, now), {
                onLeft: (reason) =>
                  Effect.as(warn("ignoring an unreadable persisted token", key, reason), Option.none()),
                onRight: (token) => Effect.as(memory.set(key, token), Option.some(token))
              }))
        })),
        Effect.catchAll((error) =>
          Effect.as(warn("cannot read the persisted token cache", key, error.message), Option.none())
        )
      )

    return TokenCache.of({
      description: { _tag: "KeyValueStore" },
      get: (key) =>
        Effect.flatMap(memory.get(key), (cached) => cached._tag === "Some" ? Effect.succeed(cached) : load(key)),
      set: (key, token) =>
        Effect.zipRight(
          memory.set(key, token),
          Either.match(encodeEntry()({ version: entryVersion, token }), {
            onLeft: (error) => warn("cannot encode a token for the persisted cache", key, Issues.describe(error.issue)),
            onRight: (text) =>
              Effect.catchAll(store.set(key, text), (error) =>
                warn("cannot write the persisted token cache", key, error.message))
          })
        ),
      remove: (key) =>
        Effect.zipRight(
          memory.remove(key),
          Effect.catchAll(store.remove(key), (error) =>
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
