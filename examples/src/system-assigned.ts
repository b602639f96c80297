/**
 * System-assigned identity on a VM: the whole client with defaults, a token for Key Vault.
 *
 * Run: pnpm --filter @managed-identity/examples system-assigned
 */
import { ManagedIdentityClient } from "@managed-identity/core"
import { NodeManagedIdentity } from "@managed-identity/platform-node"
import { Console, Effect } from "effect"
import { runOnEmulator } from "./Emulated.js"

const program = Effect.gen(function*() {
  const client = yield* ManagedIdentityClient.ManagedIdentityClient
  const token = yield* client.getToken("https://vault.azure.net")
  yield* Console.log(`${client.source} issued a ${token.tokenType} token for ${token.resource}`)
  yield* Console.log(`expires ${token.expiresOn.toJSON()}, came from ${token.source}`)
  const again = yield* client.getToken("https://vault.azure.net")
  yield* Console.log(`second call came from ${again.source}; the token prints as ${String(again.token)}`)
}).pipe(Effect.provide(NodeManagedIdentity.layer))

runOnEmulator("Imds", program)
