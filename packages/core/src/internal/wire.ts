import * as Clock from "effect/Clock"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { InvalidTokenResponse, type ManagedIdentityError, TokenRequestFailed } from "../ManagedIdentityError.js"
import * as RetryPolicy from "../RetryPolicy.js"
import * as TokenSource from "../TokenSource.js"
import * as Issues from "./issues.js"
import * as Lazy from "./lazy.js"
import type { SourceKind } from "./sourceKind.js"
import type { Received } from "./transport.js"

/**
 * The longest lifetime accepted: an expiry more than a year after issue is not a token (a millisecond timestamp read
 * as seconds lands there).
 */
export const maxLifetimeSeconds = 365 * 24 * 60 * 60

const digitString = /^\d+$/
const isoDate = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/
const appServiceDate = /^(\d{2})\/(\d{2})\/(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2}):(\d{2})$/

/** Days from 1970-01-01 to a proleptic Gregorian date (integer arithmetic, no `Date`). */
const daysFromCivil = (year: number, month: number, day: number): number => {
  const y = month <= 2 ? year - 1 : year
  const era = Math.floor(y / 400)
  const yearOfEra = y - era * 400
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear
  return era * 146097 + dayOfEra - 719468
}

const daysInMonth = (year: number, month: number): number =>
  month === 2
    ? (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28
    : [4, 6, 9, 11].includes(month)
    ? 30
    : 31

/** Epoch seconds of a calendar date and time at an offset, if every field is in range. */
const epochSecondsOf = (fields: {
  readonly year: string
  readonly month: string
  readonly day: string
  readonly hours: string
  readonly minutes: string
  readonly seconds: string
  readonly offsetSign: string
  readonly offsetHours: string
  readonly offsetMinutes: string
}): number | undefined => {
  const [year, month, day, hours, minutes, seconds, offsetHours, offsetMinutes] = [
    fields.year,
    fields.month,
    fields.day,
    fields.hours,
    fields.minutes,
    fields.seconds,
    fields.offsetHours,
    fields.offsetMinutes
  ].map(Number)
  const valid = month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month) && hours <= 23 &&
    minutes <= 59 && seconds <= 59 && offsetHours <= 23 && offsetMinutes <= 59
  if (!valid) return undefined
  const offset = (offsetHours * 60 + offsetMinutes) * 60 * (fields.offsetSign === "-" ? -1 : 1)
  return daysFromCivil(year, month, day) * 86400 + hours * 3600 + minutes * 60 + seconds - offset
}

/** `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, fraction dropped. */
const parseIsoDate = (text: string): number | undefined => {
  const match = isoDate.exec(text)
  if (match === null) return undefined
  const [, year, month, day, hours, minutes, seconds, zulu, sign, offsetHours, offsetMinutes] = match
  return epochSecondsOf({
    year,
    month,
    day,
    hours,
    minutes,
    seconds,
    offsetSign: zulu === undefined ? sign : "+",
    offsetHours: zulu === undefined ? offsetHours : "00",
    offsetMinutes: zulu === undefined ? offsetMinutes : "00"
  })
}

/** Older App Service versions: `MM/DD/YYYY HH:MM:SS ±HH:MM`. */
const parseAppServiceDate = (text: string): number | undefined => {
  const match = appServiceDate.exec(text)
  if (match === null) return undefined
  const [, month, day, year, hours, minutes, seconds, offsetSign, offsetHours, offsetMinutes] = match
  return epochSecondsOf({ year, month, day, hours, minutes, seconds, offsetSign, offsetHours, offsetMinutes })
}

/** A non-negative whole number as a JSON integer or a string of digits; how large it may be is checked later. */
const wholeNumber = (value: unknown): number | undefined =>
  typeof value === "number"
    ? Number.isSafeInteger(value) && value >= 0 ? value : undefined
    : typeof value === "string" && digitString.test(value)
    ? Number(value)
    : undefined

