import { assert, describe, it } from "@effect/vitest"
import {
  ManagedIdentity,
  ManagedIdentityClient,
  RetryPolicy,
  ServiceFabricTokenSource,
  TokenCache
} from "@managed-identity/core"
import { Effect, Either, Layer, Redacted } from "effect"
import { X509Certificate } from "node:crypto"
import * as Http from "node:http"
import * as Https from "node:https"
import type * as Net from "node:net"
import * as PinnedHttpClient from "../src/internal/pinnedHttpClient.js"
import { getToken } from "./utils/emulatorStack.js"
import * as LoopbackTls from "./utils/loopbackTls.js"

const fingerprint = new X509Certificate(LoopbackTls.certificate).fingerprint
const thumbprint = fingerprint.replace(/:/g, "").toLowerCase()
const wrongThumbprint = `${thumbprint.slice(0, -1)}${thumbprint.endsWith("0") ? "1" : "0"}`

interface Seen {
  readonly url: string
  readonly secret: string | undefined
}

interface TestServer {
  readonly origin: string
  readonly seen: Array<Seen>
  readonly connected: () => number
  readonly connections: () => Promise<number>
  /** Succeeds once no connection is open. */
  readonly allClosed: Effect.Effect<void>
}

const answer = (request: Http.IncomingMessage, response: Http.ServerResponse, seen: Array<Seen>) => {
  seen.push({ url: request.url ?? "", secret: request.headers.secret as string | undefined })
  if (request.url?.startsWith("/redirect") === true) {
    response.writeHead(302, { location: "/metadata/identity/oauth2/token" }).end()
    return
  }
  response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({
    access_token: "sf-token",
    expires_on: String(Math.floor(Date.now() / 1000) + 3600),
    token_type: "Bearer",
    resource: "https://vault.azure.net"
  }))
}

