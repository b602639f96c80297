/**
 * The one harness every source test uses: a source layer (from `layer(options)` or `layerConfig()`) built over a
 * recording fake `HttpClient`, a fake `FileSystem`, a fake Service Fabric `PinnedHttpClient` and a fake workload
 * identity `TokenProxyHttpClient` (both over the same fake HTTP) and a `ConfigProvider.fromMap` environment, so
 * nothing reaches the host.
 *
 * ```ts
 * const http = yield* FakeHttp.make([FakeHttp.json(token)])
 * const issued = yield* SourceHarness.getToken(resource).pipe(
 *   SourceHarness.provide(ImdsTokenSource.layer(), { http, identity: ManagedIdentity.clientId("…") })
 * )
 * ```
 */
import { assert } from "@effect/vitest"
import { ConfigProvider, DateTime, Duration, Effect, Fiber, Layer, Option } from "effect"
import { TestClock } from "effect/testing"
import type * as Layers from "../../src/internal/source/layers.js"
import * as ManagedIdentity from "../../src/ManagedIdentity.js"
import { InvalidIdentity } from "../../src/ManagedIdentityError.js"
import * as ServiceFabricTokenSource from "../../src/ServiceFabricTokenSource.js"
import * as TokenRequest from "../../src/TokenRequest.js"
import * as TokenSource from "../../src/TokenSource.js"
import * as WorkloadIdentityTokenSource from "../../src/WorkloadIdentityTokenSource.js"
import * as FakeFileSystem from "./fakeFileSystem.js"
import type * as FakeHttp from "./fakeHttp.js"

/** What a source layer may need (everything detection's layer needs but the host platform); the harness provides it. */
export type Requirements = Layers.Requirements

/** The host the source runs on. */
export interface Host {
  readonly http: FakeHttp.FakeHttp
  /** Default: system-assigned. */
  readonly identity?: ManagedIdentity.Identity | undefined
  /** The environment `Config` reads (default: empty). */
  readonly env?: Readonly<Record<string, string>> | undefined
  /** Default: an empty file system. */
  readonly fileSystem?: FakeFileSystem.FakeFileSystem | undefined
  /** Receives every thumbprint the Service Fabric `PinnedHttpClient` is asked for. */
  readonly thumbprints?: Array<string> | undefined
  /** Receives every trust the workload identity `TokenProxyHttpClient` is asked for. */
  readonly trusts?: Array<WorkloadIdentityTokenSource.Trust> | undefined
}

const pinnedHttpClient = (host: Host) =>
  Layer.succeed(ServiceFabricTokenSource.PinnedHttpClient, {
    forThumbprint: (thumbprint) =>
      Effect.sync(() => {
        host.thumbprints?.push(thumbprint)
        return host.http.client
      })
  })

/** A CA that holds no PEM certificate is refused, as the platform's client refuses it. */
const tokenProxyHttpClient = (host: Host) =>
  Layer.succeed(WorkloadIdentityTokenSource.TokenProxyHttpClient, {
    forTrust: (trust) =>
      trust.ca !== undefined && !trust.ca.includes("-----BEGIN CERTIFICATE-----")
        ? Effect.fail(new InvalidIdentity({ source: "WorkloadIdentity", reason: "no PEM certificate in it" }))
        : Effect.sync(() => {
          host.trusts?.push(trust)
          return host.http.client
        })
  })

/** The `TokenSource` that `layer` builds on `host`. */
export const layer = <E>(
  source: Layer.Layer<TokenSource.TokenSource, E, Requirements>,
  host: Host
): Layer.Layer<TokenSource.TokenSource, E> =>
  source.pipe(
    Layer.provide(host.http.layer),
    Layer.provide(pinnedHttpClient(host)),
    Layer.provide(tokenProxyHttpClient(host)),
    Layer.provide((host.fileSystem ?? FakeFileSystem.make()).layer),
    Layer.provide(ManagedIdentity.layer(host.identity ?? ManagedIdentity.systemAssigned)),
    Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnvRecord(host.env ?? {})))
  )

