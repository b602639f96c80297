/**
 * A service of your own that needs Azure tokens: it depends on `ManagedIdentityClient` and nothing else.
 */
import { ManagedIdentityClient, type ManagedIdentityError } from "@managed-identity/core"
import { Context, Effect, Layer, Redacted } from "effect"

export class Storage extends Context.Tag("examples/Storage")<Storage, {
  readonly describe: (container: string) => Effect.Effect<string, ManagedIdentityError.ManagedIdentityError>
}>() {
  static readonly layer = Layer.effect(
    Storage,
    Effect.gen(function*() {
      const identity = yield* ManagedIdentityClient.ManagedIdentityClient
      return {
        describe: (container) =>
          Effect.map(
            identity.getToken("https://storage.azure.com"),
            (token) =>
              `GET https://account.blob.core.windows.net/${container} with a ${token.tokenType} token ` +
              `of ${Redacted.value(token.token).length} characters (${token.source})`
          )
      }
    })
  )
}
