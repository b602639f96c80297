import { Headers } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { type ConfigError, DateTime, Effect, Exit, type Layer, Redacted, TestClock } from "effect"
import * as AppServiceTokenSource from "../../src/AppServiceTokenSource.js"
import * as AzureArcTokenSource from "../../src/AzureArcTokenSource.js"
import * as Wire from "../../src/internal/wire.js"
import * as MachineLearningTokenSource from "../../src/MachineLearningTokenSource.js"
import * as ManagedIdentity from "../../src/ManagedIdentity.js"
import * as ServiceFabricTokenSource from "../../src/ServiceFabricTokenSource.js"
import type * as TokenSource from "../../src/TokenSource.js"
import * as WorkloadIdentityTokenSource from "../../src/WorkloadIdentityTokenSource.js"
import * as FakeFileSystem from "../utils/fakeFileSystem.js"
import * as FakeHttp from "../utils/fakeHttp.js"
import * as SourceHarness from "../utils/sourceHarness.js"

type SourceLayer = Layer.Layer<TokenSource.TokenSource, ConfigError.ConfigError, SourceHarness.Requirements>

const now = Date.UTC(2026, 0, 1)
const nowSeconds = now / 1000
const tokenValue = "AT-wire-secret-token-value"
const year = 365 * 24 * 3600

/** Decodes `body` (JSON text) as a 200 from IMDS received at `now`. */
const decode = (body: string) =>
  Effect.zipRight(
    TestClock.setTime(now),
    Wire.decodeAnswer("Imds", { status: 200, headers: Headers.empty, body, secrets: [] }, "https://vault.azure.net")
  )

const withLifetime = (fields: Record<string, unknown>) => JSON.stringify({ access_token: tokenValue, ...fields })

/** `[ … ]` nested `depth` deep, as text (building it as a value and stringifying it would itself overflow). */
const deepArray = (depth: number) => "[".repeat(depth) + "]".repeat(depth)

/** Decoding must fail with an InvalidTokenResponse whose every rendering names `field` and holds no `secret`. */
const expectInvalid = (body: string, field: RegExp, secret = tokenValue) =>
  Effect.gen(function*() {
    const exit = yield* Effect.exit(decode(body))
    assert(Exit.isFailure(exit) && exit.cause._tag === "Fail", `not a typed failure: ${String(exit)}`)
    const error = exit.cause.error
    assert(error._tag === "InvalidTokenResponse")
    assert.match(error.reason, field)
    for (const rendering of [error.message, String(error), JSON.stringify(error)]) {
      assert.notInclude(rendering, secret)
    }
    return error
  })

