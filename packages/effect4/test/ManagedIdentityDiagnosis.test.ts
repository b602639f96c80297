import { assert, describe, it } from "@effect/vitest"
import {
  LocalHttpClient,
  ManagedIdentity,
  ManagedIdentityDiagnosis,
  ManagedIdentitySource,
  ServiceFabricTokenSource,
  TokenCache,
  WorkloadIdentityTokenSource
} from "@managed-identity/effect4"
import { ConfigProvider, Effect, Fiber, Layer, Schema } from "effect"
import * as Base64Url from "effect/encoding/Base64Url"
import * as KeyValueStore from "effect/persistence/KeyValueStore"
import { TestClock } from "effect/testing"
import * as FakeFileSystem from "./utils/fakeFileSystem.js"
import * as FakeHttp from "./utils/fakeHttp.js"
import * as SourceHarness from "./utils/sourceHarness.js"

const vm = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/virtualMachines/vm"
const userAssigned = "/subscriptions/s/resourceGroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ua"
const clientId = "11111111-2222-3333-4444-555555555555"
const otherClientId = "99999999-8888-7777-6666-555555555555"

/** An unsigned JWT with these claims (a token as IMDS issues it, for what diagnose reads). */
const jwt = (claims: Record<string, unknown>) =>
  `${Base64Url.encode(JSON.stringify({ alg: "none" }))}.${Base64Url.encode(JSON.stringify(claims))}.`

const claimsFor = (overrides: Record<string, unknown> = {}) => ({
  aud: "https://management.azure.com/",
  iat: 0,
  exp: 3600,
  appid: clientId,
  oid: "0b0b0000-0000-4000-8000-000000000000",
  tid: "e1e1e1e1-0000-4000-8000-000000000000",
  xms_mirid: vm,
  ...overrides
})

const tokenBody = (accessToken: string) => ({
  access_token: accessToken,
  expires_in: "3600",
  resource: "https://management.azure.com/",
  token_type: "Bearer"
})

interface Run {
  readonly env?: Record<string, string>
  readonly files?: Record<string, FakeFileSystem.FakeFile>
  readonly identity?: ManagedIdentity.Identity
  readonly cache?: Layer.Layer<TokenCache.TokenCache>
  readonly options?: ManagedIdentityDiagnosis.Options
}

const diagnoseWith = (http: FakeHttp.FakeHttp, run: Run = {}) =>
  ManagedIdentityDiagnosis.diagnose(run.options).pipe(
    Effect.provide(run.cache ?? TokenCache.layerMemory),
    Effect.provide(http.layer),
    Effect.provide(FakeFileSystem.make(run.files).layer),
    Effect.provide(ManagedIdentity.layer(run.identity ?? ManagedIdentity.systemAssigned)),
    Effect.provide(ManagedIdentitySource.layerHostPlatform("linux")),
    Effect.provide(
      Layer.succeed(ServiceFabricTokenSource.PinnedHttpClient, { forThumbprint: () => Effect.succeed(http.client) })
    ),
    Effect.provide(
      Layer.succeed(WorkloadIdentityTokenSource.TokenProxyHttpClient, { forTrust: () => Effect.succeed(http.client) })
    ),
    Effect.provide(
      ConfigProvider.layer(ConfigProvider.fromEnvRecord(Object.fromEntries(Object.entries(run.env ?? {}))))
    )
  )

const codes = (report: ManagedIdentityDiagnosis.Diagnosis) =>
  report.findings.map((finding) => `${finding.level} ${finding.code}`)

const findingOf = (report: ManagedIdentityDiagnosis.Diagnosis, code: ManagedIdentityDiagnosis.FindingCode) => {
  const found = report.findings.find((finding) => finding.code === code)
  assert.isDefined(found, `no ${code} finding in ${JSON.stringify(report.findings)}`)
  return found!
}

const encoded = (report: ManagedIdentityDiagnosis.Diagnosis) =>
  JSON.stringify(Schema.encodeSync(ManagedIdentityDiagnosis.Diagnosis)(report))

