/** A loopback server that accepts connections and never answers, as a black-holed 169.254.169.254 does. */
import { Effect, type Scope } from "effect"
import * as Net from "node:net"

/** The silent server's address, and how many connections it has accepted so far. */
export interface SilentServer {
  readonly url: string
  readonly connections: () => number
}

/** Listens on a free port of 127.0.0.1 until the scope closes, then drops every connection it holds. */
export const make: Effect.Effect<SilentServer, never, Scope.Scope> = Effect.map(
  Effect.acquireRelease(
    Effect.async<{ readonly server: Net.Server; readonly sockets: Set<Net.Socket>; accepted: number }>((resume) => {
      const state = { server: Net.createServer(), sockets: new Set<Net.Socket>(), accepted: 0 }
      state.server.on("connection", (socket) => {
        state.accepted++
        state.sockets.add(socket)
      })
      state.server.listen(0, "127.0.0.1", () => resume(Effect.succeed(state)))
    }),
    ({ server, sockets }) =>
      Effect.async<void>((resume) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resume(Effect.void))
      })
  ),
  (state) => ({
    url: `http://127.0.0.1:${(state.server.address() as Net.AddressInfo).port}`,
    connections: () => state.accepted
  })
)
