import { assert, describe, it } from "@effect/vitest"
import { Clock, DateTime, Deferred, Effect, Layer, ManagedRuntime, Redacted } from "effect"
import * as ImdsTokenSource from "../src/ImdsTokenSource.js"
import * as ManagedIdentityClient from "../src/ManagedIdentityClient.js"
import { type ManagedIdentityError, SourceUnavailable, TokenRequestFailed } from "../src/ManagedIdentityError.js"
import * as TokenCache from "../src/TokenCache.js"
import * as TokenCredential from "../src/TokenCredential.js"
import type { TokenRequest } from "../src/TokenRequest.js"
import * as TokenSource from "../src/TokenSource.js"
import * as FakeHttp from "./utils/fakeHttp.js"
import * as SourceHarness from "./utils/sourceHarness.js"

const claims = `{"access_token":{"nbf":{"essential":true,"value":"1726077595"}}}`

const setup = (
  answer?: (request: TokenRequest) => Effect.Effect<TokenSource.IssuedToken, ManagedIdentityError>,
  lifetimeSeconds = 86400
) => {
  const requests: Array<TokenRequest> = []
  const issue = (request: TokenRequest) =>
    Effect.map(Clock.currentTimeMillis, (now) =>
      TokenSource.issuedToken({
        token: Redacted.make(`token-${requests.length}`),
        resource: request.resource,
        issuedAt: DateTime.makeUnsafe(now),
        expiresOn: DateTime.makeUnsafe(now + lifetimeSeconds * 1000)
      }))
  const client = ManagedIdentityClient.layer.pipe(
    Layer.provide(TokenSource.layerTest({
      getToken: (request) => Effect.suspend(() => (requests.push(request), (answer ?? issue)(request)))
    })),
    Layer.provide(TokenCache.layerMemory)
  )
  const runtime = ManagedRuntime.make(client)
  return { requests, runtime, credential: TokenCredential.make(runtime) }
}

/** A client whose source answers the token "late" once `gate` opens. */
const gated = () => {
  const gate = Effect.runSync(Deferred.make<void>())
  return {
    gate,
    ...setup((request) =>
      Effect.andThen(
        Deferred.await(gate),
        Effect.map(Clock.currentTimeMillis, (now) =>
          TokenSource.issuedToken({
            token: Redacted.make("late"),
            resource: request.resource,
            issuedAt: DateTime.makeUnsafe(now),
            expiresOn: DateTime.makeUnsafe(now + 3_600_000)
          }))
      )
    )
  }
}

const rejection = (promise: Promise<unknown>): Promise<Error> =>
  promise.then(() => assert.fail("expected a rejection"), (error: Error) => error)

