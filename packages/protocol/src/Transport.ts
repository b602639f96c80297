/**
 * What a transport failure means: which problem, and so whether another attempt can help. Read from the thrown cause
 * chain (`code`s, `cause`s, `AggregateError`s), whichever HTTP client threw it.
 *
 * @since 0.1.0
 */
import * as Problem from "./Problem.js"
import type { SourceKind } from "./SourceKind.js"

/**
 * A failed exchange as an HTTP client reports it: `Request` when no answer began, `Response` once it had; the reason
 * in `@effect/platform` 0.x's words (`Transport`, `Encode`, `InvalidUrl`; `StatusCode`, `Decode`, `EmptyBody`), which
 * messages quote, so a client that names them otherwise (Effect 4's `TransportError`, …) maps to these; and the thrown
 * cause.
 *
 * @since 0.1.0
 * @category models
 */
export interface Failure {
  readonly phase: "Request" | "Response"
  readonly reason: string
  readonly cause: unknown
}

/**
 * The source and the URL as messages may show it (`Endpoint.displayUrl`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Endpoint {
  readonly kind: SourceKind
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

const isMismatch = (cause: unknown): cause is Problem.ServiceFabricCertificateMismatch => {
  if (typeof cause !== "object" || cause === null) return false
  const { _tag, endpoint, reason, source } = cause as Record<string, unknown>
  return _tag === "ServiceFabricCertificateMismatch" && typeof source === "string" && typeof endpoint === "string" &&
    typeof reason === "string"
}

const certificateMismatch = (error: unknown): Problem.ServiceFabricCertificateMismatch | undefined => {
  for (const cause of causes(error)) {
    if (isMismatch(cause)) {
      return {
        _tag: "ServiceFabricCertificateMismatch",
        source: cause.source,
        endpoint: cause.endpoint,
        reason: cause.reason
      }
    }
  }
  return undefined
}

/**
 * Why the client refused to send the request at all, if it did. Only a request that got no answer can have been
 * refused: `fetch` refuses the ports of its "bad port" list (`TypeError: fetch failed`, cause `Error: bad port`) and,
 * with a `TypeError` of its own that has no cause, headers, URLs and bodies it cannot send (Node's `http` throws such
 * `TypeError`s too, undici an `UND_ERR_INVALID_ARG`). A socket that fails is never a refusal: `fetch failed` with a
 * network cause before the answer, `terminated` once the answer began. A refused request can never succeed; the
 * error's text is not kept (it may quote a header value).
 */
const refusedBeforeSending = (endpoint: Endpoint, failure: Failure): string | undefined => {
  if (failure.phase !== "Request") return undefined
  if (failure.reason !== "Transport") {
    return `the HTTP client cannot build the request to ${endpoint.url} (${failure.reason})`
  }
  for (const cause of causes(failure.cause)) {
    if (cause instanceof Error && cause.message === "bad port") {
      return `the HTTP client refuses the port of ${endpoint.url} (fetch blocks it as unsafe)`
    }
  }
  const first = failure.cause
  const ownTypeError = first instanceof TypeError && first.message !== "fetch failed" && first.cause === undefined
  return ownTypeError || errorCode(first) === "UND_ERR_INVALID_ARG"
    ? `the HTTP client refused to send the request to ${endpoint.url} (a header, URL or body it cannot send)`
    : undefined
}

/**
 * The TLS errors that say the server's certificate is not trusted (Node's and OpenSSL's codes): no retry makes it
 * trusted, so they are a configuration error, not a transient one.
 */
const untrustedCertificateCodes = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_UNTRUSTED",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_REVOKED",
  "CERT_SIGNATURE_FAILURE",
  "HOSTNAME_MISMATCH",
  "ERR_TLS_CERT_ALTNAME_INVALID"
])

/**
 * The problem of a transport failure of attempt `attempt` (from 1): a `ServiceFabricCertificateMismatch` in the cause
 * chain is that problem; a request the client refused to send at all, and a server certificate the client does not
 * trust, are an `InvalidIdentity` (neither can ever succeed as configured); an unreachable host on the first attempt
 * (connection refused, DNS failure, …) is `SourceUnavailable`; anything else, an answer that broke off included (a
 * reset or a body cut short after the headers), is a `ConnectionFailed` (retryable).
 *
 * @since 0.1.0
 * @category constructors
 */
export const classify = (endpoint: Endpoint, attempt: number, failure: Failure): Problem.Problem => {
  const mismatch = certificateMismatch(failure.cause)
  if (mismatch !== undefined) return mismatch
  const refused = refusedBeforeSending(endpoint, failure)
  if (refused !== undefined) return Problem.invalidIdentity(endpoint.kind, refused)
  const code = errorCode(failure.cause)
  if (code !== undefined && untrustedCertificateCodes.has(code)) {
    return Problem.invalidIdentity(
      endpoint.kind,
      `the server certificate of ${endpoint.url} is not trusted (${code}): the HTTP client's trust store ` +
        "does not accept it (on Node, give its CA with NODE_EXTRA_CA_CERTS or the source's own CA option)"
    )
  }
  const reason = code === undefined ? failure.reason : `${failure.reason} error ${code}`
  return attempt === 1 && failure.phase === "Request" && code !== undefined && unreachableCodes.has(code)
    ? Problem.sourceUnavailable(endpoint.kind, endpoint.url, reason)
    : { _tag: "ConnectionFailed", source: endpoint.kind, endpoint: endpoint.url, reason, attempts: attempt }
}
