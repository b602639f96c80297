import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { TestClock } from "effect/testing"
import * as ImdsTokenSource from "../src/ImdsTokenSource.js"
import * as ManagedIdentity from "../src/ManagedIdentity.js"
import * as RetryPolicy from "../src/RetryPolicy.js"
import { failureOf } from "./utils/exits.js"
import { expectRequest } from "./utils/expectRequest.js"
import * as FakeHttp from "./utils/fakeHttp.js"
import * as SourceHarness from "./utils/sourceHarness.js"

const now = Date.UTC(2026, 0, 1)
const resource = "https://vault.azure.net"
const tokenValue = "AT-imds-secret-token-value"
const imdsUrl = "http://169.254.169.254/metadata/identity/oauth2/token"

const tokenBody = (fields: Record<string, unknown> = {}) => ({
  access_token: tokenValue,
  expires_in: "86399",
  resource,
  token_type: "Bearer",
  ...fields
})

const getToken = (
  http: FakeHttp.FakeHttp,
  options: ImdsTokenSource.Options = {},
  identity?: ManagedIdentity.Identity
) => SourceHarness.getToken(resource).pipe(SourceHarness.provide(ImdsTokenSource.layer(options), { http, identity }))

const getTokenThroughConfig = (http: FakeHttp.FakeHttp, env: Record<string, string>) =>
  SourceHarness.getToken(resource).pipe(SourceHarness.provide(ImdsTokenSource.layerConfig(), { http, env }))

