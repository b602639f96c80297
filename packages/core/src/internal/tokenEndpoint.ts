import * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Random from "effect/Random"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type * as ManagedIdentity from "../ManagedIdentity.js"
import {
  ConnectionFailed,
  InvalidIdentity,
  InvalidTokenResponse,
  type ManagedIdentityError,
  ServiceFabricCertificateMismatch,
  SourceUnavailable,
  Timeout,
  TokenRequestFailed
} from "../ManagedIdentityError.js"
import * as RetryPolicy from "../RetryPolicy.js"
import type { TokenRequest } from "../TokenRequest.js"
import * as TokenSource from "../TokenSource.js"
import * as Lazy from "./lazy.js"
import * as Metrics from "./metrics.js"
import * as Wire from "./wire.js"

/** The version this library reports in `User-Agent`. */
export const userAgent = "managed-identity/0.1.0 (@managed-identity/core)"

/** Response bodies larger than this are refused as invalid. */
export const maxBodyBytes = 64 * 1024

/** Header names whose values are secrets; they are redacted wherever headers are logged or traced. */
export const secretHeaderNames: ReadonlyArray<string> = ["x-identity-header", "secret", "authorization"]

/** The timing options every source layer takes. */
export interface TimingOptions {
  /**
   * Replaces the source's retry timing and count (what the source never retries stays unretried, `Retry-After`
   * is still honoured); `RetryPolicy.none` disables retries. Default: the source's policy from `RetryPolicy`.
   */
  readonly retrySchedule?: RetryPolicy.RetryPolicy | undefined
  /** Time allowed for one attempt (default 10 s). */
  readonly attemptTimeout?: Duration.DurationInput | undefined
  /** Time allowed for one `getToken`, all attempts and delays included (default 100 s). */
  readonly deadline?: Duration.DurationInput | undefined
}

/** What came back from one exchange. */
export interface Received {
  readonly status: number
  readonly headers: Headers.Headers
  readonly body: string
}

/** What one attempt needs to know about where it is. */
export interface Endpoint {
  readonly kind: TokenSource.SourceKind
  /** The endpoint's URL without query, for messages. */
  readonly url: string
}

const unreachableCodes = new Set([
  "ECONNREFUSED",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EADDRNOTAVAIL"
])

const causes = function*(error: unknown): Generator<unknown> {
  let current: unknown = error
  for (let depth = 0; depth < 8 && current !== undefined && current !== null; depth++) {
    yield current
    if (current instanceof AggregateError) {
      for (const inner of current.errors) yield inner
    }
    current = typeof current === "object" ? (current as { cause?: unknown }).cause : undefined
  }
}

const errorCode = (error: unknown): string | undefined => {
  for (const cause of causes(error)) {
    const code = typeof cause === "object" && cause !== null ? (cause as { code?: unknown }).code : undefined
    if (typeof code === "string") return code
  }
  return undefined
}

const certificateMismatch = (error: unknown): ServiceFabricCertificateMismatch | undefined => {
  for (const cause of causes(error)) {
    if (cause instanceof ServiceFabricCertificateMismatch) return cause
  }
  return undefined
}

const transportError = (
  endpoint: Endpoint,
  attempt: number,
  error: HttpClientError.HttpClientError
): ManagedIdentityError => {
  const mismatch = certificateMismatch(error.cause)
  if (mismatch !== undefined) return mismatch
  const code = errorCode(error.cause)
  const reason = code === undefined ? error.reason : `${error.reason} error ${code}`
  return attempt === 1 && code !== undefined && unreachableCodes.has(code)
    ? new SourceUnavailable({ source: endpoint.kind, endpoint: endpoint.url, reason })
    : new ConnectionFailed({ source: endpoint.kind, endpoint: endpoint.url, reason, attempts: attempt })
}

/**
 * Whether the body is framed by its `content-length`, within the limit, with no transfer or content coding that a
 * client may undo into more bytes: then reading it whole stays within the limit.
 */
const isFramedByLength = (headers: Headers.Headers): boolean =>
  headers["content-length"] !== undefined && /^\d{1,5}$/.test(headers["content-length"]) &&
  Number(headers["content-length"]) <= maxBodyBytes &&
  headers["transfer-encoding"] === undefined &&
  (headers["content-encoding"] === undefined || headers["content-encoding"].trim().toLowerCase() === "identity")

