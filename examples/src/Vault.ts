/**
 * A stand-in for a Key Vault-style API on 127.0.0.1: it accepts a bearer token whose audience is
 * `https://vault.azure.net`, and answers the first request with a claims challenge.
 */
import { Effect } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"

const challenge = Buffer.from(JSON.stringify({ access_token: { nbf: { essential: true, value: "1726077595" } } }))
  .toString("base64")

const audienceOf = (authorization: string | undefined): string | undefined => {
  const token = authorization?.startsWith("Bearer ") ? authorization.slice("Bearer ".length) : undefined
  const payload = token?.split(".")[1]
  if (payload === undefined) return undefined
  try {
    return JSON.parse(Buffer.from(payload, "base64url").toString("utf8")).aud
  } catch {
    return undefined
  }
}

export const startVault = Effect.acquireRelease(
  Effect.async<{ readonly url: string; readonly log: Array<string>; readonly server: Http.Server }>((resume) => {
    const log: Array<string> = []
    let challenged = false
    const server = Http.createServer((request, response) => {
      const audience = audienceOf(request.headers.authorization)
      if (audience !== "https://vault.azure.net") {
        log.push("401 wrong audience")
        response.writeHead(401).end()
      } else if (!challenged) {
        challenged = true
        log.push("401 claims challenge")
        response.writeHead(401, {
          "www-authenticate": `Bearer realm="", error="insufficient_claims", claims="${challenge}"`
        }).end()
      } else {
        log.push("200")
        response.writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify({ name: "db-password", value: "correct horse battery staple" }))
      }
    })
    server.listen(0, "127.0.0.1", () =>
      resume(Effect.succeed({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        log,
        server
      })))
  }),
  ({ server }) =>
    Effect.async<void>((resume) => {
      server.close(() => resume(Effect.void))
    })
)
