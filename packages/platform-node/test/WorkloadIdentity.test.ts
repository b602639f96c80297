/**
 * AKS workload identity end to end: the emulator's STS and what it validates, the token file rotation, the
 * identity-binding token proxy over real TLS, and `@azure/identity` (unchanged, in its own Node process, trusting the
 * STS through `NODE_EXTRA_CA_CERTS`) getting its token from the same emulator — with the requests both libraries make
 * counted.
 */
import { assert, describe, it } from "@effect/vitest"
import { ManagedIdentity, ManagedIdentityClient, RetryPolicy } from "@managed-identity/core"
import { ManagedIdentityEmulator } from "@managed-identity/emulator"
import * as Https from "@managed-identity/test-utils/Https"
import { claimsOf } from "@managed-identity/test-utils/Jwt"
import { Effect, Redacted } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { clientLayer, getToken, onHost } from "./utils/emulatorStack.js"
import { runNode } from "./utils/nodeProcess.js"

const vault = "https://vault.azure.net"
const packageDirectory = Path.dirname(import.meta.dirname)
const jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

const post = Https.postForm

const form = (emulator: ManagedIdentityEmulator.Emulator, assertion: string) => ({
  client_id: emulator.workloadIdentity.clientId,
  scope: `${vault}/.default`,
  grant_type: "client_credentials",
  client_assertion_type: jwtBearer,
  client_assertion: assertion
})

const tokenUrl = (emulator: ManagedIdentityEmulator.Emulator, tenant = emulator.workloadIdentity.tenantId) =>
  `${emulator.workloadIdentity.authorityHost}/${tenant}/oauth2/v2.0/token`

