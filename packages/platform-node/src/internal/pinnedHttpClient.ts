import * as ServiceFabricTokenSource from "@managed-identity/core/ServiceFabricTokenSource"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as UndiciClients from "./undiciClients.js"

/**
 * The Node `PinnedHttpClient`: one undici agent per thumbprint, created on first use and closed when the scope
 * closes. Redirects are never followed. undici is loaded on first use, so hosts that are not Service Fabric never
 * load it.
 */
export const make: Effect.Effect<ServiceFabricTokenSource.PinnedHttpClient.Service, never, Scope.Scope> = Effect.map(
  UndiciClients.make,
  (clientFor) =>
    ServiceFabricTokenSource.PinnedHttpClient.of({
      forThumbprint: (thumbprint) =>
        Effect.flatMap(ServiceFabricTokenSource.normalizeThumbprint(thumbprint), (normalized) =>
          clientFor(
            normalized,
            Effect.map(
              Effect.promise(() => import("./pinnedAgent.js")),
              ({ makePinnedClient }) => makePinnedClient(normalized)
            )
          ))
    })
)

/** Provides `ServiceFabricTokenSource.PinnedHttpClient` for Node. */
export const layer: Layer.Layer<ServiceFabricTokenSource.PinnedHttpClient> = Layer.scoped(
  ServiceFabricTokenSource.PinnedHttpClient,
  make
)
