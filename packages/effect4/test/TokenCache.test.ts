import { assert, describe, it } from "@effect/vitest"
import { DateTime, Effect, Layer, Option, Redacted } from "effect"
import * as KeyValueStore from "effect/persistence/KeyValueStore"
import { TestClock } from "effect/testing"
import { AccessToken } from "../src/AccessToken.js"
import * as ManagedIdentity from "../src/ManagedIdentity.js"
import * as ManagedIdentityClient from "../src/ManagedIdentityClient.js"
import * as TokenCache from "../src/TokenCache.js"
import * as TokenSource from "../src/TokenSource.js"
import * as Logs from "./utils/logs.js"

const resource = "https://vault.azure.net"
const key = TokenCache.key(ManagedIdentity.systemAssigned, resource)

const token = new AccessToken({
  token: Redacted.make("secret-token"),
  tokenType: "Bearer",
  resource,
  expiresOn: DateTime.makeUnsafe(Date.UTC(2026, 0, 1, 2)),
  refreshOn: Option.some(DateTime.makeUnsafe(Date.UTC(2026, 0, 1, 1))),
  source: "cache"
})

/** The text a store holds (it must hold one). */
const required = (text: string | undefined): string => {
  assert.isDefined(text)
  return text!
}

const captureWarnings = () => {
  const warnings: Array<unknown> = []
  const annotations: Array<string> = []
  const logger = Logs.make(({ annotations: logged, logLevel, message }) => {
    if (logLevel.label !== "WARN") return
    warnings.push(message)
    annotations.push(JSON.stringify(Object.fromEntries(logged)))
  })
  return { warnings, annotations, layer: Logs.layer(logger) }
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
        yield* TestClock.setTime(Date.UTC(2026, 0, 1))
        const store = yield* KeyValueStore.KeyValueStore
        yield* Effect.flatMap(TokenCache.TokenCache, (cache) => cache.set(key, token)).pipe(Effect.provide(persistent))
        const stored = JSON.parse(required(yield* store.get(key)))
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
        assert.isUndefined(yield* store.get(key))
        assert.isTrue(Option.isNone(yield* cache.get(key)))
      }).pipe(Effect.provide(KeyValueStore.layerMemory)))

    it.effect("ignores and logs a corrupt or foreign-version entry, then overwrites it", () =>
      Effect.gen(function*() {
        const { layer, warnings } = captureWarnings()
        const store = yield* KeyValueStore.KeyValueStore
        const encoded = JSON.parse(
          yield* Effect.flatMap(TokenCache.TokenCache, (cache) =>
            Effect.andThen(cache.set(key, token), Effect.map(store.get(key), required))).pipe(
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
        assert.strictEqual(JSON.parse(required(yield* store.get(key))).version, 1)
      }).pipe(Effect.provide(KeyValueStore.layerMemory)))

    describe("any bytes in the store are a miss, never a crash (issue 11, defect 5)", () => {
      const deep = "[".repeat(20_000) + "]".repeat(20_000)
      const entries: ReadonlyArray<readonly [string, string]> = [
        ["an entry nested 20 000 deep", deep],
        ["a token field nested 20 000 deep", `{"version":1,"token":${deep}}`],
        [
          "an expiresOn nested 20 000 deep beside a token",
          `{"version":1,"token":{"token":"secret-token","tokenType":"Bearer","resource":"r","expiresOn":${deep}}}`
        ],
        ["an object where the token's text belongs", `{"version":1,"token":{"token":{"value":"secret-token"}}}`]
      ]
      for (const [name, text] of entries) {
        it.effect(`${name}: getToken asks the source, the warning shows no content, the entry is overwritten`, () =>
          Effect.gen(function*() {
            const { annotations, layer, warnings } = captureWarnings()
            const store = yield* KeyValueStore.KeyValueStore
            const storeKey = TokenCache.key(ManagedIdentity.systemAssigned, resource)
            yield* store.set(storeKey, text)
            const client = ManagedIdentityClient.layer.pipe(
              Layer.provide(TokenSource.layerTest()),
              Layer.provide(persistent)
            )
            const issued = yield* Effect.flatMap(
              ManagedIdentityClient.ManagedIdentityClient,
              (client) => client.getToken(resource)
            ).pipe(Effect.provide(client), Effect.provide(layer))
            assert.strictEqual(issued.source, "identity_provider")
            assert.strictEqual(warnings.length, 1)
            assert.include(annotations[0], "\"reason\":\"")
            assert.notInclude(annotations[0], "secret-token")
            assert.notInclude(annotations[0], "value")
            const rewritten = JSON.parse(required(yield* store.get(storeKey)))
            assert.strictEqual(rewritten.token.token, Redacted.value(issued.token))
          }).pipe(Effect.provide(KeyValueStore.layerMemory)))
      }

      it.effect("an entry expiring more than a year ahead (a millisecond expiry read as seconds) is ignored", () =>
        Effect.gen(function*() {
          const { layer, warnings } = captureWarnings()
          yield* TestClock.setTime(Date.UTC(2026, 0, 1))
          yield* Effect.flatMap(
            TokenCache.TokenCache,
            (cache) =>
              cache.set(key, new AccessToken({ ...token, expiresOn: DateTime.makeUnsafe(Date.UTC(58881, 0, 1)) }))
          ).pipe(
            Effect.provide(persistent)
          )
          const loaded = yield* Effect.flatMap(TokenCache.TokenCache, (cache) => cache.get(key)).pipe(
            Effect.provide(persistent),
            Effect.provide(layer)
          )
          assert.isTrue(Option.isNone(loaded))
          assert.strictEqual(warnings.length, 1)
        }).pipe(Effect.provide(KeyValueStore.layerMemory)))
    })

    it.effect("a failing store is logged and treated as a miss; memory keeps working", () => {
      const { layer, warnings } = captureWarnings()
      return Effect.gen(function*() {
        const broken = new KeyValueStore.KeyValueStoreError({ message: "permission denied", method: "get" })
        const failing = Layer.succeed(
          KeyValueStore.KeyValueStore,
          KeyValueStore.makeStringOnly({
            get: () => Effect.fail(broken),
            set: () => Effect.fail(broken),
            remove: () => Effect.fail(broken),
            clear: Effect.void,
            size: Effect.succeed(0),
            keys: Effect.succeed([])
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