const readBody = (
  endpoint: Endpoint,
  attempt: number,
  response: HttpClientResponse.HttpClientResponse
): Effect.Effect<string, ManagedIdentityError> => {
  const tooLarge = new InvalidTokenResponse({
    source: endpoint.kind,
    status: response.status,
    reason: `the response body is larger than ${maxBodyBytes} bytes`
  })
  const declared = Number(response.headers["content-length"])
  if (Number.isFinite(declared) && declared > maxBodyBytes) return Effect.fail(tooLarge)
  if (isFramedByLength(response.headers)) {
    // The transport reads at most the declared length, so the whole body is read in one step: the same bytes as
    // the stream below without Stream's machinery, which costs a cold process more than the request itself.
    return Effect.flatMap(
      Effect.mapError(response.arrayBuffer, (error) => transportError(endpoint, attempt, error)),
      (buffer) =>
        buffer.byteLength > maxBodyBytes
          ? Effect.fail(tooLarge)
          : Effect.succeed(new TextDecoder().decode(new Uint8Array(buffer)))
    )
  }
  return Effect.suspend(() => {
    const chunks: Array<Uint8Array> = []
    let size = 0
    return response.stream.pipe(
      Stream.catchSome((error) =>
        error._tag === "ResponseError" && error.reason === "EmptyBody" ? Option.some(Stream.empty) : Option.none()
      ),
      Stream.mapError((error) => transportError(endpoint, attempt, error)),
      Stream.runForEach((bytes) => {
        size += bytes.length
        if (size > maxBodyBytes) return Effect.fail(tooLarge)
        chunks.push(bytes)
        return Effect.void
      }),
      Effect.map(() => {
        const all = new Uint8Array(size)
        let offset = 0
        for (const chunk of chunks) {
          all.set(chunk, offset)
          offset += chunk.length
        }
        return new TextDecoder().decode(all)
      })
    )
  })
}

const uuidV4 = Effect.map(
  Effect.all(Array.from({ length: 16 }, () => Random.nextIntBetween(0, 256))),
  (bytes) => {
    bytes[6] = (bytes[6] & 0x0f) | 0x40
    bytes[8] = (bytes[8] & 0x3f) | 0x80
    const hex = bytes.map((byte) => byte.toString(16).padStart(2, "0")).join("")
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
  }
)

const requestOutcome = (exit: Exit.Exit<HttpClientResponse.HttpClientResponse, ManagedIdentityError>): string =>
  Exit.isSuccess(exit)
    ? String(exit.value.status)
    : Option.match(Cause.failureOption(exit.cause), { onNone: () => "interrupted", onSome: (error) => error._tag })

/**
 * Sends one request (with request id and user agent) and reads its whole body, within the 64 KiB limit. The request
 * is counted by source and status, and the status is set on the current (attempt) span.
 */
export const exchange = (
  client: HttpClient.HttpClient,
  endpoint: Endpoint,
  attempt: number,
  request: HttpClientRequest.HttpClientRequest
): Effect.Effect<Received, ManagedIdentityError> =>
  Effect.flatMap(uuidV4, (requestId) =>
    client.execute(
      HttpClientRequest.setHeaders(request, { "x-ms-client-request-id": requestId, "user-agent": userAgent })
    ).pipe(
      Effect.mapError((error) => transportError(endpoint, attempt, error)),
      Effect.onExit((exit) =>
        Effect.sync(() => Metrics.increment(Metrics.requests(endpoint.kind, requestOutcome(exit))))
      ),
      Effect.tap((response) => Effect.annotateCurrentSpan("http.response.status_code", response.status)),
      Effect.flatMap((response) =>
        Effect.map(readBody(endpoint, attempt, response), (body) => ({
          status: response.status,
          headers: response.headers,
          body
        }))
      ),
      Effect.scoped
    ))

/** The token fields of a successful body, for sources that check more (Azure Arc's identity echo). */
export type TokenBody = Wire.TokenBody

/** A decoded success: the token and the body it came in. */
export interface DecodedAnswer {
  readonly token: TokenSource.IssuedToken
  readonly body: TokenBody
}

const decodeTokenBody = Lazy.lazy(() => Schema.decodeUnknownEither(Wire.TokenBody))