describe("workload identity on the emulator", () => {
  it.scopedLive("the STS issues a token for the file's assertion, in Entra's shape", () =>
    Effect.gen(function*() {
      const emulator = yield* ManagedIdentityEmulator.start()
      const assertion = Redacted.value(yield* emulator.workloadIdentity.federatedToken)
      assert.strictEqual(Fs.readFileSync(emulator.workloadIdentity.tokenFile, "utf8"), assertion)
      assert.deepStrictEqual(claimsOf(assertion).aud, ["api://AzureADTokenExchange"])
      const answer = yield* post(tokenUrl(emulator), form(emulator, assertion), {
        ca: emulator.workloadIdentity.caCertificate
      })
      assert.strictEqual(answer.status, 200)
      assert.deepStrictEqual(Object.keys(answer.json), [
        "token_type",
        "expires_in",
        "ext_expires_in",
        "refresh_in",
        "access_token"
      ])
      assert.strictEqual(answer.json.expires_in, 86400)
      assert.strictEqual(answer.json.refresh_in, 43200)
      assert.strictEqual(claimsOf(answer.json.access_token).aud, vault)
      assert.strictEqual(claimsOf(answer.json.access_token).appid, emulator.workloadIdentity.clientId)
    }))

  it.scopedLive("every form field is checked, and refused in Entra's words (AADSTS code, trace and correlation id)", () =>
    Effect.gen(function*() {
      const emulator = yield* ManagedIdentityEmulator.start()
      const assertion = Redacted.value(yield* emulator.workloadIdentity.federatedToken)
      const valid = form(emulator, assertion)
      const { client_assertion: _assertion, ...withoutAssertion } = valid
      const { grant_type: _grant, ...withoutGrant } = valid
      const ca = emulator.workloadIdentity.caCertificate
      const cases: ReadonlyArray<
        readonly [string, Effect.Effect<{ status: number; json: any }, Error>, number, string]
      > = [
        ["GET", post(tokenUrl(emulator), {}, { ca, method: "GET" }), 900561, "invalid_request"],
        ["another tenant", post(tokenUrl(emulator, "contoso.com"), valid, { ca }), 90002, "invalid_request"],
        ["no grant_type", post(tokenUrl(emulator), withoutGrant, { ca }), 900144, "invalid_request"],
        [
          "another grant_type",
          post(tokenUrl(emulator), { ...valid, grant_type: "password" }, { ca }),
          70003,
          "unsupported_grant_type"
        ],
        ["no client_id", post(tokenUrl(emulator), { ...valid, client_id: "" }, { ca }), 900144, "invalid_request"],
        [
          "a scope without /.default",
          post(tokenUrl(emulator), { ...valid, scope: vault }, { ca }),
          1002012,
          "invalid_scope"
        ],
        ["no client_assertion", post(tokenUrl(emulator), withoutAssertion, { ca }), 7000216, "invalid_client"],
        [
          "another client_assertion_type",
          post(tokenUrl(emulator), { ...valid, client_assertion_type: "password" }, { ca }),
          900144,
          "invalid_request"
        ],
        [
          "an assertion that is not the file's",
          post(tokenUrl(emulator), { ...valid, client_assertion: "x.y.z" }, { ca }),
          700211,
          "invalid_client"
        ]
      ]
      for (const [name, request, code, error] of cases) {
        const answer = yield* request
        assert.isAtLeast(answer.status, 400, name)
        assert.strictEqual(answer.json.error, error, name)
        assert.deepStrictEqual(answer.json.error_codes, [code], name)
        assert.match(answer.json.error_description, new RegExp(`^AADSTS${code}: .* Trace ID: `), name)
        assert.isString(answer.json.trace_id, name)
        assert.isString(answer.json.correlation_id, name)
      }
      const correlated = yield* post(tokenUrl(emulator), { ...valid, client_id: "" }, {
        ca,
        headers: { "client-request-id": "4f6e8a52-0000-4000-8000-00000000c0de" }
      })
      assert.strictEqual(correlated.json.correlation_id, "4f6e8a52-0000-4000-8000-00000000c0de")
    }))

  it.scopedLive("rotation rewrites the file; the STS refuses the old token as expired (AADSTS700024)", () =>
    Effect.gen(function*() {
      const emulator = yield* ManagedIdentityEmulator.start()
      const old = Redacted.value(yield* emulator.workloadIdentity.federatedToken)
      const rotated = Redacted.value(yield* emulator.workloadIdentity.rotate)
      assert.notStrictEqual(rotated, old)
      assert.strictEqual(Fs.readFileSync(emulator.workloadIdentity.tokenFile, "utf8"), rotated)
      const ca = emulator.workloadIdentity.caCertificate
      const expired = yield* post(tokenUrl(emulator), form(emulator, old), { ca })
      assert.strictEqual(expired.status, 400)
      assert.strictEqual(expired.json.error, "invalid_client")
      assert.match(expired.json.error_description, /^AADSTS700024: Client assertion is not within its valid time range/)
      assert.strictEqual((yield* post(tokenUrl(emulator), form(emulator, rotated), { ca })).status, 200)
      const control = yield* Effect.promise(() =>
        fetch(`${emulator.baseUrl}/_emulator/workload-identity/rotate`, { method: "POST" })
      )
      assert.strictEqual(control.status, 204)
      assert.notStrictEqual(Redacted.value(yield* emulator.workloadIdentity.federatedToken), rotated)
    }))

  it.scopedLive("the client reads the rotated file for its next exchange", () =>
    Effect.gen(function*() {
      const emulator = yield* ManagedIdentityEmulator.start()
      const forced = Effect.flatMap(
        ManagedIdentityClient.ManagedIdentityClient,
        (client) =>
          Effect.zipRight(
            client.getToken(vault),
            Effect.zipRight(emulator.workloadIdentity.rotate, client.getToken(vault, { forceRefresh: true }))
          )
      )
      const token = yield* forced.pipe(Effect.provide(clientLayer(emulator)), onHost(emulator, "WorkloadIdentity"))
      assert.strictEqual(token.source, "identity_provider")
      const assertions = (yield* emulator.requests).map((request) =>
        new URLSearchParams(request.body).get("client_assertion")
      )
      assert.strictEqual(assertions.length, 2)
      assert.notStrictEqual(assertions[0], assertions[1])
      assert.strictEqual(assertions[1], Redacted.value(yield* emulator.workloadIdentity.federatedToken))
    }))

  it.scopedLive("an AADSTS700024 fault: TokenRequestFailed with Entra's code, not retried", () =>
    Effect.gen(function*() {
      const emulator = yield* ManagedIdentityEmulator.start({ faults: { WorkloadIdentity: [{ aadsts: 700024 }] } })
      const error = yield* Effect.flip(
        getToken(vault).pipe(Effect.provide(clientLayer(emulator)), onHost(emulator, "WorkloadIdentity"))
      )
      assert(error._tag === "TokenRequestFailed")
      assert.strictEqual(error.status, 400)
      assert.strictEqual(error.error, "invalid_client")
      assert.match(error.description ?? "", /^AADSTS700024: /)
      assert.isString(error.traceId)
      assert.isString(error.correlationId)
      assert.strictEqual(yield* emulator.requestCount("WorkloadIdentity"), 1)
    }))

  it.scopedLive("the discovery document the peers fetch names the STS's own endpoints", () =>
    Effect.gen(function*() {
      const emulator = yield* ManagedIdentityEmulator.start()
      const { authorityHost, caCertificate, tenantId } = emulator.workloadIdentity
      const document = yield* post(`${authorityHost}/${tenantId}/v2.0/.well-known/openid-configuration`, {}, {
        ca: caCertificate,
        method: "GET"
      })
      assert.strictEqual(document.status, 200)
      assert.strictEqual(document.json.token_endpoint, `${authorityHost}/${tenantId}/oauth2/v2.0/token`)
      assert.strictEqual(document.json.issuer, `${authorityHost}/${tenantId}/v2.0`)
      for (const field of ["authorization_endpoint", "jwks_uri", "end_session_endpoint"]) {
        assert.isTrue(document.json[field].startsWith(`${authorityHost}/${tenantId}/`), field)
      }
      const unknown = yield* post(`${authorityHost}/contoso.com/v2.0/.well-known/openid-configuration`, {}, {
        ca: caCertificate,
        method: "GET"
      })
      assert.strictEqual(unknown.status, 400)
      assert.deepStrictEqual(unknown.json.error_codes, [90002])
    }))
})

