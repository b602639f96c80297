import * as ServiceFabricTokenSource from "@managed-identity/effect4/ServiceFabricTokenSource"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as UndiciClients from "./undiciClients.js"

/**
 * The Node `PinnedHttpClient`: one undici agent per thumbprint, created on first use and closed when the scope
 * closes. Redirects are never followed. undici is loaded on first use, so hosts that are not Service Fabric never
 * load it.
 */
export const make: Effect.Effect<ServiceFabricTokenSource.PinnedHttpClient["Service"], never, Scope.Scope> = Effect
  .map(
    UndiciClients.make,
    (clientFor) =>
      ServiceFabricTokenSource.PinnedHttpClient.of({
        forThumbprint: (thumbprint) =>
          Effect.flatMap(Effect.fromResult(ServiceFabricTokenSource.normalizeThumbprint(thumbprint)), (normalized) =>
            clientFor(
              normalized,
              Effect.map(
                Effect.promise(() =>
                  import("./pinnedAgent.js")
                ),
                ({ pinnedAgent }) => pinnedAgent(normalized)
              )
            ))
      })
  )
