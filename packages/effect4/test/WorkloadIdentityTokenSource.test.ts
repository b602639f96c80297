import { assert, describe, it } from "@effect/vitest"
import { ManagedIdentity, type TokenRequest, TokenSource, WorkloadIdentityTokenSource } from "@managed-identity/effect4"
import { Effect, Layer, Redacted } from "effect"
import { TestClock } from "effect/testing"
import { expectRequest } from "./utils/expectRequest.js"
import * as FakeFileSystem from "./utils/fakeFileSystem.js"
import * as FakeHttp from "./utils/fakeHttp.js"
import * as SourceHarness from "./utils/sourceHarness.js"

const now = Date.UTC(2026, 0, 1)
const tenantId = "72f988bf-86f1-41af-91ab-2d7cd011db47"
const clientId = "11111111-2222-3333-4444-555555555555"
const tokenFile = "/var/run/secrets/azure/tokens/azure-identity-token"
const assertion = "eyJhbGciOiJSUzI1NiJ9.federated-token-one.sig"
const tokenUrl = `https://login.microsoftonline.com/${tenantId}/oauth2/v2.0/token`
const resource = "https://vault.azure.net"
const ok = FakeHttp.json({ token_type: "Bearer", expires_in: 3599, ext_expires_in: 3599, access_token: "AT-wi" })
const proxyCa = "-----BEGIN CERTIFICATE-----\nMIIB-proxy-ca\n-----END CERTIFICATE-----\n"

const options: WorkloadIdentityTokenSource.Options = { tenantId, tokenFile, clientId }

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString()

const sentForm = (body: string | undefined) => Object.fromEntries(new URLSearchParams(body ?? ""))

/** A host with the token file (and any other file), answering with `script`. */
const onHost = (
  script: FakeHttp.Script,
  files: Record<string, FakeFileSystem.FakeFile> = { [tokenFile]: { content: assertion } },
  host: Omit<SourceHarness.Host, "http" | "fileSystem"> = {}
) =>
  Effect.map(FakeHttp.make(script), (http) => {
    const fileSystem = FakeFileSystem.make(files)
    return {
      http,
      fileSystem,
      run: <E>(
        layer: Layer.Layer<TokenSource.TokenSource, E, SourceHarness.Requirements>,
        request?: Omit<TokenRequest.TokenRequest, "resource">
      ) => SourceHarness.getToken(resource, request).pipe(SourceHarness.provide(layer, { ...host, http, fileSystem })),
      provide: <A, E, R, E2>(
        layer: Layer.Layer<TokenSource.TokenSource, E2, SourceHarness.Requirements>,
        effect: Effect.Effect<A, E, R>
      ) => effect.pipe(SourceHarness.provide(layer, { ...host, http, fileSystem }))
    }
  })

const failure = <A, E>(effect: Effect.Effect<A, E>) => Effect.flip(effect)

/** The calls of a bounded read that found a regular file at `path` and read it to its end (links followed). */
const readWhole = (path: string) => [`stat ${path}`, `open ${path}`, `fstat ${path}`, `read ${path}`, `read ${path}`]

