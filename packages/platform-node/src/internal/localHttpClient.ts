import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as Http from "node:http"
import { Readable } from "node:stream"

/** Statuses whose answer has no body: a web `Response` refuses one. */
const nullBodyStatuses = new Set([101, 204, 205, 304])

/**
 * `fetch` over Node's `http` with `agent`: an agent of its own, never `http.globalAgent`, which Node 22/24 make
 * proxy-aware under `NODE_USE_ENV_PROXY`; Bun's `http` reads no proxy variable either. It never follows a redirect,
 * whatever `redirect` says, and ignores the other `RequestInit` fields (`dispatcher`, `proxy`, …) that would route it
 * elsewhere.
 */
const fetchOver = (agent: Http.Agent): typeof globalThis.fetch => (input, init) =>
  new Promise<Response>((resolve, reject) => {
    const body = init?.body ?? undefined
    if (body !== undefined && typeof body !== "string" && !(body instanceof Uint8Array)) {
      return reject(new TypeError("only a string or bytes can be sent as a body"))
    }
    const headers: Record<string, string> = {}
    new Headers(init?.headers).forEach((value, name) => {
      headers[name] = value
    })
    // A known length rather than chunked encoding, which some agents on the other end refuse.
    if (body !== undefined) headers["content-length"] = String(Buffer.byteLength(body))
    const request = Http.request(new URL(input instanceof Request ? input.url : String(input)), {
      method: init?.method ?? "GET",
      headers,
      agent,
      signal: init?.signal ?? undefined
    })
    request.on("error", reject)
    request.on("response", (response) => {
      try {
        const status = response.statusCode ?? 0
        const answer = new Headers()
        for (let index = 0; index + 1 < response.rawHeaders.length; index += 2) {
          answer.append(response.rawHeaders[index], response.rawHeaders[index + 1])
        }
        const stream = nullBodyStatuses.has(status) || request.method === "HEAD"
          ? null
          : Readable.toWeb(response) as ReadableStream<Uint8Array>
        if (stream === null) response.resume()
        resolve(new Response(stream, { status, statusText: response.statusMessage ?? "", headers: answer }))
      } catch (error) {
        response.destroy()
        reject(error)
      }
    })
    request.end(body)
  })

/**
 * The Node `LocalHttpClient`: `FetchHttpClient` over {@link fetchOver} with a keep-alive agent of its own, destroyed
 * when the scope closes. Node's `http` is built in, so it costs a cold start nothing; `@effect/platform-node`'s
 * `NodeHttpClient` would serve as well, but its module loads undici when imported, which this package defers to the
 * sources that need it (Service Fabric, the token proxy).
 */
export const make: Effect.Effect<HttpClient.HttpClient, never, Scope.Scope> = Effect.gen(function*() {
  const agent = yield* Effect.acquireRelease(
    Effect.sync(() => new Http.Agent({ keepAlive: true })),
    (agent) => Effect.sync(() => agent.destroy())
  )
  const fetch = fetchOver(agent)
  const client = Context.get(yield* Layer.build(FetchHttpClient.layer), HttpClient.HttpClient)
  return HttpClient.transformResponse(client, Effect.provideService(FetchHttpClient.Fetch, fetch))
})
