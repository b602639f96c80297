/**
 * Write once, run everywhere: the identity comes from MSAL's JSON in an environment variable, decoded by Schema,
 * and the source is detected from the host. The same build runs with a system-assigned identity (variable unset)
 * or any user-assigned one (variable set by the deployment).
 *
 * Run: pnpm --filter @managed-identity/examples write-once
 */
import { ManagedIdentity, ManagedIdentityClient } from "@managed-identity/core"
import { NodeManagedIdentity } from "@managed-identity/platform-node"
import { Console, Effect, Layer } from "effect"
import { runOnEmulator } from "./Emulated.js"

const MyManagedIdentity = ManagedIdentity.layerFromJson("MY_MANAGED_IDENTITY_CONFIG")

const program = Effect.gen(function*() {
  const client = yield* ManagedIdentityClient.ManagedIdentityClient
  const token = yield* client.getToken("https://storage.azure.com")
  yield* Console.log(`identity ${ManagedIdentity.toKey(client.identity)} via ${client.source}: ${token.resource}`)
}).pipe(
  Effect.provide(NodeManagedIdentity.layerWithoutIdentity.pipe(Layer.provide(MyManagedIdentity)))
)

runOnEmulator("AppService", program, {
  MY_MANAGED_IDENTITY_CONFIG: JSON.stringify({
    ManagedIdentityIdType: "ClientId",
    Id: "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
  })
})
