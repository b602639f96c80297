import { SystemError } from "@effect/platform/Error"
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Effect, Layer, Logger, Option, Redacted } from "effect"
import { AccessToken } from "../src/AccessToken.js"
import * as ManagedIdentity from "../src/ManagedIdentity.js"
import * as TokenCache from "../src/TokenCache.js"

const resource = "https://vault.azure.net"
const key = TokenCache.key(ManagedIdentity.systemAssigned, resource)

const token = new AccessToken({
  token: Redacted.make("secret-token"),
  tokenType: "Bearer",
  resource,
  expiresOn: DateTime.unsafeMake(Date.UTC(2026, 0, 1, 2)),
  refreshOn: Option.some(DateTime.unsafeMake(Date.UTC(2026, 0, 1, 1))),
  source: "cache"
})

const captureWarnings = () => {
  const warnings: Array<unknown> = []
  const logger = Logger.make(({ logLevel, message }) => {
    if (logLevel.label === "WARN") warnings.push(message)
  })
  return { warnings, layer: Logger.replace(Logger.defaultLogger, logger) }
}

describe("TokenCache", () => {
  it("keys by identity (ids case-insensitively) and resource", () => {
    assert.strictEqual(TokenCache.key(ManagedIdentity.systemAssigned, resource), "system|https://vault.azure.net")
    assert.strictEqual(
      TokenCache.key(ManagedIdentity.clientId("ABC"), resource),
      TokenCache.key(ManagedIdentity.clientId("abc"), resource)
    )
    assert.notStrictEqual(
      TokenCache.key(ManagedIdentity.clientId("abc"), resource),
      TokenCache.key(ManagedIdentity.objectId("abc"), resource)
    )
  })

  it.effect("layerMemory stores, reads and removes", () =>
    Effect.gen(function*() {
      const cache = yield* TokenCache.TokenCache
      assert.isTrue(Option.isNone(yield* cache.get(key)))
      yield* cache.set(key, token)
      assert.strictEqual(Option.getOrThrow(yield* cache.get(key)), token)
      yield* cache.remove(key)
      assert.isTrue(Option.isNone(yield* cache.get(key)))
    }).pipe(Effect.provide(TokenCache.layerMemory)))

  describe("layerKeyValueStore", () => {
    const persistent = TokenCache.layerKeyValueStore

    it.effect("writes through a versioned entry and a second cache over the same store reads it", () =>
      Effect.gen(function*() {
        const store = yield* KeyValueStore.KeyValueStore
        yield* Effect.flatMap(TokenCache.TokenCache, (cache) => cache.set(key, token)).pipe(Effect.provide(persistent))
        const stored = JSON.parse(Option.getOrThrow(yield* store.get(key)))
        assert.deepStrictEqual(stored, {
          version: 1,
          token: {
            token: "secret-token",
            tokenType: "Bearer",
            resource,
            expiresOn: "2026-01-01T02:00:00.000Z",
            refreshOn: "2026-01-01T01:00:00.000Z",
            source: "cache"
          }
        })
        const loaded = yield* Effect.flatMap(TokenCache.TokenCache, (cache) => cache.get(key)).pipe(
          Effect.provide(persistent)
        )
        const read = Option.getOrThrow(loaded)
        assert.isTrue(Redacted.isRedacted(read.token))
        assert.strictEqual(Redacted.value(read.token), "secret-token")
        assert.isTrue(DateTime.Equivalence(read.expiresOn, token.expiresOn))
        assert.strictEqual(read.source, "cache")
      }).pipe(Effect.provide(KeyValueStore.layerMemory)))

    it.effect("serves reads from memory once loaded, and removes from both", () =>
      Effect.gen(function*() {
        const store = yield* KeyValueStore.KeyValueStore
        const cache = yield* Effect.provide(TokenCache.TokenCache, persistent)
        yield* cache.set(key, token)
        yield* store.remove(key)
        assert.strictEqual(Option.getOrThrow(yield* cache.get(key)), token)
        yield* cache.set(key, token)
        yield* cache.remove(key)
        assert.isTrue(Option.isNone(yield* store.get(key)))
        assert.isTrue(Option.isNone(yield* cache.get(key)))
      }).pipe(Effect.provide(KeyValueStore.layerMemory)))

    it.effect("ignores and logs a corrupt or foreign-version entry, then overwrites it", () =>
      Effect.gen(function*() {
        const { layer, warnings } = captureWarnings()
        const store = yield* KeyValueStore.KeyValueStore
        const encoded = JSON.parse(
          yield* Effect.flatMap(TokenCache.TokenCache, (cache) =>
            Effect.zipRight(cache.set(key, token), Effect.map(store.get(key), Option.getOrThrow))).pipe(
              Effect.provide(persistent)
            )
        )
        for (const text of ["{not json", JSON.stringify({ ...encoded, version: 2 }), "{}"]) {
          yield* store.set(key, text)
          const cache = yield* Effect.provide(TokenCache.TokenCache, persistent)
          assert.isTrue(Option.isNone(yield* Effect.provide(cache.get(key), layer)))
        }
        assert.strictEqual(warnings.length, 3)
        assert.deepStrictEqual(warnings[0], ["ignoring an unreadable persisted token"])
        const cache = yield* Effect.provide(TokenCache.TokenCache, persistent)
        yield* cache.set(key, token)
        assert.strictEqual(JSON.parse(Option.getOrThrow(yield* store.get(key))).version, 1)
      }).pipe(Effect.provide(KeyValueStore.layerMemory)))

    it.effect("a failing store is logged and treated as a miss; memory keeps working", () => {
      const { layer, warnings } = captureWarnings()
      return Effect.gen(function*() {
        const broken = new SystemError({ reason: "PermissionDenied", module: "KeyValueStore", method: "get" })
        const failing = Layer.succeed(
          KeyValueStore.KeyValueStore,
          KeyValueStore.makeStringOnly({
            get: () => Effect.fail(broken),
            set: () => Effect.fail(broken),
            remove: () => Effect.fail(broken),
            clear: Effect.void,
            size: Effect.succeed(0)
          })
        )
        const cache = yield* Effect.provide(TokenCache.TokenCache, persistent.pipe(Layer.provide(failing)))
        assert.isTrue(Option.isNone(yield* cache.get(key)))
        yield* cache.set(key, token)
        assert.strictEqual(Option.getOrThrow(yield* cache.get(key)), token)
        assert.strictEqual(warnings.length, 2)
      }).pipe(Effect.provide(layer))
    })
  })
})
