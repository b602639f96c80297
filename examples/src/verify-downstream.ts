/**
 * Verifying emulator tokens downstream: the service a token is for checks it as it checks Entra's tokens — the RS256
 * signature against the keys its issuer publishes, the issuer, the audience, the lifetime — with `jose`
 * ([`Downstream.ts`](./Downstream.ts)). The emulator signs every token it issues and publishes its keys
 * (`emulator.openId`), so the service's own check runs in a test as it does on Azure; a token changed on the way fails
 * it, and so does a token for another audience.
 *
 * Run: pnpm --filter @managed-identity/examples verify-downstream
 */
import { FetchHttpClient } from "@effect/platform"
import { NodeRuntime } from "@effect/platform-node"
import { ManagedIdentityClient } from "@managed-identity/core"
import { ManagedIdentityEmulator } from "@managed-identity/emulator"
import { NodeManagedIdentity } from "@managed-identity/platform-node"
import { ConfigProvider, Console, Context, Effect, Layer, Redacted } from "effect"
import { makeVerifier } from "./Downstream.js"

const vault = "https://vault.azure.net"

const program = Effect.gen(function*() {
  const emulator = yield* ManagedIdentityEmulator.start()
  // The emulator's STS has a CA of its own: this fetch trusts it (a service in its own process gets the same from
  // NODE_EXTRA_CA_CERTS=emulator.workloadIdentity.caFile).
  const trusting = yield* Layer.build(ManagedIdentityEmulator.layerTrustingFetch(emulator))
  const fetch = Context.get(trusting, FetchHttpClient.Fetch)
  const service = yield* makeVerifier({ configurationUrl: emulator.openId.configurationUrl, audience: vault, fetch })
  const otherService = yield* makeVerifier({
    configurationUrl: emulator.openId.configurationUrl,
    audience: "https://storage.azure.com",
    fetch
  })

  const token = yield* Effect.flatMap(ManagedIdentityClient.ManagedIdentityClient, (client) => client.getToken(vault))
    .pipe(
      Effect.provide(NodeManagedIdentity.layer),
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(emulator.env("Imds")))))
    )
  const accessToken = Redacted.value(token.token)
  const claims = yield* service.verify(accessToken)
  yield* Console.log(`verified: iss ${claims.iss}, aud ${claims.aud}, appid ${String(claims.appid)}`)

  const [header, payload, signature] = accessToken.split(".")
  const changed = Buffer.from(JSON.stringify({ ...claims, appid: "00000000-0000-0000-0000-000000000000" }))
  const tampered = yield* Effect.flip(service.verify(`${header}.${changed.toString("base64url")}.${signature}`))
  yield* Console.log(`the same token with another appid: rejected, ${tampered.code}`)
  const misdirected = yield* Effect.flip(otherService.verify(`${header}.${payload}.${signature}`))
  yield* Console.log(`the token at a service with another audience: rejected, ${misdirected.code}`)
}).pipe(Effect.scoped)

NodeRuntime.runMain(program)
