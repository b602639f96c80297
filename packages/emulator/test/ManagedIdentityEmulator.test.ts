import { assert, describe, it } from "@effect/vitest"
import { decodeJwt } from "@managed-identity/test-utils/Jwt"
import { Duration, Effect, Exit, Option, Redacted, Scope } from "effect"
import * as Fs from "node:fs"
import * as Https from "node:https"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import type * as Tls from "node:tls"
import * as ManagedIdentityEmulator from "../src/ManagedIdentityEmulator.js"
import { eventually } from "./utils/eventually.js"

const vault = "https://vault.azure.net"

interface Answer {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  readonly body: any
}

const parse = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

const send = (url: string, init: RequestInit = {}) =>
  Effect.promise(async (): Promise<Answer> => {
    const response = await fetch(url, { redirect: "manual", ...init })
    const text = await response.text()
    return { status: response.status, headers: response.headers, text, body: parse(text) }
  })

const sendFailing = (url: string, init: RequestInit = {}) =>
  Effect.tryPromise({
    try: () => fetch(url, init).then((response) => response.text()),
    catch: (error) => error as Error
  }).pipe(Effect.flip)

const url = (base: string, query: Record<string, string>) => `${base}?${new URLSearchParams(query)}`

const imdsUrl = (emulator: ManagedIdentityEmulator.Emulator, query: Record<string, string> = {}) =>
  url(`${emulator.baseUrl}/metadata/identity/oauth2/token`, { "api-version": "2018-02-01", resource: vault, ...query })

const imds = (emulator: ManagedIdentityEmulator.Emulator, query: Record<string, string> = {}) =>
  send(imdsUrl(emulator, query), { headers: { Metadata: "true" } })

const nowSeconds = () => Math.floor(Date.now() / 1000)

const assertExpiresAround = (expiresOn: number, lifetime: number) =>
  assert.isTrue(Math.abs(expiresOn - (nowSeconds() + lifetime)) <= 2, `expires_on ${expiresOn}`)

const httpsGet = (target: string, headers: Record<string, string>) =>
  Effect.async<{ status: number; body: any; fingerprint: string }>((resume) => {
    const request = Https.get(target, { headers, rejectUnauthorized: false, agent: false }, (response) => {
      const fingerprint = (response.socket as Tls.TLSSocket).getPeerCertificate().fingerprint
      let text = ""
      response.setEncoding("utf8")
      response.on("data", (chunk) => (text += chunk))
      response.on(
        "end",
        () => resume(Effect.succeed({ status: response.statusCode ?? 0, body: JSON.parse(text), fingerprint }))
      )
    })
    request.on("error", (error) => resume(Effect.die(error)))
  })

const connectOutcome = (port: number) =>
  Effect.async<string>((resume) => {
    const socket = Net.connect(port, "127.0.0.1")
    socket.on("connect", () => {
      socket.destroy()
      resume(Effect.succeed("connected"))
    })
    socket.on("error", (error: NodeJS.ErrnoException) => resume(Effect.succeed(error.code ?? "error")))
  })

const portOf = (address: string) => Number(new URL(address).port)

const appService = (emulator: ManagedIdentityEmulator.Emulator, query: Record<string, string> = {}, header?: string) =>
  send(url(`${emulator.baseUrl}/msi/token`, { "api-version": "2019-08-01", resource: vault, ...query }), {
    headers: header === undefined ? {} : { "X-IDENTITY-HEADER": header }
  })

const arcUrl = (emulator: ManagedIdentityEmulator.Emulator, query: Record<string, string> = {}) =>
  url(`${emulator.baseUrl}/arc/metadata/identity/oauth2/token`, {
    "api-version": "2020-06-01",
    resource: vault,
    ...query
  })

const arcKey = (answer: Answer) =>
  Effect.sync(() => {
    const challenge = answer.headers.get("www-authenticate") ?? ""
    const [scheme, realm] = challenge.split("=")
    assert.strictEqual(scheme, "Basic realm")
    return { realm, key: Fs.readFileSync(realm, "utf8") }
  })

const knownIdentities = [{
  clientId: "11111111-1111-4111-8111-111111111111",
  objectId: "22222222-2222-4222-8222-222222222222",
  resourceId: "/subscriptions/s/resourceGroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/known"
}]

