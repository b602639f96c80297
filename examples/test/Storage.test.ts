/**
 * Unit-testing your own service: swap the token source for `TokenSource.layerTest` and keep the real client and
 * cache. No network, no emulator, time driven by `TestClock`.
 */
import { assert, describe, it } from "@effect/vitest"
import { ManagedIdentityClient, ManagedIdentityError, TokenCache, TokenSource } from "@managed-identity/core"
import { Effect, Layer } from "effect"
import { Storage } from "../src/Storage.js"

const TestIdentity = ManagedIdentityClient.layer.pipe(
  Layer.provide(TokenSource.layerTest()),
  Layer.provide(TokenCache.layerMemory)
)

describe("Storage with a mock token source", () => {
  it.effect("uses a token from the source, then from the cache", () =>
    Effect.gen(function*() {
      const storage = yield* Storage
      const first = yield* storage.describe("reports")
      const second = yield* storage.describe("reports")
      assert.match(first, /GET https:\/\/account\.blob\.core\.windows\.net\/reports with a Bearer token/)
      assert.match(first, /\(identity_provider\)$/)
      assert.match(second, /\(cache\)$/)
    }).pipe(Effect.provide(Storage.layer.pipe(Layer.provide(TestIdentity)))))

  it.effect("surfaces the source's typed error", () =>
    Effect.gen(function*() {
      const storage = yield* Storage
      const error = yield* Effect.flip(storage.describe("reports"))
      assert.strictEqual(error._tag, "TokenRequestFailed")
    }).pipe(
      Effect.provide(Storage.layer.pipe(
        Layer.provide(ManagedIdentityClient.layer),
        Layer.provide(TokenCache.layerMemory),
        Layer.provide(TokenSource.layerTest({
          getToken: () =>
            Effect.fail(
              new ManagedIdentityError.TokenRequestFailed({ source: "Imds", status: 403, error: "forbidden" })
            )
        }))
      ))
    ))
})