/** Turns a received answer into a token (2xx) or a `TokenRequestFailed` carrying the endpoint's error. */
export const decodeAnswer = (
  endpoint: Endpoint,
  received: Received,
  resource: string
): Effect.Effect<DecodedAnswer, ManagedIdentityError> =>
  Effect.flatMap(Clock.currentTimeMillis, (now): Effect.Effect<DecodedAnswer, ManagedIdentityError> => {
    if (received.status < 200 || received.status > 299) {
      return Effect.fail(failedAnswer(endpoint, received, now))
    }
    const invalid = (reason: string) =>
      new InvalidTokenResponse({ source: endpoint.kind, status: received.status, reason })
    let json: unknown
    try {
      json = JSON.parse(received.body)
    } catch {
      return Effect.fail(invalid("the body is not JSON"))
    }
    const decoded = decodeTokenBody()(json)
    if (Either.isLeft(decoded)) {
      return Effect.fail(
        invalid(
          ParseResult.ArrayFormatter.formatErrorSync(decoded.left).map((issue) =>
            issue.path.length === 0 ? issue.message : `${issue.path.join(".")}: ${issue.message}`
          ).join("; ")
        )
      )
    }
    const body = decoded.right
    const expiresOnSeconds = body.expires_in !== undefined
      ? now / 1000 + body.expires_in
      : body.expires_on
    if (expiresOnSeconds === undefined) {
      return Effect.fail(invalid("the body has neither expires_in nor expires_on"))
    }
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

/** The typed error for a non-2xx answer, with the endpoint's own error code, text and `Retry-After`. */
export const failedAnswer = (endpoint: Endpoint, received: Received, now: number): TokenRequestFailed => {
  const detail = Wire.errorDetail(received.body)
  return new TokenRequestFailed({
    source: endpoint.kind,
    status: received.status,
    ...detail,
    retryAfter: RetryPolicy.parseRetryAfter(received.headers["retry-after"], now)
  })
}

/**
 * The platform's own `http.client` span is replaced by the attempt span: its success value holds the request with
 * its secret headers, which a tracer that serialises values would export.
 */
const disableClientSpans = () => true

/**
 * Runs `attempt` under the source's timing: each attempt in its own span with a timeout, retried by the policy,
 * the whole bounded by the deadline. The attempt number (from 1) is passed in so errors can tell the first
 * attempt from later ones.
 *
 * The span `ManagedIdentity.attempt` carries the source, the attempt number, the delay waited before it, the HTTP
 * status and the outcome (`token` or the error tag). Attempts after the first count as retries and are logged at
 * debug level, as is every failed attempt (tag and message: never a secret).
 */
export const withRetries = <A>(
  endpoint: Endpoint,
  timing: TimingOptions,
  attempt: (attemptNumber: number) => Effect.Effect<A, ManagedIdentityError>
): Effect.Effect<A, ManagedIdentityError> =>
  Effect.suspend(() => {
    let attempts = 0
    let lastEnded = 0
    const retries = Metrics.retries(endpoint.kind)
    const attemptEnded = Effect.clockWith((clock) =>
      Effect.sync(() => {
        lastEnded = clock.unsafeCurrentTimeMillis()
      })
    )
    const attemptTimeout = Duration.decode(timing.attemptTimeout ?? RetryPolicy.defaultAttemptTimeout)
    const deadline = Duration.decode(timing.deadline ?? RetryPolicy.defaultDeadline)
    const one = Effect.clockWith((clock) => {
      const n = ++attempts
      const delayMillis = n === 1 ? 0 : clock.unsafeCurrentTimeMillis() - lastEnded
      if (n > 1) Metrics.increment(retries)
      const retried = n === 1 ? Effect.void : Effect.logDebug("managed identity token request retried").pipe(
        Effect.annotateLogs({ source: endpoint.kind, attempt: n, delayMillis })
      )
      return Effect.zipRight(retried, attempt(n)).pipe(
        Effect.timeoutFail({
          duration: attemptTimeout,
          onTimeout: () =>
            new Timeout({
              source: endpoint.kind,
              attempts: n,
              reason: `attempt ${n} got no answer within ${Duration.format(attemptTimeout)}`
            })
        }),
        Effect.tapBoth({
          onFailure: (error) =>
            Effect.zipRight(
              Effect.annotateCurrentSpan("managed_identity.outcome", error._tag),
              Effect.logDebug("managed identity token attempt failed").pipe(
                Effect.annotateLogs({ source: endpoint.kind, attempt: n, error: error._tag, message: error.message })
              )
            ),
          onSuccess: () => Effect.annotateCurrentSpan("managed_identity.outcome", "token")
        }),
        Effect.ensuring(attemptEnded),
        Effect.withSpan("ManagedIdentity.attempt", {
          attributes: {
            "managed_identity.source": endpoint.kind,
            "managed_identity.attempt": n,
            "managed_identity.delay_ms": delayMillis
          }
        })
      )
    })
    return one.pipe(
      Effect.retry(
        timing.retrySchedule === undefined
          ? RetryPolicy.forSource(endpoint.kind)
          : RetryPolicy.fromSchedule(endpoint.kind, timing.retrySchedule)
      ),
      Effect.timeoutFail({
        duration: deadline,
        onTimeout: () =>
          new Timeout({
            source: endpoint.kind,
            attempts,
            reason: `no token within the ${Duration.format(deadline)} deadline`
          })
      }),
      Effect.locallyWith(Headers.currentRedactedNames, (names) => [...names, ...secretHeaderNames]),
      Effect.locally(HttpClient.currentTracerPropagation, false),
      Effect.locally(HttpClient.currentTracerDisabledWhen, disableClientSpans)
    )
  })

const isLoopbackOrLinkLocal = (hostname: string): boolean =>
  hostname === "localhost" || hostname === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname) ||
  /^169\.254\.\d{1,3}\.\d{1,3}$/.test(hostname)

/**
 * Parses an endpoint URL and checks that a secret may be sent there: `http` only to loopback or link-local hosts;
 * `https` only when the caller pins the certificate (Service Fabric).
 */
export const secretEndpoint = (
  kind: TokenSource.SourceKind,
  variable: string,
  value: string,
  options: { readonly pinned: boolean }
): Effect.Effect<URL, InvalidIdentity> => {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return Effect.fail(new InvalidIdentity({ source: kind, reason: `${variable} is not a URL` }))
  }
  if (options.pinned) {
    return url.protocol === "https:" ? Effect.succeed(url) : Effect.fail(
      new InvalidIdentity({ source: kind, reason: `${variable} must be an https URL, got ${url.protocol}//` })
    )
  }
  return url.protocol === "http:" && isLoopbackOrLinkLocal(url.hostname)
    ? Effect.succeed(url)
    : Effect.fail(
      new InvalidIdentity({
        source: kind,
        reason:
          `refusing to send the secret to ${url.protocol}//${url.host}: ${variable} must be an http URL on a loopback or link-local host`
      })
    )
}

