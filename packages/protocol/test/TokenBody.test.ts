import { assert, describe, it } from "@effect/vitest"
import * as Answer from "../src/Answer.js"
import * as Problem from "../src/Problem.js"

const now = Date.UTC(2026, 0, 1)
const nowSeconds = now / 1000
const tokenValue = "AT-wire-secret-token-value"
const year = 365 * 24 * 3600

/** Reads `body` (JSON text) as a 200 from IMDS received at `at`. */
const read = (body: string, at = now) =>
  Answer.token("Imds", { status: 200, headers: {}, body, secrets: [] }, "https://vault.azure.net", at)

const withLifetime = (fields: Record<string, unknown>) => JSON.stringify({ access_token: tokenValue, ...fields })

/** `[ … ]` nested `depth` deep, as text (building it as a value and stringifying it would itself overflow). */
const deepArray = (depth: number) => "[".repeat(depth) + "]".repeat(depth)

/** Reading must fail with an InvalidTokenResponse whose every rendering names `field` and holds no `secret`. */
const expectInvalid = (body: string, field: RegExp, secret = tokenValue) => {
  const result = read(body)
  assert(result._tag === "Err", `not a failure: ${JSON.stringify(result)}`)
  const problem = result.error
  assert(problem._tag === "InvalidTokenResponse")
  assert.match(problem.reason, field)
  for (const rendering of [Problem.messageOf(problem), JSON.stringify(problem)]) {
    assert.notInclude(rendering, secret)
  }
  return problem
}

describe("token bodies", () => {
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
      it(name, () => {
        const result = read(withLifetime(fields))
        assert(result._tag === "Ok", JSON.stringify(result))
        assert.strictEqual(result.value.expiresOn, expiresOn)
      })
    }

    it("February 29th of a leap year, in both date forms", () => {
      const leapDay = Date.UTC(2028, 1, 29)
      for (const expires_on of ["2028-02-29T00:00:00Z", "02/29/2028 00:00:00 +00:00"]) {
        const result = read(withLifetime({ expires_on }), leapDay - 86400_000)
        assert(result._tag === "Ok", JSON.stringify(result))
        assert.strictEqual(result.value.expiresOn, leapDay)
      }
    })

    it("a lifetime of 7200 s or more gets refreshOn at half the lifetime; a shorter one none", () => {
      const long = read(withLifetime({ expires_in: 7200 }))
      const short = read(withLifetime({ expires_in: 7199 }))
      assert(long._tag === "Ok" && short._tag === "Ok")
      assert.strictEqual(long.value.refreshOn, now + 3600_000)
      assert.isUndefined(short.value.refreshOn)
    })
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
      it(name, () => {
        expectInvalid(withLifetime(fields), field)
      })
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
      it(name, () => {
        expectInvalid(withLifetime(fields), /expires_(in|on)/)
      })
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
      it(`${name} nested ${depth} deep: InvalidTokenResponse, not a RangeError`, () => {
        expectInvalid(body, reason)
      })
    }

    it("an object-valued access_token holding the token: the message shows neither", () => {
      const problem = expectInvalid(
        JSON.stringify({ access_token: { value: tokenValue }, expires_in: 3600 }),
        /^\["access_token"\]: expected a non-empty string without control characters$/
      )
      assert.notInclude(Problem.messageOf(problem), "value")
    })

    it("a token_type holding token material is not echoed either", () => {
      expectInvalid(
        JSON.stringify({ access_token: tokenValue, token_type: [tokenValue], expires_in: 3600 }),
        /^\["token_type"\]: expected a string$/
      )
    })
  })
})
