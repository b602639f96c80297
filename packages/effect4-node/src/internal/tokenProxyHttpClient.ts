import * as WorkloadIdentityTokenSource from "@managed-identity/effect4/WorkloadIdentityTokenSource"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as UndiciClients from "./undiciClients.js"

/**
 * The Node `TokenProxyHttpClient`: one undici agent per trust (CA and server name), created on first use and closed
 * when the scope closes. A CA file that the cluster rotates makes a new agent; the old one's idle connections close
 * on their own (undici's keep-alive timeout). undici is loaded on first use, so hosts without identity bindings never
 * load it.
 */
export const make: Effect.Effect<WorkloadIdentityTokenSource.TokenProxyHttpClient["Service"], never, Scope.Scope> =
  Effect.map(
    UndiciClients.make,
    (clientFor) =>
      WorkloadIdentityTokenSource.TokenProxyHttpClient.of({
        forTrust: (trust) =>
          clientFor(
            `${trust.serverName ?? ""}\n${trust.ca ?? ""}`,
            Effect.flatMap(
              Effect.promise(() => import("./trustedAgent.js")),
              ({ trustedAgent }) => Effect.fromResult(trustedAgent(trust))
            )
          )
      })
  )
