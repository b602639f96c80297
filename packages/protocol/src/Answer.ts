/**
 * What an endpoint answered, read: a token from a success, the endpoint's own error from anything else, and the
 * limits every answer is held to (64 KiB, no redirect).
 *
 * @since 0.1.0
 */
import * as AnswerText from "./AnswerText.js"
import * as Lifetime from "./Lifetime.js"
import type * as Problem from "./Problem.js"
import * as Result from "./Result.js"
import * as Retry from "./Retry.js"
import type { SourceKind } from "./SourceKind.js"
import * as TokenBody from "./TokenBody.js"

/**
 * What came back from one exchange: the status, the headers (lower-case names), the whole body as text, and the
 * secrets the request carried (scrubbed from any text taken from the answer).
 *
 * @since 0.1.0
 * @category models
 */
export interface Answer {
  readonly status: number
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly body: string
  readonly secrets: ReadonlyArray<string>
}

/**
 * Response bodies larger than this are refused as invalid.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxBodyBytes = 64 * 1024

/**
 * Whether a body is framed by its `content-length`, within the limit, with no transfer or content coding that a client
 * may undo into more bytes: then reading it whole stays within the limit.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isFramedByLength = (headers: Readonly<Record<string, string | undefined>>): boolean => {
  const length = headers["content-length"]
  const coding = headers["content-encoding"]
  return length !== undefined && /^\d{1,5}$/.test(length) && Number(length) <= maxBodyBytes &&
    headers["transfer-encoding"] === undefined && (coding === undefined || coding.trim().toLowerCase() === "identity")
}

/**
 * Whether the declared `content-length` is over the limit, so the body is refused unread.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isDeclaredTooLarge = (headers: Readonly<Record<string, string | undefined>>): boolean => {
  const declared = Number(headers["content-length"])
  return Number.isFinite(declared) && declared > maxBodyBytes
}

/**
 * A body over the limit.
 *
 * @since 0.1.0
 * @category constructors
 */
export const tooLarge = (kind: SourceKind, status: number): Problem.InvalidTokenResponse => ({
  _tag: "InvalidTokenResponse",
  source: kind,
  status,
  reason: `the response body is larger than ${maxBodyBytes} bytes`
})

/**
 * A redirect answer, refused unread: never followed, never retried.
 *
 * @since 0.1.0
 * @category constructors
 */
export const redirected = (kind: SourceKind, status: number): Problem.TokenRequestFailed => ({
  _tag: "TokenRequestFailed",
  source: kind,
  status,
  description: "the endpoint answered with a redirect, and identity requests never follow one"
})

/**
 * An answer an HTTP client reached by following a redirect on its own, refused.
 *
 * @since 0.1.0
 * @category constructors
 */
export const redirectFollowed = (kind: SourceKind, status: number): Problem.TokenRequestFailed => ({
  _tag: "TokenRequestFailed",
  source: kind,
  status,
  description: "the HTTP client followed a redirect, and identity requests never do: the answer is refused"
})

/**
 * Whether the status is a redirect (`3xx`).
 *
 * @since 0.1.0
 * @category predicates
 */
export const isRedirect = (status: number): boolean => status >= 300 && status <= 399

/**
 * Whether the status is a success (`2xx`).
 *
 * @since 0.1.0
 * @category predicates
 */
export const isSuccess = (status: number): boolean => status >= 200 && status <= 299

/** The endpoint's own error, whatever shape it came in. */
interface ErrorDetail {
  readonly error?: string | undefined
  readonly description?: string | undefined
  readonly correlationId?: string | undefined
  readonly traceId?: string | undefined
}

const serviceFabricCodes: Readonly<Record<string, string>> = {
  SecretHeaderNotFound: "unauthorized_client",
  ManagedIdentityNotFound: "invalid_client",
  ArgumentNullOrEmpty: "invalid_scope"
}

const isRecord = (value: unknown): value is Readonly<Record<string, unknown>> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** Absent, or a string. */
const optionalString = (record: Readonly<Record<string, unknown>>, key: string): boolean =>
  !Object.hasOwn(record, key) || typeof record[key] === "string"

const text = (record: Readonly<Record<string, unknown>>, key: string): string | undefined =>
  Object.hasOwn(record, key) ? record[key] as string : undefined