describe("wire", () => {
  describe("accepted lifetimes (PROTOCOL.md): exactly the documented forms, within a year", () => {
    const accepted: ReadonlyArray<readonly [string, Record<string, unknown>, number]> = [
      ["expires_in as a JSON integer", { expires_in: 3600 }, now + 3600_000],
      ["expires_in as a digit string", { expires_in: "86399" }, now + 86399_000],
      ["expires_in of 0 (returned, never cached)", { expires_in: "0" }, now],
      ["expires_in of exactly a year", { expires_in: year }, now + year * 1000],
      ["expires_on as a JSON integer", { expires_on: nowSeconds + 60 }, now + 60_000],
      ["expires_on as a digit string", { expires_on: String(nowSeconds + 7890) }, now + 7890_000],
      ["expires_on in the past (returned, never cached)", { expires_on: nowSeconds - 10 }, now - 10_000],
      ["expires_on as ISO-8601 with Z", { expires_on: "2026-01-01T01:00:00Z" }, now + 3600_000],
      ["expires_on as ISO-8601 with an offset", { expires_on: "2026-01-01T03:00:00+02:00" }, now + 3600_000],
      ["expires_on as ISO-8601 with a fraction", { expires_on: "2026-01-01T01:00:00.999Z" }, now + 3600_000],
      ["expires_on as MM/DD/YYYY HH:MM:SS +00:00", { expires_on: "01/01/2026 02:11:30 +00:00" }, now + 7890_000],
      ["expires_on as MM/DD/YYYY HH:MM:SS -05:30", { expires_on: "12/31/2025 19:30:00 -05:30" }, now + 3600_000]
    ]
    for (const [name, fields, expiresOn] of accepted) {
      it.effect(name, () =>
        Effect.gen(function*() {
          const { token } = yield* decode(withLifetime(fields))
          assert.strictEqual(DateTime.toEpochMillis(token.expiresOn), expiresOn)
        }))
    }

    it.effect("February 29th of a leap year, in both date forms", () =>
      Effect.gen(function*() {
        const leapDay = Date.UTC(2028, 1, 29)
        for (const expires_on of ["2028-02-29T00:00:00Z", "02/29/2028 00:00:00 +00:00"]) {
          const { token } = yield* Effect.zipRight(
            TestClock.setTime(leapDay - 86400_000),
            Wire.decodeAnswer(
              "Imds",
              { status: 200, headers: Headers.empty, body: withLifetime({ expires_on }), secrets: [] },
              "r"
            )
          )
          assert.strictEqual(DateTime.toEpochMillis(token.expiresOn), leapDay)
        }
      }))
  })

  describe("out-of-range lifetimes are InvalidTokenResponse, never a defect (issue 11, defect 1)", () => {
    const outOfRange: ReadonlyArray<readonly [string, Record<string, unknown>, RegExp]> = [
      ["expires_in 1e20", { expires_in: 1e20 }, /expires_in/],
      ["expires_in 9e15", { expires_in: 9e15 }, /expires_in/],
      ["expires_in \"10000000000000\"", { expires_in: "10000000000000" }, /expires_in/],
      ["expires_in of a year and a second", { expires_in: year + 1 }, /expires_in is more than a year/],
      ["expires_on 1e13", { expires_on: 1e13 }, /expires_on/],
      ["expires_on \"99999999999999\"", { expires_on: "99999999999999" }, /expires_on/],
      ["expires_on a year and a day ahead", { expires_on: nowSeconds + year + 86400 }, /more than a year/],
      ["expires_on of 400 digits", { expires_on: "9".repeat(400) }, /expires_on/]
    ]
    for (const [name, fields, field] of outOfRange) {
      it.effect(name, () => expectInvalid(withLifetime(fields), field))
    }
  })

  describe("nothing else parses (issue 11, defect 8)", () => {
    const rejected: ReadonlyArray<readonly [string, Record<string, unknown>]> = [
      ["99/99/2030 99:99:99 +00:00 (was 2038-06-11)", { expires_on: "99/99/2030 99:99:99 +00:00" }],
      ["February 30th, App Service form", { expires_on: "02/30/2026 00:00:00 +00:00" }],
      ["month 13", { expires_on: "13/01/2026 00:00:00 +00:00" }],
      ["hour 24", { expires_on: "01/01/2026 24:00:00 +00:00" }],
      ["an offset of 24 hours", { expires_on: "01/01/2026 00:00:00 +24:00" }],
      ["February 29th of a common year", { expires_on: "2026-02-29T00:00:00Z" }],
      ["a free-form date that Date parses (Jan 1 3000)", { expires_on: "Jan 1 3000" }],
      ["an RFC 1123 date", { expires_on: "Thu, 01 Jan 2026 01:00:00 GMT" }],
      ["an ISO date without time", { expires_on: "2026-01-01" }],
      ["an ISO date-time without offset", { expires_on: "2026-01-01T01:00:00" }],
      ["a millisecond timestamp (was cached until the year 58881)", { expires_on: now + 3600_000 }],
      ["a millisecond timestamp as a string", { expires_on: String(now + 3600_000) }],
      ["fractional epoch seconds", { expires_on: nowSeconds + 0.5 }],
      ["fractional epoch seconds as a string", { expires_on: `${nowSeconds}.5` }],
      ["negative epoch seconds", { expires_on: -5 }],
      ["a signed digit string", { expires_on: `+${nowSeconds + 60}` }],
      ["a digit string with blanks", { expires_on: ` ${nowSeconds + 60} ` }],
      ["an exponent", { expires_on: "1.7e9" }],
      ["a negative expires_in", { expires_in: -1 }],
      ["a negative expires_in string", { expires_in: "-1" }],
      ["a fractional expires_in", { expires_in: 1.5 }],
      ["a fractional expires_in string", { expires_in: "1.5" }],
      ["an empty expires_in", { expires_in: "" }],
      ["a null expires_in", { expires_in: null }],
      ["a boolean expires_on", { expires_on: true }]
    ]
    for (const [name, fields] of rejected) {
      it.effect(name, () => expectInvalid(withLifetime(fields), /expires_(in|on)/))
    }
  })

  describe("deep or wrongly typed bodies name the field, never the value (issue 11, defect 2)", () => {
    const depth = 20_000
    const deep: ReadonlyArray<readonly [string, string, RegExp]> = [
      ["access_token", `{"access_token":${deepArray(depth)},"expires_in":3600}`, /\["access_token"\]: expected/],
      [
        "token_type",
        `{"access_token":"${tokenValue}","token_type":${deepArray(depth)},"expires_in":3600}`,
        /\["token_type"\]: expected a string/
      ],
      ["expires_in", `{"access_token":"${tokenValue}","expires_in":${deepArray(depth)}}`, /\["expires_in"\]/],
      ["the whole body", deepArray(depth), /expected a JSON object with access_token/]
    ]
    for (const [name, body, reason] of deep) {
      it.effect(`${name} nested ${depth} deep: InvalidTokenResponse, not a RangeError`, () =>
        expectInvalid(body, reason))
    }

    it.effect("an object-valued access_token holding the token: the message shows neither", () =>
      Effect.gen(function*() {
        const error = yield* expectInvalid(
          JSON.stringify({ access_token: { value: tokenValue }, expires_in: 3600 }),
          /^\["access_token"\]: expected a non-empty string without control characters$/
        )
        assert.notInclude(error.message, "value")
      }))

    it.effect("a token_type holding token material is not echoed either", () =>
      Effect.gen(function*() {
        yield* expectInvalid(
          JSON.stringify({ access_token: tokenValue, token_type: [tokenValue], expires_in: 3600 }),
          /^\["token_type"\]: expected a string$/
        )
      }))
  })
})

