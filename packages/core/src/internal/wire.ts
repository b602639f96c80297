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
import type { SourceKind } from "./sourceKind.js"
import type { Received } from "./transport.js"

const numeric = /^\s*-?\d+(\.\d+)?\s*$/
const msalDate = /^(\d{2})\/(\d{2})\/(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2}):(\d{2})$/

const parseMsalDate = (text: string): number | undefined => {
  const match = msalDate.exec(text.trim())
  if (match === null) return undefined
  const [, month, day, year, hours, minutes, seconds, sign, offsetHours, offsetMinutes] = match
  const utc = Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hours), Number(minutes), Number(seconds))
  const offset = (Number(offsetHours) * 60 + Number(offsetMinutes)) * 60_000 * (sign === "-" ? -1 : 1)
  return (utc - offset) / 1000
}

/** Seconds as a JSON number or a numeric string (`"86399"`). Failure messages never echo the value. */
const Seconds = Schema.transformOrFail(Schema.Union(Schema.Number, Schema.String), Schema.Number, {
  strict: true,
  decode: (value, _, ast) =>
    typeof value === "number" && Number.isFinite(value)
      ? ParseResult.succeed(value)
      : typeof value === "string" && numeric.test(value)
      ? ParseResult.succeed(Number(value))
      : ParseResult.fail(new ParseResult.Type(ast, value, "expected a number of seconds")),
  encode: ParseResult.succeed
}).annotations({ message: () => "expected a number of seconds" })

/**
 * An absolute expiry in epoch seconds: a number, a numeric string, an ISO-8601 date or App Service's
 * `MM/DD/YYYY HH:MM:SS +00:00`.
 */
const EpochSeconds = Schema.transformOrFail(Schema.Union(Schema.Number, Schema.String), Schema.Number, {
  strict: true,
  decode: (value, _, ast) => {
    if (typeof value === "number" && Number.isFinite(value)) return ParseResult.succeed(value)
    if (typeof value === "string") {
      if (numeric.test(value)) return ParseResult.succeed(Number(value))
      const parsed = parseMsalDate(value) ??
        Option.getOrUndefined(Option.map(DateTime.make(value.trim()), (date) => date.epochMillis / 1000))
      if (parsed !== undefined && Number.isFinite(parsed)) return ParseResult.succeed(parsed)
    }
    return ParseResult.fail(new ParseResult.Type(ast, value, "expected epoch seconds or a date"))
  },
  encode: ParseResult.succeed
}).annotations({ message: () => "expected epoch seconds or a date" })

const optionalText = (name: string) =>
  Schema.optional(Schema.String.annotations({ message: () => `${name} must be a string` }))

/** The success body every endpoint shares (fields beyond the token are optional and source specific). */
const TokenBody = Schema.Struct({
  access_token: Schema.String.pipe(Schema.nonEmptyString()).annotations({
    message: () => "access_token must be a non-empty string"
  }),
  expires_in: Schema.optional(Seconds),
  expires_on: Schema.optional(EpochSeconds),
  token_type: optionalText("token_type"),
  resource: optionalText("resource"),
  client_id: optionalText("client_id"),
  object_id: optionalText("object_id"),
  msi_res_id: optionalText("msi_res_id"),
  mi_res_id: optionalText("mi_res_id")
}).annotations({ message: () => "expected a JSON object with access_token and expires_in or expires_on" })

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

const decodeErrorBody = Schema.decodeUnknownOption(
  Schema.Union(ServiceFabricErrorBody, OAuthErrorBody, AppServiceErrorBody)
)

const excerpt = (text: string): string | undefined => {
  const trimmed = text.trim()
  return trimmed === "" ? undefined : trimmed.length > 500 ? `${trimmed.slice(0, 500)}…` : trimmed
}

/** Reads an error body: OAuth, App Service and Service Fabric shapes (mapped to OAuth codes), else its text. */
const errorDetail = (body: string): ErrorDetail => {
  let json: unknown
  try {
    json = JSON.parse(body)
  } catch {
    return { description: excerpt(body) }
  }
  return Option.match(decodeErrorBody(json), {
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

const decodeTokenBody = Schema.decodeUnknownEither(TokenBody)

const issues = (error: ParseResult.ParseError): string =>
  ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) =>
    issue.path.length === 0 ? issue.message : `${issue.path.join(".")}: ${issue.message}`
  ).join("; ")

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
    const decoded = decodeTokenBody(json)
    if (Either.isLeft(decoded)) return invalid(issues(decoded.left))
    const body = decoded.right
    const expiresOnSeconds = body.expires_in !== undefined ? now / 1000 + body.expires_in : body.expires_on
    if (expiresOnSeconds === undefined) return invalid("the body has neither expires_in nor expires_on")
    return Effect.succeed({
      body,
      token: TokenSource.issuedToken({
        token: Redacted.make(body.access_token),
        tokenType: body.token_type,
        resource: body.resource ?? resource,
        issuedAt: DateTime.unsafeMake(now),
        expiresOn: DateTime.unsafeMake(Math.floor(expiresOnSeconds) * 1000)
      })
    })
  })