describe("TokenCredential", () => {
  it("maps a .default scope to its resource and answers in the Azure SDK's shape", async () => {
    const { credential, requests, runtime } = setup()
    const before = Date.now()
    const token = await credential.getToken("https://vault.azure.net/.default")
    assert.isNotNull(token)
    assert.strictEqual(token!.token, "token-1")
    assert.strictEqual(token!.tokenType, "Bearer")
    assert.approximately(token!.expiresOnTimestamp, before + 86_400_000, 5_000)
    assert.approximately(token!.refreshAfterTimestamp!, before + 43_200_000, 5_000)
    assert.deepStrictEqual(requests, [{ resource: "https://vault.azure.net" }])
    const again = await credential.getToken(["https://vault.azure.net/.default"])
    assert.strictEqual(again!.token, "token-1")
    assert.strictEqual(requests.length, 1)
    await runtime.dispose()
  })

  it("answers tokenType Bearer or pop whatever the endpoint's casing", async () => {
    const typed = (tokenType: string) =>
      setup((request) =>
        Effect.map(Clock.currentTimeMillis, (now) =>
          TokenSource.issuedToken({
            token: Redacted.make("typed"),
            tokenType,
            resource: request.resource,
            issuedAt: DateTime.makeUnsafe(now),
            expiresOn: DateTime.makeUnsafe(now + 3_600_000)
          }))
      )
    for (const [tokenType, expected] of [["bearer", "Bearer"], ["PoP", "pop"], ["Bearer", "Bearer"]]) {
      const { credential, runtime } = typed(tokenType)
      assert.strictEqual((await credential.getToken("https://vault.azure.net/.default"))!.tokenType, expected)
      await runtime.dispose()
    }
  })

  it("leaves refreshAfterTimestamp out for a token without refreshOn", async () => {
    const { credential, runtime } = setup(undefined, 3600)
    const token = await credential.getToken("https://storage.azure.com/.default")
    assert.isFalse("refreshAfterTimestamp" in token!)
    await runtime.dispose()
  })

  it("rejects anything but exactly one scope without a request", async () => {
    const { credential, requests, runtime } = setup()
    const many = await rejection(credential.getToken(["https://vault.azure.net/.default", "https://x/.default"]))
    assert.include(many.message, "exactly one scope, got 2")
    const none = await rejection(credential.getToken([]))
    assert.include(none.message, "got 0")
    assert.strictEqual(requests.length, 0)
    await runtime.dispose()
  })

  it("passes claims through, decoding base64 claims", async () => {
    const { credential, requests, runtime } = setup()
    await credential.getToken("https://vault.azure.net/.default", { claims })
    await credential.getToken("https://vault.azure.net/.default", { claims: Buffer.from(claims).toString("base64") })
    assert.deepStrictEqual(requests, [
      { resource: "https://vault.azure.net", claims },
      { resource: "https://vault.azure.net", claims }
    ])
    await runtime.dispose()
  })

  it("an abort signal interrupts the wait and rejects with an AbortError", async () => {
    const { credential, gate, requests, runtime } = gated()
    const controller = new AbortController()
    const waiting = credential.getToken("https://vault.azure.net/.default", { abortSignal: controller.signal })
    const other = credential.getToken("https://vault.azure.net/.default")
    await new Promise((resolve) => setTimeout(resolve, 10))
    controller.abort()
    const error = await rejection(waiting)
    assert.strictEqual(error.name, "AbortError")
    Effect.runSync(Deferred.succeed(gate, undefined))
    assert.strictEqual((await other)!.token, "late")
    assert.strictEqual(requests.length, 1)
    const aborted = await rejection(
      credential.getToken("https://storage.azure.com/.default", { abortSignal: AbortSignal.abort() })
    )
    assert.strictEqual(aborted.name, "AbortError")
    assert.strictEqual(requests.length, 1)
    await runtime.dispose()
  })

  it("rejects SourceUnavailable as CredentialUnavailableError and other failures with the typed error", async () => {
    const unavailable = setup(() =>
      Effect.fail(new SourceUnavailable({ source: "Imds", endpoint: "http://169.254.169.254", reason: "refused" }))
    )
    const error = await rejection(unavailable.credential.getToken("https://vault.azure.net/.default"))
    assert.strictEqual(error.name, "CredentialUnavailableError")
    assert.include(error.message, "Imds is not available")
    assert.strictEqual((error.cause as { _tag: string })._tag, "SourceUnavailable")
    await unavailable.runtime.dispose()
    const failed = setup(() =>
      Effect.fail(new TokenRequestFailed({ source: "Imds", status: 400, error: "invalid_request" }))
    )
    const typed = await rejection(failed.credential.getToken("https://vault.azure.net/.default"))
    assert.strictEqual((typed as unknown as { _tag: string })._tag, "TokenRequestFailed")
    assert.include(typed.message, "invalid_request")
    await failed.runtime.dispose()
  })

  it("an endpoint's out-of-range expires_on rejects with the typed InvalidTokenResponse, not a raw exception", async () => {
    const http = Effect.runSync(FakeHttp.make([FakeHttp.text(`{"access_token":"AT","expires_on":"99999999999999"}`)]))
    const runtime = ManagedRuntime.make(
      ManagedIdentityClient.layer.pipe(
        Layer.provide(SourceHarness.layer(ImdsTokenSource.layer(), { http })),
        Layer.provide(TokenCache.layerMemory)
      )
    )
    const error = await rejection(TokenCredential.make(runtime).getToken("https://vault.azure.net/.default"))
    assert.strictEqual((error as unknown as { _tag: string })._tag, "InvalidTokenResponse")
    assert.include(error.message, "expires_on")
    await runtime.dispose()
  })

  it("a cache hit is settled when getToken returns: its callback runs before a microtask queued after the call", async () => {
    const { credential, requests, runtime } = setup()
    await credential.getToken("https://vault.azure.net/.default")
    const order: Array<string> = []
    const hit = credential.getToken("https://vault.azure.net/.default").then((token) => order.push(token!.token))
    void Promise.resolve().then(() => order.push("queued after the call"))
    await hit
    assert.deepStrictEqual(order, ["token-1", "queued after the call"])
    assert.strictEqual(requests.length, 1)
    await runtime.dispose()
  })

  it("a scope that is no resource rejects with the client's InvalidIdentity, without a request", async () => {
    const { credential, requests, runtime } = setup()
    const error = await rejection(credential.getToken("vault.azure.net/.default"))
    assert.strictEqual((error as unknown as { _tag: string })._tag, "InvalidIdentity")
    assert.include(error.message, "\"vault.azure.net\" is neither")
    assert.strictEqual(requests.length, 0)
    await runtime.dispose()
  })

  describe("ManagedIdentityClient.getTokenPromise", () => {
    it("a miss goes to the source, a hit is settled when the call returns", async () => {
      const { requests, runtime } = setup()
      const getToken = ManagedIdentityClient.getTokenPromise(runtime)
      const first = await getToken("https://vault.azure.net")
      assert.strictEqual(Redacted.value(first.token), "token-1")
      assert.strictEqual(first.source, "identity_provider")
      const order: Array<string> = []
      const hit = getToken("https://vault.azure.net/.default").then((token) => order.push(token.source))
      void Promise.resolve().then(() => order.push("queued after the call"))
      await hit
      assert.deepStrictEqual(order, ["cache", "queued after the call"])
      assert.deepStrictEqual(requests, [{ resource: "https://vault.azure.net" }])
      await runtime.dispose()
    })

    it("forceRefresh and claims reach the client; a failure rejects with the typed error", async () => {
      const { requests, runtime } = setup()
      const getToken = ManagedIdentityClient.getTokenPromise(runtime)
      await getToken("https://vault.azure.net")
      const forced = await getToken("https://vault.azure.net", { forceRefresh: true })
      const challenged = await getToken("https://vault.azure.net", { claims })
      assert.deepStrictEqual([forced.source, challenged.source], ["identity_provider", "identity_provider"])
      assert.deepStrictEqual(requests.map((request) => request.claims), [undefined, undefined, claims])
      const error = await rejection(getToken("vault.azure.net"))
      assert.strictEqual((error as unknown as { _tag: string })._tag, "InvalidIdentity")
      await runtime.dispose()
      const failed = setup(() => Effect.fail(new TokenRequestFailed({ source: "Imds", status: 400 })))
      const typed = await rejection(ManagedIdentityClient.getTokenPromise(failed.runtime)("https://vault.azure.net"))
      assert.strictEqual((typed as unknown as { _tag: string })._tag, "TokenRequestFailed")
      await failed.runtime.dispose()
    })

    it("an abort signal interrupts the wait; the shared request goes on for the others", async () => {
      const { gate, requests, runtime } = gated()
      const getToken = ManagedIdentityClient.getTokenPromise(runtime)
      const controller = new AbortController()
      const waiting = getToken("https://vault.azure.net", { signal: controller.signal })
      const other = getToken("https://vault.azure.net")
      controller.abort()
      assert.strictEqual((await rejection(waiting)).name, "AbortError")
      Effect.runSync(Deferred.succeed(gate, undefined))
      assert.strictEqual(Redacted.value((await other).token), "late")
      assert.strictEqual(
        (await rejection(getToken("https://x.example", { signal: AbortSignal.abort() }))).name,
        "AbortError"
      )
      assert.strictEqual(requests.length, 1)
      await runtime.dispose()
    })
  })

  it.effect("layer provides the adapter over the client in context, from a plain Runtime", () =>
    Effect.gen(function*() {
      const credential = yield* TokenCredential.TokenCredential
      const token = yield* Effect.promise(() => credential.getToken("https://vault.azure.net/.default"))
      assert.strictEqual(token!.token, "test-token:https://vault.azure.net:1")
    }).pipe(
      Effect.provide(
        TokenCredential.layer.pipe(
          Layer.provide(ManagedIdentityClient.layer),
          Layer.provide(TokenSource.layerTest()),
          Layer.provide(TokenCache.layerMemory)
        )
      )
    ))
})