describe("ManagedIdentityEmulator", () => {
  describe("IMDS", () => {
    it.scopedLive("issues a signed JWT for the system-assigned identity", () =>
      Effect.gen(function*() {
        const emulator = yield* ManagedIdentityEmulator.start()
        const first = yield* imds(emulator)
        const second = yield* imds(emulator)
        assert.strictEqual(first.status, 200)
        assert.strictEqual(first.headers.get("content-type"), "application/json")
        assert.deepStrictEqual(Object.keys(first.body).sort(), [
          "access_token",
          "client_id",
          "expires_in",
          "expires_on",
          "ext_expires_in",
          "not_before",
          "resource",
          "token_type"
        ])
        assert.strictEqual(first.body.expires_in, "86400")
        assert.strictEqual(first.body.token_type, "Bearer")
        assert.strictEqual(first.body.resource, vault)
        assertExpiresAround(Number(first.body.expires_on), 86400)
        const system = ManagedIdentityEmulator.systemAssignedIdentities.Imds
        assert.strictEqual(first.body.client_id, system.clientId)
        const token = decodeJwt(first.body.access_token)
        assert.deepStrictEqual(token.header, { typ: "JWT", alg: "RS256", kid: emulator.openId.jwks.keys[0].kid })
        assert.match(token.signature, /^[\w-]{342}$/)
        assert.strictEqual(token.claims.aud, vault)
        assert.strictEqual(token.claims.appid, system.clientId)
        assert.strictEqual(token.claims.oid, system.objectId)
        assert.strictEqual(token.claims.xms_mirid, system.resourceId)
        assert.strictEqual(token.claims.idtyp, "app")
        assert.strictEqual(token.claims.xms_src, "Imds")
        assert.strictEqual(token.claims.exp - token.claims.iat, 86400)
        assert.notStrictEqual(first.body.access_token, second.body.access_token)
      }))

    it.scopedLive("rejects what the real endpoint rejects", () =>
      Effect.gen(function*() {
        const emulator = yield* ManagedIdentityEmulator.start()
        const noMetadata = yield* send(imdsUrl(emulator))
        assert.strictEqual(noMetadata.status, 400)
        assert.deepStrictEqual(noMetadata.body, {
          error: "invalid_request",
          error_description: "Required metadata header not specified"
        })
        const wrongVersion = yield* imds(emulator, { "api-version": "2017-09-01" })
        assert.strictEqual(wrongVersion.status, 400)
        assert.strictEqual(wrongVersion.body.error, "invalid_request")
        const noResource = yield* send(
          url(`${emulator.baseUrl}/metadata/identity/oauth2/token`, { "api-version": "2018-02-01" }),
          { headers: { Metadata: "true" } }
        )
        assert.deepStrictEqual(noResource.body, {
          error: "invalid_request",
          error_description: "Required audience parameter not specified"
        })
        const twoSelectors = yield* imds(emulator, { client_id: "a", object_id: "b" })
        assert.strictEqual(twoSelectors.status, 400)
        assert.strictEqual(twoSelectors.body.error, "invalid_request")
        const post = yield* send(imdsUrl(emulator), { method: "POST", headers: { Metadata: "true" } })
        assert.strictEqual(post.status, 405)
      }))

    it.scopedLive("serves user-assigned identities and refuses unknown ones when identities are listed", () =>
      Effect.gen(function*() {
        const emulator = yield* ManagedIdentityEmulator.start({ knownIdentities, tokenLifetime: "1 hour" })
        const [known] = knownIdentities
        const byClientId = yield* imds(emulator, { client_id: known.clientId.toUpperCase() })
        assert.strictEqual(byClientId.status, 200)
        assert.strictEqual(byClientId.body.client_id, known.clientId)
        assert.strictEqual(byClientId.body.expires_in, "3600")
        const byResourceId = yield* imds(emulator, { msi_res_id: known.resourceId })
        const claims = decodeJwt(byResourceId.body.access_token).claims
        assert.strictEqual(claims.xms_mirid, known.resourceId)
        assert.strictEqual(claims.oid, known.objectId)
        const unknown = yield* imds(emulator, { object_id: "33333333-3333-4333-8333-333333333333" })
        assert.strictEqual(unknown.status, 400)
        assert.deepStrictEqual(unknown.body, { error: "invalid_request", error_description: "Identity not found" })
      }))

    it.scopedLive("accepts any user-assigned id by default and keeps it verbatim", () =>
      Effect.gen(function*() {
        const emulator = yield* ManagedIdentityEmulator.start()
        const answer = yield* imds(emulator, { object_id: "my-object" })
        assert.strictEqual(answer.status, 200)
        assert.strictEqual(decodeJwt(answer.body.access_token).claims.oid, "my-object")
      }))
  })

  describe("App Service", () => {
    it.scopedLive("checks X-IDENTITY-HEADER and answers in its own shapes", () =>
      Effect.gen(function*() {
        const emulator = yield* ManagedIdentityEmulator.start()
        const ok = yield* appService(
          emulator,
          { mi_res_id: "/subscriptions/x/identity" },
          emulator.secrets.identityHeader
        )
        assert.strictEqual(ok.status, 200)
        assert.deepStrictEqual(Object.keys(ok.body).sort(), [
          "access_token",
          "client_id",
          "expires_on",
          "resource",
          "token_type"
        ])
        assert.isString(ok.body.expires_on)
        assertExpiresAround(Number(ok.body.expires_on), 86400)
        const claims = decodeJwt(ok.body.access_token).claims
        assert.strictEqual(claims.xms_mirid, "/subscriptions/x/identity")
        assert.strictEqual(claims.xms_src, "AppService")
        const missing = yield* appService(emulator)
        assert.strictEqual(missing.status, 401)
        assert.strictEqual(missing.body.statusCode, 401)
        assert.isString(missing.body.message)
        const wrong = yield* appService(emulator, {}, "not-the-secret")
        assert.strictEqual(wrong.status, 401)
        const wrongVersion = yield* appService(
          emulator,
          { "api-version": "2018-02-01" },
          emulator.secrets.identityHeader
        )
        assert.strictEqual(wrongVersion.status, 400)
        assert.strictEqual(wrongVersion.body.statusCode, 400)
      }))
  })

  describe("Azure Machine Learning", () => {
    it.scopedLive("checks the secret header and echoes clientid", () =>
      Effect.gen(function*() {
        const emulator = yield* ManagedIdentityEmulator.start()
        const endpoint = (query: Record<string, string>) =>
          url(`${emulator.baseUrl}/ml/token`, { "api-version": "2017-09-01", resource: vault, ...query })
        const ok = yield* send(endpoint({ clientid: "ml-client" }), {
          headers: { secret: emulator.secrets.msiSecret, Metadata: "true" }
        })
        assert.strictEqual(ok.status, 200)
        assert.strictEqual(ok.body.clientid, "ml-client")
        assert.strictEqual(ok.body.token_type, "Bearer")
        assertExpiresAround(Number(ok.body.expires_on), 86400)
        assert.strictEqual(decodeJwt(ok.body.access_token).claims.appid, "ml-client")
        const missing = yield* send(endpoint({}))
        assert.strictEqual(missing.status, 401)
        assert.strictEqual(missing.body.statusCode, 401)
        const wrongVersion = yield* send(endpoint({ "api-version": "2019-08-01" }), {
          headers: { secret: emulator.secrets.msiSecret }
        })
        assert.strictEqual(wrongVersion.status, 400)
      }))
  })

  describe("Cloud Shell", () => {
    it.scopedLive("takes a POSTed form and Metadata: true", () =>
      Effect.gen(function*() {
        const emulator = yield* ManagedIdentityEmulator.start()
        const endpoint = emulator.env("CloudShell").MSI_ENDPOINT
        const form = { "Content-Type": "application/x-www-form-urlencoded" }
        const ok = yield* send(endpoint, {
          method: "POST",
          headers: { Metadata: "true", ...form },
          body: `resource=${encodeURIComponent(vault)}`
        })
        assert.strictEqual(ok.status, 200)
        assert.strictEqual(ok.body.resource, vault)
        assert.strictEqual(ok.body.expires_in, "86400")
        assert.strictEqual(ok.body.token_type, "Bearer")
        assertExpiresAround(Number(ok.body.expires_on), 86400)
        const noMetadata = yield* send(endpoint, { method: "POST", headers: form, body: "resource=x" })
        assert.strictEqual(noMetadata.status, 400)
        assert.strictEqual(noMetadata.body.error_description, "Required metadata header not specified")
        const get = yield* send(endpoint, { headers: { Metadata: "true" } })
        assert.strictEqual(get.status, 405)
        const userAssigned = yield* send(endpoint, {
          method: "POST",
          headers: { Metadata: "true", ...form },
          body: "resource=x&client_id=y"
        })
        assert.strictEqual(userAssigned.status, 400)
      }))
  })

  describe("Service Fabric", () => {
    it.scopedLive("serves over TLS with the certificate named by the thumbprint", () =>
      Effect.gen(function*() {
        const emulator = yield* ManagedIdentityEmulator.start()
        const env = emulator.env("ServiceFabric")
        assert.match(emulator.thumbprint, /^[0-9A-F]{40}$/)
        assert.isTrue(emulator.serviceFabricUrl.startsWith("https://127.0.0.1:"))
        const target = url(env.IDENTITY_ENDPOINT, {
          "api-version": "2019-07-01-preview",
          resource: vault,
          token_sha256_to_refresh: "eb5442705969dc8da5dfac8f9658dc68acdab5bb7635ba7cc551e389416ac34e",
          xms_cc: "cp1,cp2"
        })
        const ok = yield* httpsGet(target, { secret: env.IDENTITY_HEADER })
        assert.strictEqual(ok.fingerprint.replaceAll(":", ""), emulator.thumbprint)
        assert.strictEqual(env.IDENTITY_SERVER_THUMBPRINT, emulator.thumbprint)
        assert.strictEqual(ok.status, 200)
        assert.deepStrictEqual(Object.keys(ok.body).sort(), ["access_token", "expires_on", "resource", "token_type"])
        assert.isNumber(ok.body.expires_on)
        assertExpiresAround(ok.body.expires_on, 86400)
        const [recorded] = yield* emulator.requests
        assert.strictEqual(recorded.source, "ServiceFabric")
        assert.strictEqual(recorded.query.xms_cc, "cp1,cp2")
        assert.strictEqual(
          recorded.query.token_sha256_to_refresh,
          "eb5442705969dc8da5dfac8f9658dc68acdab5bb7635ba7cc551e389416ac34e"
        )
      }))

    it.scopedLive("answers a missing secret and a wrong api-version in its error shape", () =>
      Effect.gen(function*() {
        const emulator = yield* ManagedIdentityEmulator.start()
        const noSecret = yield* httpsGet(url(emulator.serviceFabricUrl, { "api-version": "2019-07-01-preview" }), {})
        assert.strictEqual(noSecret.status, 401)
        assert.strictEqual(noSecret.body.error.code, "SecretHeaderNotFound")
        assert.isString(noSecret.body.error.message)
        assert.isString(noSecret.body.error.correlationId)
        const wrongVersion = yield* httpsGet(url(emulator.serviceFabricUrl, { "api-version": "2019-08-01" }), {
          secret: emulator.secrets.serviceFabricSecret
        })
        assert.strictEqual(wrongVersion.status, 400)
        assert.strictEqual(wrongVersion.body.error.code, "InvalidApiVersion")
        const noResource = yield* httpsGet(url(emulator.serviceFabricUrl, { "api-version": "2019-07-01-preview" }), {
          secret: emulator.secrets.serviceFabricSecret
        })
        assert.strictEqual(noResource.body.error.code, "ArgumentNullOrEmpty")
      }))
  })

  describe("Azure Arc", () => {
    it.scopedLive("challenges with a key file in the given directory and accepts its content once", () =>
      Effect.gen(function*() {
        const directory = Fs.mkdtempSync(Path.join(Os.tmpdir(), "arc-test-"))
        yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(directory, { recursive: true, force: true })))
        const emulator = yield* ManagedIdentityEmulator.start({ arcKeyDirectory: directory })
        assert.strictEqual(emulator.arcKeyDirectory, directory)
        assert.isTrue(Option.isNone(yield* emulator.lastArcKey))
        const challenge = yield* send(arcUrl(emulator), { headers: { Metadata: "true" } })
        assert.strictEqual(challenge.status, 401)
        const { key, realm } = yield* arcKey(challenge)
        assert.strictEqual(Path.dirname(realm), directory)
        assert.strictEqual(Path.extname(realm), ".key")
        assert.match(key, /^[0-9a-f]{64}$/)
        assert.strictEqual(Fs.statSync(realm).mode & 0o777, 0o600)
        const last = yield* emulator.lastArcKey
        assert.isTrue(Option.isSome(last) && Redacted.value(last.value) === key)
        assert.notInclude(String(last), key)
        const ok = yield* send(arcUrl(emulator), { headers: { Metadata: "true", Authorization: `Basic ${key}` } })
        assert.strictEqual(ok.status, 200)
        assert.strictEqual(ok.body.expires_in, 86400)
        assert.strictEqual(ok.body.resource, vault)
        assert.strictEqual(ok.body.token_type, "Bearer")
        assert.isUndefined(ok.body.client_id)
        const reused = yield* send(arcUrl(emulator), { headers: { Metadata: "true", Authorization: `Basic ${key}` } })
        assert.strictEqual(reused.status, 401)
        const next = yield* arcKey(reused)
        assert.notStrictEqual(next.key, key)
        const wrong = yield* send(arcUrl(emulator), { headers: { Metadata: "true", Authorization: "Basic nope" } })
        assert.strictEqual(wrong.status, 401)
      }))

    it.scopedLive("echoes a user-assigned identity and checks Metadata and api-version", () =>
      Effect.gen(function*() {
        const emulator = yield* ManagedIdentityEmulator.start({ knownIdentities })
        const [known] = knownIdentities
        const challenge = yield* send(arcUrl(emulator, { client_id: known.clientId }), {
          headers: { Metadata: "true" }
        })
        const { key } = yield* arcKey(challenge)
        const ok = yield* send(arcUrl(emulator, { client_id: known.clientId }), {
          headers: { Metadata: "true", Authorization: `Basic ${key}` }
        })
        assert.strictEqual(ok.status, 200)
        assert.strictEqual(ok.body.client_id, known.clientId)
        assert.strictEqual(ok.body.object_id, known.objectId)
        assert.strictEqual(ok.body.msi_res_id, known.resourceId)
        const noMetadata = yield* send(arcUrl(emulator))
        assert.strictEqual(noMetadata.status, 400)
        assert.strictEqual(noMetadata.body.error_description, "Required metadata header not specified")
        const wrongVersion = yield* send(arcUrl(emulator, { "api-version": "2019-11-01" }), {
          headers: { Metadata: "true" }
        })
        assert.strictEqual(wrongVersion.status, 400)
      }))

    it.scopedLive("removes its temporary key directory when the scope closes", () =>
      Effect.gen(function*() {
        const scope = yield* Scope.make()
        const emulator = yield* ManagedIdentityEmulator.start().pipe(Scope.extend(scope))
        const challenge = yield* send(arcUrl(emulator), { headers: { Metadata: "true" } })
        const { realm } = yield* arcKey(challenge)
        assert.isTrue(Fs.existsSync(realm))
        yield* Scope.close(scope, Exit.void)
        assert.isFalse(Fs.existsSync(emulator.arcKeyDirectory))
      }))
  })

  it.scopedLive("env names exactly the variables of each source", () =>
    Effect.gen(function*() {
      const emulator = yield* ManagedIdentityEmulator.start()
      const { baseUrl, secrets } = emulator
      assert.deepStrictEqual(emulator.env("Imds"), { AZURE_POD_IDENTITY_AUTHORITY_HOST: baseUrl })
      assert.deepStrictEqual(emulator.env("AppService"), {
        IDENTITY_ENDPOINT: `${baseUrl}/msi/token`,
        IDENTITY_HEADER: secrets.identityHeader
      })
      assert.deepStrictEqual(emulator.env("ServiceFabric"), {
        IDENTITY_ENDPOINT: emulator.serviceFabricUrl,
        IDENTITY_HEADER: secrets.serviceFabricSecret,
        IDENTITY_SERVER_THUMBPRINT: emulator.thumbprint
      })
      assert.deepStrictEqual(emulator.env("MachineLearning"), {
        MSI_ENDPOINT: `${baseUrl}/ml/token`,
        MSI_SECRET: secrets.msiSecret
      })
      assert.deepStrictEqual(emulator.env("CloudShell"), { MSI_ENDPOINT: `${baseUrl}/oauth2/token` })
      assert.deepStrictEqual(emulator.env("AzureArc"), {
        IDENTITY_ENDPOINT: `${baseUrl}/arc/metadata/identity/oauth2/token`,
        IMDS_ENDPOINT: `${baseUrl}/arc`
      })
      assert.match(baseUrl, /^http:\/\/127\.0\.0\.1:\d+$/)
      assert.notStrictEqual(secrets.identityHeader, (yield* ManagedIdentityEmulator.start()).secrets.identityHeader)
    }))

  it.scopedLive("records every token request in order, but not the control endpoint", () =>
    Effect.gen(function*() {
      const emulator = yield* ManagedIdentityEmulator.start()
      yield* imds(emulator, { client_id: "abc" })
      yield* send(emulator.env("CloudShell").MSI_ENDPOINT, {
        method: "POST",
        headers: { Metadata: "true", "X-Custom": "Value" },
        body: "resource=r"
      })
      yield* send(`${emulator.baseUrl}/_emulator/requests`)
      const records = yield* emulator.requests
      assert.deepStrictEqual(records.map((r) => [r.source, r.method, r.path]), [
        ["Imds", "GET", "/metadata/identity/oauth2/token"],
        ["CloudShell", "POST", "/oauth2/token"]
      ])
      assert.deepStrictEqual(records[0].query, { "api-version": "2018-02-01", resource: vault, client_id: "abc" })
      assert.strictEqual(records[0].headers.metadata, "true")
      assert.strictEqual(records[1].headers["x-custom"], "Value")
      assert.strictEqual(records[1].body, "resource=r")
      assert.isTrue(Math.abs(records[0].at - Date.now()) < 5_000)
      assert.strictEqual(yield* emulator.requestCount(), 2)
      assert.strictEqual(yield* emulator.requestCount("Imds"), 1)
      assert.strictEqual(yield* emulator.requestCount("AzureArc"), 0)
      yield* emulator.clearRequests
      assert.strictEqual(yield* emulator.requestCount(), 0)
    }))

  describe("faults", () => {
    it.scopedLive("status steps answer instead, with headers, in the source's error shape, `times` over", () =>
      Effect.gen(function*() {
        const emulator = yield* ManagedIdentityEmulator.start({
          faults: {
            AppService: [{ status: 503, headers: { "Retry-After": "5" }, times: 2 }, { status: 429, body: "slow down" }]
          }
        })
        const header = emulator.secrets.identityHeader
        const first = yield* appService(emulator, {}, header)
        const second = yield* appService(emulator, {}, header)
        const third = yield* appService(emulator, {}, header)
        const fourth = yield* appService(emulator, {}, header)
        assert.deepStrictEqual([first.status, second.status, third.status, fourth.status], [503, 503, 429, 200])
        assert.strictEqual(first.headers.get("retry-after"), "5")
        assert.strictEqual(first.body.statusCode, 503)
        assert.strictEqual(third.text, "slow down")
        yield* emulator.setFaults("Imds", [{ status: 200, body: { access_token: "AT", expires_in: 60 } }])
        const custom = yield* imds(emulator)
        assert.deepStrictEqual(custom.body, { access_token: "AT", expires_in: 60 })
        assert.strictEqual(yield* emulator.requestCount("AppService"), 4)
      }))

    it.scopedLive("delay waits, then answers normally", () =>
      Effect.gen(function*() {
        const emulator = yield* ManagedIdentityEmulator.start({ faults: { Imds: [{ delay: 300 }] } })
        const [elapsed, answer] = yield* Effect.timed(imds(emulator))
        assert.strictEqual(answer.status, 200)
        assert.isAtLeast(Duration.toMillis(elapsed), 280)
        const [fast] = yield* Effect.timed(imds(emulator))
        assert.isBelow(Duration.toMillis(fast), 280)
      }))

    it.scopedLive("reset destroys the connection", () =>
      Effect.gen(function*() {
        const emulator = yield* ManagedIdentityEmulator.start({ faults: { Imds: [{ reset: true }] } })
        const error = yield* sendFailing(imdsUrl(emulator), { headers: { Metadata: "true" } })
        assert.strictEqual(error.message, "fetch failed")
        assert.include(["UND_ERR_SOCKET", "ECONNRESET"], (error.cause as NodeJS.ErrnoException).code)
        assert.strictEqual((yield* imds(emulator)).status, 200)
      }))

    it.scopedLive("hang never answers, and closing the scope still stops the server", () =>
      Effect.gen(function*() {
        const scope = yield* Scope.make()
        const emulator = yield* ManagedIdentityEmulator.start({ faults: { Imds: [{ hang: true, times: 2 }] } }).pipe(
          Scope.extend(scope)
        )
        const aborted = yield* sendFailing(imdsUrl(emulator), {
          headers: { Metadata: "true" },
          signal: AbortSignal.timeout(200)
        })
        assert.strictEqual(aborted.name, "TimeoutError")
        const pending = fetch(imdsUrl(emulator), { headers: { Metadata: "true" } }).then(
          () => "answered",
          () => "failed"
        )
        yield* eventually(
          "the second request hangs in the emulator",
          Effect.map(emulator.requestCount("Imds"), (count) => count === 2)
        )
        yield* Scope.close(scope, Exit.void).pipe(
          Effect.timeoutFail({ duration: "2 seconds", onTimeout: () => "hung" })
        )
        assert.strictEqual(yield* Effect.promise(() => pending), "failed")
      }))

    it.scopedLive("malformedJson answers 200 with a body that is not JSON", () =>
      Effect.gen(function*() {
        const emulator = yield* ManagedIdentityEmulator.start({ faults: { Imds: [{ malformedJson: true }] } })
        const answer = yield* imds(emulator)
        assert.strictEqual(answer.status, 200)
        assert.isTrue(answer.text.length > 0)
        assert.throws(() => JSON.parse(answer.text))
      }))

    it.scopedLive("truncated sends the status, headers and half the body, then closes the connection", () =>
      Effect.gen(function*() {
        const emulator = yield* ManagedIdentityEmulator.start({ faults: { Imds: [{ truncated: true }] } })
        const [status, declared, read] = yield* Effect.promise(async () => {
          const response = await fetch(imdsUrl(emulator), { headers: { Metadata: "true" } })
          const outcome = await response.text().then(() => "read", (error: Error) => error.message)
          return [response.status, response.headers.get("content-length"), outcome] as const
        })
        assert.strictEqual(status, 200)
        assert.isAbove(Number(declared), 0)
        assert.strictEqual(read, "terminated")
        assert.strictEqual((yield* imds(emulator)).status, 200)
      }))

    it.scopedLive("echo answers that status with an error in the source's shape quoting the request, secret included", () =>
      Effect.gen(function*() {
        const emulator = yield* ManagedIdentityEmulator.start({ faults: { AppService: [{ echo: 400 }] } })
        const answer = yield* send(`${emulator.baseUrl}/msi/token?api-version=2019-08-01&resource=r`, {
          headers: { "X-IDENTITY-HEADER": emulator.secrets.identityHeader }
        })
        assert.strictEqual(answer.status, 400)
        assert.strictEqual(answer.body.statusCode, 400)
        assert.include(answer.body.message, emulator.secrets.identityHeader)
        assert.include(answer.body.message, "api-version=2019-08-01")
      }))

    it.scopedLive("oversized answers 200 with valid JSON over 64 KiB", () =>
      Effect.gen(function*() {
        const emulator = yield* ManagedIdentityEmulator.start({ faults: { Imds: [{ oversized: true }] } })
        const answer = yield* imds(emulator)
        assert.strictEqual(answer.status, 200)
        assert.isAbove(Buffer.byteLength(answer.text), 64 * 1024)
        assert.isString(answer.body.access_token)
      }))

    it.scopedLive("trickle writes a normal body a few bytes at a time", () =>
      Effect.gen(function*() {
        const emulator = yield* ManagedIdentityEmulator.start({ faults: { Imds: [{ trickle: 5 }] } })
        const [elapsed, { chunks, text }] = yield* Effect.timed(Effect.promise(async () => {
          const response = await fetch(imdsUrl(emulator), { headers: { Metadata: "true" } })
          const reader = response.body!.getReader()
          const decoder = new TextDecoder()
          let chunks = 0
          let text = ""
          for (;;) {
            const { done, value } = await reader.read()
            if (done) return { chunks, text }
            chunks++
            text += decoder.decode(value, { stream: true })
          }
        }))
        const body = JSON.parse(text)
        assert.isString(body.access_token)
        const expected = Math.ceil(Buffer.byteLength(text) / 16)
        assert.isAtLeast(chunks, expected / 2)
        assert.isAtLeast(Duration.toMillis(elapsed), (expected - 1) * 5 * 0.8)
      }))

    it.scopedLive("the control endpoint sets faults and reads and clears the records", () =>
      Effect.gen(function*() {
        const emulator = yield* ManagedIdentityEmulator.start()
        const control = `${emulator.baseUrl}/_emulator`
        const put = yield* send(`${control}/faults`, {
          method: "PUT",
          body: JSON.stringify({ Imds: [{ status: 500 }], AzureArc: [{ status: 404 }] })
        })
        assert.strictEqual(put.status, 204)
        const failed = yield* imds(emulator)
        assert.strictEqual(failed.status, 500)
        assert.strictEqual(failed.body.error, "server_error")
        assert.strictEqual((yield* imds(emulator)).status, 200)
        assert.strictEqual((yield* send(arcUrl(emulator), { headers: { Metadata: "true" } })).status, 404)
        const invalid = yield* send(`${control}/faults`, {
          method: "PUT",
          body: JSON.stringify({ Imds: [{ nope: 1 }] })
        })
        assert.strictEqual(invalid.status, 400)
        assert.isString(invalid.body.error)
        const records = yield* send(`${control}/requests`)
        assert.deepStrictEqual(records.body.map((r: ManagedIdentityEmulator.RecordedRequest) => r.source), [
          "Imds",
          "Imds",
          "AzureArc"
        ])
        assert.strictEqual((yield* send(`${control}/requests`, { method: "DELETE" })).status, 204)
        assert.strictEqual(yield* emulator.requestCount(), 0)
      }))

    it.effect("decodeFaultScripts bounds times, the steps of a script and what they expand to (issue 17, item 7)", () =>
      Effect.gen(function*() {
        const refused = (scripts: unknown) =>
          Effect.map(
            Effect.flip(ManagedIdentityEmulator.decodeFaultScripts(JSON.stringify(scripts))),
            (error) => error.message
          )
        assert.match(yield* refused({ Imds: [{ status: 500, times: 1e9 }] }), /times/)
        assert.match(yield* refused({ Imds: [{ status: 500, times: 10_001 }] }), /times/)
        assert.match(
          yield* refused({ Imds: Array.from({ length: 1001 }, () => ({ status: 500 })) }),
          /at most 1000/
        )
        assert.match(
          yield* refused({ Imds: [{ status: 500, times: 6000 }, { reset: true, times: 6000 }] }),
          /Imds expands to 12000 steps, more than 10000/
        )
        assert.match(yield* refused({ Imds: [{ body: "x".repeat(1024 * 1024), status: 500 }] }), /larger than/)
        const largest = yield* ManagedIdentityEmulator.decodeFaultScripts(
          JSON.stringify({ Imds: [{ status: 500, times: 5000 }, { reset: true, times: 5000 }] })
        )
        assert.strictEqual(largest.Imds?.length, 2)
      }))

    it.scopedLive("the control endpoint refuses an unbounded script and keeps serving", () =>
      Effect.gen(function*() {
        const emulator = yield* ManagedIdentityEmulator.start()
        const put = (body: string) => send(`${emulator.baseUrl}/_emulator/faults`, { method: "PUT", body })
        const huge = yield* put(JSON.stringify({ Imds: [{ status: 500, times: 1e9 }] }))
        assert.strictEqual(huge.status, 400)
        assert.match(huge.body.error, /times/)
        const large = yield* Effect.either(Effect.tryPromise(() =>
          fetch(`${emulator.baseUrl}/_emulator/faults`, {
            method: "PUT",
            body: `{"Imds":[${Array.from({ length: 200_000 }, () => `{"status":500}`).join(",")}]}`
          }).then((response) => response.status)
        ))
        assert.isTrue(
          large._tag === "Left" || large.right === 400,
          "a body over 1 MiB is refused (400, or the connection closed before it was all sent)"
        )
        assert.strictEqual((yield* imds(emulator)).status, 200)
        assert.strictEqual((yield* imds(emulator)).status, 200)
      }))

    it.scopedLive("setFaults with any count queues it without expanding it: 2^32 times costs what once does", () =>
      Effect.gen(function*() {
        const emulator = yield* ManagedIdentityEmulator.start()
        yield* emulator.setFaults("Imds", [{ status: 503, times: 2 ** 32 }])
        const statuses = yield* Effect.forEach([1, 2, 3], () => Effect.map(imds(emulator), (answer) => answer.status))
        assert.deepStrictEqual(statuses, [503, 503, 503])
        yield* emulator.setFaults("Imds", [{ status: 500, times: 2 }, { status: 404 }])
        const next = yield* Effect.forEach([1, 2, 3, 4], () => Effect.map(imds(emulator), (answer) => answer.status))
        assert.deepStrictEqual(next, [500, 500, 404, 200])
      }))

    it.effect("decodeFaultScripts accepts every step kind and rejects unknown sources and fields", () =>
      Effect.gen(function*() {
        const scripts = yield* ManagedIdentityEmulator.decodeFaultScripts(JSON.stringify({
          Imds: [{ status: 410, times: 3 }, { delay: 10 }, { reset: true }, { hang: true }],
          CloudShell: [{ malformedJson: true }, { oversized: true }, { trickle: 1 }]
        }))
        assert.strictEqual(scripts.Imds?.length, 4)
        assert.strictEqual(scripts.CloudShell?.length, 3)
        const unknownSource = yield* Effect.flip(ManagedIdentityEmulator.decodeFaultScripts(`{"Vm": []}`))
        assert.strictEqual(unknownSource._tag, "EmulatorError")
        const typo = yield* Effect.flip(ManagedIdentityEmulator.decodeFaultScripts(`{"Imds": [{"staus": 500}]}`))
        assert.strictEqual(typo._tag, "EmulatorError")
        const notJson = yield* Effect.flip(ManagedIdentityEmulator.decodeFaultScripts("{"))
        assert.include(notJson.message, "Invalid fault script")
        const deep = yield* Effect.flip(
          ManagedIdentityEmulator.decodeFaultScripts(`{"Imds": ${"[".repeat(20_000)}${"]".repeat(20_000)}}`)
        )
        assert.strictEqual(deep.message, "Invalid fault script: nested deeper than 8 levels")
      }))
  })

  it.scopedLive("closing the scope stops both servers", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const emulator = yield* ManagedIdentityEmulator.start().pipe(Scope.extend(scope))
      yield* imds(emulator)
      assert.strictEqual(yield* connectOutcome(portOf(emulator.baseUrl)), "connected")
      yield* Scope.close(scope, Exit.void)
      assert.strictEqual(yield* connectOutcome(portOf(emulator.baseUrl)), "ECONNREFUSED")
      assert.strictEqual(yield* connectOutcome(portOf(emulator.serviceFabricUrl)), "ECONNREFUSED")
    }))

  it.scopedLive("layer provides the emulator and a taken port is an EmulatorError", () =>
    Effect.gen(function*() {
      const emulator = yield* ManagedIdentityEmulator.ManagedIdentityEmulator
      assert.strictEqual((yield* imds(emulator)).status, 200)
      const error = yield* Effect.flip(ManagedIdentityEmulator.start({ port: portOf(emulator.baseUrl) }))
      assert.strictEqual(error._tag, "EmulatorError")
      assert.include(error.message, "Could not listen")
    }).pipe(Effect.provide(ManagedIdentityEmulator.layer())))
})
