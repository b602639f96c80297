/**
 * Figure 9, off Azure: how long each library takes to give up when IMDS is silent — a loopback server that accepts the
 * connection and never answers, as a black-holed 169.254.169.254 does. Each library gets its own silent server
 * (through `AZURE_POD_IDENTITY_AUTHORITY_HOST`, the one way to point all three away from 169.254.169.254) and its own
 * fresh `node` process, and the three run at once: the figure costs the slowest, not the sum.
 * Ours is the bundled CLI (`managed-identity token`, `NodeManagedIdentity.layer` inside), the peers their one-token
 * scripts as installed. The time is from spawning `node` to the process's exit.
 */
import { spawn } from "node:child_process"
import * as Net from "node:net"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { appEntries, cliBundlePath } from "./bundle.js"
import type { Library, Row } from "./common.js"
import { log } from "./common.js"

const here = Path.dirname(fileURLToPath(import.meta.url))

/** A library still waiting after this long is killed (its time shown as more than this). */
export const limitMillis = 330_000

interface Outcome {
  /** `Infinity` when the library was still waiting at {@link limitMillis}. */
  readonly millis: number
  readonly code: number | null
  /** The first line of stderr: the error the library ended with. */
  readonly error: string
  /** Connections that sent a request to the silent server. */
  readonly requests: number
}

/** A loopback server that never answers; `close` drops every connection it holds. */
const silentServer = () =>
  new Promise<{ readonly url: string; readonly requests: () => number; readonly close: () => void }>((resolve) => {
    const sockets = new Set<Net.Socket>()
    let requests = 0
    const server = Net.createServer((socket) => {
      sockets.add(socket)
      socket.once("data", () => requests++)
    })
    server.listen(0, "127.0.0.1", () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as Net.AddressInfo).port}`,
        requests: () => requests,
        close: () => {
          for (const socket of sockets) socket.destroy()
          server.close()
        }
      }))
  })

const runAgainstSilentImds = async (args: ReadonlyArray<string>): Promise<Outcome> => {
  const silent = await silentServer()
  const started = performance.now()
  return new Promise<Outcome>((resolve) => {
    let stderr = ""
    const child = spawn(process.execPath, args, {
      cwd: Path.dirname(here),
      env: { PATH: process.env.PATH ?? "", AZURE_POD_IDENTITY_AUTHORITY_HOST: silent.url }
    })
    let killed = false
    const limit = setTimeout(() => {
      killed = true
      child.kill("SIGKILL")
    }, limitMillis)
    child.stderr.on("data", (chunk) => (stderr += chunk))
    child.on("close", (code) => {
      const millis = killed ? Infinity : performance.now() - started
      clearTimeout(limit)
      const requests = silent.requests()
      silent.close()
      const error = killed
        ? `still waiting after ${limitMillis / 1000} s`
        : stderr.split("\n").find((line) => /\w+(Error|Unavailable|Timeout)\b/.test(line))?.trim() ??
          stderr.trim().split("\n")[0] ?? ""
      resolve({ millis, code, error: error.slice(0, 160), requests })
    })
  })
}

const commands: Record<Library, ReadonlyArray<string>> = {
  ours: [cliBundlePath, "token", "--resource", "https://vault.azure.net"],
  "msal-node": [appEntries["msal-node"]],
  "@azure/identity": [appEntries["@azure/identity"]]
}

/** The three runs, started together; the CLI bundle must have been built. */
export interface Running {
  /** Settles when ours has given up: the peers' processes then only wait, so the other figures can run meanwhile. */
  readonly quick: Promise<void>
  readonly rows: Promise<ReadonlyArray<Row>>
}

export const start = (): Running => {
  const outcomes = Object.fromEntries(
    (Object.entries(commands) as Array<[Library, ReadonlyArray<string>]>).map(([library, args]) => [
      library,
      runAgainstSilentImds(args).then((outcome) => {
        log(`  ${library}: ${(outcome.millis / 1000).toFixed(1)} s, ${outcome.requests} request(s): ${outcome.error}`)
        return outcome
      })
    ])
  ) as Record<Library, Promise<Outcome>>
  const rows = Promise.all([outcomes.ours, outcomes["msal-node"], outcomes["@azure/identity"]]).then(
    ([ours, msal, identity]): ReadonlyArray<Row> => [
      {
        figure: "9. Off Azure",
        metric: "silent IMDS: fresh `node` to the error (ours: bundled CLI `token`, process start included)",
        unit: "ms",
        lowerIsBetter: true,
        values: { ours: ours.millis, "msal-node": msal.millis, "@azure/identity": identity.millis },
        note: `ended with: ours ${ours.error.split(":")[0]}; msal-node ${msal.error.split(":")[0]}; @azure/identity ${
          identity.error.split(":")[0]
        }`
      },
      {
        figure: "9. Off Azure",
        metric: "silent IMDS: requests sent before giving up",
        unit: "requests",
        lowerIsBetter: true,
        values: { ours: ours.requests, "msal-node": msal.requests, "@azure/identity": identity.requests }
      }
    ]
  )
  return { quick: outcomes.ours.then(() => undefined), rows }
}
