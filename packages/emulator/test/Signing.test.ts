/**
 * The emulator's tokens as a service checks Entra's: RS256 JWTs whose `kid` names the key the STS publishes (JWKS and
 * OpenID configuration), verified here with `node:crypto` alone; the federated token file stays unsigned.
 */
import { assert, describe, it } from "@effect/vitest"
import { decodeJwt } from "@managed-identity/test-utils/Jwt"
import { Effect, FastCheck, Redacted } from "effect"
import { createHash, createPublicKey, verify } from "node:crypto"
import * as Https from "node:https"
import * as EmulatorIdentity from "../src/internal/identity.js"
import * as EmulatorSigning from "../src/internal/signing.js"
import * as ManagedIdentityEmulator from "../src/ManagedIdentityEmulator.js"

const vault = "https://vault.azure.net"

/** `GET url` over HTTPS trusting only `ca` (and `servername` as SNI when given): the status and the JSON body. */
const getJson = (url: string, ca: string, servername?: string) =>
  Effect.async<{ readonly status: number; readonly json: any }>((resume) => {
    const request = Https.get(url, { ca, ...(servername === undefined ? {} : { servername }) }, (response) => {
      let text = ""
      response.setEncoding("utf8")
      response.on("data", (chunk) => (text += chunk))
      response.on("end", () => resume(Effect.succeed({ status: response.statusCode ?? 0, json: JSON.parse(text) })))
    })
    request.on("error", (error) => resume(Effect.die(error)))
  })

/** Whether the JWT's signature verifies with one of the keys, picked by its `kid` (RS256: RSASSA-PKCS1-v1_5 SHA-256). */
const verifies = (token: string, jwks: { readonly keys: ReadonlyArray<any> }): boolean => {
  const [header, payload, signature] = token.split(".")
  const jwk = jwks.keys.find((key) => key.kid === decodeJwt(token).header.kid)
  return jwk !== undefined &&
    verify(
      "sha256",
      Buffer.from(`${header}.${payload}`),
      createPublicKey({ key: jwk, format: "jwk" }),
      Buffer.from(signature, "base64url")
    )
}

const imdsToken = (emulator: ManagedIdentityEmulator.Emulator) =>
  Effect.promise(async () => {
    const query = new URLSearchParams({ "api-version": "2018-02-01", resource: vault })
    const response = await fetch(`${emulator.baseUrl}/metadata/identity/oauth2/token?${query}`, {
      headers: { Metadata: "true" }
    })
    return ((await response.json()) as { access_token: string }).access_token
  })

const stsToken = (emulator: ManagedIdentityEmulator.Emulator) =>
  Effect.gen(function*() {
    const { authorityHost, caCertificate, clientId, federatedToken, tenantId } = emulator.workloadIdentity
    const body = new URLSearchParams({
      client_id: clientId,
      scope: `${vault}/.default`,
      grant_type: "client_credentials",
      client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
      client_assertion: Redacted.value(yield* federatedToken)
    }).toString()
    return yield* Effect.async<string>((resume) => {
      const request = Https.request(`${authorityHost}/${tenantId}/oauth2/v2.0/token`, {
        method: "POST",
        ca: caCertificate,
        headers: { "content-type": "application/x-www-form-urlencoded" }
      }, (response) => {
        let text = ""
        response.setEncoding("utf8")
        response.on("data", (chunk) => (text += chunk))
        response.on("end", () => resume(Effect.succeed(JSON.parse(text).access_token)))
      })
      request.on("error", (error) => resume(Effect.die(error)))
      request.end(body)
    })
  })

