import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import type * as HttpClient from "@effect/platform/HttpClient"
import { ServiceFabricCertificateMismatch } from "@managed-identity/core/ManagedIdentityError"
import * as ServiceFabricTokenSource from "@managed-identity/core/ServiceFabricTokenSource"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as Crypto from "node:crypto"
import * as Tls from "node:tls"
import { Agent, buildConnector } from "undici"

const mismatch = (options: buildConnector.Options, expected: string, actual: string) =>
  new ServiceFabricCertificateMismatch({
    source: "ServiceFabric",
    endpoint: options.port === "" ? options.hostname : `${options.hostname}:${options.port}`,
    reason: `expected the certificate thumbprint ${expected}, got ${actual}`
  })

/**
 * An undici agent whose connections are trusted only if the SHA-1 of the server certificate's DER encoding is
 * `thumbprint` (normalised, lower-case hex). The pin is checked in the connect callback, before undici writes the
 * request; sessions are not cached, so every connection shows its certificate.
 */
const pinnedAgent = (thumbprint: string): Agent => {
  const expected = Buffer.from(thumbprint, "hex")
  const connector = buildConnector({ rejectUnauthorized: false, maxCachedSessions: 0 })
  return new Agent({
    connect: (options, callback) =>
      connector(options, (error, socket) => {
        if (error !== null) return callback(error, null)
        const certificate = socket instanceof Tls.TLSSocket ? socket.getPeerX509Certificate() : undefined
        const actual = certificate === undefined
          ? undefined
          : Crypto.createHash("sha1").update(certificate.raw).digest()
        if (actual !== undefined && actual.length === expected.length && Crypto.timingSafeEqual(actual, expected)) {
          return callback(null, socket)
        }
        socket.destroy()
        callback(mismatch(options, thumbprint, actual === undefined ? "no certificate" : actual.toString("hex")), null)
      })
  })
}

/**
 * The Node `PinnedHttpClient`: one undici agent per thumbprint, created on first use and closed when the scope
 * closes. Redirects are never followed.
 */
export const make: Effect.Effect<ServiceFabricTokenSource.PinnedHttpClient.Service, never, Scope.Scope> = Effect.map(
  Effect.acquireRelease(
    Effect.sync(() => new Map<string, { readonly agent: Agent; readonly client: HttpClient.HttpClient }>()),
    (pinned) => Effect.promise(() => Promise.all(Array.from(pinned.values(), ({ agent }) => agent.destroy())))
  ),
  (pinned) =>
    ServiceFabricTokenSource.PinnedHttpClient.of({
      forThumbprint: (thumbprint) =>
        Effect.map(ServiceFabricTokenSource.normalizeThumbprint(thumbprint), (normalized) => {
          const existing = pinned.get(normalized)
          if (existing !== undefined) return existing.client
          const agent = pinnedAgent(normalized)
          const client = NodeHttpClient.makeUndici(agent)
          pinned.set(normalized, { agent, client })
          return client
        })
    })
)

/** Provides `ServiceFabricTokenSource.PinnedHttpClient` for Node. */
export const layer: Layer.Layer<ServiceFabricTokenSource.PinnedHttpClient> = Layer.scoped(
  ServiceFabricTokenSource.PinnedHttpClient,
  make
)
