import type * as HttpClient from "@effect/platform/HttpClient"
import * as ServiceFabricTokenSource from "@managed-identity/core/ServiceFabricTokenSource"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"

interface Pinned {
  readonly agent: { readonly destroy: () => Promise<void> }
  readonly client: HttpClient.HttpClient
}

/**
 * The Node `PinnedHttpClient`: one undici agent per thumbprint, created on first use and closed when the scope
 * closes. Redirects are never followed. undici is loaded on first use, so hosts that are not Service Fabric never
 * load it.
 */
export const make: Effect.Effect<ServiceFabricTokenSource.PinnedHttpClient.Service, never, Scope.Scope> = Effect.map(
  Effect.acquireRelease(
    Effect.sync(() => new Map<string, Pinned>()),
    (pinned) => Effect.promise(() => Promise.all(Array.from(pinned.values(), ({ agent }) => agent.destroy())))
  ),
  (pinned) =>
    ServiceFabricTokenSource.PinnedHttpClient.of({
      forThumbprint: (thumbprint) =>
        Effect.flatMap(ServiceFabricTokenSource.normalizeThumbprint(thumbprint), (normalized) => {
          const existing = pinned.get(normalized)
          if (existing !== undefined) return Effect.succeed(existing.client)
          return Effect.map(Effect.promise(() => import("./pinnedAgent.js")), ({ makePinnedClient }) => {
            const created = pinned.get(normalized) ?? makePinnedClient(normalized)
            pinned.set(normalized, created)
            return created.client
          })
        })
    })
)

/** Provides `ServiceFabricTokenSource.PinnedHttpClient` for Node. */
export const layer: Layer.Layer<ServiceFabricTokenSource.PinnedHttpClient> = Layer.scoped(
  ServiceFabricTokenSource.PinnedHttpClient,
  make
)
