/**
 * Figure 1 for the Effect 4 line: the cost of a cache hit, per call, once the token is cached, measured as
 * platform-node's `bench/cacheHit.ts` measures the 3.x line's (same rounds, iterations and median). Run by
 * `pnpm bench` (which runs on Node 20) in a Node >= 22.19 child process, with the emulator's IMDS in its environment;
 * prints one JSON line: nanoseconds per call inside one fiber and through `Effect.runPromise`, and the requests made.
 */
import { ManagedIdentityClient } from "@managed-identity/effect4"
import { Effect, ManagedRuntime } from "effect"
import { NodeManagedIdentity } from "../src/index.js"

const rounds = 5
const fiberIterations = 200_000
const promiseIterations = 40_000

const median = (values: ReadonlyArray<number>): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]

const nanosPerCall = async (iterations: number, run: (n: number) => Promise<void>): Promise<number> => {
  await run(Math.min(iterations, 20_000))
  const samples: Array<number> = []
  for (let round = 0; round < rounds; round++) {
    const start = process.hrtime.bigint()
    await run(iterations)
    samples.push(Number(process.hrtime.bigint() - start) / iterations)
  }
  return median(samples)
}

if (process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST?.startsWith("http://127.0.0.1:") !== true) {
  throw new Error("run by platform-node's bench, with AZURE_POD_IDENTITY_AUTHORITY_HOST pointing at the emulator")
}
const resource = "https://bench-effect4-hit.example.com"
const runtime = ManagedRuntime.make(NodeManagedIdentity.layer)
const client = await runtime.runPromise(ManagedIdentityClient.ManagedIdentityClient)
await runtime.runPromise(client.getToken(resource))
const fiber = await nanosPerCall(fiberIterations, (n) =>
  runtime.runPromise(Effect.gen(function*() {
    for (let i = 0; i < n; i++) yield* client.getToken(resource)
  })))
const runPromise = await nanosPerCall(promiseIterations, async (n) => {
  for (let i = 0; i < n; i++) await Effect.runPromise(client.getToken(resource))
})
await runtime.dispose()
process.stdout.write(`${JSON.stringify({ node: process.version, fiber, runPromise })}\n`)
