/**
 * A loopback HTTP proxy that records what reaches it and refuses all of it: absolute-URI requests (`GET http://…`, how
 * a proxy is asked for an `http` URL) are answered `502`, `CONNECT` tunnels (how undici and Node 24 ask, and how any
 * client asks for `https`) are answered `502` and closed. Nothing is forwarded, so nothing leaves the machine. Plain
 * Promises, so that either Effect line's proxy immunity tests can start it.
 */
import * as Http from "node:http"
import type * as Net from "node:net"

/** The proxy's URL (with a user name and password, as corporate proxies often have) and what it has seen. */
export interface RecordingProxy {
  readonly url: string
  /** Every request seen so far, as `METHOD target` (`CONNECT host:port`, `GET http://host/path?query`). */
  readonly seen: () => ReadonlyArray<string>
  readonly close: () => Promise<void>
}

/** Listens on a free port of 127.0.0.1 until `close`. */
export const start = (): Promise<RecordingProxy> =>
  new Promise((resolve) => {
    const seen: Array<string> = []
    const server = Http.createServer((request, response) => {
      seen.push(`${request.method} ${request.url}`)
      response.writeHead(502, { "content-type": "text/plain", connection: "close" }).end("refused by the test proxy")
    })
    server.on("connect", (request: Http.IncomingMessage, socket: Net.Socket) => {
      seen.push(`CONNECT ${request.url}`)
      socket.end("HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
    })
    server.listen(0, "127.0.0.1", () =>
      resolve({
        url: `http://proxy-user:proxy-secret@127.0.0.1:${(server.address() as Net.AddressInfo).port}`,
        seen: () => [...seen],
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections()
            server.close(() => done())
          })
      }))
  })

/** Every proxy variable a runtime or tool reads, in both cases, pointing at `proxy`. */
export const environment = (proxy: RecordingProxy): Record<string, string> => ({
  HTTP_PROXY: proxy.url,
  http_proxy: proxy.url,
  HTTPS_PROXY: proxy.url,
  https_proxy: proxy.url,
  ALL_PROXY: proxy.url,
  all_proxy: proxy.url
})