describe("ImdsTokenSource", () => {
  describe("request", () => {
    const cases = SourceHarness.selectorCases({
      ClientId: "client_id",
      ResourceId: "msi_res_id",
      ObjectId: "object_id"
    })
    for (const [name, identity, selector] of cases) {
      it.effect(`${name}: GET with api-version, resource and the IMDS selector, Metadata and request id`, () =>
        Effect.gen(function*() {
          const http = yield* FakeHttp.make([FakeHttp.json(tokenBody())])
          yield* getToken(http, {}, identity)
          const [request] = yield* http.requests
          assert.strictEqual(yield* http.count, 1)
          expectRequest(request, {
            method: "GET",
            url: imdsUrl,
            params: { "api-version": "2018-02-01", resource, ...selector },
            headers: { metadata: "true" }
          })
        }))
    }

    it.effect("system-assigned: the exact URL carries no selector", () =>
      Effect.gen(function*() {
        const http = yield* FakeHttp.make([FakeHttp.json(tokenBody())])
        yield* getToken(http)
        const [request] = yield* http.requests
        assert.strictEqual(request.url, `${imdsUrl}?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net`)
      }))

    it.effect("authorityHost option: leading and trailing slashes are dropped", () =>
      Effect.gen(function*() {
        const http = yield* FakeHttp.make([FakeHttp.json(tokenBody())])
        yield* getToken(http, { authorityHost: "http://127.0.0.1:8080/" })
        const [request] = yield* http.requests
        assert.strictEqual(request.urlWithoutQuery, "http://127.0.0.1:8080/metadata/identity/oauth2/token")
      }))
  })

  describe("layerConfig", () => {
    it.effect("AZURE_POD_IDENTITY_AUTHORITY_HOST=http://localhost:1234// is the host", () =>
      Effect.gen(function*() {
        const http = yield* FakeHttp.make([FakeHttp.json(tokenBody())])
        yield* getTokenThroughConfig(http, { AZURE_POD_IDENTITY_AUTHORITY_HOST: "http://localhost:1234//" })
        const [request] = yield* http.requests
        assert.strictEqual(request.urlWithoutQuery, "http://localhost:1234/metadata/identity/oauth2/token")
        assert.strictEqual(request.params["api-version"], "2018-02-01")
      }))

    it.effect("an empty AZURE_POD_IDENTITY_AUTHORITY_HOST counts as unset: the IMDS default host", () =>
      Effect.gen(function*() {
        const http = yield* FakeHttp.make([FakeHttp.json(tokenBody())])
        yield* getTokenThroughConfig(http, { AZURE_POD_IDENTITY_AUTHORITY_HOST: "" })
        const [request] = yield* http.requests
        assert.strictEqual(request.urlWithoutQuery, imdsUrl)
      }))

    it.effect("without AZURE_POD_IDENTITY_AUTHORITY_HOST: the IMDS default host", () =>
      Effect.gen(function*() {
        const http = yield* FakeHttp.make([FakeHttp.json(tokenBody())])
        yield* getTokenThroughConfig(http, {})
        const [request] = yield* http.requests
        assert.strictEqual(request.urlWithoutQuery, imdsUrl)
      }))
  })

  describe("decoding", () => {
    const lifetimes = [
      {
        name: "expires_in as a string: expiresOn = now + 7890 s, refreshOn = now + 3945 s",
        expires_in: "7890",
        expiresIn: 7890,
        refreshIn: 3945
      },
      {
        name: "expires_in as a number of exactly 7200 s gets refreshOn at half",
        expires_in: 7200,
        expiresIn: 7200,
        refreshIn: 3600
      },
      { name: "a lifetime under 7200 s has no refreshOn", expires_in: "7199", expiresIn: 7199, refreshIn: undefined }
    ]
    for (const { expires_in, expiresIn, name, refreshIn } of lifetimes) {
      it.effect(name, () =>
        Effect.gen(function*() {
          yield* TestClock.setTime(now)
          const http = yield* FakeHttp.make([FakeHttp.json(tokenBody({ expires_in }))])
          const token = yield* getToken(http)
          assert.strictEqual(Redacted.value(token.token), tokenValue)
          assert.strictEqual(token.tokenType, "Bearer")
          assert.strictEqual(token.resource, resource)
          SourceHarness.expectLifetime(token, now, { expiresIn, refreshIn })
        }))
    }

    it.effect("a body with its content-length is read whole, the same as a streamed one", () =>
      Effect.gen(function*() {
        const body = JSON.stringify(tokenBody())
        const http = yield* FakeHttp.make([
          FakeHttp.text(body, { headers: { "content-length": String(new TextEncoder().encode(body).length) } }),
          FakeHttp.text(body)
        ])
        const framed = yield* getToken(http)
        const streamed = yield* getToken(http)
        assert.strictEqual(Redacted.value(framed.token), tokenValue)
        assert.deepStrictEqual(
          { ...framed, token: Redacted.value(framed.token) },
          { ...streamed, token: Redacted.value(streamed.token) }
        )
      }))

    it.effect("token_type defaults to Bearer and resource to the requested one", () =>
      Effect.gen(function*() {
        const http = yield* FakeHttp.make([FakeHttp.json({ access_token: tokenValue, expires_in: 3600 })])
        const token = yield* getToken(http)
        assert.strictEqual(token.tokenType, "Bearer")
        assert.strictEqual(token.resource, resource)
      }))

    const large = { ...tokenBody(), padding: "x".repeat(64 * 1024) }
    const invalid: ReadonlyArray<readonly [string, FakeHttp.Reply, RegExp]> = [
      ["a non-JSON body", FakeHttp.text(`<html>${tokenValue}</html>`), /not JSON/],
      ["expires_in that is not a number", FakeHttp.json(tokenBody({ expires_in: "soon" })), /expires_in/],
      ["access_token that is not a string", FakeHttp.json(tokenBody({ access_token: 12345 })), /access_token/],
      ["token_type that is not a string", FakeHttp.json(tokenBody({ token_type: 5 })), /token_type/],
      ["an empty access_token", FakeHttp.json(tokenBody({ access_token: "" })), /access_token/],
      [
        "an access_token holding a control character (no header can carry it, no terminal should run it)",
        FakeHttp.json(tokenBody({ access_token: `${tokenValue}\u001b[2J` })),
        /access_token/
      ],
      ["no lifetime", FakeHttp.json({ access_token: tokenValue, resource }), /expires_in nor expires_on/],
      ["a JSON array", FakeHttp.json([tokenValue]), /./],
      ["a body over 64 KiB", FakeHttp.json(large), /larger than 65536 bytes/],
      [
        "a declared content-length over 64 KiB",
        FakeHttp.json(tokenBody(), { headers: { "content-length": "70000" } }),
        /larger than 65536 bytes/
      ],
      [
        "a body over 64 KiB under a content-length within the limit",
        FakeHttp.json(large, { headers: { "content-length": "1000" } }),
        /larger than 65536 bytes/
      ],
      [
        "a compressed body over 64 KiB once decoded",
        FakeHttp.json(large, { headers: { "content-length": "1000", "content-encoding": "gzip" } }),
        /larger than 65536 bytes/
      ]
    ]
    for (const [name, reply, reason] of invalid) {
      it.effect(`${name} is an InvalidTokenResponse that never shows the token`, () =>
        Effect.gen(function*() {
          const http = yield* FakeHttp.make([reply])
          const error = yield* Effect.flip(getToken(http))
          assert(error._tag === "InvalidTokenResponse")
          assert.strictEqual(error.source, "Imds")
          assert.strictEqual(error.status, 200)
          assert.match(error.reason, reason)
          assert.notInclude(error.message, tokenValue)
          assert.notInclude(String(error), tokenValue)
          assert.notInclude(JSON.stringify(error), tokenValue)
          assert.strictEqual(yield* http.count, 1)
        }))
    }
  })

  describe("hostile success bodies (issue 11, defects 1, 2 and 8)", () => {
    const deep = (depth: number) => "[".repeat(depth) + "]".repeat(depth)
    const bodies: ReadonlyArray<readonly [string, string]> = [
      ["expires_in 1e20", `{"access_token":"${tokenValue}","expires_in":1e20}`],
      ["expires_in 9e15", `{"access_token":"${tokenValue}","expires_in":9e15}`],
      ["expires_in \"10000000000000\"", `{"access_token":"${tokenValue}","expires_in":"10000000000000"}`],
      ["expires_on 1e13", `{"access_token":"${tokenValue}","expires_on":1e13}`],
      ["expires_on \"99999999999999\"", `{"access_token":"${tokenValue}","expires_on":"99999999999999"}`],
      [
        "expires_on 99/99/2030 99:99:99 +00:00",
        `{"access_token":"${tokenValue}","expires_on":"99/99/2030 99:99:99 +00:00"}`
      ],
      ["access_token 20 000 arrays deep", `{"access_token":${deep(20_000)},"expires_in":3600}`],
      [
        "token_type 20 000 arrays deep",
        `{"access_token":"${tokenValue}","token_type":${deep(20_000)},"expires_in":3600}`
      ],
      [
        "access_token as an object holding the token",
        JSON.stringify({ access_token: { value: tokenValue }, expires_in: 1 })
      ]
    ]
    for (const [name, body] of bodies) {
      it.effect(`${name}: InvalidTokenResponse after one request, never a defect, never the token`, () =>
        Effect.gen(function*() {
          yield* TestClock.setTime(now)
          const http = yield* FakeHttp.make([FakeHttp.text(body, { headers: { "content-type": "application/json" } })])
          const exit = yield* Effect.exit(getToken(http))
          const error = failureOf(exit)
          assert.strictEqual(error._tag, "InvalidTokenResponse")
          assert.notInclude(JSON.stringify(error), tokenValue)
          assert.notInclude(error.message, tokenValue)
          assert.strictEqual(yield* http.count, 1)
        }))
    }
  })

  describe("error answers", () => {
    it.effect("204 without a body: InvalidTokenResponse, not a transport failure, after 1 request", () =>
      Effect.gen(function*() {
        const http = yield* FakeHttp.make([FakeHttp.text("", { status: 204 }), FakeHttp.json(tokenBody())])
        const error = yield* Effect.flip(getToken(http))
        assert(error._tag === "InvalidTokenResponse")
        assert.strictEqual(error.status, 204)
        assert.strictEqual(yield* http.count, 1)
      }))

    it.effect("404 with an empty body is a TokenRequestFailed", () =>
      Effect.gen(function*() {
        const http = yield* FakeHttp.make([FakeHttp.text("", { status: 404 })])
        const error = yield* Effect.flip(getToken(http, { retrySchedule: RetryPolicy.none }))
        assert(error._tag === "TokenRequestFailed")
        assert.strictEqual(error.status, 404)
        assert.strictEqual(error.description, undefined)
      }))

    it.effect("400 invalid_request / Identity not found: TokenRequestFailed with both fields, not retried", () =>
      Effect.gen(function*() {
        const http = yield* FakeHttp.make([
          FakeHttp.json({ error: "invalid_request", error_description: "Identity not found" }, { status: 400 })
        ])
        const error = yield* Effect.flip(getToken(http, {}, ManagedIdentity.clientId("unknown")))
        assert(error._tag === "TokenRequestFailed")
        assert.strictEqual(error.source, "Imds")
        assert.strictEqual(error.status, 400)
        assert.strictEqual(error.error, "invalid_request")
        assert.strictEqual(error.description, "Identity not found")
        assert.strictEqual(error.retryAfter, undefined)
        assert.strictEqual(error.identity, "client id unknown")
        assert.strictEqual(
          error.message,
          "Imds answered 400 invalid_request: Identity not found (asked for client id unknown)"
        )
        assert.strictEqual(yield* http.count, 1)
      }))

    it.effect("a non-JSON error body is surfaced as the description", () =>
      Effect.gen(function*() {
        const http = yield* FakeHttp.make([FakeHttp.text("Forbidden by proxy", { status: 403 })])
        const error = yield* Effect.flip(getToken(http))
        assert(error._tag === "TokenRequestFailed")
        assert.strictEqual(error.status, 403)
        assert.strictEqual(error.error, undefined)
        assert.strictEqual(error.description, "Forbidden by proxy")
      }))

    it.effect("Retry-After in seconds is parsed into retryAfter", () =>
      Effect.gen(function*() {
        const http = yield* FakeHttp.make([
          FakeHttp.json({ error: "throttled" }, { status: 429, headers: { "retry-after": "5" } })
        ])
        const error = yield* Effect.flip(getToken(http, { retrySchedule: RetryPolicy.none }))
        assert(error._tag === "TokenRequestFailed")
        assert.strictEqual(error.status, 429)
        assert.strictEqual(error.retryAfter, 5)
      }))

    it.effect("Retry-After as an HTTP date is parsed into seconds from now", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(now)
        const http = yield* FakeHttp.make([
          FakeHttp.json({ error: "throttled" }, {
            status: 429,
            headers: { "retry-after": "Thu, 01 Jan 2026 00:00:30 GMT" }
          })
        ])
        const error = yield* Effect.flip(getToken(http, { retrySchedule: RetryPolicy.none }))
        assert(error._tag === "TokenRequestFailed")
        assert.strictEqual(error.retryAfter, 30)
      }))
  })

  describe("pipeline", () => {
    it.effect("connection refused on the first attempt: SourceUnavailable after exactly 1 request", () =>
      Effect.gen(function*() {
        const http = yield* FakeHttp.make([FakeHttp.refused, FakeHttp.json(tokenBody())])
        const error = yield* Effect.flip(getToken(http))
        assert(error._tag === "SourceUnavailable")
        assert.strictEqual(error.source, "Imds")
        assert.strictEqual(error.endpoint, imdsUrl)
        assert.include(error.reason, "ECONNREFUSED")
        assert.strictEqual(yield* http.count, 1)
      }))

    for (const status of [400, 401, 403]) {
      it.effect(`${status} is never retried`, () =>
        Effect.gen(function*() {
          const http = yield* FakeHttp.make([
            FakeHttp.json({ error: "invalid_request" }, { status }),
            FakeHttp.json(tokenBody())
          ])
          const error = yield* Effect.flip(getToken(http))
          assert.strictEqual(error._tag, "TokenRequestFailed")
          assert.strictEqual(yield* http.count, 1)
        }))
    }

    it.effect("404 is retried on IMDS", () =>
      Effect.gen(function*() {
        const http = yield* FakeHttp.make([FakeHttp.text("", { status: 404 }), FakeHttp.json(tokenBody())])
        const token = yield* getToken(http).pipe(SourceHarness.advancing("2 seconds"))
        assert.strictEqual(Redacted.value(token.token), tokenValue)
        assert.strictEqual(yield* http.count, 2)
      }))

    it.effect("retrySchedule: RetryPolicy.none makes exactly 1 request", () =>
      Effect.gen(function*() {
        const http = yield* FakeHttp.make([FakeHttp.text("busy", { status: 500 }), FakeHttp.json(tokenBody())])
        const error = yield* Effect.flip(getToken(http, { retrySchedule: RetryPolicy.none }))
        assert.strictEqual(error._tag, "TokenRequestFailed")
        assert.strictEqual(yield* http.count, 1)
      }))

    it.effect("a never-answering endpoint: Timeout after the attempt timeout, carrying the attempt count", () =>
      Effect.gen(function*() {
        const http = yield* FakeHttp.make([FakeHttp.never])
        const error = yield* getToken(http, { retrySchedule: RetryPolicy.none, attemptTimeout: "3 seconds" }).pipe(
          SourceHarness.failsAfter(3000)
        )
        assert(error._tag === "Timeout")
        assert.strictEqual(error.source, "Imds")
        assert.strictEqual(error.attempts, 1)
        assert.strictEqual(yield* http.count, 1)
      }))

    it.effect("attempt timeouts are retried by the default policy: Timeout after 4 attempts", () =>
      Effect.gen(function*() {
        const http = yield* FakeHttp.make([FakeHttp.never])
        const error = yield* Effect.flip(getToken(http).pipe(SourceHarness.advancing("100 seconds")))
        assert(error._tag === "Timeout")
        assert.strictEqual(error.attempts, 4)
        assert.strictEqual(yield* http.count, 4)
      }))

    it.effect("a deadline shorter than the retries: Timeout", () =>
      Effect.gen(function*() {
        const http = yield* FakeHttp.make([FakeHttp.text("busy", { status: 500 })])
        const error = yield* Effect.flip(
          getToken(http, { deadline: "700 millis" }).pipe(SourceHarness.advancing("700 millis"))
        )
        assert(error._tag === "Timeout")
        assert.strictEqual(error.attempts, 1)
        assert.include(error.reason, "deadline")
        assert.strictEqual(yield* http.count, 1)
      }))
  })

  describe("probe", () => {
    const probing = { probe: true } as const

    it.effect("off unless asked: a silent IMDS is waited for (attempt timeout, retries)", () =>
      Effect.gen(function*() {
        const http = yield* FakeHttp.make([FakeHttp.never])
        const fiber = yield* Effect.forkChild(getToken(http))
        yield* TestClock.adjust("5 seconds")
        assert.isUndefined(fiber.pollUnsafe())
        assert.strictEqual(yield* http.count, 1)
      }))

    it.effect("no answer within 1 s: SourceUnavailable at once, saying so, after exactly 1 request", () =>
      Effect.gen(function*() {
        const http = yield* FakeHttp.make([FakeHttp.never])
        const error = yield* getToken(http, probing).pipe(SourceHarness.failsAfter(1000))
        assert(error._tag === "SourceUnavailable")
        assert.strictEqual(error.source, "Imds")
        assert.strictEqual(error.endpoint, imdsUrl)
        assert.match(error.reason, /^no answer within 1s \(IMDS probe; the next request probes again\)/)
        assert.strictEqual(yield* http.count, 1)
        assert.strictEqual(yield* http.interrupted, 1)
      }))

    it.effect("probeTimeout bounds the wait", () =>
      Effect.gen(function*() {
        const http = yield* FakeHttp.make([FakeHttp.never])
        const error = yield* Effect.flip(
          getToken(http, { ...probing, probeTimeout: "300 millis" }).pipe(SourceHarness.advancing("300 millis"))
        )
        assert(error._tag === "SourceUnavailable")
        assert.match(error.reason, /no answer within 300ms/)
      }))

    const reset = FakeHttp.transportError(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }))
    const refused = FakeHttp.transportError(
      new TypeError("fetch failed", {
        cause: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" })
      })
    )
    for (const [name, failure] of [["a reset", reset], ["a refused connection", refused]] as const) {
      it.effect(`${name} on first contact, then an answer: retried within the probe after 50 ms, a token`, () =>
        Effect.gen(function*() {
          const http = yield* FakeHttp.make([failure, FakeHttp.json(tokenBody())])
          const token = yield* getToken(http, probing).pipe(SourceHarness.requestsAfter(http, ["50 millis"]))
          assert.strictEqual(Redacted.value(token.token), tokenValue)
          assert.strictEqual(yield* http.count, 2)
        }))
    }

    it.effect("resets on every try: retried after 50, 100 and 200 ms, then SourceUnavailable naming the failure", () =>
      Effect.gen(function*() {
        const http = yield* FakeHttp.make([reset])
        const error = yield* Effect.flip(
          getToken(http, probing).pipe(SourceHarness.requestsAfter(http, ["50 millis", "100 millis", "200 millis"]))
        )
        assert(error._tag === "SourceUnavailable")
        assert.match(
          error.reason,
          /^no answer \(Transport error ECONNRESET\) \(IMDS probe; the next request probes again\)/
        )
        assert.strictEqual(yield* http.count, 4)
      }))

    it.effect("the retries stay within probeTimeout: a shorter one ends them with its own SourceUnavailable", () =>
      Effect.gen(function*() {
        const http = yield* FakeHttp.make([refused])
        const error = yield* getToken(http, { ...probing, probeTimeout: "120 millis" }).pipe(
          SourceHarness.failsAfter(120)
        )
        assert(error._tag === "SourceUnavailable")
        assert.match(error.reason, /^no answer within 120ms/)
        assert.strictEqual(yield* http.count, 2)
      }))

    it.effect("Docker Desktop's 403 '… unreachable': SourceUnavailable", () =>
      Effect.gen(function*() {
        const body = "connecting to 169.254.169.254:80: connecting to 169.254.169.254:80: dial tcp " +
          "169.254.169.254:80: connect: host is unreachable"
        const http = yield* FakeHttp.make([FakeHttp.text(body, { status: 403 })])
        const error = yield* Effect.flip(getToken(http, probing))
        assert(error._tag === "SourceUnavailable")
        assert.match(error.reason, /403 saying the host is unreachable/)
        assert.strictEqual(yield* http.count, 1)
      }))

    it.effect("any other answer means IMDS is there: a 404 is retried by the normal policy", () =>
      Effect.gen(function*() {
        const http = yield* FakeHttp.make([FakeHttp.text("", { status: 404 }), FakeHttp.json(tokenBody())])
        const token = yield* getToken(http, probing).pipe(SourceHarness.advancing("2 seconds"))
        assert.strictEqual(Redacted.value(token.token), tokenValue)
        assert.strictEqual(yield* http.count, 2)
      }))

    it.effect("a failed probe is not remembered; once IMDS has answered, a slow answer is waited for", () =>
      Effect.gen(function*() {
        const http = yield* FakeHttp.make([FakeHttp.never, FakeHttp.json(tokenBody()), FakeHttp.never])
        const source = yield* ImdsTokenSource.make(probing).pipe(
          Effect.provide(http.layer),
          Effect.provide(ManagedIdentity.layerSystemAssigned)
        )
        const first = yield* Effect.flip(source.getToken({ resource }).pipe(SourceHarness.advancing("1 second")))
        assert.strictEqual(first._tag, "SourceUnavailable")
        const second = yield* source.getToken({ resource })
        assert.strictEqual(Redacted.value(second.token), tokenValue)
        const third = yield* Effect.forkChild(source.getToken({ resource }))
        yield* TestClock.adjust("5 seconds")
        assert.isUndefined(third.pollUnsafe())
        assert.strictEqual(yield* http.count, 3)
      }))

    it.effect("ImdsTokenSource.probe: the status IMDS answered to a request without Metadata, or the failure", () =>
      Effect.gen(function*() {
        const http = yield* FakeHttp.make([
          FakeHttp.json({ error: "invalid_request", error_description: "Required metadata header not specified" }, {
            status: 400
          }),
          FakeHttp.never
        ])
        const status = yield* ImdsTokenSource.probe({ authorityHost: "http://127.0.0.1:9" }).pipe(
          Effect.provide(http.layer)
        )
        assert.strictEqual(status, 400)
        const [request] = yield* http.requests
        assert.strictEqual(request.urlWithoutQuery, "http://127.0.0.1:9/metadata/identity/oauth2/token")
        assert.isUndefined(request.headers.metadata)
        const error = yield* Effect.flip(
          ImdsTokenSource.probe().pipe(Effect.provide(http.layer), SourceHarness.advancing("1 second"))
        )
        assert(error._tag === "SourceUnavailable")
        assert.strictEqual(error.endpoint, imdsUrl)
      }))
  })
})