describe("identity bindings: the token proxy", () => {
  it.scopedLive("serves only by its SNI name, under its own CA", () =>
    Effect.gen(function*() {
      const emulator = yield* ManagedIdentityEmulator.start()
      const { caCertificate, proxyCaCertificate, sniName, tenantId, tokenProxy } = emulator.workloadIdentity
      const url = `${tokenProxy}/${tenantId}/oauth2/v2.0/token`
      const body = form(emulator, Redacted.value(yield* emulator.workloadIdentity.federatedToken))
      assert.strictEqual((yield* post(url, body, { ca: proxyCaCertificate, servername: sniName })).status, 200)
      const noSni = yield* Effect.flip(post(url, body, { ca: proxyCaCertificate }))
      assert.strictEqual((noSni as NodeJS.ErrnoException).code, "ERR_TLS_CERT_ALTNAME_INVALID")
      const otherCa = yield* Effect.flip(post(url, body, { ca: caCertificate, servername: sniName }))
      assert.strictEqual((otherCa as NodeJS.ErrnoException).code, "UNABLE_TO_VERIFY_LEAF_SIGNATURE")
    }))

  it.scopedLive("the Node stack trusts only the CA file's CA, keeps it while the file is empty, and re-reads it", () =>
    Effect.gen(function*() {
      const emulator = yield* ManagedIdentityEmulator.start()
      const env = emulator.env("WorkloadIdentity", { identityBindings: true })
      const caFile = env.AZURE_KUBERNETES_CA_FILE
      const token = Effect.flatMap(
        ManagedIdentityClient.ManagedIdentityClient,
        (client) => client.getToken(vault, { forceRefresh: true })
      )
      const layer = clientLayer(emulator, ManagedIdentity.systemAssigned, {
        source: { identityBindings: true, retrySchedule: RetryPolicy.none }
      })
      const outcomes = yield* Effect.gen(function*() {
        const first = yield* Effect.either(token)
        Fs.writeFileSync(caFile, "")
        const whileRotating = yield* Effect.either(token)
        Fs.writeFileSync(caFile, emulator.workloadIdentity.caCertificate)
        const otherCa = yield* Effect.either(token)
        return [first, whileRotating, otherCa]
      }).pipe(Effect.provide(layer), onHost(emulator, "WorkloadIdentity", env))
      assert.deepStrictEqual(outcomes.map((outcome) => outcome._tag), ["Right", "Right", "Left"])
      const untrusted = outcomes[2]._tag === "Left" ? outcomes[2].left : undefined
      assert.strictEqual(untrusted?._tag, "InvalidIdentity", "an untrusted certificate is never retried")
      assert.include(untrusted?.message, "UNABLE_TO_VERIFY_LEAF_SIGNATURE")
      assert.deepStrictEqual(
        (yield* emulator.requests).map((request) => request.path),
        Array(2).fill(`/identity-binding/${emulator.workloadIdentity.tenantId}/oauth2/v2.0/token`)
      )
    }))
})

