import type * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"

/** An `HttpClient` over an undici agent, and the agent to destroy when done. */
export interface AgentClient {
  readonly agent: { readonly destroy: () => Promise<void> }
  readonly client: HttpClient.HttpClient
}

/** The client for a key: the one created for it before, or the one `create` makes now. */
export type ClientFor = <E>(
  key: string,
  create: Effect.Effect<AgentClient, E>
) => Effect.Effect<HttpClient.HttpClient, E>

/**
 * Clients over undici agents, one per key, created on first use and destroyed when the scope closes. The modules
 * that create them import undici, so they are loaded on first use only: hosts that never need one never load it.
 */
export const make: Effect.Effect<ClientFor, never, Scope.Scope> = Effect.map(
  Effect.acquireRelease(
    Effect.sync(() => new Map<string, AgentClient>()),
    (clients) => Effect.promise(() => Promise.all(Array.from(clients.values(), ({ agent }) => agent.destroy())))
  ),
  (clients): ClientFor => (key, create) => {
    const existing = clients.get(key)
    if (existing !== undefined) return Effect.succeed(existing.client)
    return Effect.map(create, (created) => {
      const winner = clients.get(key) ?? created
      clients.set(key, winner)
      return winner.client
    })
  }
)