describe("answer text in errors (issue 17, item 5)", () => {
  const resource = "https://vault.azure.net"
  const secret = "the-request-secret-0123456789-abcdefghijklmnopqrstuvwxyz+/="
  const assertion = `eyJhbGciOiJSUzI1NiJ9.${"federated-assertion-payload-".repeat(8)}.signature-part-0123456789`
  const tokenFile = "/var/run/secrets/azure/tokens/azure-identity-token"

  /** Every source that sends a secret, and the secret it sends. */
  const sources: ReadonlyArray<readonly [string, SourceLayer, string]> = [
    [
      "App Service (X-IDENTITY-HEADER)",
      AppServiceTokenSource.layer({
        endpoint: "http://127.0.0.1:41234/msi/token",
        identityHeader: Redacted.make(secret)
      }),
      secret
    ],
    [
      "Azure Machine Learning (secret)",
      MachineLearningTokenSource.layer({ endpoint: "http://127.0.0.1:46808/MSI/auth", secret: Redacted.make(secret) }),
      secret
    ],
    [
      "Service Fabric (secret)",
      ServiceFabricTokenSource.layer({
        endpoint: "https://127.0.0.1:2377/metadata/identity/oauth2/token",
        identityHeader: Redacted.make(secret),
        thumbprint: "ab".repeat(20)
      }),
      secret
    ],
    ["Azure Arc (the key)", AzureArcTokenSource.layer({ keyDirectory: "/keys", platform: "linux" }), secret],
    [
      "workload identity (the assertion)",
      WorkloadIdentityTokenSource.layer({ tenantId: "contoso.onmicrosoft.com", tokenFile, clientId: "client" }),
      assertion
    ]
  ]

  /** How an endpoint may echo what it received: verbatim, encoded, or in part. */
  const echoes = (request: FakeHttp.RecordedRequest) => {
    const received = [...Object.values(request.headers), request.body ?? ""]
    return [
      ...received,
      ...received.map(encodeURIComponent),
      ...received.map((text) => JSON.stringify(text)),
      ...received.flatMap((text) => [text.slice(0, 40), text.slice(-40)])
    ].join(" | ")
  }

  /** Answers like `reply` but echoing the request; an Azure Arc challenge first. */
  const echoing = (reply: (echo: string) => FakeHttp.Reply) => (request: FakeHttp.RecordedRequest) =>
    request.headers.authorization === undefined && request.url.includes(":40342")
      ? FakeHttp.json({}, { status: 401, headers: { "www-authenticate": "Basic realm=/tokens/abc.key" } })
      : reply(echoes(request))

  const answers: ReadonlyArray<readonly [string, (echo: string) => FakeHttp.Reply]> = [
    [
      "every field of an OAuth error body",
      (echo) =>
        FakeHttp.json({ error: echo, error_description: echo, correlation_id: echo, trace_id: echo }, { status: 400 })
    ],
    ["App Service's error body", (echo) => FakeHttp.json({ statusCode: 400, message: echo }, { status: 400 })],
    ["Service Fabric's error body", (echo) => FakeHttp.json({ error: { code: echo, message: echo } }, { status: 400 })],
    ["a plain-text error body", (echo) => FakeHttp.text(echo, { status: 400 })]
  ]

  for (const [sourceName, layer, sent] of sources) {
    for (const [answerName, reply] of answers) {
      it.effect(`${sourceName}, ${answerName} echoing the request: the secret is scrubbed from every field`, () =>
        Effect.gen(function*() {
          const http = yield* FakeHttp.make(echoing(reply))
          const fileSystem = FakeFileSystem.make({
            "/keys/abc.key": { content: secret },
            [tokenFile]: { content: assertion }
          })
          const error = yield* Effect.flip(
            SourceHarness.getToken(resource).pipe(SourceHarness.provide(layer, { http, fileSystem }))
          )
          assert(error._tag === "TokenRequestFailed", error.message)
          assert.include(JSON.stringify(error), "<redacted>")
          for (const rendering of [JSON.stringify(error), String(error), error.message]) {
            for (const shown of [sent, encodeURIComponent(sent), sent.slice(0, 40), sent.slice(-40)]) {
              assert.notInclude(rendering, shown)
            }
          }
        }))
    }
  }

  it.effect("Azure Arc's identity echo is answer text too: IdentityNotConfirmed shows no key", () =>
    Effect.gen(function*() {
      const http = yield* FakeHttp.make(
        echoing((echo) => FakeHttp.json({ access_token: "AT", expires_in: 3600, client_id: echo }))
      )
      const error = yield* Effect.flip(
        SourceHarness.getToken(resource).pipe(
          SourceHarness.provide(AzureArcTokenSource.layer({ keyDirectory: "/keys", platform: "linux" }), {
            http,
            identity: ManagedIdentity.clientId("expected-client"),
            fileSystem: FakeFileSystem.make({ "/keys/abc.key": { content: secret } })
          })
        )
      )
      assert(error._tag === "IdentityNotConfirmed", error.message)
      assert.include(error.received, "<redacted>")
      assert.notInclude(JSON.stringify(error) + String(error), secret.slice(0, 40))
    }))

  it.effect("a Service Fabric error code named like an Object property (constructor, __proto__) maps to invalid_request", () =>
    Effect.gen(function*() {
      for (const code of ["constructor", "__proto__", "toString", "hasOwnProperty"]) {
        const received = { status: 400, headers: Headers.empty, body: JSON.stringify({ error: { code } }), secrets: [] }
        const error = Wire.failedAnswer("ServiceFabric", received, now)
        assert.strictEqual(error.error, "invalid_request", code)
        assert.strictEqual(error.description, code)
      }
    }))

  it.effect("answer text is capped at 2048 characters in every field", () =>
    Effect.gen(function*() {
      const long = "d".repeat(16_000)
      const http = yield* FakeHttp.make([
        FakeHttp.json({ error: long, error_description: long, correlation_id: long, trace_id: long }, { status: 400 })
      ])
      const error = yield* Effect.flip(
        SourceHarness.getToken(resource).pipe(SourceHarness.provide(sources[0][1], { http }))
      )
      assert(error._tag === "TokenRequestFailed")
      for (const field of [error.error, error.description, error.correlationId, error.traceId]) {
        assert.strictEqual(field, `${"d".repeat(2048)}…`)
      }
    }))
})
