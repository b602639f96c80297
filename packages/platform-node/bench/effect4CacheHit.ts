import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import type { Emulator, Row } from "./common.js"
import { log } from "./common.js"

const script = fileURLToPath(new URL("../../effect4-node/bench/cacheHit.ts", import.meta.url))

/** This Node, when Effect 4 runs on it (>= 22.19), else `BENCH_EFFECT4_NODE` (CI passes Node 22's binary). */
const nodeForEffect4 = (): string | undefined => {
  const [major, minor] = process.versions.node.split(".").map(Number)
  return major > 22 || (major === 22 && minor >= 19) ? process.execPath : process.env.BENCH_EFFECT4_NODE
}

/**
 * Figure 1 for the Effect 4 line (`@managed-identity/effect4` with `@managed-identity/effect4-node`): its cache hit
 * inside one fiber and through `Effect.runPromise`, beside msal-node's from the 3.x rows, measured in a child process
 * on a Node that Effect 4 runs on (`bench/cacheHit.ts` of effect4-node) against the same emulator.
 */
export const run = async (emulator: Emulator, threeRows: ReadonlyArray<Row>): Promise<ReadonlyArray<Row>> => {
  const node = nodeForEffect4()
  if (node === undefined) {
    log("  Effect 4 line: skipped (Node >= 22.19 needed: set BENCH_EFFECT4_NODE to its binary)")
    return []
  }
  const before = await emulator.requestCount()
  // Asynchronously: the emulator answering the child runs in this process.
  const { stdout } = await promisify(execFile)(node, ["--import", "tsx", script], { encoding: "utf8" })
  const measured = JSON.parse(stdout) as { readonly node: string; readonly fiber: number; readonly runPromise: number }
  const requests = (await emulator.requestCount()) - before
  log(
    `  Effect 4 line on Node ${measured.node}: ${measured.fiber.toFixed(0)} ns in a fiber, ${
      measured.runPromise.toFixed(0)
    } ns through Effect.runPromise`
  )
  const peersOf = (metric: string) => {
    const { ours: _, ...peers } = threeRows.find((row) => row.metric.startsWith(metric))?.values ?? {}
    return peers
  }
  const note = `Effect 4 line, in a Node ${measured.node} child process (the peers: this process); ${requests} request`
  return [
    {
      figure: "1. Cache hit",
      metric: "Effect 4 line (`@managed-identity/effect4`): inside one fiber",
      unit: "ns/call",
      lowerIsBetter: true,
      values: { ours: measured.fiber, ...peersOf("inside one fiber") },
      note
    },
    {
      figure: "1. Cache hit",
      metric: "Effect 4 line (`@managed-identity/effect4`): through `Effect.runPromise`",
      unit: "ns/call",
      lowerIsBetter: true,
      values: { ours: measured.runPromise, ...peersOf("through `Effect.runPromise`") },
      note
    }
  ]
}