/** `expires_in`: whole seconds, a JSON integer or a digit string (`"86399"`). */
const Seconds = Schema.transformOrFail(Schema.Unknown, Schema.Number, {
  strict: true,
  decode: (value, _, ast) => {
    const seconds = wholeNumber(value)
    return seconds === undefined
      ? ParseResult.fail(Issues.fail(ast, value, "expected whole seconds: a JSON integer or a string of digits"))
      : ParseResult.succeed(seconds)
  },
  encode: ParseResult.succeed
})

/**
 * `expires_on`, as epoch seconds: a JSON integer or a digit string, an ISO-8601 date with seconds and an offset, or
 * App Service's `MM/DD/YYYY HH:MM:SS ±HH:MM`; every date field must be in range.
 */
const EpochSeconds = Schema.transformOrFail(Schema.Unknown, Schema.Number, {
  strict: true,
  decode: (value, _, ast) => {
    const seconds = wholeNumber(value) ??
      (typeof value === "string" ? parseIsoDate(value) ?? parseAppServiceDate(value) : undefined)
    return seconds === undefined
      ? ParseResult.fail(
        Issues.fail(
          ast,
          value,
          "expected epoch seconds (a JSON integer or a string of digits), an ISO-8601 date or MM/DD/YYYY HH:MM:SS ±HH:MM"
        )
      )
      : ParseResult.succeed(seconds)
  },
  encode: ParseResult.succeed
})

const optionalText = Schema.optional(Schema.String)

/** The success body every endpoint shares (fields beyond the token are optional and source specific). */
const TokenBody = Schema.Struct({
  access_token: Schema.String.pipe(Schema.nonEmptyString()).annotations({ description: "a non-empty string" }),
  expires_in: Schema.optional(Seconds),
  expires_on: Schema.optional(EpochSeconds),
  token_type: optionalText,
  resource: optionalText,
  client_id: optionalText,
  object_id: optionalText,
  msi_res_id: optionalText,
  mi_res_id: optionalText
}).annotations({ description: "a JSON object with access_token and expires_in or expires_on" })

export type TokenBody = typeof TokenBody.Type

/** OAuth error body (IMDS, Azure Arc, Cloud Shell, Azure ML; Entra adds `trace_id` and `error_codes`). */
const OAuthErrorBody = Schema.Struct({
  error: Schema.String,
  error_description: Schema.optional(Schema.String),
  correlation_id: Schema.optional(Schema.String),
  trace_id: Schema.optional(Schema.String)
})

/** App Service error body. */
const AppServiceErrorBody = Schema.Struct({
  statusCode: Schema.optional(Schema.Number),
  message: Schema.String
})

/** Service Fabric error body. */
const ServiceFabricErrorBody = Schema.Struct({
  error: Schema.Struct({
    code: Schema.String,
    message: Schema.optional(Schema.String),
    correlationId: Schema.optional(Schema.String)
  })
})

const serviceFabricCodes: Record<string, string> = {
  SecretHeaderNotFound: "unauthorized_client",
  ManagedIdentityNotFound: "invalid_client",
  ArgumentNullOrEmpty: "invalid_scope"
}

/** The endpoint's own error, whatever shape it came in. */
interface ErrorDetail {
  readonly error?: string | undefined
  readonly description?: string | undefined
  readonly correlationId?: string | undefined
  readonly traceId?: string | undefined
}

const decodeErrorBody = Lazy.lazy(() =>
  Schema.decodeUnknownOption(Schema.Union(ServiceFabricErrorBody, OAuthErrorBody, AppServiceErrorBody))
)

/**
 * An error body that is not a known error shape: plain text (a server's or proxy's own words) is shown, up to 500
 * characters; JSON, or what looks like it, is not, since it may hold anything, a token included.
 */
const excerpt = (text: string): string | undefined => {
  const trimmed = text.trim()
  if (trimmed === "") return undefined
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) return "the body is JSON in no known error shape (not shown)"
  return trimmed.length > 500 ? `${trimmed.slice(0, 500)}…` : trimmed
}

/**
 * Reads an error body: OAuth, App Service and Service Fabric shapes (mapped to OAuth codes), else plain text (see
 * {@link excerpt}).
 */