/**
 * The fields of a known error body: Service Fabric's `{"error": {"code", "message"?, "correlationId"?}}` (its code
 * mapped to OAuth's), OAuth's `{"error", "error_description"?, "correlation_id"?, "trace_id"?}`, App Service's
 * `{"statusCode"?, "message"}` (only the message: its status code repeats the HTTP status). Tried in that order.
 */
const knownShape = (json: unknown): ErrorDetail | undefined => {
  if (!isRecord(json)) return undefined
  const inner = json.error
  if (
    isRecord(inner) && typeof inner.code === "string" && optionalString(inner, "message") &&
    optionalString(inner, "correlationId")
  ) {
    const message = text(inner, "message")
    return {
      error: Object.hasOwn(serviceFabricCodes, inner.code) ? serviceFabricCodes[inner.code] : "invalid_request",
      description: message === undefined ? inner.code : `${inner.code}: ${message}`,
      correlationId: text(inner, "correlationId")
    }
  }
  if (
    typeof inner === "string" && optionalString(json, "error_description") && optionalString(json, "correlation_id") &&
    optionalString(json, "trace_id")
  ) {
    return {
      error: inner,
      description: text(json, "error_description"),
      correlationId: text(json, "correlation_id"),
      traceId: text(json, "trace_id")
    }
  }
  if (
    typeof json.message === "string" && (!Object.hasOwn(json, "statusCode") || typeof json.statusCode === "number")
  ) {
    return { description: json.message }
  }
  return undefined
}

/** The fields of an error body as it holds them: a known shape's, else its text (see `AnswerText.excerpt`). */
const errorFields = (body: string): ErrorDetail => {
  let json: unknown
  try {
    json = JSON.parse(body)
  } catch {
    return { description: AnswerText.excerpt(body) }
  }
  return knownShape(json) ?? { description: AnswerText.excerpt(body) }
}

/**
 * The problem of a non-2xx answer received at `now` (epoch milliseconds): the endpoint's own error code, text and
 * request ids, every field scrubbed of the request's secrets (`AnswerText.scrub`), and its `Retry-After`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const failed = (kind: SourceKind, answer: Answer, now: number): Problem.TokenRequestFailed => {
  const detail = errorFields(answer.body)
  const scrubbed = (value: string | undefined) =>
    value === undefined ? undefined : AnswerText.scrub(answer.secrets, value)
  return {
    _tag: "TokenRequestFailed",
    source: kind,
    status: answer.status,
    error: scrubbed(detail.error),
    description: scrubbed(detail.description),
    correlationId: scrubbed(detail.correlationId),
    traceId: scrubbed(detail.traceId),
    retryAfter: Retry.parseRetryAfter(answer.headers["retry-after"], now)
  }
}

/**
 * A token as an endpoint issued it: times in epoch milliseconds, `refreshOn` set for lifetimes of at least 7200 s,
 * and the body it came in (Azure Arc checks its identity echo).
 *
 * @since 0.1.0
 * @category models
 */
export interface Token {
  readonly token: string
  readonly tokenType: string
  readonly resource: string
  readonly issuedAt: number
  readonly expiresOn: number
  readonly refreshOn: number | undefined
  readonly body: TokenBody.TokenBody
}

/**
 * The token of an answer received at `now` (epoch milliseconds) to a request for `resource`: a `2xx` whose body is a
 * token (`TokenBody.read`), else the `TokenRequestFailed` of an error answer or the `InvalidTokenResponse` of a body
 * that is not a token. `resource` and `tokenType` default to the requested resource and `Bearer`.
 *
 * @since 0.1.0
 * @category parsing
 */
export const token = (
  kind: SourceKind,
  answer: Answer,
  resource: string,
  now: number
): Result.Result<Token, Problem.TokenRequestFailed | Problem.InvalidTokenResponse> => {
  if (!isSuccess(answer.status)) return Result.err(failed(kind, answer, now))
  const read = TokenBody.read(answer.body, now)
  if (read._tag === "Err") {
    return Result.err({ _tag: "InvalidTokenResponse", source: kind, status: answer.status, reason: read.error })
  }
  const { body, expiresOn } = read.value
  return Result.ok({
    token: body.access_token,
    tokenType: body.token_type ?? "Bearer",
    resource: body.resource ?? resource,
    issuedAt: now,
    expiresOn,
    refreshOn: Lifetime.refreshOn(now, expiresOn),
    body
  })
}
