/**
 * One exchange with an endpoint: the protocol's plain request sent (with request id and user agent, never following
 * a redirect), the whole answer read within 64 KiB, a transport failure classified by the protocol.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as UrlParams from "@effect/platform/UrlParams"
import * as Answer from "@managed-identity/protocol/Answer"
import { displayUrl } from "@managed-identity/protocol/Endpoint"
import type * as Request from "@managed-identity/protocol/Request"
import type { SourceKind } from "@managed-identity/protocol/SourceKind"
import * as Transport from "@managed-identity/protocol/Transport"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Stream from "effect/Stream"
import { fromProblem, type ManagedIdentityError } from "../../ManagedIdentityError.js"
import * as Metrics from "../metrics.js"

/** The version this library reports in `User-Agent`. */
const userAgent = "managed-identity/0.1.0 (@managed-identity/core)"

/** Where a request goes: the source, and its URL as messages, logs and spans show it (see {@link endpoint}). */
export type Endpoint = Transport.Endpoint

/** The endpoint of `kind` at `url`, its URL reduced to what messages may show. */
export const endpoint = (kind: SourceKind, url: string): Endpoint => ({ kind, url: displayUrl(url) })

/** What came back from one exchange, and the secrets its request carried (scrubbed from any text taken from it). */
export type Received = Answer.Answer

/**
 * Told when an answer's status line and headers have arrived, before its body is read, when it is in context: IMDS's
 * probe waits for this, not for the whole body, so an IMDS that has begun to answer is there however slowly it ends.
 */
export class AnswerBegun extends Context.Tag("@managed-identity/core/internal/AnswerBegun")<
  AnswerBegun,
  Effect.Effect<void>
>() {}

/** Tells {@link AnswerBegun}, if one is in context. */
const answerBegun: Effect.Effect<void> = Effect.flatMap(
  Effect.serviceOption(AnswerBegun),
  Option.getOrElse(() => Effect.void)
)

/** A failure of the HTTP client, classified by the protocol. */
const fromHttpClientError = (
  endpoint: Endpoint,
  attempt: number,
  error: HttpClientError.HttpClientError
): ManagedIdentityError =>
  fromProblem(
    Transport.classify(endpoint, attempt, {
      phase: error._tag === "RequestError" ? "Request" : "Response",
      reason: error.reason,
      cause: error.cause
    })
  )