const serve = (secure: boolean) =>
  Effect.acquireRelease(
    Effect.async<{ readonly server: Http.Server; readonly test: TestServer }>((resume) => {
      const seen: Array<Seen> = []
      let connections = 0
      const open = new Set<Net.Socket>()
      const waiting: Array<() => void> = []
      const server = secure
        ? Https.createServer(
          { key: LoopbackTls.privateKey, cert: LoopbackTls.certificate },
          (request, response) => answer(request, response, seen)
        )
        : Http.createServer((request, response) => answer(request, response, seen))
      server.on("connection", (socket: Net.Socket) => {
        connections++
        open.add(socket)
        socket.on("close", () => {
          open.delete(socket)
          if (open.size === 0) waiting.splice(0).forEach((wake) => wake())
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as Net.AddressInfo
        resume(Effect.succeed({
          server,
          test: {
            origin: `${secure ? "https" : "http"}://127.0.0.1:${port}`,
            seen,
            connected: () => connections,
            connections: () =>
              new Promise<number>((resolve, reject) =>
                server.getConnections((error, count) => error ? reject(error) : resolve(count))
              ),
            allClosed: Effect.async<void>((resume) => {
              if (open.size === 0) resume(Effect.void)
              else waiting.push(() => resume(Effect.void))
            })
          }
        }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ test }) => test))

const tokenEndpoint = "/metadata/identity/oauth2/token"

/** A token from `server` through the Service Fabric source pinned to `pin`, without retries. */
const tokenFrom = (
  server: TestServer,
  pin: string,
  options: {
    readonly path?: string
    readonly pinned?: Layer.Layer<ServiceFabricTokenSource.PinnedHttpClient>
  } = {}
) =>
  getToken("https://vault.azure.net").pipe(
    Effect.provide(
      ManagedIdentityClient.layer.pipe(
        Layer.provide(
          ServiceFabricTokenSource.layer({
            endpoint: `${server.origin}${options.path ?? tokenEndpoint}`,
            identityHeader: Redacted.make("sf-secret"),
            thumbprint: pin,
            retrySchedule: RetryPolicy.none
          })
        ),
        Layer.provide(TokenCache.layerMemory),
        Layer.provide(ManagedIdentity.layerSystemAssigned),
        Layer.provide(options.pinned ?? PinnedHttpClient.layer)
      )
    )
  )

describe("Service Fabric certificate pinning", () => {
  for (const pin of [thumbprint, fingerprint, ` ${fingerprint.toLowerCase().replace(/:/g, " ")}\n`]) {
    it.live(`the right thumbprint (${JSON.stringify(pin.slice(0, 8))}…) gets a token and the server sees the secret`, () =>
      Effect.gen(function*() {
        const server = yield* serve(true)
        const token = yield* tokenFrom(server, pin)
        assert.strictEqual(Redacted.value(token.token), "sf-token")
        assert.deepStrictEqual(server.seen, [{
          url: "/metadata/identity/oauth2/token?api-version=2019-07-01-preview&resource=https%3A%2F%2Fvault.azure.net",
          secret: "sf-secret"
        }])
      }).pipe(Effect.scoped))
  }

  it.live("a wrong thumbprint is a ServiceFabricCertificateMismatch and the server never receives the request", () =>
    Effect.gen(function*() {
      const server = yield* serve(true)
      const error = yield* Effect.flip(tokenFrom(server, wrongThumbprint))
      assert(error._tag === "ServiceFabricCertificateMismatch")
      assert.strictEqual(error.source, "ServiceFabric")
      assert.strictEqual(error.endpoint, server.origin.slice("https://".length))
      assert.include(error.reason, wrongThumbprint)
      assert.include(error.reason, thumbprint)
      assert.isAtLeast(server.connected(), 1)
      assert.strictEqual(server.seen.length, 0)
    }).pipe(Effect.scoped))

  it.live("an http endpoint is InvalidIdentity before anything is sent", () =>
    Effect.gen(function*() {
      const server = yield* serve(false)
      const error = yield* Effect.flip(tokenFrom(server, thumbprint))
      assert.strictEqual(error._tag, "InvalidIdentity")
      assert.strictEqual(server.seen.length, 0)
    }).pipe(Effect.scoped))

  it.live("redirects are not followed", () =>
    Effect.gen(function*() {
      const server = yield* serve(true)
      const error = yield* Effect.flip(tokenFrom(server, thumbprint, { path: "/redirect" }))
      assert(error._tag === "TokenRequestFailed")
      assert.strictEqual(error.status, 302)
      assert.strictEqual(server.seen.length, 1)
    }).pipe(Effect.scoped))

  it.live("one client per thumbprint, and its connections close with the layer's scope", () =>
    Effect.gen(function*() {
      const server = yield* serve(true)
      yield* Effect.scoped(Effect.gen(function*() {
        const pinned = yield* PinnedHttpClient.make
        const first = yield* pinned.forThumbprint(fingerprint)
        const second = yield* pinned.forThumbprint(thumbprint)
        assert.strictEqual(first, second)
        yield* tokenFrom(server, thumbprint, {
          pinned: Layer.succeed(ServiceFabricTokenSource.PinnedHttpClient, pinned)
        })
        assert.strictEqual(yield* Effect.promise(server.connections), 1)
      }))
      yield* server.allClosed.pipe(
        Effect.timeoutFail({ duration: "5 seconds", onTimeout: () => new Error("a connection stayed open") })
      )
      assert.strictEqual(yield* Effect.promise(server.connections), 0)
    }).pipe(Effect.scoped))

  it.live("a malformed thumbprint is InvalidIdentity", () =>
    Effect.gen(function*() {
      const pinned = yield* PinnedHttpClient.make
      const result = yield* Effect.either(pinned.forThumbprint("not-a-thumbprint"))
      assert(Either.isLeft(result))
      assert.strictEqual(result.left._tag, "InvalidIdentity")
    }).pipe(Effect.scoped))
})