const errorDetail = (body: string): ErrorDetail => {
  let json: unknown
  try {
    json = JSON.parse(body)
  } catch {
    return { description: excerpt(body) }
  }
  return Option.match(decodeErrorBody()(json), {
    onNone: () => ({ description: excerpt(body) }),
    onSome: (decoded): ErrorDetail => {
      if ("error" in decoded && typeof decoded.error === "object") {
        const { code, correlationId, message } = decoded.error as typeof ServiceFabricErrorBody.Type["error"]
        return {
          error: serviceFabricCodes[code] ?? "invalid_request",
          description: message === undefined ? code : `${code}: ${message}`,
          correlationId
        }
      }
      if ("error_description" in decoded || "correlation_id" in decoded || "error" in decoded) {
        const oauth = decoded as typeof OAuthErrorBody.Type
        return {
          error: oauth.error,
          description: oauth.error_description,
          correlationId: oauth.correlation_id,
          traceId: oauth.trace_id
        }
      }
      const appService = decoded as typeof AppServiceErrorBody.Type
      return {
        error: appService.statusCode === undefined ? undefined : String(appService.statusCode),
        description: appService.message
      }
    }
  })
}

/** The typed error for a non-2xx answer, with the endpoint's own error code, text and `Retry-After`. */
export const failedAnswer = (kind: SourceKind, received: Received, now: number): TokenRequestFailed =>
  new TokenRequestFailed({
    source: kind,
    status: received.status,
    ...errorDetail(received.body),
    retryAfter: RetryPolicy.parseRetryAfter(received.headers["retry-after"], now)
  })

/** A decoded success: the token and the body it came in (Azure Arc checks the body's identity echo). */
export interface DecodedAnswer {
  readonly token: TokenSource.IssuedToken
  readonly body: TokenBody
}

const decodeTokenBody = Lazy.lazy(() => Schema.decodeUnknownEither(TokenBody))

/** The expiry of a decoded body received at `now` (epoch milliseconds), or what is wrong with its lifetime. */
const expiryOf = (body: TokenBody, now: number): Either.Either<number, string> => {
  if (body.expires_in !== undefined) {
    return body.expires_in > maxLifetimeSeconds
      ? Either.left("expires_in is more than a year")
      : Either.right(Math.floor(now / 1000 + body.expires_in) * 1000)
  }
  if (body.expires_on !== undefined) {
    return body.expires_on * 1000 - now > maxLifetimeSeconds * 1000
      ? Either.left("expires_on is more than a year after the token was received")
      : Either.right(body.expires_on * 1000)
  }
  return Either.left("the body has neither expires_in nor expires_on")
}

/** Turns a received answer into a token (2xx) or a `TokenRequestFailed` carrying the endpoint's error. */
export const decodeAnswer = (
  kind: SourceKind,
  received: Received,
  resource: string
): Effect.Effect<DecodedAnswer, ManagedIdentityError> =>
  Effect.flatMap(Clock.currentTimeMillis, (now): Effect.Effect<DecodedAnswer, ManagedIdentityError> => {
    if (received.status < 200 || received.status > 299) return Effect.fail(failedAnswer(kind, received, now))
    const invalid = (reason: string) =>
      Effect.fail(new InvalidTokenResponse({ source: kind, status: received.status, reason }))
    let json: unknown
    try {
      json = JSON.parse(received.body)
    } catch {
      return invalid("the body is not JSON")
    }
    const decoded = decodeTokenBody()(json)
    if (Either.isLeft(decoded)) return invalid(Issues.describe(decoded.left.issue))
    const body = decoded.right
    const expiry = Either.flatMap(
      expiryOf(body, now),
      (millis) => Either.fromOption(Option.all([DateTime.make(now), DateTime.make(millis)]), () => "no date")
    )
    if (Either.isLeft(expiry)) return invalid(expiry.left)
    const [issuedAt, expiresOn] = expiry.right
    return Effect.succeed({
      body,
      token: TokenSource.issuedToken({
        token: Redacted.make(body.access_token),
        tokenType: body.token_type,
        resource: body.resource ?? resource,
        issuedAt,
        expiresOn
      })
    })
  })
