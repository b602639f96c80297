/**
 * A real HTTP server on 127.0.0.1 for the few core tests where a real client must meet a real socket (redirects,
 * ports `fetch` refuses). It records the headers of every request and answers with `handler`.
 */
import { Effect, type Scope } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"

/** A running server: its base URL and the headers of each request it received. */
export interface LoopbackServer {
  readonly url: string
  readonly received: ReadonlyArray<Http.IncomingHttpHeaders>
}

/** Starts a server on 127.0.0.1 (a free port) for the scope; `handler` answers every request. */
export const start = (
  handler: (request: Http.IncomingMessage, response: Http.ServerResponse) => void
): Effect.Effect<LoopbackServer, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<{ readonly server: Http.Server; readonly received: Array<Http.IncomingHttpHeaders> }>((resume) => {
      const received: Array<Http.IncomingHttpHeaders> = []
      const server = Http.createServer((request, response) => {
        received.push(request.headers)
        handler(request, response)
      })
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed({ server, received })))
    }),
    ({ server }) =>
      Effect.callback<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(
    Effect.map(({ received, server }) => ({
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      received
    }))
  )
