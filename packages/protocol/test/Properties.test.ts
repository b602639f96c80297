import { assert, describe, it } from "@effect/vitest"
import { Either, Encoding, FastCheck as fc } from "effect"
import * as Answer from "../src/Answer.js"
import * as Claims from "../src/Claims.js"
import * as Detection from "../src/Detection.js"
import * as Endpoint from "../src/Endpoint.js"
import * as Problem from "../src/Problem.js"
import { titles } from "../src/SourceKind.js"

const now = Date.UTC(2026, 0, 1)
const token = "AT-property-token-value-0123456789"

/** A field value of any JSON shape, the token among them. */
const value = fc.oneof(fc.jsonValue(), fc.constant(token), fc.constant([token]), fc.constant({ value: token }))

/** Token bodies: known fields with any values, any JSON, any text. */
const body = fc.oneof(
  fc.dictionary(
    fc.constantFrom("access_token", "expires_in", "expires_on", "token_type", "resource", "client_id", "mi_res_id"),
    value
  ).map((fields) => JSON.stringify(fields)),
  fc.record({ access_token: fc.constant(token), expires_in: value, expires_on: value }, { requiredKeys: [] })
    .map((fields) => JSON.stringify(fields)),
  fc.json(),
  fc.string()
)

describe("properties", () => {
  it.prop(
    "any success body is a token or an InvalidTokenResponse that names no value it received",
    { body, status: fc.integer({ min: 200, max: 299 }) },
    ({ body, status }) => {
      const result = Answer.token("Imds", { status, headers: {}, body, secrets: [] }, "https://vault.azure.net", now)
      if (result._tag === "Ok") {
        assert.isAbove(result.value.token.length, 0)
        assert.isAtMost(result.value.expiresOn - now, 365 * 24 * 3600 * 1000)
        return
      }
      assert.strictEqual(result.error._tag, "InvalidTokenResponse")
      assert.notInclude(Problem.messageOf(result.error) + JSON.stringify(result.error), token)
    },
    { fastCheck: { numRuns: 2000 } }
  )

  it.prop(
    "any error body is a TokenRequestFailed whose every field is scrubbed of the request's secret",
    { body: fc.oneof(body, fc.constant(token)), status: fc.integer({ min: 300, max: 599 }) },
    ({ body, status }) => {
      const result = Answer.token("AppService", { status, headers: {}, body, secrets: [token] }, "https://r", now)
      assert(result._tag === "Err" && result.error._tag === "TokenRequestFailed")
      assert.notInclude(Problem.messageOf(result.error) + JSON.stringify(result.error), token)
    },
    { fastCheck: { numRuns: 1000 } }
  )

  it.prop(
    "base64 claims decode as Effect's Encoding does (standard or URL-safe, padded or not)",
    { text: fc.oneof(fc.string(), fc.base64String(), fc.stringMatching(/^[-_A-Za-z0-9+/=\n\r ]{0,16}$/)) },
    ({ text }) => {
      const normalised = text.trim().replace(/\+/g, "-").replace(/\//g, "_")
      assert.strictEqual(Claims.decodeBase64(text), Either.getOrUndefined(Encoding.decodeBase64UrlString(normalised)))
    },
    { fastCheck: { numRuns: 5000 } }
  )

  it.prop(
    "any JWT-shaped token gives claims of the expected types or none, never an exception",
    { payload: fc.oneof(fc.json(), fc.string()) },
    ({ payload }) => {
      const claims = Claims.read(`header.${Encoding.encodeBase64Url(payload)}.signature`)
      if (claims === undefined) return
      for (const name of ["oid", "appid", "azp", "tid", "xms_mirid"] as const) {
        assert.include(["string", "undefined"], typeof claims[name])
      }
      for (const name of ["iat", "exp"] as const) {
        assert(claims[name] === undefined || Number.isSafeInteger(claims[name]))
      }
    },
    { fastCheck: { numRuns: 1000 } }
  )

  it.prop(
    "any environment is detected as one source, with the deciding rule first and no variable's value in the reasons",
    {
      set: fc.subarray([...Detection.variables]),
      value: fc.string({ minLength: 1 }).filter((text) => text.trim() !== "" && text.length > 6),
      platform: fc.constantFrom("linux", "win32", "darwin", "freebsd"),
      clientIdConfigured: fc.boolean(),
      exists: fc.boolean()
    },
    ({ clientIdConfigured, exists, platform, set, value }) => {
      const input: Detection.Input = {
        lookup: (name) => set.includes(name) ? `${value}-${name}` : undefined,
        clientIdConfigured,
        platform
      }
      const first = Detection.detect(input)
      const step = first._tag === "CheckFile"
        ? Detection.detect({ ...input, fileCheck: { _tag: "Exists", path: first.path, exists } })
        : first
      assert(step._tag === "Detected")
      assert(step.detection.reasons[0].startsWith(`${titles[step.detection.kind]}: `))
      assert.notInclude(step.detection.reasons.join(" "), `${value}-`)
    },
    { fastCheck: { numRuns: 1000 } }
  )

  it.prop(
    "any endpoint and secret setting is accepted or refused with a reason that shows no credential, query or secret",
    {
      url: fc.webUrl({ authoritySettings: { withUserInfo: true }, withQueryParameters: true, withFragments: true }),
      secret: fc.string()
    },
    ({ secret, url: generated }) => {
      // A marker no message template contains, so a user name like "name" cannot be mistaken for a leak.
      const parsed = new URL(generated)
      if (parsed.username !== "") parsed.username = `zq${parsed.username}`
      if (parsed.password !== "") parsed.password = `zq${parsed.password}`
      const url = parsed.href
      const hidden = [parsed.username, parsed.password, parsed.search, parsed.hash].filter((part) => part.length > 3)
      const results = [
        Endpoint.secretEndpoint("AppService", "IDENTITY_ENDPOINT", url, { pinned: false }),
        Endpoint.secretEndpoint("ServiceFabric", "IDENTITY_ENDPOINT", url, { pinned: true }),
        Endpoint.publicEndpoint("CloudShell", "MSI_ENDPOINT", url)
      ]
      for (const result of results) {
        if (result._tag === "Err") { for (const part of hidden) assert.notInclude(result.error.reason, part) }
      }
      const header = Endpoint.secretHeader("AppService", "IDENTITY_HEADER", secret)
      if (header._tag === "Err" && secret.length > 0) assert.notInclude(header.error.reason, secret)
    },
    { fastCheck: { numRuns: 1000 } }
  )
})