/** Runs `effect` with the `TokenSource` that `source` builds on `host`. */
export const provide =
  <E2>(source: Layer.Layer<TokenSource.TokenSource, E2, Requirements>, host: Host) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | E2, Exclude<R, TokenSource.TokenSource>> =>
    Effect.provide(effect, layer(source, host))

/** One `getToken` through the `TokenSource` in context. */
export const getToken = (resource: string, options?: Omit<TokenRequest.TokenRequest, "resource">) =>
  Effect.flatMap(TokenSource.TokenSource, (source) => source.getToken(TokenRequest.make(resource, options)))

/** Forks `effect`, moves the `TestClock` on by `duration`, then joins it: for retries, delays and timeouts. */
export const advancing = (duration: Duration.Input) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.forkChild(effect)
    yield* TestClock.adjust(duration)
    return yield* Fiber.join(fiber)
  })

/** Forks `effect`, checks that it still runs 1 ms before `millis` and has failed at `millis`; its error. */
export const failsAfter = (millis: number) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.forkChild(effect)
    yield* TestClock.adjust(millis - 1)
    assert.isUndefined(fiber.pollUnsafe(), `settled before ${millis} ms`)
    yield* TestClock.adjust(1)
    return yield* Effect.flip(Fiber.join(fiber))
  })

/**
 * Forks `effect`, checks that each further request goes out exactly `delays[i]` after the one before (not a
 * millisecond earlier), then joins it. `http` must not have been used before.
 */
export const requestsAfter =
  (http: FakeHttp.FakeHttp, delays: ReadonlyArray<Duration.Input>) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    Effect.gen(function*() {
      const fiber = yield* Effect.forkChild(effect)
      for (const [index, delay] of delays.entries()) {
        yield* TestClock.adjust(Duration.toMillis(delay) - 1)
        assert.strictEqual(yield* http.count, index + 1, `request ${index + 2} went out early`)
        yield* TestClock.adjust(1)
        assert.strictEqual(yield* http.count, index + 2, `request ${index + 2} did not go out`)
      }
      return yield* Fiber.join(fiber)
    })

/** The query parameter names a source uses for each user-assigned selector. */
export interface SelectorNames {
  readonly ClientId: string
  readonly ResourceId: string
  readonly ObjectId: string
}

/** One request case per identity kind: its name, the identity, and the selector query `names` says it sends. */
export const selectorCases = (
  names: SelectorNames
): ReadonlyArray<readonly [string, ManagedIdentity.Identity, Record<string, string>]> => {
  const clientId = "11111111-2222-3333-4444-555555555555"
  const resourceId = "/subscriptions/s/resourceGroups/g/providers/x/ua"
  const objectId = "99999999-8888-7777-6666-555555555555"
  return [
    ["system-assigned", ManagedIdentity.systemAssigned, {}],
    ["client id", ManagedIdentity.clientId(clientId), { [names.ClientId]: clientId }],
    ["resource id", ManagedIdentity.resourceId(resourceId), { [names.ResourceId]: resourceId }],
    ["object id", ManagedIdentity.objectId(objectId), { [names.ObjectId]: objectId }]
  ]
}

/** Asserts that `token`, issued at `now`, expires `expiresIn` seconds later and is refreshed after `refreshIn` (if any). */
export const expectLifetime = (
  token: TokenSource.IssuedToken,
  now: number,
  expected: { readonly expiresIn: number; readonly refreshIn?: number | undefined }
): void => {
  assert.strictEqual(DateTime.toEpochMillis(token.expiresOn), now + expected.expiresIn * 1000)
  assert.deepStrictEqual(
    Option.map(token.refreshOn, DateTime.toEpochMillis),
    expected.refreshIn === undefined ? Option.none() : Option.some(now + expected.refreshIn * 1000)
  )
}
