// (b) (a) plus a managed identity token as the README shows it: `NodeManagedIdentity.layer` (detected source).
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as ManagedIdentityClient from "@managed-identity/core/ManagedIdentityClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as NodeManagedIdentity from "../../src/NodeManagedIdentity.js"

const program = Effect.gen(function*() {
  const response = yield* HttpClient.get(process.env.BENCH_HTTP_URL!)
  const body = yield* response.text
  const client = yield* ManagedIdentityClient.ManagedIdentityClient
  const token = yield* client.getToken("https://vault.azure.net")
  return `${response.status} ${body.length} ${Redacted.value(token.token).length}`
})

const line = await Effect.runPromise(
  program.pipe(Effect.provide(Layer.merge(FetchHttpClient.layer, NodeManagedIdentity.layer)))
)
process.stdout.write(`${line}\n`)