describe("WorkloadIdentityTokenSource", () => {
  describe("request", () => {
    it.effect("POSTs the client-credentials form with the file's assertion to the tenant's v2.0 token endpoint", () =>
      Effect.gen(function*() {
        const host = yield* onHost([ok])
        const token = yield* host.run(WorkloadIdentityTokenSource.layer(options))
        assert.strictEqual(Redacted.value(token.token), "AT-wi")
        const [request] = yield* host.http.requests
        assert.strictEqual(yield* host.http.count, 1)
        const body = form({
          client_id: clientId,
          scope: `${resource}/.default`,
          grant_type: "client_credentials",
          client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
          client_assertion: assertion
        })
        expectRequest(request, {
          method: "POST",
          url: tokenUrl,
          params: {},
          body,
          headers: {
            accept: "application/json",
            "content-type": "application/x-www-form-urlencoded",
            "content-length": String(body.length)
          }
        })
      }))

    it.effect("the scope is the resource + /.default, so a trailing / gives //.default (as @azure/identity sends)", () =>
      Effect.gen(function*() {
        const host = yield* onHost([ok])
        yield* SourceHarness.getToken("https://management.azure.com/").pipe(
          SourceHarness.provide(WorkloadIdentityTokenSource.layer(options), host)
        )
        const [request] = yield* host.http.requests
        assert.strictEqual(sentForm(request.body).scope, "https://management.azure.com//.default")
      }))

    it.effect("a ClientId identity replaces AZURE_CLIENT_ID in client_id", () =>
      Effect.gen(function*() {
        const host = yield* onHost([ok], undefined, { identity: ManagedIdentity.clientId("my-other-client") })
        yield* host.run(WorkloadIdentityTokenSource.layer(options))
        const [request] = yield* host.http.requests
        assert.strictEqual(sentForm(request.body).client_id, "my-other-client")
      }))

    it.effect("a claims challenge goes in the form; the source takes neither revocation nor client capabilities", () =>
      Effect.gen(function*() {
        const claims = "{\"access_token\":{\"nbf\":{\"essential\":true,\"value\":\"1726077595\"}}}"
        const host = yield* onHost([ok])
        yield* host.run(WorkloadIdentityTokenSource.layer(options), { claims, clientCapabilities: ["cp1"] })
        const [request] = yield* host.http.requests
        assert.strictEqual(sentForm(request.body).claims, claims)
        assert.notProperty(sentForm(request.body), "xms_cc")
        const capabilities = yield* host.provide(
          WorkloadIdentityTokenSource.layer(options),
          Effect.map(TokenSource.TokenSource, (source) => source.capabilities)
        )
        assert.deepStrictEqual(capabilities, TokenSource.noCapabilities)
      }))

    const urls: ReadonlyArray<readonly [string, Partial<WorkloadIdentityTokenSource.Options>, string]> = [
      [
        "the authority comes from authorityHost, a trailing / tolerated, and the tenant may be a domain",
        { authorityHost: "https://login.microsoftonline.us/", tenantId: "contoso.onmicrosoft.com" },
        "https://login.microsoftonline.us/contoso.onmicrosoft.com/oauth2/v2.0/token"
      ],
      [
        "with identity bindings, the authority's own path is kept below the proxy's",
        {
          authorityHost: "https://adfs.contoso.com/adfs/",
          tenantId: "contoso.com",
          tokenProxy: { url: "https://proxy.example" }
        },
        "https://proxy.example/adfs/contoso.com/oauth2/v2.0/token"
      ]
    ]
    for (const [name, given, url] of urls) {
      it.effect(name, () =>
        Effect.gen(function*() {
          const host = yield* onHost([ok])
          yield* host.run(WorkloadIdentityTokenSource.layer({ ...options, ...given }))
          const [request] = yield* host.http.requests
          assert.strictEqual(request.urlWithoutQuery, url)
        }))
    }
  })

  describe("configuration refused before anything is read or sent", () => {
    const invalid: ReadonlyArray<readonly [string, WorkloadIdentityTokenSource.Options, RegExp]> = [
      ["an http authority", { ...options, authorityHost: "http://login.microsoftonline.com" }, /https URL/],
      ["an authority that is not a URL", { ...options, authorityHost: "login.microsoftonline.com" }, /not a URL/],
      ["an authority with userinfo", { ...options, authorityHost: "https://u:p@login.example" }, /userinfo/],
      ["an authority with a query", { ...options, authorityHost: "https://login.example/?x=1" }, /query/],
      ["a tenant with a path", { ...options, tenantId: "contoso/../../evil" }, /GUID or a domain/],
      ["a tenant with a query", { ...options, tenantId: "contoso.com?x=1" }, /GUID or a domain/],
      ["a tenant that is a single word", { ...options, tenantId: "organizations" }, /GUID or a domain/],
      ["a system-assigned identity without AZURE_CLIENT_ID", { tenantId, tokenFile }, /AZURE_CLIENT_ID/]
    ]
    for (const [name, given, reason] of invalid) {
      it.effect(`${name}: InvalidIdentity`, () =>
        Effect.gen(function*() {
          const host = yield* onHost([ok])
          const error = yield* failure(host.run(WorkloadIdentityTokenSource.layer(given)))
          assert(error._tag === "InvalidIdentity")
          assert.strictEqual(error.source, "WorkloadIdentity")
          assert.match(error.reason, reason)
          assert.strictEqual(yield* host.http.count, 0)
          assert.deepStrictEqual(host.fileSystem.calls, [])
        }))
    }

    for (const identity of [ManagedIdentity.resourceId("/subscriptions/s/x"), ManagedIdentity.objectId("o-1")]) {
      it.effect(`${identity._tag}: InvalidIdentity, nothing read or sent`, () =>
        Effect.gen(function*() {
          const host = yield* onHost([ok], undefined, { identity })
          const error = yield* failure(host.run(WorkloadIdentityTokenSource.layer(options)))
          assert(error._tag === "InvalidIdentity")
          assert.include(error.reason, identity._tag)
          assert.strictEqual(yield* host.http.count, 0)
          assert.deepStrictEqual(host.fileSystem.calls, [])
        }))
    }
  })

  describe("the token file", () => {
    it.effect("is read for every exchange: kubelet's rotation is picked up by the next token request", () =>
      Effect.gen(function*() {
        const files: Record<string, FakeFileSystem.FakeFile> = { [tokenFile]: { content: assertion } }
        const host = yield* onHost([ok], files)
        const source = WorkloadIdentityTokenSource.layer(options)
        yield* host.run(source)
        files[tokenFile] = { content: "rotated.federated.token\n" }
        yield* host.run(source)
        const [first, second] = yield* host.http.requests
        assert.strictEqual(sentForm(first.body).client_assertion, assertion)
        assert.strictEqual(sentForm(second.body).client_assertion, "rotated.federated.token")
        assert.deepStrictEqual(host.fileSystem.calls, [...readWhole(tokenFile), ...readWhole(tokenFile)])
      }))

    it.effect("is read again for a retry", () =>
      Effect.gen(function*() {
        const host = yield* onHost([FakeHttp.text("", { status: 503 }), ok])
        yield* host.run(WorkloadIdentityTokenSource.layer(options)).pipe(SourceHarness.advancing("2 seconds"))
        assert.strictEqual(yield* host.http.count, 2)
        assert.deepStrictEqual(host.fileSystem.calls, [...readWhole(tokenFile), ...readWhole(tokenFile)])
      }))

    const notAFile = /is not a regular file/
    const unusable: ReadonlyArray<readonly [string, Record<string, FakeFileSystem.FakeFile>, RegExp]> = [
      ["missing", {}, /does not exist/],
      ["empty", { [tokenFile]: { content: "" } }, /is empty/],
      ["only whitespace", { [tokenFile]: { content: " \n" } }, /is empty/],
      ["unreadable", { [tokenFile]: { unreadable: true } }, /cannot be read/],
      ["a FIFO (never opened: opening one waits for a writer)", { [tokenFile]: { type: "FIFO", size: 0 } }, notAFile],
      ["a character device such as /dev/zero", { [tokenFile]: { type: "CharacterDevice", size: 0 } }, notAFile],
      ["a directory", { [tokenFile]: { type: "Directory", size: 4096 } }, notAFile],
      ["larger than 64 KiB (never opened)", { [tokenFile]: { content: "x", size: 5 * 2 ** 30 } }, /larger than 65536/],
      [
        "grown past 64 KiB after it was checked (65537 bytes read, no more)",
        { [tokenFile]: { content: "x".repeat(1024 * 1024), size: 16 } },
        /larger than 65536 bytes/
      ]
    ]
    for (const [name, files, reason] of unusable) {
      it.effect(`${name}: SourceUnavailable naming AZURE_FEDERATED_TOKEN_FILE, and no request`, () =>
        Effect.gen(function*() {
          const host = yield* onHost([ok], files)
          const error = yield* failure(host.run(WorkloadIdentityTokenSource.layer(options)))
          assert(error._tag === "SourceUnavailable")
          assert.strictEqual(error.source, "WorkloadIdentity")
          assert.strictEqual(error.endpoint, tokenUrl)
          assert.include(error.reason, `AZURE_FEDERATED_TOKEN_FILE ${tokenFile}`)
          assert.match(error.reason, reason)
          assert.strictEqual(yield* host.http.count, 0)
          assert.isAtMost(host.fileSystem.bytesRead(), 65537)
          assert.notInclude(host.fileSystem.calls, `readFile ${tokenFile}`)
        }))
    }

    it.effect("a FileReader in context reads it, links followed, 64 KiB at most; the CA file 1 MiB at most", () =>
      Effect.gen(function*() {
        const asked: Array<string> = []
        const reader = TokenSource.FileReader.of({
          read: (path, options) =>
            Effect.sync(() => {
              asked.push(`${path} ${options.maxBytes} ${options.followLinks ?? false}`)
              return new TextEncoder().encode(path === tokenFile ? assertion : proxyCa)
            })
        })
        const host = yield* onHost([ok], {})
        yield* host.run(
          WorkloadIdentityTokenSource.layer({
            ...options,
            tokenProxy: { url: "https://proxy.example", caFile: "/ca.pem" }
          })
            .pipe(Layer.provide(Layer.succeed(TokenSource.FileReader, reader)))
        )
        assert.deepStrictEqual(asked, [`${tokenFile} 65536 true`, "/ca.pem 1048576 true"])
        assert.deepStrictEqual(host.fileSystem.calls, [])
        assert.strictEqual(sentForm((yield* host.http.requests)[0].body).client_assertion, assertion)
      }))
  })

  describe("answers", () => {
    it.effect("expires_in gives expiresOn; ext_expires_in and refresh_in are not lifetimes", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(now)
        const host = yield* onHost([
          FakeHttp.json({
            token_type: "Bearer",
            expires_in: 86399,
            ext_expires_in: 172799,
            refresh_in: 43199,
            access_token: "AT-long"
          })
        ])
        const token = yield* host.run(WorkloadIdentityTokenSource.layer(options))
        SourceHarness.expectLifetime(token, now, { expiresIn: 86399, refreshIn: 43199 })
        assert.strictEqual(token.resource, resource)
      }))

    it.effect("an Entra error body surfaces its code, description, correlation id and trace id; never the assertion", () =>
      Effect.gen(function*() {
        const body = {
          error: "invalid_client",
          error_description: "AADSTS700024: Client assertion is not within its valid time range. Trace ID: t-1 " +
            "Correlation ID: c-1 Timestamp: 2026-01-01 00:00:00Z",
          error_codes: [700024],
          timestamp: "2026-01-01 00:00:00Z",
          trace_id: "t-1",
          correlation_id: "c-1"
        }
        const host = yield* onHost([FakeHttp.json(body, { status: 400 })])
        const error = yield* failure(host.run(WorkloadIdentityTokenSource.layer(options)))
        assert(error._tag === "TokenRequestFailed")
        assert.strictEqual(error.source, "WorkloadIdentity")
        assert.strictEqual(error.status, 400)
        assert.strictEqual(error.error, "invalid_client")
        assert.match(error.description ?? "", /^AADSTS700024: /)
        assert.strictEqual(error.correlationId, "c-1")
        assert.strictEqual(error.traceId, "t-1")
        assert.include(error.message, "AADSTS700024")
        for (const text of [error.message, String(error), JSON.stringify(error)]) assert.notInclude(text, assertion)
      }))

    for (const status of [400, 401]) {
      it.effect(`${status} is never retried`, () =>
        Effect.gen(function*() {
          const host = yield* onHost([FakeHttp.json({ error: "invalid_client" }, { status }), ok])
          const error = yield* failure(host.run(WorkloadIdentityTokenSource.layer(options)))
          assert(error._tag === "TokenRequestFailed")
          assert.strictEqual(yield* host.http.count, 1)
        }))
    }

    it.effect("429 with Retry-After is retried after it", () =>
      Effect.gen(function*() {
        const host = yield* onHost([FakeHttp.text("", { status: 429, headers: { "retry-after": "7" } }), ok])
        const token = yield* host.run(WorkloadIdentityTokenSource.layer(options)).pipe(
          SourceHarness.requestsAfter(host.http, ["7 seconds"])
        )
        assert.strictEqual(Redacted.value(token.token), "AT-wi")
      }))
  })

  describe("layerConfig", () => {
    const env = {
      AZURE_TENANT_ID: tenantId,
      AZURE_CLIENT_ID: clientId,
      AZURE_FEDERATED_TOKEN_FILE: tokenFile,
      AZURE_KUBERNETES_TOKEN_PROXY: "https://10.0.0.1:8443",
      AZURE_KUBERNETES_SNI_NAME: "proxy.cluster.local"
    }

    it.effect("reads the variables; the AZURE_KUBERNETES_* variables are ignored unless identity bindings are on", () =>
      Effect.gen(function*() {
        const host = yield* onHost([ok], undefined, { env })
        yield* host.run(WorkloadIdentityTokenSource.layerConfig())
        const [request] = yield* host.http.requests
        assert.strictEqual(request.urlWithoutQuery, tokenUrl)
        assert.strictEqual(sentForm(request.body).client_id, clientId)
      }))

    it.effect("AZURE_AUTHORITY_HOST replaces the default authority", () =>
      Effect.gen(function*() {
        const host = yield* onHost([ok], undefined, {
          env: { ...env, AZURE_AUTHORITY_HOST: "https://login.chinacloudapi.cn/" }
        })
        yield* host.run(WorkloadIdentityTokenSource.layerConfig())
        const [request] = yield* host.http.requests
        assert.strictEqual(request.urlWithoutQuery, `https://login.chinacloudapi.cn/${tenantId}/oauth2/v2.0/token`)
      }))

    it.effect("with identityBindings, the exchange goes to the proxy with the token path appended", () =>
      Effect.gen(function*() {
        const trusts: Array<WorkloadIdentityTokenSource.Trust> = []
        const host = yield* onHost([ok], undefined, { env, trusts })
        yield* host.run(WorkloadIdentityTokenSource.layerConfig({ identityBindings: true }))
        const [request] = yield* host.http.requests
        assert.strictEqual(request.urlWithoutQuery, `https://10.0.0.1:8443/${tenantId}/oauth2/v2.0/token`)
        assert.deepStrictEqual(trusts, [{ serverName: "proxy.cluster.local" }])
      }))
  })

  describe("identity bindings", () => {
    const proxied = (tokenProxy: WorkloadIdentityTokenSource.TokenProxy) =>
      WorkloadIdentityTokenSource.layer({ ...options, tokenProxy })

    it.effect("the proxy's path comes first; CA data and the SNI name are what the client trusts", () =>
      Effect.gen(function*() {
        const trusts: Array<WorkloadIdentityTokenSource.Trust> = []
        const host = yield* onHost([ok], undefined, { trusts })
        yield* host.run(
          proxied({ url: "https://proxy.example:8443/sts/", sniName: "sts.aks.invalid", caData: proxyCa })
        )
        const [request] = yield* host.http.requests
        assert.strictEqual(request.urlWithoutQuery, `https://proxy.example:8443/sts/${tenantId}/oauth2/v2.0/token`)
        assert.strictEqual(sentForm(request.body).client_assertion, assertion)
        assert.deepStrictEqual(trusts, [{ ca: proxyCa, serverName: "sts.aks.invalid" }])
      }))

    const refused: ReadonlyArray<readonly [string, WorkloadIdentityTokenSource.TokenProxy, RegExp]> = [
      [
        "settings without AZURE_KUBERNETES_TOKEN_PROXY",
        { sniName: "x.invalid", caFile: "/ca.pem" },
        /AZURE_KUBERNETES_TOKEN_PROXY is not set but AZURE_KUBERNETES_SNI_NAME, AZURE_KUBERNETES_CA_FILE are/
      ],
      ["an http proxy", { url: "http://proxy.example" }, /https URL/],
      ["a proxy with userinfo", { url: "https://user:pw@proxy.example" }, /userinfo/],
      ["a proxy with a query", { url: "https://proxy.example/?a=1" }, /query/],
      ["a proxy with a fragment", { url: "https://proxy.example/#top" }, /fragment/],
      ["a proxy that is not a URL", { url: "proxy.example" }, /not a URL/],
      ["both a CA file and CA data", { url: "https://proxy.example", caFile: "/ca", caData: proxyCa }, /only one/],
      ["CA data without a certificate", { url: "https://proxy.example", caData: "not a pem" }, /CA_DATA holds no/],
      ["an SNI name that is not a DNS name", { url: "https://proxy.example", sniName: "a b" }, /DNS name/]
    ]
    for (const [name, tokenProxy, reason] of refused) {
      it.effect(`${name}: InvalidIdentity, nothing sent`, () =>
        Effect.gen(function*() {
          const host = yield* onHost([ok])
          const error = yield* failure(host.run(proxied(tokenProxy)))
          assert(error._tag === "InvalidIdentity")
          assert.match(error.reason, reason)
          assert.strictEqual(yield* host.http.count, 0)
        }))
    }

    it.effect("the CA file is read for every exchange: new content is trusted; while it is empty, the CA before", () =>
      Effect.gen(function*() {
        const files: Record<string, FakeFileSystem.FakeFile> = {
          [tokenFile]: { content: assertion },
          "/ca.pem": { content: proxyCa }
        }
        const trusts: Array<WorkloadIdentityTokenSource.Trust> = []
        const host = yield* onHost([ok], files, { trusts })
        const rotated = proxyCa.replace("proxy-ca", "proxy-ca-2")
        const withCa = (content: string) =>
          Effect.flatMap(TokenSource.TokenSource, (source) =>
            Effect.suspend(() => {
              files["/ca.pem"] = { content }
              return source.getToken({ resource })
            }))
        yield* host.provide(
          proxied({ url: "https://proxy.example", caFile: "/ca.pem" }),
          Effect.all([withCa(proxyCa), withCa(rotated), withCa("")])
        )
        assert.deepStrictEqual(trusts.map(({ ca }) => ca), [proxyCa, rotated, rotated])
        assert.strictEqual(host.fileSystem.calls.filter((call) => call === "open /ca.pem").length, 3)
        assert.strictEqual(yield* host.http.count, 3)
      }))

    it.effect("an empty CA file before any CA was read: SourceUnavailable, nothing sent", () =>
      Effect.gen(function*() {
        const host = yield* onHost([ok], { [tokenFile]: { content: assertion }, "/ca.pem": { content: "" } })
        const error = yield* failure(host.run(proxied({ url: "https://proxy.example", caFile: "/ca.pem" })))
        assert(error._tag === "SourceUnavailable")
        assert.match(error.reason, /AZURE_KUBERNETES_CA_FILE \/ca\.pem is empty/)
        assert.strictEqual(error.endpoint, `https://proxy.example/${tenantId}/oauth2/v2.0/token`)
        assert.strictEqual(yield* host.http.count, 0)
      }))

    it.effect("a missing CA file: SourceUnavailable, nothing sent", () =>
      Effect.gen(function*() {
        const host = yield* onHost([ok])
        const error = yield* failure(host.run(proxied({ url: "https://proxy.example", caFile: "/ca.pem" })))
        assert(error._tag === "SourceUnavailable")
        assert.match(error.reason, /AZURE_KUBERNETES_CA_FILE \/ca\.pem does not exist/)
        assert.strictEqual(yield* host.http.count, 0)
      }))

    const unusableCa: ReadonlyArray<readonly [string, FakeFileSystem.FakeFile, RegExp]> = [
      ["a FIFO", { type: "FIFO", size: 0 }, /is not a regular file/],
      ["a character device such as /dev/zero", { type: "CharacterDevice", size: 0 }, /is not a regular file/],
      ["larger than 1 MiB", { content: proxyCa, size: 2 ** 40 }, /is larger than 1048576 bytes/]
    ]
    for (const [name, file, reason] of unusableCa) {
      it.effect(`a CA file that is ${name}: SourceUnavailable naming AZURE_KUBERNETES_CA_FILE, never opened`, () =>
        Effect.gen(function*() {
          const host = yield* onHost([ok], { [tokenFile]: { content: assertion }, "/ca.pem": file })
          const error = yield* failure(host.run(proxied({ url: "https://proxy.example", caFile: "/ca.pem" })))
          assert(error._tag === "SourceUnavailable")
          assert.include(error.reason, "AZURE_KUBERNETES_CA_FILE /ca.pem")
          assert.match(error.reason, reason)
          assert.notInclude(host.fileSystem.calls, "open /ca.pem")
          assert.strictEqual(yield* host.http.count, 0)
        }))
    }
  })
})
