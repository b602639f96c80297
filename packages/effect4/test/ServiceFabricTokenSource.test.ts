import { assert, describe, it } from "@effect/vitest"
import {
  ManagedIdentity,
  ManagedIdentityClient,
  ManagedIdentityError,
  ServiceFabricTokenSource,
  TokenCache,
  TokenSource
} from "@managed-identity/effect4"
import { Cause, type Config, Effect, Exit, Layer, Option, Redacted, Result } from "effect"
import { TestClock } from "effect/testing"
import * as FakeHttp from "./utils/fakeHttp.js"
import * as SourceHarness from "./utils/sourceHarness.js"

const endpoint = "https://10.0.0.4:2377/metadata/identity/oauth2/token"
const thumbprint = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01"
const normalizedThumbprint = "abcdef0123456789abcdef0123456789abcdef01"
const tracing = new Set(["b3", "traceparent"])
const requestIdPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

const tokenBody = {
  access_token: "AT",
  expires_on: "1900000000",
  token_type: "Bearer",
  resource: "https://vault.azure.net"
}

interface Setup {
  readonly script?: FakeHttp.Script | undefined
  readonly identity?: ManagedIdentity.Identity | undefined
  readonly options?: Partial<ServiceFabricTokenSource.Options> | undefined
  readonly layer?: Layer.Layer<TokenSource.TokenSource, Config.ConfigError, SourceHarness.Requirements> | undefined
  readonly env?: Record<string, string> | undefined
}

/** Runs `effect` over the source (by default `layer` with the test's options) and reports what was sent. */
const run = <A, E>(effect: Effect.Effect<A, E, TokenSource.TokenSource>, setup: Setup = {}) =>
  Effect.gen(function*() {
    yield* TestClock.setTime(1_899_990_000_000)
    const http = yield* FakeHttp.make(setup.script ?? [FakeHttp.json(tokenBody)])
    const thumbprints: Array<string> = []
    const layer = setup.layer ?? ServiceFabricTokenSource.layer({
      endpoint,
      identityHeader: Redacted.make("sf-secret"),
      thumbprint,
      ...setup.options
    })
    const exit = yield* Effect.exit(
      effect.pipe(SourceHarness.provide(layer, { http, identity: setup.identity, env: setup.env, thumbprints }))
    )
    return { exit, sent: yield* http.requests, thumbprints }
  })

const failure = <A, E>(exit: Exit.Exit<A, E>): E => {
  assert(Exit.isFailure(exit))
  const error = Cause.findErrorOption(exit.cause)
  assert(Option.isSome(error), String(exit.cause))
  return error.value
}