/** The `InvalidIdentity` for an identity kind a source cannot take. */
export const unsupportedIdentity = (kind: TokenSource.SourceKind, identity: ManagedIdentity.Identity) =>
  new InvalidIdentity({
    source: kind,
    reason: `a user-assigned identity (selected by ${identity._tag}) cannot be used with this source`
  })

/** A source made of one HTTP request per attempt: build → exchange → decode, retried. */
export interface SimpleSource extends Endpoint {
  readonly identity: ManagedIdentity.Identity
  readonly capabilities: TokenSource.Capabilities
  readonly timing: TimingOptions
  /** Builds the request; fails with `InvalidIdentity` (before anything is sent) for what the source refuses. */
  readonly buildRequest: (request: TokenRequest) => Effect.Effect<HttpClientRequest.HttpClientRequest, InvalidIdentity>
}

/** Builds a `TokenSource` on the shared pipeline. */
export const makeSimpleSource = (
  client: HttpClient.HttpClient,
  source: SimpleSource
): TokenSource.TokenSource.Service =>
  TokenSource.make({
    kind: source.kind,
    identity: source.identity,
    capabilities: source.capabilities,
    getToken: (request) =>
      Effect.flatMap(source.buildRequest(request), (httpRequest) =>
        withRetries(source, source.timing, (attempt) =>
          Effect.map(
            Effect.flatMap(exchange(client, source, attempt, httpRequest), (received) =>
              decodeAnswer(source, received, request.resource)),
            ({ token }) =>
              token
          )))
  })