/**
 * `@azure/identity`'s `ManagedIdentityCredential`, as installed, in a fresh Node process whose environment is the
 * emulator's variables (so `NODE_EXTRA_CA_CERTS` applies): `calls` `getToken`s, one credential, as an app would. Its
 * `WorkloadIdentityCredential` with `enableAzureProxy` for identity bindings gets `disableInstanceDiscovery: true`, as
 * `ManagedIdentityCredential` gives it: without, msal-node would ask login.microsoftonline.com for instance metadata,
 * and nothing here may leave the machine.
 */
const azureIdentity = `
import { ManagedIdentityCredential, WorkloadIdentityCredential } from "@azure/identity"
const credential = process.argv[2] === "proxy"
  ? new WorkloadIdentityCredential({ enableAzureProxy: true, disableInstanceDiscovery: true })
  : new ManagedIdentityCredential()
const tokens = []
for (let i = 0; i < Number(process.argv[1]); i++) tokens.push((await credential.getToken("${vault}/.default")).token)
console.log(JSON.stringify({ tokens }))
`

const withAzureIdentity = (env: Record<string, string>, calls: number, mode: "managed" | "proxy" = "managed") =>
  runNode(["--input-type=module", "--eval", azureIdentity, String(calls), mode], env, {
    cwd: packageDirectory,
    timeout: 30_000
  }).pipe(
    Effect.filterOrFail(
      (outcome) => outcome.code === 0,
      (outcome) => new Error(`@azure/identity exited with ${outcome.code}\n${outcome.stderr}`)
    ),
    Effect.map((outcome): { readonly tokens: ReadonlyArray<string> } => JSON.parse(outcome.stdout))
  )

describe("fidelity: @azure/identity against the emulator, unchanged", () => {
  it.scopedLive("ManagedIdentityCredential gets its token; over 10 getToken calls it makes 20 requests, we make 1", () =>
    Effect.gen(function*() {
      const emulator = yield* ManagedIdentityEmulator.start()
      const { tenantId } = emulator.workloadIdentity
      const theirs = yield* withAzureIdentity(emulator.env("WorkloadIdentity"), 10)
      assert.strictEqual(theirs.tokens.length, 10)
      const claims = claimsOf(theirs.tokens[0])
      assert.strictEqual(claims.aud, vault)
      assert.strictEqual(claims.appid, emulator.workloadIdentity.clientId)
      const peerRequests = yield* emulator.requests
      const discovery = `/${tenantId}/v2.0/.well-known/openid-configuration`
      const token = `/${tenantId}/oauth2/v2.0/token`
      assert.deepStrictEqual(
        peerRequests.map((request) => `${request.method} ${request.path}`),
        Array.from({ length: 10 }, () => [`GET ${discovery}`, `POST ${token}`]).flat()
      )
      const peerForm = new URLSearchParams(peerRequests[1].body)
      assert.strictEqual(peerForm.get("scope"), `${vault}/.default`)
      assert.strictEqual(peerForm.get("client_assertion_type"), jwtBearer)

      yield* emulator.clearRequests
      const ours = yield* Effect.forEach(Array.from({ length: 10 }), () => getToken(vault)).pipe(
        Effect.provide(clientLayer(emulator)),
        onHost(emulator, "WorkloadIdentity")
      )
      assert.strictEqual(ours.length, 10)
      assert.deepStrictEqual((yield* emulator.requests).map((request) => `${request.method} ${request.path}`), [
        `POST ${token}`
      ])
    }))

  it.scopedLive("WorkloadIdentityCredential with enableAzureProxy goes through the emulator's token proxy", () =>
    Effect.gen(function*() {
      const emulator = yield* ManagedIdentityEmulator.start()
      const { NODE_EXTRA_CA_CERTS: _, ...env } = emulator.env("WorkloadIdentity", { identityBindings: true })
      const theirs = yield* withAzureIdentity(env, 1, "proxy")
      assert.strictEqual(claimsOf(theirs.tokens[0]).aud, vault)
      const paths = (yield* emulator.requests).map((request) => request.path)
      assert.isTrue(paths.length > 0)
      for (const path of paths) assert.isTrue(path.startsWith("/identity-binding/"), path)
    }))
})