describe("ServiceFabricTokenSource", () => {
  it.effect("sends GET with api-version, resource and the secret header, over the pinned client", () =>
    Effect.gen(function*() {
      const { exit, sent, thumbprints } = yield* run(SourceHarness.getToken("https://vault.azure.net"))
      assert(Exit.isSuccess(exit))
      assert.strictEqual(Redacted.value(exit.value.token), "AT")
      assert.strictEqual(exit.value.expiresOn.epochMilliseconds, 1_900_000_000_000)
      assert.strictEqual(sent.length, 1)
      assert.strictEqual(sent[0].method, "GET")
      assert.strictEqual(
        sent[0].url,
        `${endpoint}?api-version=2019-07-01-preview&resource=https%3A%2F%2Fvault.azure.net`
      )
      assert.deepStrictEqual(Object.keys(sent[0].headers).filter((name) => !tracing.has(name)).sort(), [
        "secret",
        "user-agent",
        "x-ms-client-request-id"
      ])
      assert.strictEqual(sent[0].headers.secret, "sf-secret")
      assert.match(sent[0].headers["x-ms-client-request-id"], requestIdPattern)
      assert.deepStrictEqual(thumbprints, [normalizedThumbprint])
    }))

  it.effect("declares token revocation and client capabilities", () =>
    Effect.gen(function*() {
      const { exit } = yield* run(TokenSource.TokenSource)
      assert(Exit.isSuccess(exit))
      assert.strictEqual(exit.value.kind, "ServiceFabric")
      assert.deepStrictEqual(exit.value.capabilities, { tokenRevocation: true, clientCapabilities: true })
    }))

  it.effect("adds token_sha256_to_refresh and xms_cc only when the request carries them", () =>
    Effect.gen(function*() {
      const { sent } = yield* run(Effect.all([
        SourceHarness.getToken("r", { tokenSha256ToRefresh: "abc123", clientCapabilities: ["cp1", "cp2"] }),
        SourceHarness.getToken("r", { clientCapabilities: [] }),
        SourceHarness.getToken("r", { clientCapabilities: ["cp1"] }),
        SourceHarness.getToken("r", { tokenSha256ToRefresh: "abc123" })
      ]))
      assert.deepStrictEqual(sent.map(({ url }) => url.slice(endpoint.length)), [
        "?api-version=2019-07-01-preview&resource=r&token_sha256_to_refresh=abc123&xms_cc=cp1%2Ccp2",
        "?api-version=2019-07-01-preview&resource=r",
        "?api-version=2019-07-01-preview&resource=r&xms_cc=cp1",
        "?api-version=2019-07-01-preview&resource=r&token_sha256_to_refresh=abc123"
      ])
    }))

  it.effect("through the client: xms_cc from the options, and the cached token's SHA-256 on a claims request", () =>
    Effect.gen(function*() {
      const { sent } = yield* run(
        Effect.gen(function*() {
          const client = yield* ManagedIdentityClient.ManagedIdentityClient
          yield* client.getToken("api://r")
          yield* client.getToken("api://r")
          yield* client.getToken("api://r", { claims: "{\"access_token\":{}}" })
        }).pipe(
          Effect.provide(
            ManagedIdentityClient.layerWithOptions({ clientCapabilities: ["cp1"] }).pipe(
              Layer.provide(TokenCache.layerMemory)
            )
          )
        )
      )
      assert.deepStrictEqual(sent.map(({ url }) => url.slice(endpoint.length)), [
        "?api-version=2019-07-01-preview&resource=api%3A%2F%2Fr&xms_cc=cp1",
        "?api-version=2019-07-01-preview&resource=api%3A%2F%2Fr&token_sha256_to_refresh=eb5442705969dc8da5dfac8f9658dc68acdab5bb7635ba7cc551e389416ac34e&xms_cc=cp1"
      ])
    }))

  const refused: ReadonlyArray<{ readonly name: string; readonly setup: Setup; readonly message?: string }> = [
    ...[
      ManagedIdentity.clientId("client-1"),
      ManagedIdentity.resourceId("/subscriptions/s/resourceGroups/g/providers/x/y"),
      ManagedIdentity.objectId("object-1")
    ].map((identity) => ({ name: `a user-assigned identity by ${identity._tag}`, setup: { identity } })),
    {
      name: "an http endpoint",
      setup: { options: { endpoint: "http://127.0.0.1:2377/metadata/identity/oauth2/token" } },
      message: "https"
    },
    {
      name: "a malformed thumbprint",
      setup: { options: { thumbprint: "abcd" } },
      message: "IDENTITY_SERVER_THUMBPRINT"
    }
  ]
  for (const { message, name, setup } of refused) {
    it.effect(`refuses ${name} before sending`, () =>
      Effect.gen(function*() {
        const { exit, sent, thumbprints } = yield* run(SourceHarness.getToken("r"), setup)
        const error = failure(exit)
        assert(error._tag === "InvalidIdentity")
        assert.strictEqual(error.source, "ServiceFabric")
        if (message !== undefined) assert.include(error.message, message)
        assert.strictEqual(sent.length, 0)
        assert.strictEqual(thumbprints.length, 0)
      }))
  }

  it.effect("maps a certificate mismatch in the transport error's cause chain, without retrying", () =>
    Effect.gen(function*() {
      const mismatch = new ManagedIdentityError.ServiceFabricCertificateMismatch({
        source: "ServiceFabric",
        endpoint: "10.0.0.4:2377",
        reason: "expected the certificate thumbprint a, got b"
      })
      const { exit, sent } = yield* run(SourceHarness.getToken("r"), {
        script: [FakeHttp.transportError(new Error("fetch failed", { cause: mismatch }))]
      })
      assert.strictEqual(failure(exit)._tag, "ServiceFabricCertificateMismatch")
      assert.strictEqual(sent.length, 1)
    }))

  const errorCases = [
    { status: 401, code: "SecretHeaderNotFound", oauth: "unauthorized_client" },
    { status: 404, code: "ManagedIdentityNotFound", oauth: "invalid_client" },
    { status: 400, code: "ArgumentNullOrEmpty", oauth: "invalid_scope" },
    { status: 400, code: "SomethingElse", oauth: "invalid_request" }
  ] as const
  for (const { code, oauth, status } of errorCases) {
    it.effect(`maps the error code ${code} to ${oauth}, without retrying ${status}`, () =>
      Effect.gen(function*() {
        const { exit, sent } = yield* run(SourceHarness.getToken("r"), {
          script: [FakeHttp.json({ error: { code, message: "it went wrong", correlationId: "corr-1" } }, { status })]
        })
        const error = failure(exit)
        assert(error._tag === "TokenRequestFailed")
        assert.strictEqual(error.status, status)
        assert.strictEqual(error.error, oauth)
        assert.strictEqual(error.description, `${code}: it went wrong`)
        assert.strictEqual(error.correlationId, "corr-1")
        assert.strictEqual(sent.length, 1)
      }))
  }

  it.effect("layerConfig reads IDENTITY_ENDPOINT, IDENTITY_HEADER and IDENTITY_SERVER_THUMBPRINT", () =>
    Effect.gen(function*() {
      const { sent, thumbprints } = yield* run(SourceHarness.getToken("r"), {
        layer: ServiceFabricTokenSource.layerConfig(),
        env: {
          IDENTITY_ENDPOINT: "https://127.0.0.1:2377/token",
          IDENTITY_HEADER: "from-env",
          IDENTITY_SERVER_THUMBPRINT: normalizedThumbprint.toUpperCase()
        }
      })
      assert.strictEqual(sent[0].url, "https://127.0.0.1:2377/token?api-version=2019-07-01-preview&resource=r")
      assert.strictEqual(sent[0].headers.secret, "from-env")
      assert.deepStrictEqual(thumbprints, [normalizedThumbprint])
    }))

  it.effect("layerConfig fails with a ConfigError when IDENTITY_SERVER_THUMBPRINT is missing", () =>
    Effect.gen(function*() {
      const { exit } = yield* run(SourceHarness.getToken("r"), {
        layer: ServiceFabricTokenSource.layerConfig(),
        env: { IDENTITY_ENDPOINT: "https://127.0.0.1:2377/token", IDENTITY_HEADER: "x" }
      })
      assert(Exit.isFailure(exit))
      assert.include(String(exit.cause), "IDENTITY_SERVER_THUMBPRINT")
    }))
})

describe("normalizeThumbprint", () => {
  it("drops spaces, tabs, newlines and colons and lower-cases", () => {
    assert.deepStrictEqual(
      ServiceFabricTokenSource.normalizeThumbprint(
        " AB:CD:EF:01:23:45:67:89\tAB:CD:EF:01\r\n23:45:67:89:AB:CD:EF:01 "
      ),
      Result.succeed(normalizedThumbprint)
    )
    assert.deepStrictEqual(
      ServiceFabricTokenSource.normalizeThumbprint(normalizedThumbprint),
      Result.succeed(normalizedThumbprint)
    )
  })

  it("refuses anything but 40 hexadecimal characters", () => {
    for (
      const bad of ["", normalizedThumbprint.slice(1), `${normalizedThumbprint}0`, `${normalizedThumbprint.slice(1)}g`]
    ) {
      const result = ServiceFabricTokenSource.normalizeThumbprint(bad)
      assert(Result.isFailure(result), bad)
      assert.strictEqual(result.failure._tag, "InvalidIdentity")
    }
  })

  it("refuses other whitespace and separators", () => {
    assert(Result.isFailure(ServiceFabricTokenSource.normalizeThumbprint(normalizedThumbprint.replace("ab", "ab-"))))
  })
})
