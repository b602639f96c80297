/**
 * Composing into a larger service graph: `Storage` depends on `ManagedIdentityClient`; the application wires the
 * client once, and tests swap it (see test/Storage.test.ts).
 *
 * Run: pnpm --filter @managed-identity/examples service-graph
 */
import { NodeManagedIdentity } from "@managed-identity/platform-node"
import { Console, Effect } from "effect"
import { runOnEmulator } from "./Emulated.js"
import { Storage } from "./Storage.js"

const program = Effect.gen(function*() {
  const storage = yield* Storage
  yield* Console.log(yield* storage.describe("reports"))
  yield* Console.log(yield* storage.describe("invoices"))
}).pipe(Effect.provide(Storage.layer), Effect.provide(NodeManagedIdentity.layer))

runOnEmulator("Imds", program)
