import { assert, describe, it } from "@effect/vitest"
import { Array as Arr, Cause, Clock, DateTime, Deferred, Effect, Exit, Fiber, Layer, Option, Redacted } from "effect"
import { TestClock } from "effect/testing"
import type { AccessToken } from "../src/AccessToken.js"
import * as ImdsTokenSource from "../src/ImdsTokenSource.js"
import * as ManagedIdentity from "../src/ManagedIdentity.js"
import * as ManagedIdentityClient from "../src/ManagedIdentityClient.js"
import { type ManagedIdentityError, TokenRequestFailed } from "../src/ManagedIdentityError.js"
import * as TokenCache from "../src/TokenCache.js"
import type { TokenRequest } from "../src/TokenRequest.js"
import * as TokenSource from "../src/TokenSource.js"
import * as FakeHttp from "./utils/fakeHttp.js"
import { tracked } from "./utils/idle.js"
import * as Logs from "./utils/logs.js"
import * as SourceHarness from "./utils/sourceHarness.js"

const resource = "https://vault.azure.net"
const otherResource = "https://storage.azure.com"

type Step = (request: TokenRequest) => Effect.Effect<TokenSource.IssuedToken, ManagedIdentityError>

const issue = (value: string, lifetimeSeconds = 3600): Step => (request) =>
  Effect.map(Clock.currentTimeMillis, (now) =>
    TokenSource.issuedToken({
      token: Redacted.make(value),
      resource: request.resource,
      issuedAt: DateTime.makeUnsafe(now),
      expiresOn: DateTime.makeUnsafe(now + lifetimeSeconds * 1000)
    }))

const fail = (error: ManagedIdentityError): Step => () => Effect.fail(error)

const gated = (latch: Deferred.Deferred<void>, step: Step): Step => (request) =>
  Effect.andThen(Deferred.await(latch), step(request))

const badRequest = new TokenRequestFailed({ source: "Imds", status: 400, error: "invalid_request" })

/** A source answering request n with `steps[n - 1]`, or `fallback` past the script; it records every request. */
const scripted = (steps: ReadonlyArray<Step>, fallback: Step = issue("fallback")) => {
  const requests: Array<TokenRequest> = []
  const getToken = (request: TokenRequest) =>
    Effect.suspend(() => {
      const n = requests.push(request)
      return (steps[n - 1] ?? fallback)(request)
    })
  return { requests, getToken }
}

/**
 * Runs `f` with a client over `source`; `idle` waits until every fiber the client forked (shared requests,
 * background refreshes) is done or waiting.
 */
const run = <A, E>(
  source: TokenSource.TestOptions,
  f: (client: ManagedIdentityClient.ManagedIdentityClient.Service, idle: Effect.Effect<void>) => Effect.Effect<A, E>,
  options: ManagedIdentityClient.Options = {}
) =>
  tracked((idle) =>
    Effect.flatMap(ManagedIdentityClient.ManagedIdentityClient, (client) => f(client, idle)).pipe(
      Effect.provide(
        ManagedIdentityClient.layerWithOptions(options).pipe(
          Layer.provide(TokenSource.layerTest(source)),
          Layer.provide(TokenCache.layerMemory)
        )
      )
    )
  )

const waitUntil = (condition: () => boolean) =>
  Effect.suspend(function loop(n = 0): Effect.Effect<void> {
    if (condition()) return Effect.void
    if (n > 1000) return Effect.die("condition not reached")
    return Effect.andThen(Effect.yieldNow, Effect.suspend(() => loop(n + 1)))
  })

const assertError = (actual: ManagedIdentityError, expected: ManagedIdentityError) => {
  assert.strictEqual(actual._tag, expected._tag)
  assert.strictEqual(actual.message, expected.message)
}

const value = (token: AccessToken) => Redacted.value(token.token)

