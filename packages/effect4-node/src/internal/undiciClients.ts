import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Effect from "effect/Effect"
import type * as HttpClient from "effect/http/HttpClient"
import type * as Scope from "effect/Scope"
import type { Agent } from "undici"

/** The client for a key: the one created for it before, or the one over the agent `create` makes now. */
export type ClientFor = <E>(key: string, create: Effect.Effect<Agent, E>) => Effect.Effect<HttpClient.HttpClient, E>

/**
 * Clients over undici agents, one per key, created on first use and destroyed when the scope closes. The modules
 * that create the agents import undici, so they are loaded on first use only: hosts that never need one never load it.
 */
export const make: Effect.Effect<ClientFor, never, Scope.Scope> = Effect.map(
  Effect.acquireRelease(
    Effect.sync(() => new Map<string, { readonly agent: Agent; readonly client: HttpClient.HttpClient }>()),
    (clients) => Effect.promise(() => Promise.all(Array.from(clients.values(), ({ agent }) => agent.destroy())))
  ),
  (clients): ClientFor => (key, create) =>
    Effect.suspend(() => {
      const existing = clients.get(key)
      if (existing !== undefined) return Effect.succeed(existing.client)
      return Effect.flatMap(create, (agent) =>
        Effect.map(
          Effect.provideService(NodeHttpClient.makeUndici, NodeHttpClient.Dispatcher, agent),
          (client) => {
            const winner = clients.get(key) ?? { agent, client }
            clients.set(key, winner)
            if (winner.agent !== agent) void agent.destroy()
            return winner.client
          }
        ))
    })
)
