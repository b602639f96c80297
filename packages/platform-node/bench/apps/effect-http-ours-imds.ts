// (b') (a) plus a managed identity token from the IMDS source only, over the app's own `HttpClient`: the narrowest
// honest composition for an app that knows it runs on a VM, AKS or Container Instances.
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as ImdsTokenSource from "@managed-identity/core/ImdsTokenSource"
import * as ManagedIdentity from "@managed-identity/core/ManagedIdentity"
import * as ManagedIdentityClient from "@managed-identity/core/ManagedIdentityClient"
import * as TokenCache from "@managed-identity/core/TokenCache"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"

const ManagedIdentityLive = ManagedIdentityClient.layer.pipe(
  Layer.provide(ImdsTokenSource.layerConfig()),
  Layer.provide(TokenCache.layerMemory),
  Layer.provide(ManagedIdentity.layerSystemAssigned)
)

const program = Effect.gen(function*() {
  const response = yield* HttpClient.get(process.env.BENCH_HTTP_URL!)
  const body = yield* response.text
  const client = yield* ManagedIdentityClient.ManagedIdentityClient
  const token = yield* client.getToken("https://vault.azure.net")
  return `${response.status} ${body.length} ${Redacted.value(token.token).length}`
})

const line = await Effect.runPromise(
  program.pipe(Effect.provide(ManagedIdentityLive), Effect.provide(FetchHttpClient.layer))
)
process.stdout.write(`${line}\n`)
