/**
 * A persisted token cache entry as text: `{"version": 1, "token": {"token", "tokenType", "resource", "expiresOn",
 * "refreshOn", "source"}}`, times as ISO 8601 strings (`refreshOn` `null` when there is none). Both Effect lines
 * read and write this form, so a cache one wrote the other reads.
 *
 * @since 0.1.0
 */
import * as Result from "./Result.js"

/**
 * The version of the entry format.
 *
 * @since 0.1.0
 * @category constants
 */
export const version = 1

/**
 * A stored token, times in epoch milliseconds.
 *
 * @since 0.1.0
 * @category models
 */
export interface StoredToken {
  readonly token: string
  readonly tokenType: string
  readonly resource: string
  readonly expiresOn: number
  readonly refreshOn: number | undefined
  readonly source: "identity_provider" | "cache"
}

/** A stored token lasting longer than this (from now) is refused: no endpoint issues one. */
const maxStoredLifetimeMillis = 366 * 24 * 60 * 60 * 1000

/**
 * The entry's text.
 *
 * @since 0.1.0
 * @category constructors
 */
export const encode = (token: StoredToken): string =>
  JSON.stringify({
    version,
    token: {
      token: token.token,
      tokenType: token.tokenType,
      resource: token.resource,
      expiresOn: new Date(token.expiresOn).toISOString(),
      refreshOn: token.refreshOn === undefined ? null : new Date(token.refreshOn).toISOString(),
      source: token.source
    }
  })

const isRecord = (value: unknown): value is Readonly<Record<string, unknown>> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const time = (value: unknown): number | undefined => {
  if (typeof value !== "string") return undefined
  const millis = Date.parse(value)
  return Number.isNaN(millis) ? undefined : millis
}

/**
 * Reads an entry's text at `now` (epoch milliseconds): the token, or why it is unusable — which field and what it
 * expected, never the value (it may be token material). An empty token, and one that expires more than a year from
 * now, are refused.
 *
 * @since 0.1.0
 * @category constructors
 */
export const decode = (text: string, now: number): Result.Result<StoredToken, string> => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return Result.err("the entry is not JSON")
  }
  if (!isRecord(json)) return Result.err("expected an object")
  if (json.version !== version) return Result.err(`["version"]: expected ${version}`)
  const token = json.token
  if (!isRecord(token)) return Result.err(`["token"]: expected an object`)
  const field = (name: string, expected: string) => Result.err(`["token"]["${name}"]: expected ${expected}`)
  for (const name of ["token", "tokenType", "resource"] as const) {
    if (typeof token[name] !== "string") return field(name, "a string")
  }
  const expiresOn = time(token.expiresOn)
  if (expiresOn === undefined) return field("expiresOn", "an ISO 8601 date")
  const refreshOn = token.refreshOn === null ? undefined : time(token.refreshOn)
  if (token.refreshOn !== null && refreshOn === undefined) return field("refreshOn", "an ISO 8601 date or null")
  if (token.source !== "identity_provider" && token.source !== "cache") {
    return field("source", `"identity_provider" or "cache"`)
  }
  if (token.token === "") return Result.err("the token is empty")
  if (expiresOn - now > maxStoredLifetimeMillis) return Result.err("the token expires more than a year from now")
  return Result.ok({
    token: token.token as string,
    tokenType: token.tokenType as string,
    resource: token.resource as string,
    expiresOn,
    refreshOn,
    source: token.source
  })
}
