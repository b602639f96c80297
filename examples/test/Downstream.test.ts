/**
 * The downstream check of `verify-downstream` ([`Downstream.ts`](../src/Downstream.ts)): `jose` verifies the token of
 * every source, got through the client from the emulator, against the JWKS the emulator's OpenID configuration names;
 * a changed token, another audience, an expired token and the key of another emulator (the CLI's, in its own process)
 * are rejected.
 */
import { FetchHttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { ManagedIdentity, ManagedIdentityClient } from "@managed-identity/core"
import { ManagedIdentityEmulator } from "@managed-identity/emulator"
import { NodeManagedIdentity } from "@managed-identity/platform-node"
import { ConfigProvider, Context, Effect, Layer, Redacted } from "effect"
import { calculateJwkThumbprint, decodeProtectedHeader } from "jose"
import * as ChildProcess from "node:child_process"
import * as Path from "node:path"
import { makeVerifier } from "../src/Downstream.js"

const vault = "https://vault.azure.net"

/**
 * The emulator, a `fetch` trusting its STS's CA, both for the test's scope, and the check of a service that is
 * `audience` and trusts the emulator's issuer.
 */
const startEmulator = Effect.gen(function*() {
  const emulator = yield* ManagedIdentityEmulator.start()
  const trusting = yield* Layer.build(ManagedIdentityEmulator.layerTrustingFetch(emulator))
  const fetch = Context.get(trusting, FetchHttpClient.Fetch)
  const serviceFor = (audience: string) =>
    makeVerifier({ configurationUrl: emulator.openId.configurationUrl, audience, fetch })
  return { emulator, fetch, serviceFor }
})

/**
 * A token for `resource` through the Node client, on a host of `kind` that reaches `emulator` (for
 * `FederatedCredential`, the emulator's application's token, the managed identity its federated credential).
 */
const tokenFrom = (emulator: ManagedIdentityEmulator.Emulator, kind: ManagedIdentityEmulator.SourceKind) =>
  Effect.flatMap(ManagedIdentityClient.ManagedIdentityClient, (client) => client.getToken(vault)).pipe(
    Effect.map((token) => Redacted.value(token.token)),
    Effect.provide(
      NodeManagedIdentity.layerWithOptions({
        source: { azureArcKeyDirectory: emulator.arcKeyDirectory },
        federatedCredential: kind === "FederatedCredential" ? "config" : undefined
      }).pipe(
        Layer.provide(ManagedIdentity.layer(ManagedIdentity.systemAssigned))
      )
    ),
    Effect.provide(ManagedIdentityEmulator.layerTrustingFetch(emulator)),
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(emulator.env(kind)))))
  )

const cliBin = Path.join(
  import.meta.dirname,
  "../node_modules/@managed-identity/platform-node/bin/managed-identity.mjs"
)

/** `managed-identity emulator --json` in its own process, until the scope closes: what it printed. */
const cliEmulator = Effect.acquireRelease(
  Effect.sync(() => ChildProcess.spawn(process.execPath, [cliBin, "emulator", "--json"], { stdio: "pipe" })),
  (child) => Effect.sync(() => child.kill("SIGKILL"))
).pipe(
  Effect.flatMap((child) =>
    Effect.async<{ readonly openId: { readonly configurationUrl: string; readonly jwksUri: string } }>((resume) => {
      let text = ""
      child.stdout.setEncoding("utf8")
      child.stdout.on("data", (chunk: string) => {
        text += chunk
        if (text.includes("\n")) resume(Effect.succeed(JSON.parse(text)))
      })
      child.on("exit", (code) => resume(Effect.die(new Error(`the CLI emulator exited with ${code}: ${text}`))))
    })
  ),
  Effect.timeout("25 seconds"),
  Effect.orDie
)

const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url")

