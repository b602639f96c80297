import { HttpClient, HttpClientError, HttpClientResponse } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import {
  ManagedIdentity,
  ManagedIdentityClient,
  ManagedIdentityError,
  ServiceFabricTokenSource,
  TokenCache,
  TokenSource
} from "@managed-identity/core"
import { ConfigProvider, Effect, Either, Exit, Layer, Redacted } from "effect"

const endpoint = "https://10.0.0.4:2377/metadata/identity/oauth2/token"
const thumbprint = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01"
const normalizedThumbprint = "abcdef0123456789abcdef0123456789abcdef01"
const tracing = new Set(["b3", "traceparent"])
const requestIdPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

interface Sent {
  readonly method: string
  readonly url: string
  readonly headers: Record<string, string>
}

const tokenBody = {
  access_token: "AT",
  expires_on: "1900000000",
  token_type: "Bearer",
  resource: "https://vault.azure.net"
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } })

const setup = (
  respond: (n: number) => Response | HttpClientError.HttpClientError = () => json(200, tokenBody),
  identity: ManagedIdentity.Identity = ManagedIdentity.systemAssigned,
  options: Partial<ServiceFabricTokenSource.Options> = {}
) => {
  const sent: Array<Sent> = []
  const thumbprints: Array<string> = []
  const client = HttpClient.make((request, url) =>
    Effect.suspend(() => {
      sent.push({ method: request.method, url: url.toString(), headers: { ...request.headers } })
      const answer = respond(sent.length)
      return answer instanceof Response
        ? Effect.succeed(HttpClientResponse.fromWeb(request, answer))
        : Effect.fail(answer)
    })
  )
  const pinned = Layer.succeed(ServiceFabricTokenSource.PinnedHttpClient, {
    forThumbprint: (value) => {
      thumbprints.push(value)
      return Effect.succeed(client)
    }
  })
  const source = ServiceFabricTokenSource.layer({
    endpoint,
    identityHeader: Redacted.make("sf-secret"),
    thumbprint,
    ...options
  }).pipe(Layer.provide(pinned), Layer.provide(ManagedIdentity.layer(identity)))
  return { sent, thumbprints, source }
}

const getToken = (request: Parameters<TokenSource.TokenSource.Service["getToken"]>[0]) =>
  Effect.flatMap(TokenSource.TokenSource, (source) => source.getToken(request))

