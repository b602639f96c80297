import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Effect from "effect/Effect"
import type * as HttpClient from "effect/http/HttpClient"
import type * as Scope from "effect/Scope"

/**
 * The Node `LocalHttpClient`: Effect's `node:http` client over a keep-alive agent of its own, destroyed when the scope
 * closes. Never `http.globalAgent`, which Node 22/24 make proxy-aware under `NODE_USE_ENV_PROXY`, and never `fetch`,
 * whose global dispatcher they make proxy-aware too; it never follows a redirect. Node's `http` is built in, so it
 * costs a cold start nothing.
 */
export const make: Effect.Effect<HttpClient.HttpClient, never, Scope.Scope> = Effect.flatMap(
  NodeHttpClient.makeAgent({ keepAlive: true }),
  (agent) => Effect.provideService(NodeHttpClient.makeNodeHttp, NodeHttpClient.HttpAgent, agent)
)