describe("ManagedIdentityDiagnosis.diagnose", () => {
  it.effect("a matching identity: every finding ok, the claims read, the token itself nowhere in the report", () =>
    Effect.gen(function*() {
      const token = jwt(claimsFor())
      const http = yield* FakeHttp.make([FakeHttp.json(tokenBody(token))])
      const report = yield* diagnoseWith(http)
      assert.deepStrictEqual(codes(report), [
        "ok source.detected",
        "ok source.reachable",
        "ok token.received",
        "ok identity.match",
        "ok clock.ok",
        "ok cache.memory"
      ])
      assert.strictEqual(report.detection.kind, "Imds")
      assert.deepStrictEqual(report.reachability?.outcome, { _tag: "Token" })
      assert.strictEqual(report.reachability?.endpoint, "http://169.254.169.254/metadata/identity/oauth2/token")
      assert.strictEqual(report.reachability?.budgetMillis, 2000)
      assert.strictEqual(report.token?.origin, "identity_provider")
      assert.deepStrictEqual(report.token?.claims, claimsFor())
      assert.strictEqual(report.identityCheck.verdict, "match")
      assert.strictEqual(report.clock?.offsetSeconds, 0)
      assert.deepStrictEqual(report.cache, { description: { _tag: "Memory" }, permissions: null })
      const json = encoded(report)
      assert.notInclude(json, token.slice(0, 20))
      assert.deepStrictEqual(JSON.parse(json).identity, { _tag: "SystemAssigned" })
      const requests = yield* http.requests
      assert.deepStrictEqual(requests.map((request) => request.params.resource), ["https://management.azure.com/"])
    }))

  it.effect("the IMDS one-identity quirk: a system-assigned request answered for a user-assigned identity", () =>
    Effect.gen(function*() {
      const http = yield* FakeHttp.make([FakeHttp.json(tokenBody(jwt(claimsFor({ xms_mirid: userAssigned }))))])
      const report = yield* diagnoseWith(http)
      const mismatch = findingOf(report, "identity.mismatch")
      assert.strictEqual(mismatch.level, "error")
      assert.include(mismatch.message, "asked for the system-assigned identity")
      assert.include(mismatch.message, `the user-assigned identity ${userAssigned} (client id ${clientId}`)
      assert.include(mismatch.message, "IMDS quirk")
      assert.strictEqual(report.identityCheck.verdict, "mismatch")
      assert.include(report.identityCheck.cause ?? "", "exactly one user-assigned identity")
    }))

  it.effect("each selector against its claim, case-insensitively", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [ManagedIdentity.Identity, Record<string, unknown>, string]> = [
        [ManagedIdentity.clientId(clientId.toUpperCase()), {}, "match"],
        [ManagedIdentity.clientId(clientId), { appid: undefined, azp: clientId }, "match"],
        [ManagedIdentity.clientId(clientId), { appid: otherClientId }, "mismatch"],
        [ManagedIdentity.clientId(clientId), { appid: undefined }, "unconfirmed"],
        [ManagedIdentity.objectId("0B0B0000-0000-4000-8000-000000000000"), {}, "match"],
        [ManagedIdentity.objectId(otherClientId), {}, "mismatch"],
        [ManagedIdentity.resourceId(userAssigned.toLowerCase()), { xms_mirid: userAssigned }, "match"],
        [ManagedIdentity.resourceId(userAssigned), {}, "mismatch"],
        [ManagedIdentity.systemAssigned, { xms_mirid: undefined }, "unconfirmed"]
      ]
      for (const [identity, overrides, verdict] of cases) {
        const http = yield* FakeHttp.make([FakeHttp.json(tokenBody(jwt(claimsFor(overrides))))])
        const report = yield* diagnoseWith(http, { identity })
        assert.strictEqual(report.identityCheck.verdict, verdict, `${identity._tag} ${JSON.stringify(overrides)}`)
      }
    }))

  it.effect("a wrong client id: an error naming both ids and the likely cause", () =>
    Effect.gen(function*() {
      const http = yield* FakeHttp.make([FakeHttp.json(tokenBody(jwt(claimsFor({ appid: otherClientId }))))])
      const report = yield* diagnoseWith(http, { identity: ManagedIdentity.clientId(clientId) })
      const mismatch = findingOf(report, "identity.mismatch")
      assert.include(mismatch.message, `asked for client id ${clientId}`)
      assert.include(mismatch.message, `client id ${otherClientId}`)
      assert.include(mismatch.message, "may belong to another identity")
    }))

  it.effect("Azure ML's default identity for a system-assigned request is a warning, not a mismatch", () =>
    Effect.gen(function*() {
      const http = yield* FakeHttp.make([FakeHttp.json(tokenBody(jwt(claimsFor({ xms_mirid: userAssigned }))))])
      const report = yield* diagnoseWith(http, {
        env: {
          MSI_ENDPOINT: "http://127.0.0.1:46808/MSI/auth",
          MSI_SECRET: "ml-secret",
          DEFAULT_IDENTITY_CLIENT_ID: clientId
        }
      })
      assert.strictEqual(report.detection.kind, "MachineLearning")
      assert.strictEqual(findingOf(report, "identity.default").level, "warning")
      assert.isFalse(report.findings.some((finding) => finding.level === "error"))
      assert.notInclude(encoded(report), "ml-secret")
    }))

  it.effect("a proxy variable catching IMDS: proxy.caught without a LocalHttpClient, proxy.bypassed with one", () =>
    Effect.gen(function*() {
      const env = { HTTPS_PROXY: "http://proxy.corp:3128", http_proxy: "http://user:pw@proxy.corp:3128" }
      const caught = yield* diagnoseWith(yield* FakeHttp.make([FakeHttp.json(tokenBody(jwt(claimsFor())))]), { env })
      const prefix = "http_proxy (http://proxy.corp:3128) would send requests to " +
        "http://169.254.169.254/metadata/identity/oauth2/token through a proxy, which cannot reach that host"
      assert.deepStrictEqual(findingOf(caught, "proxy.caught"), {
        level: "warning",
        code: "proxy.caught",
        message: `${prefix}, and the HTTP client in use may honour them: add the host to NO_PROXY, or provide a ` +
          "LocalHttpClient"
      })
      const app = yield* FakeHttp.make([])
      const local = yield* FakeHttp.make([FakeHttp.json(tokenBody(jwt(claimsFor())))])
      const bypassed = yield* diagnoseWith(app, { env }).pipe(
        Effect.provide(Layer.succeed(LocalHttpClient.LocalHttpClient, local.client))
      )
      assert.deepStrictEqual(findingOf(bypassed, "proxy.bypassed").message, `${prefix}: they go directly, around it`)
      assert.isFalse(codes(bypassed).some((code) => code.endsWith("proxy.caught")))
      assert.deepStrictEqual([yield* app.count, yield* local.count], [0, 1])
      assert.notInclude(encoded(bypassed), "user:pw")
    }))

  it.effect("a token that is not a JWT is a warning, and the identity goes unchecked", () =>
    Effect.gen(function*() {
      const http = yield* FakeHttp.make([FakeHttp.json(tokenBody("opaque-token-value"))])
      const report = yield* diagnoseWith(http)
      assert.deepStrictEqual(codes(report).filter((code) => !code.startsWith("ok")), ["warning token.not-jwt"])
      assert.isFalse(codes(report).some((code) => /identity|clock/.test(code)))
      assert.isNull(report.token?.claims)
      assert.strictEqual(report.identityCheck.verdict, "unchecked")
      assert.isNull(report.clock)
      assert.notInclude(encoded(report), "opaque-token-value")
    }))

  it.effect("time claims that cannot be dates are dropped, never a defect: no clock check, the report encodes", () =>
    Effect.gen(function*() {
      for (const iat of [1e20, -5, 1.5, "1700000000", 253_402_300_800]) {
        const http = yield* FakeHttp.make([FakeHttp.json(tokenBody(jwt(claimsFor({ iat, exp: iat }))))])
        const report = yield* diagnoseWith(http)
        assert.isUndefined(report.token?.claims?.iat)
        assert.isUndefined(report.token?.claims?.exp)
        assert.isNull(report.clock)
        assert.strictEqual(findingOf(report, "identity.match").level, "ok")
        assert.isString(encoded(report))
      }
    }))

  it.effect("an iat 10 minutes off the local clock either way is a clock.skew warning", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(1_800_000_000_000)
      for (const offset of [600, -600]) {
        const iat = 1_800_000_000 + offset
        const http = yield* FakeHttp.make([FakeHttp.json(tokenBody(jwt(claimsFor({ iat, exp: iat + 3600 }))))])
        const report = yield* diagnoseWith(http)
        const skew = findingOf(report, "clock.skew")
        assert.strictEqual(skew.level, "warning")
        assert.include(skew.message, "10 min")
        assert.include(skew.message, offset > 0 ? "in the future" : "ahead of the identity provider's")
        assert.strictEqual(report.clock?.offsetSeconds, offset)
      }
    }))

  it.effect("a cached token: served from the cache, an old iat is fine, and the source still gets one request", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(1_800_000_000_000)
      const http = yield* FakeHttp.make([
        FakeHttp.json({ ...tokenBody(jwt(claimsFor({ iat: 1_800_000_000 }))), expires_in: "86400" })
      ])
      const cache = yield* Layer.build(TokenCache.layerMemory)
      const run = { cache: Layer.succeedContext(cache) }
      yield* diagnoseWith(http, run)
      yield* TestClock.adjust("1 hour")
      const report = yield* diagnoseWith(http, run)
      assert.strictEqual(report.token?.origin, "cache")
      assert.strictEqual(
        findingOf(report, "clock.ok").message,
        "the cached token was issued 60 min ago, not in the future"
      )
      assert.deepStrictEqual(report.reachability?.outcome, { _tag: "Token" })
      assert.strictEqual(yield* http.count, 2)
    }).pipe(Effect.scoped))

  it.effect("a silent IMDS: its probe is the one request, an error finding at the budget, no retry", () =>
    Effect.gen(function*() {
      const http = yield* FakeHttp.make([FakeHttp.never])
      const fiber = yield* Effect.forkChild(diagnoseWith(http, { options: { budget: "500 millis" } }))
      yield* TestClock.adjust("500 millis")
      const report = yield* Fiber.join(fiber)
      assert.deepStrictEqual(codes(report), ["ok source.detected", "error source.unavailable", "ok cache.memory"])
      assert.strictEqual(
        findingOf(report, "source.unavailable").message,
        "IMDS is not reachable at http://169.254.169.254/metadata/identity/oauth2/token: no answer within 500ms " +
          "(IMDS probe; the next request probes again): most likely not an Azure host with IMDS"
      )
      assert.strictEqual(report.elapsedMillis, 500)
      assert.isTrue(report.reachability?.probe)
      assert.deepStrictEqual(report.reachability?.outcome, {
        _tag: "Error",
        error: "SourceUnavailable",
        status: null,
        message: "Imds is not available at http://169.254.169.254/metadata/identity/oauth2/token: no answer within " +
          "500ms (IMDS probe; the next request probes again): most likely not an Azure host with IMDS"
      })
      assert.isNull(report.token)
      assert.strictEqual(yield* http.count, 1)
    }))

  it.effect("an error answer is source.failed with its status; nothing listening is source.unavailable", () =>
    Effect.gen(function*() {
      const notFound = yield* FakeHttp.make([
        FakeHttp.json({ error: "invalid_request", error_description: "Identity not found" }, { status: 400 })
      ])
      const failed = yield* diagnoseWith(notFound, { identity: ManagedIdentity.clientId(clientId) })
      assert.include(findingOf(failed, "source.failed").message, "TokenRequestFailed: Imds answered 400")
      assert.deepStrictEqual(failed.reachability?.outcome, {
        _tag: "Error",
        error: "TokenRequestFailed",
        status: 400,
        message:
          "Imds answered 400 invalid_request: Identity not found (asked for client id 11111111-2222-3333-4444-555555555555)"
      })
      const refusing = yield* FakeHttp.make([FakeHttp.refused])
      const refused = yield* diagnoseWith(refusing).pipe(SourceHarness.advancing("350 millis"))
      assert.strictEqual(findingOf(refused, "source.unavailable").level, "error")
      assert.strictEqual(yield* refusing.count, 4, "the probe tried the refused connection four times")
    }))

  it.effect("an IMDS answer cut short once, then whole: the probe tries again, source.reachable, never misconfigured", () =>
    Effect.gen(function*() {
      const body = JSON.stringify(tokenBody(jwt(claimsFor())))
      const http = yield* FakeHttp.make([FakeHttp.cutShort(body), FakeHttp.json(JSON.parse(body))])
      const report = yield* diagnoseWith(http).pipe(SourceHarness.advancing("50 millis"))
      assert.strictEqual(report.reachability?.outcome._tag, "Token")
      assert.strictEqual(findingOf(report, "source.reachable").level, "ok")
      assert.isFalse(report.findings.some((finding) => finding.code === "source.misconfigured"))
      assert.strictEqual(yield* http.count, 2)
    }))

  it.effect("what the variables point at: a URL's parts, secrets only as set, and other sources whose variables are all set", () =>
    Effect.gen(function*() {
      const http = yield* FakeHttp.make([FakeHttp.json(tokenBody(jwt(claimsFor())))])
      const report = yield* diagnoseWith(http, {
        env: {
          IDENTITY_ENDPOINT: "http://user:hunter2pw@127.0.0.1:41234/msi/token?sig=secret-query#frag",
          IDENTITY_HEADER: "the-identity-header",
          IMDS_ENDPOINT: "http://localhost:40342"
        }
      })
      assert.strictEqual(report.detection.kind, "AppService")
      assert.deepStrictEqual(report.sources, [
        {
          source: "AppService",
          detected: true,
          variables: [
            {
              name: "IDENTITY_ENDPOINT",
              target: { _tag: "Url", scheme: "http", host: "127.0.0.1", port: 41234, path: "/msi/token" }
            },
            { name: "IDENTITY_HEADER", target: { _tag: "Secret" } }
          ]
        },
        {
          source: "AzureArc",
          detected: false,
          variables: [
            {
              name: "IDENTITY_ENDPOINT",
              target: { _tag: "Url", scheme: "http", host: "127.0.0.1", port: 41234, path: "/msi/token" }
            },
            {
              name: "IMDS_ENDPOINT",
              target: { _tag: "Url", scheme: "http", host: "localhost", port: 40342, path: "/" }
            }
          ]
        }
      ])
      const json = encoded(report)
      for (const secret of ["the-identity-header", "hunter2pw", "secret-query", "frag"]) assert.notInclude(json, secret)
    }))

  it.effect("workload identity: system-assigned means AZURE_CLIENT_ID, the token file is a path, its content nowhere", () =>
    Effect.gen(function*() {
      const assertion = jwt({ aud: ["api://AzureADTokenExchange"], sub: "system:serviceaccount:default:sa" })
      const run = (appid: string) =>
        Effect.flatMap(
          FakeHttp.make([
            FakeHttp.json({ token_type: "Bearer", expires_in: 3600, access_token: jwt(claimsFor({ appid })) })
          ]),
          (http) =>
            diagnoseWith(http, {
              env: {
                AZURE_FEDERATED_TOKEN_FILE: "/var/run/secrets/azure/tokens/azure-identity-token",
                AZURE_TENANT_ID: "e1e1e1e1-0000-4000-8000-000000000000",
                AZURE_CLIENT_ID: clientId,
                AZURE_AUTHORITY_HOST: "https://login.microsoftonline.com/"
              },
              files: { "/var/run/secrets/azure/tokens/azure-identity-token": { content: assertion } }
            })
        )
      const matching = yield* run(clientId)
      assert.strictEqual(matching.detection.kind, "WorkloadIdentity")
      assert.strictEqual(
        matching.reachability?.endpoint,
        "https://login.microsoftonline.com/e1e1e1e1-0000-4000-8000-000000000000/oauth2/v2.0/token"
      )
      assert.strictEqual(
        findingOf(matching, "identity.match").message.startsWith(
          `the token names client id ${clientId} (AZURE_CLIENT_ID)`
        ),
        true
      )
      assert.deepStrictEqual(matching.sources[0].variables.slice(0, 3), [
        {
          name: "AZURE_FEDERATED_TOKEN_FILE",
          target: { _tag: "File", path: "/var/run/secrets/azure/tokens/azure-identity-token" }
        },
        { name: "AZURE_TENANT_ID", target: { _tag: "Set" } },
        { name: "AZURE_CLIENT_ID", target: { _tag: "Set" } }
      ])
      assert.notInclude(encoded(matching), assertion.split(".")[1])
      const other = yield* run(otherClientId)
      const mismatch = findingOf(other, "identity.mismatch")
      assert.include(mismatch.message, `asked for client id ${clientId} (AZURE_CLIENT_ID)`)
      assert.include(mismatch.message, `client id ${otherClientId}`)
      assert.include(mismatch.message, "azure.workload.identity/client-id")
    }))

  it.effect("a configuration the source refuses is source.misconfigured, and nothing is sent", () =>
    Effect.gen(function*() {
      const http = yield* FakeHttp.make([FakeHttp.json(tokenBody(jwt(claimsFor())))])
      const report = yield* diagnoseWith(http, {
        env: { IDENTITY_ENDPOINT: "http://203.0.113.7/msi/token", IDENTITY_HEADER: "the-identity-header" }
      })
      assert.include(findingOf(report, "source.misconfigured").message, "refusing to send the secret")
      assert.strictEqual(yield* http.count, 0)
    }))

  it.effect("the cache describes itself: a KeyValueStore, or a custom cache that does not", () =>
    Effect.gen(function*() {
      const token = FakeHttp.json(tokenBody(jwt(claimsFor())))
      const persistent = yield* diagnoseWith(yield* FakeHttp.make([token]), {
        cache: TokenCache.layerKeyValueStore.pipe(Layer.provide(KeyValueStore.layerMemory))
      })
      assert.strictEqual(findingOf(persistent, "cache.key-value-store").level, "ok")
      const custom = yield* diagnoseWith(yield* FakeHttp.make([token]), {
        cache: Layer.effect(
          TokenCache.TokenCache,
          Effect.map(TokenCache.makeMemory, ({ description: _, ...rest }) => rest)
        )
      })
      assert.deepStrictEqual(custom.cache, { description: null, permissions: null })
      assert.strictEqual(findingOf(custom, "cache.custom").level, "ok")
    }))
})