describe("ServiceFabricTokenSource", () => {
  it.effect("sends GET with api-version, resource and the secret header, over the pinned client", () => {
    const { sent, source, thumbprints } = setup()
    return Effect.gen(function*() {
      const token = yield* getToken({ resource: "https://vault.azure.net" })
      assert.strictEqual(Redacted.value(token.token), "AT")
      assert.strictEqual(token.expiresOn.epochMillis, 1_900_000_000_000)
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
    }).pipe(Effect.provide(source))
  })

  it.effect("declares token revocation and client capabilities", () =>
    Effect.gen(function*() {
      const source = yield* TokenSource.TokenSource
      assert.strictEqual(source.kind, "ServiceFabric")
      assert.deepStrictEqual(source.capabilities, { tokenRevocation: true, clientCapabilities: true })
    }).pipe(Effect.provide(setup().source)))

  it.effect("adds token_sha256_to_refresh and xms_cc only when the request carries them", () => {
    const { sent, source } = setup()
    return Effect.gen(function*() {
      yield* getToken({ resource: "r", tokenSha256ToRefresh: "abc123", clientCapabilities: ["cp1", "cp2"] })
      yield* getToken({ resource: "r", clientCapabilities: [] })
      yield* getToken({ resource: "r", clientCapabilities: ["cp1"] })
      yield* getToken({ resource: "r", tokenSha256ToRefresh: "abc123" })
      assert.deepStrictEqual(sent.map(({ url }) => url.slice(endpoint.length)), [
        "?api-version=2019-07-01-preview&resource=r&token_sha256_to_refresh=abc123&xms_cc=cp1%2Ccp2",
        "?api-version=2019-07-01-preview&resource=r",
        "?api-version=2019-07-01-preview&resource=r&xms_cc=cp1",
        "?api-version=2019-07-01-preview&resource=r&token_sha256_to_refresh=abc123"
      ])
    }).pipe(Effect.provide(source))
  })

  it.effect("through the client: xms_cc from the options, and the cached token's SHA-256 on a claims request", () => {
    const { sent, source } = setup()
    return Effect.gen(function*() {
      const client = yield* ManagedIdentityClient.ManagedIdentityClient
      yield* client.getToken("r")
      yield* client.getToken("r")
      yield* client.getToken("r", { claims: "{\"access_token\":{}}" })
      assert.deepStrictEqual(sent.map(({ url }) => url.slice(endpoint.length)), [
        "?api-version=2019-07-01-preview&resource=r&xms_cc=cp1",
        "?api-version=2019-07-01-preview&resource=r&token_sha256_to_refresh=eb5442705969dc8da5dfac8f9658dc68acdab5bb7635ba7cc551e389416ac34e&xms_cc=cp1"
      ])
    }).pipe(
      Effect.provide(
        ManagedIdentityClient.layerWithOptions({ clientCapabilities: ["cp1"] }).pipe(
          Layer.provide(source),
          Layer.provide(TokenCache.layerMemory)
        )
      )
    )
  })

  for (
    const identity of [
      ManagedIdentity.clientId("client-1"),
      ManagedIdentity.resourceId("/subscriptions/s/resourceGroups/g/providers/x/y"),
      ManagedIdentity.objectId("object-1")
    ]
  ) {
    it.effect(`refuses a user-assigned identity by ${identity._tag} before sending`, () => {
      const { sent, source, thumbprints } = setup(undefined, identity)
      return Effect.gen(function*() {
        const error = yield* Effect.flip(getToken({ resource: "r" }))
        assert.strictEqual(error._tag, "InvalidIdentity")
        assert.strictEqual(error.source, "ServiceFabric")
        assert.strictEqual(sent.length, 0)
        assert.strictEqual(thumbprints.length, 0)
      }).pipe(Effect.provide(source))
    })
  }

  it.effect("refuses an http endpoint before sending", () => {
    const { sent, source, thumbprints } = setup(undefined, undefined, {
      endpoint: "http://127.0.0.1:2377/metadata/identity/oauth2/token"
    })
    return Effect.gen(function*() {
      const error = yield* Effect.flip(getToken({ resource: "r" }))
      assert.strictEqual(error._tag, "InvalidIdentity")
      assert.include(error.message, "https")
      assert.strictEqual(sent.length, 0)
      assert.strictEqual(thumbprints.length, 0)
    }).pipe(Effect.provide(source))
  })

  it.effect("refuses a malformed thumbprint before sending", () => {
    const { sent, source, thumbprints } = setup(undefined, undefined, { thumbprint: "abcd" })
    return Effect.gen(function*() {
      const error = yield* Effect.flip(getToken({ resource: "r" }))
      assert.strictEqual(error._tag, "InvalidIdentity")
      assert.include(error.message, "IDENTITY_SERVER_THUMBPRINT")
      assert.strictEqual(sent.length, 0)
      assert.strictEqual(thumbprints.length, 0)
    }).pipe(Effect.provide(source))
  })

  it.effect("maps a certificate mismatch in the transport error's cause chain, without retrying", () => {
    const { sent, source } = setup(() =>
      new HttpClientError.RequestError({
        request: undefined as never,
        reason: "Transport",
        cause: new Error("fetch failed", {
          cause: new ManagedIdentityError.ServiceFabricCertificateMismatch({
            source: "ServiceFabric",
            endpoint: "10.0.0.4:2377",
            reason: "expected the certificate thumbprint a, got b"
          })
        })
      })
    )
    return Effect.gen(function*() {
      const error = yield* Effect.flip(getToken({ resource: "r" }))
      assert.strictEqual(error._tag, "ServiceFabricCertificateMismatch")
      assert.strictEqual(sent.length, 1)
    }).pipe(Effect.provide(source))
  })

  const errorCases = [
    { status: 401, code: "SecretHeaderNotFound", oauth: "unauthorized_client" },
    { status: 404, code: "ManagedIdentityNotFound", oauth: "invalid_client" },
    { status: 400, code: "ArgumentNullOrEmpty", oauth: "invalid_scope" },
    { status: 400, code: "SomethingElse", oauth: "invalid_request" }
  ] as const
  for (const { code, oauth, status } of errorCases) {
    it.effect(`maps the error code ${code} to ${oauth}, without retrying ${status}`, () => {
      const { sent, source } = setup(() =>
        json(status, { error: { code, message: "it went wrong", correlationId: "corr-1" } })
      )
      return Effect.gen(function*() {
        const error = yield* Effect.flip(getToken({ resource: "r" }))
        assert(error._tag === "TokenRequestFailed")
        assert.strictEqual(error.status, status)
        assert.strictEqual(error.error, oauth)
        assert.strictEqual(error.description, `${code}: it went wrong`)
        assert.strictEqual(error.correlationId, "corr-1")
        assert.strictEqual(sent.length, 1)
      }).pipe(Effect.provide(source))
    })
  }

  it.effect("layerConfig reads IDENTITY_ENDPOINT, IDENTITY_HEADER and IDENTITY_SERVER_THUMBPRINT", () => {
    const sent: Array<Sent> = []
    const thumbprints: Array<string> = []
    const client = HttpClient.make((request, url) => {
      sent.push({ method: request.method, url: url.toString(), headers: { ...request.headers } })
      return Effect.succeed(HttpClientResponse.fromWeb(request, json(200, tokenBody)))
    })
    const layer = ServiceFabricTokenSource.layerConfig().pipe(
      Layer.provide(Layer.succeed(ServiceFabricTokenSource.PinnedHttpClient, {
        forThumbprint: (value) => Effect.sync(() => thumbprints.push(value)).pipe(Effect.as(client))
      })),
      Layer.provide(ManagedIdentity.layerSystemAssigned)
    )
    return Effect.gen(function*() {
      yield* getToken({ resource: "r" })
      assert.strictEqual(sent[0].url, "https://127.0.0.1:2377/token?api-version=2019-07-01-preview&resource=r")
      assert.strictEqual(sent[0].headers.secret, "from-env")
      assert.deepStrictEqual(thumbprints, [normalizedThumbprint])
    }).pipe(
      Effect.provide(layer),
      Effect.withConfigProvider(ConfigProvider.fromMap(
        new Map([
          ["IDENTITY_ENDPOINT", "https://127.0.0.1:2377/token"],
          ["IDENTITY_HEADER", "from-env"],
          ["IDENTITY_SERVER_THUMBPRINT", normalizedThumbprint.toUpperCase()]
        ])
      ))
    )
  })

  it.effect("layerConfig fails with a ConfigError when IDENTITY_SERVER_THUMBPRINT is missing", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(
        Effect.provide(
          getToken({ resource: "r" }),
          ServiceFabricTokenSource.layerConfig().pipe(
            Layer.provide(Layer.succeed(ServiceFabricTokenSource.PinnedHttpClient, {
              forThumbprint: () => Effect.die("unused")
            })),
            Layer.provide(ManagedIdentity.layerSystemAssigned)
          )
        ).pipe(
          Effect.withConfigProvider(ConfigProvider.fromMap(
            new Map([["IDENTITY_ENDPOINT", "https://127.0.0.1:2377/token"], ["IDENTITY_HEADER", "x"]])
          ))
        )
      )
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
      Either.right(normalizedThumbprint)
    )
    assert.deepStrictEqual(
      ServiceFabricTokenSource.normalizeThumbprint(normalizedThumbprint),
      Either.right(normalizedThumbprint)
    )
  })

  it("refuses anything but 40 hexadecimal characters", () => {
    for (
      const bad of ["", normalizedThumbprint.slice(1), `${normalizedThumbprint}0`, `${normalizedThumbprint.slice(1)}g`]
    ) {
      const result = ServiceFabricTokenSource.normalizeThumbprint(bad)
      assert(Either.isLeft(result), bad)
      assert.strictEqual(result.left._tag, "InvalidIdentity")
    }
  })

  it("refuses other whitespace and separators", () => {
    assert(Either.isLeft(ServiceFabricTokenSource.normalizeThumbprint(normalizedThumbprint.replace("ab", "ab-"))))
  })
})
