import * as Clock from "effect/Clock"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import {
  InvalidTokenResponse,
  type ManagedIdentityError,
  printable,
  TokenRequestFailed
} from "../ManagedIdentityError.js"
import * as RetryPolicy from "../RetryPolicy.js"
import * as TokenSource from "../TokenSource.js"
import * as Issues from "./issues.js"
import * as Lazy from "./lazy.js"
import * as Lifetime from "./lifetime.js"
import type { SourceKind } from "./sourceKind.js"
import type { Received } from "./transport.js"

const optionalText = Schema.optional(Schema.String)

/** The success body every endpoint shares (fields beyond the token are optional and source specific). */
const TokenBody = Schema.Struct({
  access_token: Schema.String.pipe(
    Schema.nonEmptyString(),
    Schema.filter((token) => printable(token) === token)
  ).annotations({ description: "a non-empty string without control characters" }),
  expires_in: Schema.optional(Lifetime.Seconds),
  expires_on: Schema.optional(Lifetime.EpochSeconds),
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

/** Answer text kept in an error field is cut to this many characters. */
const maxAnswerText = 2048

/** Shortest run of a secret's characters that is scrubbed where an answer echoes only part of it. */
const minFragment = 32

/** The forms in which an answer may echo `secret`: as sent, percent- or form-encoded, JSON-escaped. */
const echoForms = (secret: string): ReadonlyArray<string> => [
  ...new Set([
    secret,
    encodeURIComponent(secret),
    new URLSearchParams({ _: secret }).toString().slice(2),
    JSON.stringify(secret).slice(1, -1)
  ])
]

/**
 * `text` with every run of at least `min(32, length)` characters that also occurs in `form` replaced by
 * `<redacted>`: the whole of it, or a part an answer cut out of it.
 */
const scrubForm = (text: string, form: string): string => {
  const window = Math.min(minFragment, form.length)
  if (window === 0 || text.length < window) return text
  const pieces = new Set<string>()
  for (let start = 0; start + window <= form.length; start++) pieces.add(form.slice(start, start + window))
  const covered = new Uint8Array(text.length)
  let found = false
  for (let start = 0; start + window <= text.length; start++) {
    if (pieces.has(text.slice(start, start + window))) {
      covered.fill(1, start, start + window)
      found = true
    }
  }
  if (!found) return text
  let scrubbed = ""
  for (let index = 0; index < text.length; index++) {
    if (covered[index] === 0) scrubbed += text[index]
    else if (index === 0 || covered[index - 1] === 0) scrubbed += "<redacted>"
  }
  return scrubbed
}

/**
 * Text taken from `received` for an error field: every secret its request carried scrubbed out (whole, encoded, or
 * any run of 32 of its characters), then cut to 2048 characters. Every field an answer fills goes through here.
 */
export const answerText = (received: Received, text: string): string => {
  const scrubbed = received.secrets.reduce(
    (current, secret) => echoForms(Redacted.value(secret)).reduce(scrubForm, current),
    text
  )
  return scrubbed.length > maxAnswerText ? `${scrubbed.slice(0, maxAnswerText)}…` : scrubbed
}

/**
 * An error body that is not a known error shape: plain text (a server's or proxy's own words) is shown; JSON, or
 * what looks like it, is not, since it may hold anything, a token included.
 */
const excerpt = (text: string): string | undefined => {
  const trimmed = text.trim()
  if (trimmed === "") return undefined
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) return "the body is JSON in no known error shape (not shown)"
  return trimmed
}

/** The fields of an error body as it holds them: a known shape's (Service Fabric's codes mapped), else its text. */
const errorFields = (body: string): ErrorDetail => {
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
          error: Object.hasOwn(serviceFabricCodes, code) ? serviceFabricCodes[code] : "invalid_request",
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
      // App Service's `statusCode` repeats the HTTP status: it is no OAuth error code, so only the message is kept.
      return { description: (decoded as typeof AppServiceErrorBody.Type).message }
    }
  })
}

/**
 * Reads an error body: OAuth, App Service and Service Fabric shapes (mapped to OAuth codes), else plain text (see
 * {@link excerpt}). Every field taken from it goes through {@link answerText}.
 */
const errorDetail = (received: Received): ErrorDetail => {
  const detail = errorFields(received.body)
  const text = (value: string | undefined) => value === undefined ? undefined : answerText(received, value)
  return {
    error: text(detail.error),
    description: text(detail.description),
    correlationId: text(detail.correlationId),
    traceId: text(detail.traceId)
  }
}

/** The typed error for a non-2xx answer, with the endpoint's own error code, text and `Retry-After`. */
export const failedAnswer = (kind: SourceKind, received: Received, now: number): TokenRequestFailed =>
  new TokenRequestFailed({
    source: kind,
    status: received.status,
    ...errorDetail(received),
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
    return body.expires_in > Lifetime.maxLifetimeSeconds
      ? Either.left("expires_in is more than a year")
      : Either.right(Math.floor(now / 1000 + body.expires_in) * 1000)
  }
  if (body.expires_on !== undefined) {
    return body.expires_on * 1000 - now > Lifetime.maxLifetimeSeconds * 1000
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