const readBody = (
  endpoint: Endpoint,
  attempt: number,
  response: HttpClientResponse.HttpClientResponse
): Effect.Effect<string, ManagedIdentityError> => {
  const tooLarge = fromProblem(Answer.tooLarge(endpoint.kind, response.status))
  if (Answer.isDeclaredTooLarge(response.headers)) return Effect.fail(tooLarge)
  if (Answer.isFramedByLength(response.headers)) {
    // The transport reads at most the declared length, so the whole body is read in one step: the same bytes as
    // the stream below without Stream's machinery, which costs a cold process more than the request itself.
    return Effect.flatMap(
      Effect.mapError(response.arrayBuffer, (error) => fromHttpClientError(endpoint, attempt, error)),
      (buffer) =>
        buffer.byteLength > Answer.maxBodyBytes
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
      Stream.mapError((error) => fromHttpClientError(endpoint, attempt, error)),
      Stream.runForEach((bytes) => {
        size += bytes.length
        if (size > Answer.maxBodyBytes) return Effect.fail(tooLarge)
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
 * The web `Response` behind an `HttpClientResponse`, when it has one: `HttpClientResponse.fromWeb` keeps it as
 * `source`, and `HttpClient.make` wraps responses (as `original`). Anything else has no web `Response`.
 */
const webResponseOf = (response: HttpClientResponse.HttpClientResponse): object | undefined => {
  let current: unknown = response
  for (let depth = 0; depth < 4 && typeof current === "object" && current !== null; depth++) {
    const { original, source } = current as { readonly original?: unknown; readonly source?: unknown }
    if (typeof source === "object" && source !== null) return source
    current = original
  }
  return undefined
}

/**
 * Whether a client followed a redirect on its own: the web `Response` says `redirected`, or comes from another origin
 * or path than the request was sent to.
 */
const followedRedirect = (response: HttpClientResponse.HttpClientResponse, sent: URL): boolean => {
  const web = webResponseOf(response)
  if (web === undefined) return false
  const { redirected, url } = web as { readonly redirected?: unknown; readonly url?: unknown }
  if (redirected === true) return true
  if (typeof url !== "string" || url === "") return false
  try {
    const received = new URL(url)
    return received.origin !== sent.origin || received.pathname !== sent.pathname
  } catch {
    return true
  }
}

/**
 * A redirect answer, or an answer a client reached by following one, is refused without reading its body: the secret
 * must not travel further, and whatever the other end sent is not a token from this endpoint. Not retried.
 */
const refuseRedirects = (
  endpoint: Endpoint,
  request: HttpClientRequest.HttpClientRequest,
  response: HttpClientResponse.HttpClientResponse
): Effect.Effect<HttpClientResponse.HttpClientResponse, ManagedIdentityError> => {
  if (Answer.isRedirect(response.status)) {
    return Effect.fail(fromProblem(Answer.redirected(endpoint.kind, response.status)))
  }
  const sent = Either.getOrUndefined(UrlParams.makeUrl(request.url, request.urlParams, Option.none()))
  return sent !== undefined && followedRedirect(response, sent)
    ? Effect.fail(fromProblem(Answer.redirectFollowed(endpoint.kind, response.status)))
    : Effect.succeed(response)
}

/**
 * Runs `effect` with `fetch`'s `redirect: "manual"` (over any `FetchHttpClient.RequestInit` in context), so a
 * `fetch`-based client never follows a redirect and so never sends a secret on.
 */
const withoutRedirects = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(
    Effect.serviceOption(FetchHttpClient.RequestInit),
    (init) =>
      Effect.provideService(effect, FetchHttpClient.RequestInit, {
        ...Option.getOrUndefined(init),
        redirect: "manual"
      })
  )

/** The protocol's plain request as an `HttpClientRequest`. */
const toHttpRequest = (request: Request.Request): HttpClientRequest.HttpClientRequest => {
  const base = HttpClientRequest.make(request.method)(request.url, {
    urlParams: request.query,
    headers: request.headers
  })
  return request.form === undefined ? base : HttpClientRequest.bodyUrlParams(base, request.form)
}

/**
 * Sends one request (with request id and user agent) and reads its whole body, within the 64 KiB limit. The request
 * is counted by source and status, and the status is set on the current (attempt) span. No redirect is followed,
 * whatever the client: `fetch` is asked not to, and a redirect answer (or one a client reached by following a
 * redirect anyway) is a `TokenRequestFailed`. What is received carries the secrets the request did, so that no text
 * taken from the answer can show them.
 */
export const exchange = (
  client: HttpClient.HttpClient,
  endpoint: Endpoint,
  attempt: number,
  request: Request.Request
): Effect.Effect<Received, ManagedIdentityError> =>
  Effect.flatMap(uuidV4, (requestId) => {
    const sent = HttpClientRequest.setHeaders(toHttpRequest(request), {
      "x-ms-client-request-id": requestId,
      "user-agent": userAgent
    })
    return client.execute(sent).pipe(
      withoutRedirects,
      Effect.mapError((error) => fromHttpClientError(endpoint, attempt, error)),
      Effect.onExit((exit) =>
        Effect.sync(() => Metrics.increment(Metrics.requests(endpoint.kind, requestOutcome(exit))))
      ),
      Effect.tap((response) => Effect.annotateCurrentSpan("http.response.status_code", response.status)),
      Effect.tap(answerBegun),
      Effect.flatMap((response) => refuseRedirects(endpoint, sent, response)),
      Effect.flatMap((response) =>
        Effect.map(readBody(endpoint, attempt, response), (body): Received => ({
          status: response.status,
          headers: response.headers,
          body,
          secrets: request.secrets
        }))
      ),
      Effect.scoped
    )
  })