describe("verify-downstream: jose checks emulator tokens against the emulator's JWKS", () => {
  it.scopedLive("every source's token verifies: signature, issuer, audience; kid is the key's RFC 7638 thumbprint", () =>
    Effect.gen(function*() {
      const { emulator, serviceFor } = yield* startEmulator
      const service = yield* serviceFor(vault)
      assert.strictEqual(service.issuer, emulator.openId.issuer)
      const [key] = emulator.openId.jwks.keys
      assert.strictEqual(key.kid, yield* Effect.promise(() => calculateJwkThumbprint(key)))
      for (const kind of ManagedIdentityEmulator.SourceKind.literals) {
        const token = yield* tokenFrom(emulator, kind)
        assert.deepStrictEqual(decodeProtectedHeader(token), { typ: "JWT", alg: "RS256", kid: key.kid }, kind)
        const claims = yield* service.verify(token)
        assert.strictEqual(claims.iss, emulator.openId.issuer, kind)
        assert.strictEqual(claims.aud, vault, kind)
        assert.strictEqual(claims.appid, ManagedIdentityEmulator.systemAssignedIdentities[kind].clientId, kind)
        assert.strictEqual(claims.xms_src, kind)
      }
    }))

  it.scopedLive("a changed claim, another audience and an expired token are rejected", () =>
    Effect.gen(function*() {
      const { emulator, serviceFor } = yield* startEmulator
      const service = yield* serviceFor(vault)
      const token = yield* tokenFrom(emulator, "Imds")
      const [header, payload, signature] = token.split(".")
      const claims = yield* service.verify(token)

      const tampered = yield* Effect.flip(service.verify(`${header}.${part({ ...claims, oid: "x" })}.${signature}`))
      assert.strictEqual(tampered.code, "ERR_JWS_SIGNATURE_VERIFICATION_FAILED")
      const unsigned = yield* Effect.flip(service.verify(`${part({ alg: "none", typ: "JWT" })}.${payload}.`))
      assert.strictEqual(unsigned.code, "ERR_JOSE_ALG_NOT_ALLOWED")

      const storage = yield* serviceFor("https://storage.azure.com")
      const misdirected = yield* Effect.flip(storage.verify(token))
      assert.strictEqual(misdirected.code, "ERR_JWT_CLAIM_VALIDATION_FAILED")
      assert.include(misdirected.message, "aud")

      yield* emulator.setFaults("Imds", [{ skew: -2 * 86400 }])
      const expired = yield* Effect.flip(service.verify(yield* tokenFrom(emulator, "Imds")))
      assert.strictEqual(expired.code, "ERR_JWT_EXPIRED")
    }))

  it.scopedLive(
    "another emulator process signs with another key: its JWKS rejects this emulator's token",
    () =>
      Effect.gen(function*() {
        const { emulator, fetch } = yield* startEmulator
        const other = yield* cliEmulator
        const otherService = yield* makeVerifier({
          configurationUrl: other.openId.configurationUrl,
          audience: vault,
          fetch
        })
        const token = yield* tokenFrom(emulator, "Imds")
        const unknownKey = yield* Effect.flip(otherService.verify(token))
        assert.strictEqual(unknownKey.code, "ERR_JWKS_NO_MATCHING_KEY")

        const otherKeys = yield* Effect.promise(() =>
          fetch(other.openId.jwksUri).then((response) => response.json() as Promise<{ keys: [{ kid: string }] }>)
        )
        const otherKid = otherKeys.keys[0].kid
        assert.notStrictEqual(otherKid, emulator.openId.jwks.keys[0].kid)
        const [, payload, signature] = token.split(".")
        const relabelled = `${part({ typ: "JWT", alg: "RS256", kid: otherKid })}.${payload}.${signature}`
        const wrongKey = yield* Effect.flip(otherService.verify(relabelled))
        assert.strictEqual(wrongKey.code, "ERR_JWS_SIGNATURE_VERIFICATION_FAILED")
      }),
    60_000
  )
})
