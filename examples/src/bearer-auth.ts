/**
 * Calling a Key Vault-style API with `BearerAuth`: every request carries `Authorization: Bearer …` for the vault's
 * resource, and a Continuous Access Evaluation `401` (a claims challenge) is answered once with a fresh token.
 *
 * The "vault" here is a small local server that checks the bearer token's audience and, on the first request,
 * sends a claims challenge, as a real resource does after a revocation event.
 *
 * Run: pnpm --filter @managed-identity/examples bearer-auth
 */
import { FetchHttpClient, HttpClient, HttpClientResponse } from "@effect/platform"
import { BearerAuth } from "@managed-identity/core"
import { NodeManagedIdentity } from "@managed-identity/platform-node"
import { Console, Effect, Schema } from "effect"
import { runOnEmulator } from "./Emulated.js"
import { startVault } from "./Vault.js"

const Secret = Schema.Struct({ name: Schema.String, value: Schema.String })

const program = Effect.gen(function*() {
  const vault = yield* startVault
  const client = yield* HttpClient.HttpClient.pipe(
    Effect.flatMap(BearerAuth.withManagedIdentity("https://vault.azure.net"))
  )
  const secret = yield* client.get(`${vault.url}/secrets/db-password`).pipe(
    Effect.flatMap(HttpClientResponse.filterStatusOk),
    Effect.flatMap(HttpClientResponse.schemaBodyJson(Secret))
  )
  yield* Console.log(`read secret ${secret.name} (${secret.value.length} characters)`)
  yield* Console.log(`the vault saw: ${vault.log.join(" → ")}`)
}).pipe(
  Effect.scoped,
  Effect.provide(NodeManagedIdentity.layer),
  Effect.provide(FetchHttpClient.layer)
)

runOnEmulator("Imds", program)
