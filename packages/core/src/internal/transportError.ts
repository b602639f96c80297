/** What a transport failure means: which typed error, and whether another attempt can help. */
import type * as HttpClientError from "@effect/platform/HttpClientError"
import {
  ConnectionFailed,
  InvalidIdentity,
  type ManagedIdentityError,
  ServiceFabricCertificateMismatch,
  SourceUnavailable
} from "../ManagedIdentityError.js"
import type { SourceKind } from "./sourceKind.js"

/** The source and the URL as messages may show it (a `Transport.Endpoint`). */
interface Endpoint {
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

const certificateMismatch = (error: unknown): ServiceFabricCertificateMismatch | undefined => {
  for (const cause of causes(error)) {
    if (cause instanceof ServiceFabricCertificateMismatch) return cause
  }
  return undefined
}

/**
 * Why the client refused to send the request at all, if it did. Only a request that got no answer can have been
 * refused: `fetch` refuses the ports of its "bad port" list (`TypeError: fetch failed`, cause `Error: bad port`) and,
 * with a `TypeError` of its own that has no cause, headers, URLs and bodies it cannot send (Node's `http` throws such
 * `TypeError`s too, undici an `UND_ERR_INVALID_ARG`). A socket that fails is never a refusal: `fetch failed` with a
 * network cause before the answer, `terminated` once the answer began (a `ResponseError`). A refused request can never
 * succeed; the error's text is not kept (it may quote a header value).
 */
const refusedBeforeSending = (endpoint: Endpoint, error: HttpClientError.HttpClientError): string | undefined => {
  if (error._tag !== "RequestError") return undefined
  if (error.reason !== "Transport") {
    return `the HTTP client cannot build the request to ${endpoint.url} (${error.reason})`
  }
  for (const cause of causes(error.cause)) {
    if (cause instanceof Error && cause.message === "bad port") {
      return `the HTTP client refuses the port of ${endpoint.url} (fetch blocks it as unsafe)`
    }
  }
  const first = error.cause
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
 * Translates a transport failure of attempt `attempt`: a `ServiceFabricCertificateMismatch` in the cause chain is
 * that error; a request the client refused to send at all, and a server certificate the client does not trust, are
 * an `InvalidIdentity` (neither can ever succeed as configured); an unreachable host on the first attempt
 * (connection refused, DNS failure, …) is `SourceUnavailable`; anything else, an answer that broke off included (a
 * reset or a body cut short after the headers), is a `ConnectionFailed` (retryable).
 */
export const fromHttpClientError = (
  endpoint: Endpoint,
  attempt: number,
  error: HttpClientError.HttpClientError
): ManagedIdentityError => {
  const mismatch = certificateMismatch(error.cause)
  if (mismatch !== undefined) return mismatch
  const refused = refusedBeforeSending(endpoint, error)
  if (refused !== undefined) return new InvalidIdentity({ source: endpoint.kind, reason: refused })
  const code = errorCode(error.cause)
  if (code !== undefined && untrustedCertificateCodes.has(code)) {
    return new InvalidIdentity({
      source: endpoint.kind,
      reason: `the server certificate of ${endpoint.url} is not trusted (${code}): the HTTP client's trust store ` +
        "does not accept it (on Node, give its CA with NODE_EXTRA_CA_CERTS or the source's own CA option)"
    })
  }
  const reason = code === undefined ? error.reason : `${error.reason} error ${code}`
  return attempt === 1 && error._tag === "RequestError" && code !== undefined && unreachableCodes.has(code)
    ? new SourceUnavailable({ source: endpoint.kind, endpoint: endpoint.url, reason })
    : new ConnectionFailed({ source: endpoint.kind, endpoint: endpoint.url, reason, attempts: attempt })
}
