import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as ImdsTokenSource from "@managed-identity/core/ImdsTokenSource"
import * as ManagedIdentity from "@managed-identity/core/ManagedIdentity"
import * as ManagedIdentityClient from "@managed-identity/core/ManagedIdentityClient"
import * as TokenCache from "@managed-identity/core/TokenCache"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"

const Live = ManagedIdentityClient.layer.pipe(
  Layer.provide(ImdsTokenSource.layerConfig()),
  Layer.provide(TokenCache.layerMemory),
  Layer.provide(ManagedIdentity.layerSystemAssigned),
  Layer.provide(FetchHttpClient.layer)
)

const token = await Effect.runPromise(
  Effect.flatMap(ManagedIdentityClient.ManagedIdentityClient, (client) => client.getToken("https://vault.azure.net"))
    .pipe(
      Effect.provide(Live)
    )
)
process.stdout.write(`${Redacted.value(token.token).length}\n`)
