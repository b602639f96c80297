/**
 * Figure 9, off Azure: how long each library takes to give up when IMDS is silent — a loopback server that accepts the
 * connection and never answers, as a black-holed 169.254.169.254 does. Each library gets its own silent server
 * (through `AZURE_POD_IDENTITY_AUTHORITY_HOST`, the one way to point all three away from 169.254.169.254) and its own
 * fresh `node` process. The peers start first; once both wait on their silent server, ours runs five times in a row
 * (its median is the figure) while they keep waiting, and the other figures run while they still do: the figure costs
 * the slowest peer, not the sum.
 * Ours is the bundled CLI (`managed-identity token`, `NodeManagedIdentity.layer` inside), the peers their one-token
 * scripts as installed. The time is from spawning `node` to the process's exit.
 */
import { spawn } from "node:child_process"
import * as Net from "node:net"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { appEntries, cliBundlePath } from "./bundle.js"
import type { Library, Row } from "./common.js"
import { log, median } from "./common.js"

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

/** A loopback server that never answers; `requested` settles with the first request; `close` drops every connection. */
const silentServer = () =>
  new Promise<{
    readonly url: string
    readonly requests: () => number
    readonly requested: Promise<void>
    readonly close: () => void
  }>((resolve) => {
    const sockets = new Set<Net.Socket>()
    let requests = 0
    let firstRequest = () => {}
    const requested = new Promise<void>((settle) => (firstRequest = settle))
    const server = Net.createServer((socket) => {
      sockets.add(socket)
      socket.once("data", () => {
        requests++
        firstRequest()
      })
    })
    server.listen(0, "127.0.0.1", () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as Net.AddressInfo).port}`,
        requests: () => requests,
        requested,
        close: () => {
          for (const socket of sockets) socket.destroy()
          server.close()
        }
      }))
  })

/** Starts `node <args>` against a silent IMDS of its own: `waiting` once it has sent its request, `outcome` at exit. */
const runAgainstSilentImds = async (args: ReadonlyArray<string>) => {
  const silent = await silentServer()
  const started = performance.now()
  const outcome = new Promise<Outcome>((resolve) => {
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
        : stderr.split("\n").find((line) => /^[A-Z]\w*(Error|Unavailable|Timeout):/.test(line.trim()))?.trim() ??
          `exit ${code}`
      resolve({ millis, code, error: error.slice(0, 160), requests })
    })
  })
  return { waiting: Promise.race([silent.requested, outcome]), outcome }
}

const logged = (library: Library) => (outcome: Outcome) => {
  log(`  ${library}: ${(outcome.millis / 1000).toFixed(1)} s, ${outcome.requests} request(s): ${outcome.error}`)
  return outcome
}

/** Runs of ours, one after another, once the peers are waiting; the median is the figure. */
const oursRuns = 5

const commands: Record<Library, ReadonlyArray<string>> = {
  ours: [cliBundlePath, "token", "--resource", "https://vault.azure.net"],
  "msal-node": [appEntries["msal-node"]],
  "@azure/identity": [appEntries["@azure/identity"]]
}

/** The figure's runs; the CLI bundle must have been built. */
export interface Running {
  /** Settles when ours has run: the peers' processes then only wait, so the other figures can run meanwhile. */
  readonly quick: Promise<void>
  readonly rows: Promise<ReadonlyArray<Row>>
}

/**
 * Starts the peers, and once both have sent their request (their start-up no longer competes for the CPU), runs ours
 * {@link oursRuns} times in a row.
 */
export const start = (): Running => {
  const peers = Promise.all([
    runAgainstSilentImds(commands["msal-node"]),
    runAgainstSilentImds(commands["@azure/identity"])
  ])
  const ours = peers.then(async (started) => {
    await Promise.all(started.map(({ waiting }) => waiting))
    const runs: Array<Outcome> = []
    for (let run = 0; run < oursRuns; run++) {
      runs.push(logged("ours")(await (await runAgainstSilentImds(commands.ours)).outcome))
    }
    return { ...runs[0], millis: median(runs.map(({ millis }) => millis)) }
  })
  const rows = Promise.all([
    ours,
    peers.then(([msal]) => msal.outcome.then(logged("msal-node"))),
    peers.then(([, identity]) => identity.outcome.then(logged("@azure/identity")))
  ]).then(([ours, msal, identity]): ReadonlyArray<Row> => [
    {
      figure: "9. Off Azure",
      metric: "silent IMDS: fresh `node` to the error (ours: bundled CLI `token`, process start included)",
      unit: "ms",
      lowerIsBetter: true,
      values: { ours: ours.millis, "msal-node": msal.millis, "@azure/identity": identity.millis },
      note: `ours: median of ${oursRuns}; ended with: ours ${ours.error.split(":")[0]}, msal-node ${
        msal.error.split(":")[0]
      }, @azure/identity ${identity.error.split(":")[0]}`
    },
    {
      figure: "9. Off Azure",
      metric: "silent IMDS: requests sent before giving up",
      unit: "requests",
      lowerIsBetter: true,
      values: { ours: ours.requests, "msal-node": msal.requests, "@azure/identity": identity.requests }
    }
  ])
  return { quick: ours.then(() => undefined), rows }
}