describe("ManagedIdentityClient", () => {
  describe("cache", () => {
    it.effect("serves the second call from the cache without a request", () => {
      const source = scripted([issue("first")])
      return run({ getToken: source.getToken }, (client) =>
        Effect.gen(function*() {
          const first = yield* client.getToken(resource)
          const second = yield* client.getToken(resource)
          assert.strictEqual(source.requests.length, 1)
          assert.strictEqual(first.source, "identity_provider")
          assert.strictEqual(second.source, "cache")
          assert.strictEqual(value(second), "first")
          assert.strictEqual(second.resource, resource)
        }))
    })

    it.effect("serves a token with 301 s or exactly 300 s left, not one with 299 s", () => {
      const source = scripted([issue("first", 3600), issue("second", 3600)])
      return run({ getToken: source.getToken }, (client) =>
        Effect.gen(function*() {
          yield* client.getToken(resource)
          yield* TestClock.adjust("3299 seconds")
          assert.strictEqual((yield* client.getToken(resource)).source, "cache")
          yield* TestClock.adjust("1 second")
          const atLine = yield* client.getToken(resource)
          assert.strictEqual(atLine.source, "cache")
          assert.strictEqual(value(atLine), "first")
          assert.strictEqual(source.requests.length, 1)
          yield* TestClock.adjust("1 second")
          const past = yield* client.getToken(resource)
          assert.strictEqual(past.source, "identity_provider")
          assert.strictEqual(value(past), "second")
          assert.strictEqual(source.requests.length, 2)
        }))
    })

    it.effect("returns a token issued with less than 300 s left but never caches it", () => {
      const source = scripted([issue("short-1", 200), issue("short-2", 200)])
      return run({ getToken: source.getToken }, (client) =>
        Effect.gen(function*() {
          const first = yield* client.getToken(resource)
          const second = yield* client.getToken(resource)
          assert.deepStrictEqual([value(first), first.source], ["short-1", "identity_provider"])
          assert.deepStrictEqual([value(second), second.source], ["short-2", "identity_provider"])
          assert.strictEqual(source.requests.length, 2)
        }))
    })

    it.effect("never caches an error", () => {
      const source = scripted([fail(badRequest), issue("after-error")])
      return run({ getToken: source.getToken }, (client) =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(client.getToken(resource))
          assertError(error, badRequest)
          const token = yield* client.getToken(resource)
          assert.strictEqual(value(token), "after-error")
          assert.strictEqual(token.source, "identity_provider")
          assert.strictEqual(source.requests.length, 2)
        }))
    })

    it.effect("keys the cache by identity and resource", () =>
      Effect.gen(function*() {
        const source = scripted([issue("vault"), issue("storage")])
        yield* run({ getToken: source.getToken, identity: ManagedIdentity.clientId("CLIENT") }, (client) =>
          Effect.gen(function*() {
            yield* client.getToken(resource)
            yield* client.getToken(otherResource)
            assert.strictEqual(value(yield* client.getToken(resource)), "vault")
            assert.strictEqual(value(yield* client.getToken(otherResource)), "storage")
            assert.deepStrictEqual(
              source.requests.map((r) =>
                r.resource
              ),
              [resource, otherResource]
            )
          }))
      }))
  })

  describe("the resource", () => {
    it.effect("a /.default scope asks for its resource and shares its cache entry", () => {
      const source = scripted([issue("first")])
      return run({ getToken: source.getToken }, (client) =>
        Effect.gen(function*() {
          const scoped = yield* client.getToken(`${resource}/.default`)
          const plain = yield* client.getToken(resource)
          assert.deepStrictEqual(source.requests.map((request) => request.resource), [resource])
          assert.strictEqual(scoped.resource, resource)
          assert.strictEqual(plain.source, "cache")
        }))
    })

    it.effect("a URI with a scheme or an application id is a resource", () => {
      const source = scripted([])
      const resources = ["api://my-app", "https://graph.microsoft.com/", "00000003-0000-0000-c000-000000000000"]
      return run({ getToken: source.getToken }, (client) =>
        Effect.gen(function*() {
          for (const requested of resources) yield* client.getToken(requested)
          assert.deepStrictEqual(source.requests.map((request) => request.resource), resources)
        }))
    })

    it.effect("text without a scheme is InvalidIdentity naming it, before the cache or the source is asked", () => {
      const source = scripted([])
      return run({ getToken: source.getToken }, (client) =>
        Effect.gen(function*() {
          for (const requested of ["vault.azure.net", "vault.azure.net/.default", "", " https://vault.azure.net"]) {
            const error = yield* Effect.flip(client.getToken(requested))
            assert(error._tag === "InvalidIdentity")
            assert.strictEqual(
              error.message,
              `Imds: getToken takes a resource, a URI with a scheme such as https://vault.azure.net or an application id, and ${
                JSON.stringify(requested)
              } is neither`
            )
          }
          assert.strictEqual(source.requests.length, 0)
        }))
    })
  })

  describe("single flight", () => {
    it.effect("1000 concurrent callers make one request; two resources make two", () =>
      Effect.gen(function*() {
        const latch = yield* Deferred.make<void>()
        const source = scripted([], gated(latch, issue("shared")))
        yield* run({ getToken: source.getToken }, (client, idle) =>
          Effect.gen(function*() {
            const fibers = yield* Effect.forEach(
              Arr.range(1, 1000),
              (i) => Effect.forkChild(client.getToken(i % 2 === 0 ? resource : otherResource))
            )
            yield* waitUntil(() => source.requests.length === 2)
            yield* idle
            assert.strictEqual(source.requests.length, 2)
            yield* Deferred.succeed(latch, undefined)
            const tokens = yield* Fiber.joinAll(fibers)
            assert.strictEqual(tokens.length, 1000)
            assert.isTrue(tokens.every((token) => value(token) === "shared"))
            assert.strictEqual(source.requests.length, 2)
            assert.deepStrictEqual(source.requests.map((r) => r.resource).sort(), [otherResource, resource].sort())
          }))
      }))

    it.effect("10 000 concurrent cold callers make exactly one request", () =>
      Effect.gen(function*() {
        const latch = yield* Deferred.make<void>()
        const source = scripted([gated(latch, issue("shared"))])
        yield* run({ getToken: source.getToken }, (client, idle) =>
          Effect.gen(function*() {
            const fibers = yield* Effect.forEach(
              Arr.range(1, 10_000),
              () => Effect.forkChild(client.getToken(resource))
            )
            yield* idle
            yield* Deferred.succeed(latch, undefined)
            const tokens = yield* Fiber.joinAll(fibers)
            assert.isTrue(tokens.every((token) => value(token) === "shared"))
            assert.strictEqual(source.requests.length, 1)
          }))
      }))

    it.effect("interrupting half of 1000 waiting callers does not cancel the request for the others", () =>
      Effect.gen(function*() {
        const latch = yield* Deferred.make<void>()
        const source = scripted([gated(latch, issue("shared"))])
        yield* run({ getToken: source.getToken }, (client, idle) =>
          Effect.gen(function*() {
            const fibers = yield* Effect.forEach(Arr.range(1, 1000), () => Effect.forkChild(client.getToken(resource)))
            yield* waitUntil(() => source.requests.length === 1)
            yield* idle
            const interrupted = fibers.filter((_, i) => i % 2 === 0)
            const kept = fibers.filter((_, i) => i % 2 === 1)
            yield* Effect.forEach(interrupted, Fiber.interrupt)
            const interruptedExits = yield* Effect.forEach(interrupted, Fiber.await)
            assert.isTrue(interruptedExits.every(Exit.hasInterrupts))
            yield* Deferred.succeed(latch, undefined)
            const tokens = yield* Fiber.joinAll(kept)
            assert.strictEqual(tokens.length, 500)
            assert.isTrue(tokens.every((token) => value(token) === "shared" && token.source === "identity_provider"))
            const later = yield* client.getToken(resource)
            assert.strictEqual(later.source, "cache")
            assert.strictEqual(source.requests.length, 1)
          }))
      }))

    it.effect("a request survives when every waiting caller is interrupted, and its token is cached", () =>
      Effect.gen(function*() {
        const latch = yield* Deferred.make<void>()
        const source = scripted([gated(latch, issue("orphan"))])
        yield* run({ getToken: source.getToken }, (client, idle) =>
          Effect.gen(function*() {
            const fibers = yield* Effect.forEach(Arr.range(1, 10), () => Effect.forkChild(client.getToken(resource)))
            yield* waitUntil(() => source.requests.length === 1)
            yield* Fiber.interruptAll(fibers)
            yield* Deferred.succeed(latch, undefined)
            yield* idle
            const token = yield* client.getToken(resource)
            assert.deepStrictEqual([value(token), token.source], ["orphan", "cache"])
            assert.strictEqual(source.requests.length, 1)
          }))
      }))

    it.effect("a claims request while the plain one runs makes its own request; plain callers join the plain one", () =>
      Effect.gen(function*() {
        const latch = yield* Deferred.make<void>()
        const source = scripted([gated(latch, issue("plain")), issue("with-claims")])
        yield* run({ getToken: source.getToken }, (client, idle) =>
          Effect.gen(function*() {
            const plain = yield* Effect.forkChild(
              Effect.all(Arr.replicate(client.getToken(resource), 10), { concurrency: "unbounded" })
            )
            yield* idle
            const claimed = yield* client.getToken(resource, { claims: "{\"access_token\":{}}" })
            assert.strictEqual(value(claimed), "with-claims")
            assert.deepStrictEqual(source.requests.map((request) => request.claims), [
              undefined,
              "{\"access_token\":{}}"
            ])
            yield* Deferred.succeed(latch, undefined)
            const tokens = yield* Fiber.join(plain)
            assert.isTrue(tokens.every((token) => value(token) === "plain"))
            assert.strictEqual(source.requests.length, 2)
          }))
      }))

    it.effect("a forceRefresh during a background refresh joins it: one request, the refreshed token", () =>
      Effect.gen(function*() {
        const latch = yield* Deferred.make<void>()
        const source = scripted([issue("old", 7890), gated(latch, issue("refreshed", 7890))])
        yield* run({ getToken: source.getToken }, (client, idle) =>
          Effect.gen(function*() {
            yield* client.getToken(resource)
            yield* TestClock.adjust("3945 seconds")
            assert.strictEqual(value(yield* client.getToken(resource)), "old")
            yield* idle
            assert.strictEqual(source.requests.length, 2)
            const forced = yield* Effect.forkChild(client.getToken(resource, { forceRefresh: true }))
            yield* idle
            yield* Deferred.succeed(latch, undefined)
            assert.strictEqual(value(yield* Fiber.join(forced)), "refreshed")
            assert.strictEqual(source.requests.length, 2)
          }))
      }))

    it.effect("a failed shared request fails every waiter with the same error and leaves nothing behind", () =>
      Effect.gen(function*() {
        const latch = yield* Deferred.make<void>()
        const source = scripted([gated(latch, fail(badRequest)), issue("retried")])
        yield* run({ getToken: source.getToken }, (client) =>
          Effect.gen(function*() {
            const fibers = yield* Effect.forEach(Arr.range(1, 1000), () => Effect.forkChild(client.getToken(resource)))
            yield* waitUntil(() => source.requests.length === 1)
            yield* Deferred.succeed(latch, undefined)
            const exits = yield* Effect.forEach(fibers, Fiber.await)
            const errors = exits.map((exit) =>
              Exit.isFailure(exit) ? Option.getOrUndefined(Cause.findErrorOption(exit.cause)) : undefined
            )
            assert.isTrue(errors.every((error) => error !== undefined && error === errors[0]))
            assertError(errors[0]!, badRequest)
            assert.strictEqual(source.requests.length, 1)
            const token = yield* client.getToken(resource)
            assert.strictEqual(value(token), "retried")
            assert.strictEqual(source.requests.length, 2)
          }))
      }))
  })

  describe("stale-while-revalidate", () => {
    const lifetime = 7890

    it.effect("serves the cache until refreshOn, then refreshes once in the background while callers keep the old token", () =>
      Effect.gen(function*() {
        const latch = yield* Deferred.make<void>()
        const source = scripted([issue("old", lifetime), gated(latch, issue("new", lifetime))])
        yield* run({ getToken: source.getToken }, (client, idle) =>
          Effect.gen(function*() {
            const first = yield* client.getToken(resource)
            assert.strictEqual(Option.getOrThrow(first.refreshOn).epochMilliseconds, 3945_000)
            yield* TestClock.adjust("3944 seconds")
            const before = yield* client.getToken(resource)
            assert.deepStrictEqual([value(before), before.source], ["old", "cache"])
            yield* idle
            assert.strictEqual(source.requests.length, 1)
            yield* TestClock.adjust("1 second")
            for (let i = 0; i < 100; i++) {
              const stale = yield* client.getToken(resource)
              assert.deepStrictEqual([value(stale), stale.source], ["old", "cache"])
            }
            yield* idle
            assert.strictEqual(source.requests.length, 2)
            for (let i = 0; i < 100; i++) {
              assert.strictEqual(value(yield* client.getToken(resource)), "old")
            }
            assert.strictEqual(source.requests.length, 2)
            yield* Deferred.succeed(latch, undefined)
            yield* idle
            const refreshed = yield* client.getToken(resource)
            assert.deepStrictEqual([value(refreshed), refreshed.source], ["new", "cache"])
            assert.strictEqual(source.requests.length, 2)
          }))
      }))

    it.effect("after a failed refresh serves the old token, logs a warning, and retries after the back-off", () =>
      Effect.gen(function*() {
        const logs: Array<{ level: string; message: unknown; annotations: string }> = []
        const logger = Logs.make(({ annotations, logLevel, message }) => {
          logs.push({ level: logLevel.label, message, annotations: JSON.stringify(Object.fromEntries(annotations)) })
        })
        const unavailable = new TokenRequestFailed({ source: "Imds", status: 500, error: "temporarily_unavailable" })
        const source = scripted([issue("old-secret", lifetime), fail(unavailable), issue("new", lifetime)])
        yield* run(
          { getToken: source.getToken },
          (client, idle) =>
            Effect.gen(function*() {
              yield* client.getToken(resource)
              yield* TestClock.adjust("3945 seconds")
              const stale = yield* client.getToken(resource)
              assert.deepStrictEqual([value(stale), stale.source], ["old-secret", "cache"])
              yield* idle
              assert.strictEqual(source.requests.length, 2)
              const warnings = logs.filter((log) => log.level === "WARN")
              assert.strictEqual(warnings.length, 1)
              assert.deepStrictEqual(warnings[0].message, ["background token refresh failed; serving the cached token"])
              assert.include(warnings[0].annotations, "TokenRequestFailed")
              assert.notInclude(JSON.stringify(logs), "old-secret")

              yield* TestClock.adjust("29 seconds")
              assert.strictEqual(value(yield* client.getToken(resource)), "old-secret")
              yield* idle
              assert.strictEqual(source.requests.length, 2)

              yield* TestClock.adjust("1 second")
              assert.strictEqual(value(yield* client.getToken(resource)), "old-secret")
              yield* idle
              assert.strictEqual(source.requests.length, 3)
              const replaced = yield* client.getToken(resource)
              assert.deepStrictEqual([value(replaced), replaced.source], ["new", "cache"])
            }).pipe(Effect.provide(Logs.layer(logger)))
        )
      }))

    it.effect("a refresh that dies sets the back-off and logs: 50 waves of callers make one refresh request", () =>
      Effect.gen(function*() {
        const logs: Array<string> = []
        const logger = Logs.make(({ logLevel, message }) => {
          if (logLevel.label === "WARN") logs.push(JSON.stringify(message))
        })
        const source = scripted([issue("old", lifetime), () => Effect.die("Invalid date")])
        yield* run({ getToken: source.getToken }, (client, idle) =>
          Effect.gen(function*() {
            yield* client.getToken(resource)
            yield* TestClock.adjust("3945 seconds")
            for (let wave = 0; wave < 50; wave++) {
              yield* Effect.all(Arr.replicate(client.getToken(resource), 10), { concurrency: "unbounded" })
              yield* idle
              yield* TestClock.adjust("100 millis")
            }
            assert.strictEqual(source.requests.length, 2)
            assert.strictEqual(logs.length, 1)
            assert.include(logs[0], "background token refresh failed")
          }).pipe(Effect.provide(Logs.layer(logger))))
      }))

    it.effect("a refresh answered with expires_in 1e20 is an InvalidTokenResponse: back-off, one warning, one request", () =>
      Effect.gen(function*() {
        const warnings: Array<string> = []
        const logger = Logs.make(({ annotations, logLevel }) => {
          if (logLevel.label === "WARN") warnings.push(JSON.stringify(Object.fromEntries(annotations)))
        })
        const http = yield* FakeHttp.make([
          FakeHttp.json({ access_token: "old", expires_in: 7200 }),
          FakeHttp.text(`{"access_token":"new","expires_in":1e20}`)
        ])
        const client = ManagedIdentityClient.layer.pipe(
          Layer.provide(SourceHarness.layer(ImdsTokenSource.layer(), { http })),
          Layer.provide(TokenCache.layerMemory)
        )
        yield* tracked((idle) =>
          Effect.gen(function*() {
            const { getToken } = yield* ManagedIdentityClient.ManagedIdentityClient
            yield* getToken(resource)
            yield* TestClock.adjust("3600 seconds")
            for (let wave = 0; wave < 50; wave++) {
              const tokens = yield* Effect.all(Arr.replicate(getToken(resource), 10), { concurrency: "unbounded" })
              assert.isTrue(tokens.every((token) => value(token) === "old"))
              yield* idle
              yield* TestClock.adjust("100 millis")
            }
            assert.strictEqual(yield* http.count, 2)
            assert.strictEqual(warnings.length, 1)
            assert.include(warnings[0], "InvalidTokenResponse")
          }).pipe(Effect.provide(client), Effect.provide(Logs.layer(logger)))
        )
      }))

    it.effect("at the 300 s line a failing refresh is the caller's error", () => {
      const source = scripted([issue("old", lifetime)], fail(badRequest))
      return run({ getToken: source.getToken }, (client, idle) =>
        Effect.gen(function*() {
          yield* client.getToken(resource)
          yield* TestClock.adjust("3945 seconds")
          assert.strictEqual(value(yield* client.getToken(resource)), "old")
          yield* idle
          yield* TestClock.adjust(`${lifetime - 3945 - 301} seconds`)
          assert.strictEqual(value(yield* client.getToken(resource)), "old")
          yield* idle
          const refreshes = source.requests.length
          assert.strictEqual(refreshes, 3)
          yield* TestClock.adjust("2 seconds")
          const error = yield* Effect.flip(client.getToken(resource))
          assertError(error, badRequest)
          assert.strictEqual(source.requests.length, refreshes + 1)
        }))
    })

    it.effect("a token under 7200 s gets no refreshOn and no background refresh", () => {
      const source = scripted([issue("short", 7199)])
      return run({ getToken: source.getToken }, (client, idle) =>
        Effect.gen(function*() {
          const first = yield* client.getToken(resource)
          assert.isTrue(Option.isNone(first.refreshOn))
          yield* TestClock.adjust(`${7199 - 300} seconds`)
          assert.strictEqual((yield* client.getToken(resource)).source, "cache")
          yield* idle
          assert.strictEqual(source.requests.length, 1)
        }))
    })
  })

  describe("claims and forceRefresh", () => {
    const claims = `{"access_token":{"nbf":{"essential":true,"value":"1726077595"}}}`
    const both = { tokenRevocation: true, clientCapabilities: true }

    it.effect("claims bypass the cache and send the cached token's SHA-256 and the client capabilities", () => {
      const source = scripted([issue("AT"), issue("AT-2")])
      return run(
        { getToken: source.getToken, kind: "ServiceFabric", capabilities: both },
        (client) =>
          Effect.gen(function*() {
            yield* client.getToken(resource)
            const challenged = yield* client.getToken(resource, { claims })
            assert.deepStrictEqual([value(challenged), challenged.source], ["AT-2", "identity_provider"])
            assert.deepStrictEqual(source.requests, [
              { resource, clientCapabilities: ["cp1", "cp2"] },
              {
                resource,
                clientCapabilities: ["cp1", "cp2"],
                claims,
                tokenSha256ToRefresh: "eb5442705969dc8da5dfac8f9658dc68acdab5bb7635ba7cc551e389416ac34e"
              }
            ])
            const after = yield* client.getToken(resource)
            assert.deepStrictEqual([value(after), after.source], ["AT-2", "cache"])
            assert.strictEqual(source.requests.length, 2)
          }),
        { clientCapabilities: ["cp1", "cp2"] }
      )
    })

    it.effect("claims without a cached token send no SHA-256", () => {
      const source = scripted([issue("AT")])
      return run(
        { getToken: source.getToken, kind: "ServiceFabric", capabilities: both },
        (client) =>
          Effect.gen(function*() {
            yield* client.getToken(resource, { claims })
            assert.deepStrictEqual(source.requests, [{ resource, clientCapabilities: ["cp1"], claims }])
          }),
        { clientCapabilities: ["cp1"] }
      )
    })

    it.effect("with the capabilities off neither is sent, but the cache is bypassed and the new token stored", () => {
      const source = scripted([issue("AT"), issue("AT-2")])
      return run(
        { getToken: source.getToken, capabilities: TokenSource.noCapabilities },
        (client) =>
          Effect.gen(function*() {
            yield* client.getToken(resource)
            const challenged = yield* client.getToken(resource, { claims })
            assert.strictEqual(value(challenged), "AT-2")
            assert.deepStrictEqual(source.requests, [{ resource }, { resource, claims }])
            const after = yield* client.getToken(resource)
            assert.deepStrictEqual([value(after), after.source], ["AT-2", "cache"])
          }),
        { clientCapabilities: ["cp1", "cp2"] }
      )
    })

    it.effect("forceRefresh skips the cache read and stores the new token", () => {
      const source = scripted([issue("first"), issue("forced")])
      return run({ getToken: source.getToken }, (client) =>
        Effect.gen(function*() {
          yield* client.getToken(resource)
          const forced = yield* client.getToken(resource, { forceRefresh: true })
          assert.deepStrictEqual([value(forced), forced.source], ["forced", "identity_provider"])
          assert.deepStrictEqual(source.requests, [{ resource }, { resource }])
          const after = yield* client.getToken(resource)
          assert.deepStrictEqual([value(after), after.source], ["forced", "cache"])
          assert.strictEqual(source.requests.length, 2)
        }))
    })
  })

  describe("throttle memory", () => {
    const throttled = new TokenRequestFailed({ source: "Imds", status: 429, retryAfter: 30 })

    it.effect("after a 429 with Retry-After: 30, 100 callers get the error without a request until 30 s pass", () => {
      const source = scripted([fail(throttled), issue("after-throttle")])
      return run({ getToken: source.getToken }, (client) =>
        Effect.gen(function*() {
          assertError(yield* Effect.flip(client.getToken(resource)), throttled)
          const errors = yield* Effect.all(
            Arr.replicate(Effect.flip(client.getToken(resource)), 100),
            { concurrency: "unbounded" }
          )
          assert.isTrue(errors.every((error) => error === errors[0]))
          assertError(errors[0], throttled)
          assert.strictEqual(source.requests.length, 1)
          yield* TestClock.adjust("29999 millis")
          assertError(yield* Effect.flip(client.getToken(resource, { forceRefresh: true })), throttled)
          assert.strictEqual(source.requests.length, 1)
          const other = yield* client.getToken(otherResource)
          assert.strictEqual(other.resource, otherResource)
          assert.strictEqual(source.requests.length, 2)
          yield* TestClock.adjust("1 millis")
          const token = yield* client.getToken(resource)
          assert.strictEqual(value(token), "fallback")
          assert.strictEqual(source.requests.length, 3)
        }))
    })

    it.effect("remembers a 429 without Retry-After for 5 s and a 5xx Retry-After for at most an hour", () => {
      const bare429 = new TokenRequestFailed({ source: "Imds", status: 429 })
      const long503 = new TokenRequestFailed({ source: "Imds", status: 503, retryAfter: 7200 })
      const source = scripted([fail(bare429), issue("a", 200), fail(long503), issue("b", 200)])
      return run({ getToken: source.getToken }, (client) =>
        Effect.gen(function*() {
          yield* Effect.flip(client.getToken(resource))
          yield* TestClock.adjust("4999 millis")
          assertError(yield* Effect.flip(client.getToken(resource)), bare429)
          assert.strictEqual(source.requests.length, 1)
          yield* TestClock.adjust("1 millis")
          assert.strictEqual(value(yield* client.getToken(resource)), "a")
          assertError(yield* Effect.flip(client.getToken(resource)), long503)
          yield* TestClock.adjust("3599 seconds")
          assertError(yield* Effect.flip(client.getToken(resource)), long503)
          assert.strictEqual(source.requests.length, 3)
          yield* TestClock.adjust("1 second")
          assert.strictEqual(value(yield* client.getToken(resource)), "b")
          assert.strictEqual(source.requests.length, 4)
        }))
    })

    it.effect("does not remember a 5xx without Retry-After or a 400", () => {
      const plain500 = new TokenRequestFailed({ source: "Imds", status: 500 })
      const source = scripted([fail(plain500), fail(badRequest), issue("ok")])
      return run({ getToken: source.getToken }, (client) =>
        Effect.gen(function*() {
          assertError(yield* Effect.flip(client.getToken(resource)), plain500)
          assertError(yield* Effect.flip(client.getToken(resource)), badRequest)
          assert.strictEqual(value(yield* client.getToken(resource)), "ok")
          assert.strictEqual(source.requests.length, 3)
        }))
    })
  })

  it.effect("the request runs in the layer's scope: closing it interrupts the request and its waiters", () =>
    Effect.gen(function*() {
      const started = yield* Deferred.make<void>()
      const interrupted = yield* Deferred.make<void>()
      const getToken: Step = () =>
        Effect.andThen(Deferred.succeed(started, undefined), Effect.never).pipe(
          Effect.onInterrupt(() => Deferred.succeed(interrupted, undefined))
        )
      const fiber = yield* Effect.forkChild(run({ getToken }, (client) => client.getToken(resource)))
      yield* Deferred.await(started)
      yield* Fiber.interrupt(fiber)
      assert.isTrue(yield* Deferred.isDone(interrupted))
    }))

  it.effect("a cache hit reads the cache once and allocates no request", () => {
    const source = scripted([issue("hot")])
    return run({ getToken: source.getToken }, (client) =>
      Effect.gen(function*() {
        yield* client.getToken(resource)
        const hits = yield* Effect.all(Arr.replicate(client.getToken(resource), 10_000))
        assert.strictEqual(hits.length, 10_000)
        assert.isTrue(hits.every((hit) => hit === hits[0] && hit.source === "cache"))
        assert.strictEqual(source.requests.length, 1)
      }))
  })
})
