import { assert, describe, it } from "@effect/vitest"
import * as CacheEntry from "../src/CacheEntry.js"

const now = Date.parse("2026-12-06T12:00:00.000Z")
const token: CacheEntry.StoredToken = {
  token: "secret-token",
  tokenType: "Bearer",
  resource: "https://vault.azure.net",
  expiresOn: now + 3_600_000,
  refreshOn: now + 1_800_000,
  source: "cache"
}

describe("CacheEntry", () => {
  it("encodes the version, the token and ISO times, and decodes it back", () => {
    const text = CacheEntry.encode(token)
    assert.deepStrictEqual(JSON.parse(text), {
      version: 1,
      token: {
        token: "secret-token",
        tokenType: "Bearer",
        resource: "https://vault.azure.net",
        expiresOn: "2026-12-06T13:00:00.000Z",
        refreshOn: "2026-12-06T12:30:00.000Z",
        source: "cache"
      }
    })
    assert.deepStrictEqual(CacheEntry.decode(text, now), { _tag: "Ok", value: token })
    const withoutRefresh = { ...token, refreshOn: undefined }
    assert.include(CacheEntry.encode(withoutRefresh), `"refreshOn":null`)
    assert.deepStrictEqual(CacheEntry.decode(CacheEntry.encode(withoutRefresh), now), {
      _tag: "Ok",
      value: withoutRefresh
    })
  })

  const entry = (fields: Record<string, unknown>, version: unknown = 1) =>
    JSON.stringify({ version, token: { ...JSON.parse(CacheEntry.encode(token)).token, ...fields } })
  const refused: ReadonlyArray<readonly [string, string, string]> = [
    ["text that is not JSON", "{", "the entry is not JSON"],
    ["an array", "[]", "expected an object"],
    ["another version", entry({}, 2), `["version"]: expected 1`],
    ["no token object", JSON.stringify({ version: 1 }), `["token"]: expected an object`],
    ["a number token", entry({ token: 1 }), `["token"]["token"]: expected a string`],
    ["a date that is not one", entry({ expiresOn: "soon" }), `["token"]["expiresOn"]: expected an ISO 8601 date`],
    ["a numeric refreshOn", entry({ refreshOn: 5 }), `["token"]["refreshOn"]: expected an ISO 8601 date or null`],
    ["an unknown origin", entry({ source: "x" }), `["token"]["source"]: expected "identity_provider" or "cache"`],
    ["an empty token", entry({ token: "" }), "the token is empty"],
    [
      "a token for two years",
      entry({ expiresOn: "2028-12-06T12:00:00.000Z" }),
      "the token expires more than a year from now"
    ]
  ]
  for (const [name, text, reason] of refused) {
    it(`refuses ${name}, never echoing the token`, () => {
      const result = CacheEntry.decode(text, now)
      assert.deepStrictEqual(result, { _tag: "Err", error: reason })
      assert.notInclude(reason, "secret-token")
    })
  }
})
