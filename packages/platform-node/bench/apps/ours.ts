import * as ManagedIdentityClient from "@managed-identity/core/ManagedIdentityClient"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as NodeManagedIdentity from "../../src/NodeManagedIdentity.js"

const token = await Effect.runPromise(
  Effect.flatMap(ManagedIdentityClient.ManagedIdentityClient, (client) => client.getToken("https://vault.azure.net"))
    .pipe(
      Effect.provide(NodeManagedIdentity.layer)
    )
)
process.stdout.write(`${Redacted.value(token.token).length}\n`)
