/**
 * The success body every endpoint shares, checked without trusting it: `access_token`, a lifetime in one of the
 * accepted forms within a year, and optional text fields. What is wrong is said by field and expectation, never by the
 * value received (it may be token material).
 *
 * @since 0.1.0
 */
import * as Lifetime from "./Lifetime.js"
import * as Result from "./Result.js"
import { printable } from "./Text.js"

/**
 * A checked token body: lifetimes as seconds (`expires_on` as epoch seconds), the rest as sent.
 *
 * @since 0.1.0
 * @category models
 */
export interface TokenBody {
  readonly access_token: string
  readonly expires_in?: number | undefined
  readonly expires_on?: number | undefined
  readonly token_type?: string | undefined
  readonly resource?: string | undefined
  readonly client_id?: string | undefined
  readonly object_id?: string | undefined
  readonly msi_res_id?: string | undefined
  readonly mi_res_id?: string | undefined
}

/** The optional text fields, in the order they are checked. */
const textFields = ["token_type", "resource", "client_id", "object_id", "msi_res_id", "mi_res_id"] as const

const field = (name: string, text: string): string => `[${JSON.stringify(name)}]: ${text}`

const isRecord = (value: unknown): value is Readonly<Record<string, unknown>> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/**
 * Checks a parsed body field by field in a fixed order (`access_token`, `expires_in`, `expires_on`, then the text
 * fields) and stops at the first problem. Unknown fields are ignored.
 */
const check = (json: unknown): Result.Result<TokenBody, string> => {
  if (!isRecord(json)) return Result.err("expected a JSON object with access_token and expires_in or expires_on")
  if (!Object.hasOwn(json, "access_token")) return Result.err(field("access_token", "is missing"))
  const token = json.access_token
  if (typeof token !== "string" || token === "" || printable(token) !== token) {
    return Result.err(field("access_token", "expected a non-empty string without control characters"))
  }
  const body: Record<string, string | number> = { access_token: token }
  for (const [name, parse] of [["expires_in", Lifetime.seconds], ["expires_on", Lifetime.epochSeconds]] as const) {
    if (!Object.hasOwn(json, name)) continue
    const value = parse(json[name])
    if (value === undefined) return Result.err(field(name, "expected a number"))
    body[name] = value
  }
  for (const name of textFields) {
    if (!Object.hasOwn(json, name)) continue
    const value = json[name]
    if (typeof value !== "string") return Result.err(field(name, "expected a string"))
    body[name] = value
  }
  return Result.ok(body as unknown as TokenBody)
}

/** The latest time a `DateTime` (and so every line's token) can hold, in epoch milliseconds. */
const maxMillis = 8.64e15

/** The expiry of a checked body received at `now` (epoch milliseconds), or what is wrong with its lifetime. */
const expiryOf = (body: TokenBody, now: number): Result.Result<number, string> => {
  if (body.expires_in !== undefined) {
    return body.expires_in > Lifetime.maxLifetimeSeconds
      ? Result.err("expires_in is more than a year")
      : Result.ok(Math.floor(now / 1000 + body.expires_in) * 1000)
  }
  if (body.expires_on !== undefined) {
    return body.expires_on * 1000 - now > Lifetime.maxLifetimeSeconds * 1000
      ? Result.err("expires_on is more than a year after the token was received")
      : Result.ok(body.expires_on * 1000)
  }
  return Result.err("the body has neither expires_in nor expires_on")
}

const isDate = (millis: number): boolean => Number.isFinite(millis) && Math.abs(millis) <= maxMillis

/**
 * Reads a success body received at `now` (epoch milliseconds): the checked body and its expiry (epoch milliseconds),
 * or why it is not a token — the body is not JSON, a field has the wrong form (`["expires_in"]: expected a number`),
 * the lifetime is missing or ends more than a year after `now`.
 *
 * @since 0.1.0
 * @category parsing
 */
export const read = (
  text: string,
  now: number
): Result.Result<{ readonly body: TokenBody; readonly expiresOn: number }, string> => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return Result.err("the body is not JSON")
  }
  return Result.flatMap(check(json), (body) =>
    Result.flatMap(
      expiryOf(body, now),
      (expiresOn) => isDate(now) && isDate(expiresOn) ? Result.ok({ body, expiresOn }) : Result.err("no date")
    ))
}