describe("signed tokens", () => {
  it.scopedLive("IMDS and STS tokens are RS256 JWTs with Entra's claims that verify with the published key", () =>
    Effect.gen(function*() {
      const emulator = yield* ManagedIdentityEmulator.start()
      const [key] = emulator.openId.jwks.keys
      assert.deepStrictEqual(Object.keys(key).sort(), ["alg", "e", "kid", "kty", "n", "use"])
      assert.deepStrictEqual([key.kty, key.use, key.alg, key.e], ["RSA", "sig", "RS256", "AQAB"])
      assert.strictEqual(Buffer.from(key.n, "base64url").length, 256)
      // RFC 7638: the thumbprint of the required members, in lexicographic order.
      const expectedKid = createHash("sha256").update(`{"e":"${key.e}","kty":"RSA","n":"${key.n}"}`).digest("base64url")
      assert.strictEqual(key.kid, expectedKid)
      const tenant = emulator.workloadIdentity.tenantId
      assert.strictEqual(emulator.openId.issuer, `https://sts.windows.net/${tenant}/`)
      const tokens = [["Imds", yield* imdsToken(emulator)], ["WorkloadIdentity", yield* stsToken(emulator)]] as const
      for (const [kind, token] of tokens) {
        const { claims, header } = decodeJwt(token)
        assert.deepStrictEqual(header, { typ: "JWT", alg: "RS256", kid: key.kid }, kind)
        assert.isTrue(verifies(token, emulator.openId.jwks), kind)
        const identity = ManagedIdentityEmulator.systemAssignedIdentities[kind]
        assert.deepStrictEqual({ ...claims, iat: 0, nbf: 0, exp: 0, uti: "" }, {
          aud: vault,
          iss: emulator.openId.issuer,
          iat: 0,
          nbf: 0,
          exp: 0,
          appid: identity.clientId,
          appidacr: "2",
          idp: emulator.openId.issuer,
          idtyp: "app",
          oid: identity.objectId,
          sub: identity.objectId,
          tid: tenant,
          uti: "",
          ver: "1.0",
          xms_mirid: identity.resourceId,
          xms_src: kind
        }, kind)
        assert.strictEqual(claims.nbf, claims.iat)
        assert.strictEqual(claims.exp - claims.iat, 86400)
        const [head, payload, signature] = token.split(".")
        const tampered = Buffer.from(JSON.stringify({ ...claims, aud: "https://storage.azure.com" })).toString(
          "base64url"
        )
        assert.isFalse(verifies(`${head}.${tampered}.${signature}`, emulator.openId.jwks), kind)
        const forged = `${signature.slice(0, -4)}${signature.endsWith("AAAA") ? "BBBB" : "AAAA"}`
        assert.isFalse(verifies(`${head}.${payload}.${forged}`, emulator.openId.jwks), kind)
      }
    }))

  it.scopedLive("the STS serves the JWKS at both key URLs, through the token proxy too, only for its tenant", () =>
    Effect.gen(function*() {
      const emulator = yield* ManagedIdentityEmulator.start()
      const { authorityHost, caCertificate, proxyCaCertificate, sniName, tenantId, tokenProxy } =
        emulator.workloadIdentity
      assert.strictEqual(emulator.openId.jwksUri, `${authorityHost}/${tenantId}/discovery/keys`)
      const served = yield* Effect.all([
        getJson(emulator.openId.jwksUri, caCertificate),
        getJson(`${authorityHost}/${tenantId}/discovery/v2.0/keys`, caCertificate),
        getJson(`${authorityHost}/${tenantId.toUpperCase()}/discovery/keys`, caCertificate),
        getJson(`${tokenProxy}/${tenantId}/discovery/keys`, proxyCaCertificate, sniName)
      ])
      for (const { json, status } of served) {
        assert.strictEqual(status, 200)
        assert.deepStrictEqual(json, emulator.openId.jwks)
      }
      const text = JSON.stringify(served[0].json)
      for (const secret of ["\"d\"", "\"p\"", "\"q\"", "\"dp\"", "\"dq\"", "\"qi\""]) assert.notInclude(text, secret)
      const otherTenant = yield* getJson(`${authorityHost}/contoso.com/discovery/keys`, caCertificate)
      assert.strictEqual(otherTenant.status, 400)
      assert.deepStrictEqual(otherTenant.json.error_codes, [90002])
      const requests = yield* emulator.requests
      assert.deepStrictEqual(requests.map((request) => `${request.method} ${request.path}`), [
        `GET /${tenantId}/discovery/keys`,
        `GET /${tenantId}/discovery/v2.0/keys`,
        `GET /${tenantId.toUpperCase()}/discovery/keys`,
        `GET /identity-binding/${tenantId}/discovery/keys`,
        "GET /contoso.com/discovery/keys"
      ])
      assert.isTrue(requests.every((request) => request.source === "WorkloadIdentity"))
    }))

  it.scopedLive("the OpenID configurations name the issuer and the JWKS: v1 the tokens' issuer, v2.0 Entra's v2", () =>
    Effect.gen(function*() {
      const emulator = yield* ManagedIdentityEmulator.start()
      const { authorityHost, caCertificate, tenantId } = emulator.workloadIdentity
      const v1 = yield* getJson(emulator.openId.configurationUrl, caCertificate)
      assert.strictEqual(v1.status, 200)
      assert.strictEqual(v1.json.issuer, emulator.openId.issuer)
      assert.strictEqual(v1.json.jwks_uri, emulator.openId.jwksUri)
      assert.strictEqual(v1.json.token_endpoint, `${authorityHost}/${tenantId}/oauth2/token`)
      assert.deepStrictEqual(v1.json.id_token_signing_alg_values_supported, ["RS256"])
      const v2 = yield* getJson(`${authorityHost}/${tenantId}/v2.0/.well-known/openid-configuration`, caCertificate)
      assert.strictEqual(v2.json.issuer, `${authorityHost}/${tenantId}/v2.0`)
      assert.strictEqual(v2.json.jwks_uri, `${authorityHost}/${tenantId}/discovery/v2.0/keys`)
      assert.strictEqual(v2.json.token_endpoint, `${authorityHost}/${tenantId}/oauth2/v2.0/token`)
    }))

  it.scopedLive("emulators in one process share its key; the federated token file stays unsigned", () =>
    Effect.gen(function*() {
      const first = yield* ManagedIdentityEmulator.start()
      const second = yield* ManagedIdentityEmulator.start()
      assert.deepStrictEqual(first.openId.jwks, second.openId.jwks)
      assert.isTrue(verifies(yield* imdsToken(second), first.openId.jwks))
      const federated = decodeJwt(Redacted.value(yield* first.workloadIdentity.federatedToken))
      assert.deepStrictEqual(federated.header, { alg: "none", typ: "JWT" })
      assert.strictEqual(federated.signature, "")
    }))

  it.effect.prop(
    "any resource and identity: the token verifies, its claims are the ones given, and a changed claim fails",
    {
      resource: FastCheck.string({ unit: "binary", maxLength: 200 }),
      clientId: FastCheck.string({ unit: "grapheme", maxLength: 60 }),
      objectId: FastCheck.uuid(),
      resourceId: FastCheck.string({ maxLength: 200 }),
      issuedAt: FastCheck.integer({ min: 0, max: 253_402_300_799 - 86400 })
    },
    ({ clientId, issuedAt, objectId, resource, resourceId }) =>
      Effect.gen(function*() {
        const key = yield* EmulatorSigning.make
        const jwks = { keys: [key.publicJwk] }
        const identity = { clientId, objectId, resourceId }
        const token = EmulatorIdentity.mintToken(key, {
          kind: "AppService",
          identity,
          resource,
          issuedAt,
          lifetime: 60
        })
        assert.isTrue(verifies(token, jwks))
        const { claims } = decodeJwt(token)
        assert.deepStrictEqual([claims.aud, claims.appid, claims.oid, claims.xms_mirid, claims.iat, claims.exp], [
          resource,
          clientId,
          objectId,
          resourceId === "" ? undefined : resourceId,
          issuedAt,
          issuedAt + 60
        ])
        const [head, , signature] = token.split(".")
        const changed = Buffer.from(JSON.stringify({ ...claims, appid: `${clientId}x` })).toString("base64url")
        assert.isFalse(verifies(`${head}.${changed}.${signature}`, jwks))
      }),
    { fastCheck: { numRuns: 50 } }
  )
})
