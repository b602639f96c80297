import * as Effect from "effect/Effect"
import type { Emulator, Row } from "./common.js"
import { freshResource, log, makeIdentity, makeMsal, makeOurs, median, scopeOf } from "./common.js"

const rounds = 5
const fiberIterations = 200_000
const promiseIterations = 40_000

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

/** Figure 1: the cost of a cache hit, per call, once the token is cached. */
export const run = async (emulator: Emulator): Promise<ReadonlyArray<Row>> => {
  const resource = freshResource("hit")
  const ours = await makeOurs()
  const msal = await makeMsal()
  const identity = await makeIdentity()
  const before = await emulator.requestCount()
  await ours.runtime.runPromise(ours.client.getToken(resource))
  await msal.acquireToken({ resource })
  const identityResource = freshResource("hit-identity")
  await identity.getToken(scopeOf(identityResource))

  const client = ours.client
  const fiber = await nanosPerCall(fiberIterations, (n) =>
    ours.runtime.runPromise(Effect.gen(function*() {
      for (let i = 0; i < n; i++) yield* client.getToken(resource)
    })))
  log(`  cache hit in a fiber: ${fiber.toFixed(0)} ns`)
  const runPromise = await nanosPerCall(promiseIterations, async (n) => {
    for (let i = 0; i < n; i++) await Effect.runPromise(client.getToken(resource))
  })
  log(`  cache hit through Effect.runPromise: ${runPromise.toFixed(0)} ns`)
  const scope = scopeOf(resource)
  const credential = await nanosPerCall(promiseIterations, async (n) => {
    for (let i = 0; i < n; i++) await ours.credential.getToken(scope)
  })
  log(`  cache hit through the TokenCredential adapter: ${credential.toFixed(0)} ns`)
  const msalHit = await nanosPerCall(promiseIterations, async (n) => {
    for (let i = 0; i < n; i++) await msal.acquireToken({ resource })
  })
  log(`  msal-node cache hit: ${msalHit.toFixed(0)} ns`)
  const identityScope = scopeOf(identityResource)
  const identityHit = await nanosPerCall(promiseIterations, async (n) => {
    for (let i = 0; i < n; i++) await identity.getToken(identityScope)
  })
  log(`  @azure/identity cache hit: ${identityHit.toFixed(0)} ns`)
  const requests = (await emulator.requestCount()) - before
  await ours.dispose()
  const peers = { "msal-node": msalHit, "@azure/identity": identityHit }
  const note = `${requests} requests for ${fiberIterations * (rounds + 1)} + ${
    promiseIterations * (rounds + 1) * 4
  } calls`
  return [
    {
      figure: "1. Cache hit",
      metric: "inside one fiber (`yield*` in a loop)",
      unit: "ns/call",
      lowerIsBetter: true,
      values: { ours: fiber, ...peers },
      note
    },
    {
      figure: "1. Cache hit",
      metric: "through `Effect.runPromise`",
      unit: "ns/call",
      lowerIsBetter: true,
      values: { ours: runPromise, ...peers }
    },
    {
      figure: "1. Cache hit",
      metric: "through the `TokenCredential` adapter",
      unit: "ns/call",
      lowerIsBetter: true,
      values: { ours: credential, ...peers }
    }
  ]
}
