/**
 * The Azure SDK adapter: a `TokenCredential` for any `@azure/*` client (`new SecretClient(url, credential)`),
 * backed by the Effect client with its cache, single flight and refresh. Scopes such as
 * `https://vault.azure.net/.default` become resources. Outside Effect, build it from a runtime instead:
 * `TokenCredential.make(ManagedRuntime.make(NodeManagedIdentity.layer))`.
 *
 * Run: pnpm --filter @managed-identity/examples azure-sdk
 */
import { TokenCredential } from "@managed-identity/core"
import { NodeManagedIdentity } from "@managed-identity/platform-node"
import { Console, Effect, Layer } from "effect"
import { runOnEmulator } from "./Emulated.js"

const program = Effect.gen(function*() {
  const credential = yield* TokenCredential.TokenCredential

  const first = yield* Effect.promise(() => credential.getToken("https://vault.azure.net/.default"))
  const second = yield* Effect.promise(() => credential.getToken(["https://vault.azure.net/.default"]))
  yield* Console.log(
    `token type ${first?.tokenType}, expires ${new Date(first?.expiresOnTimestamp ?? 0).toISOString()}`
  )
  yield* Console.log(`refresh after ${new Date(first?.refreshAfterTimestamp ?? 0).toISOString()}`)
  yield* Console.log(`second call returned the cached token: ${first?.token === second?.token}`)
}).pipe(Effect.provide(TokenCredential.layer.pipe(Layer.provideMerge(NodeManagedIdentity.layer))))

runOnEmulator("AppService", program)
