/**
 * What can go wrong when getting a token, as plain data: one member per typed error of the Effect lines, with
 * exactly their `_tag` and fields, and the message of each ({@link messageOf}), so that every line shows the same
 * text. No field ever holds a token or a secret.
 *
 * @since 0.1.0
 */
import type { ErrorSource } from "./SourceKind.js"
import { titles } from "./SourceKind.js"
import { printable } from "./Text.js"

/**
 * The configuration is unusable, so it is never retried: a malformed identity, an identity kind the source cannot
 * take, an endpoint no secret may go to, a secret a header cannot carry, a request the HTTP client refuses to send.
 *
 * @since 0.1.0
 * @category models
 */
export interface InvalidIdentity {
  readonly _tag: "InvalidIdentity"
  readonly source: ErrorSource
  readonly reason: string
}

/**
 * The source is not reachable on this host (connection refused, host unreachable, DNS failure on the first attempt,
 * no endpoint).
 *
 * @since 0.1.0
 * @category models
 */
export interface SourceUnavailable {
  readonly _tag: "SourceUnavailable"
  readonly source: ErrorSource
  readonly endpoint: string
  readonly reason: string
}

/**
 * The endpoint answered with an error status (or a redirect, which is never followed).
 *
 * @since 0.1.0
 * @category models
 */
export interface TokenRequestFailed {
  readonly _tag: "TokenRequestFailed"
  readonly source: ErrorSource
  readonly status: number
  readonly error?: string | undefined
  readonly description?: string | undefined
  readonly correlationId?: string | undefined
  readonly traceId?: string | undefined
  readonly retryAfter?: number | undefined
  readonly identity?: string | undefined
}

/**
 * The connection was made but the exchange broke on every attempt.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConnectionFailed {
  readonly _tag: "ConnectionFailed"
  readonly source: ErrorSource
  readonly endpoint: string
  readonly reason: string
  readonly attempts: number
}

/**
 * The endpoint answered success with a body that is not a token.
 *
 * @since 0.1.0
 * @category models
 */
export interface InvalidTokenResponse {
  readonly _tag: "InvalidTokenResponse"
  readonly source: ErrorSource
  readonly status: number
  readonly reason: string
}

/**
 * The Azure Arc challenge could not be answered.
 *
 * @since 0.1.0
 * @category models
 */
export interface AzureArcChallengeFailed {
  readonly _tag: "AzureArcChallengeFailed"
  readonly source: ErrorSource
  readonly reason: string
}

/**
 * The Service Fabric endpoint presented a certificate that is not the pinned one; the secret was not sent.
 *
 * @since 0.1.0
 * @category models
 */
export interface ServiceFabricCertificateMismatch {
  readonly _tag: "ServiceFabricCertificateMismatch"
  readonly source: ErrorSource
  readonly endpoint: string
  readonly reason: string
}

/**
 * The endpoint issued a token without confirming the requested user-assigned identity.
 *
 * @since 0.1.0
 * @category models
 */
export interface IdentityNotConfirmed {
  readonly _tag: "IdentityNotConfirmed"
  readonly source: ErrorSource
  readonly expected: string
  readonly received?: string | undefined
}

/**
 * With identity verification on, the token names another identity than the one asked for (its claims, read without
 * verifying the signature, as `doctor` reads them): `requested` and `received` in words, `reason` the known cause
 * of such a mismatch when there is one. Never the token itself.
 *
 * @since 0.1.0
 * @category models
 */
export interface IdentityMismatch {
  readonly _tag: "IdentityMismatch"
  readonly source: ErrorSource
  readonly requested: string
  readonly received: string
  readonly reason?: string | undefined
}

/**
 * An attempt or the whole request ran out of time.
 *
 * @since 0.1.0
 * @category models
 */
export interface Timeout {
  readonly _tag: "Timeout"
  readonly source: ErrorSource
  readonly attempts: number
  readonly reason: string
}

/**
 * @since 0.1.0
 * @category models
 */
export type Problem =
  | InvalidIdentity
  | SourceUnavailable
  | TokenRequestFailed
  | ConnectionFailed
  | InvalidTokenResponse
  | AzureArcChallengeFailed
  | ServiceFabricCertificateMismatch
  | IdentityNotConfirmed
  | IdentityMismatch
  | Timeout

/**
 * @since 0.1.0
 * @category constructors
 */
export const invalidIdentity = (source: ErrorSource, reason: string): InvalidIdentity => ({
  _tag: "InvalidIdentity",
  source,
  reason
})

/**
 * @since 0.1.0
 * @category constructors
 */
export const sourceUnavailable = (source: ErrorSource, endpoint: string, reason: string): SourceUnavailable => ({
  _tag: "SourceUnavailable",
  source,
  endpoint,
  reason
})

/**
 * @since 0.1.0
 * @category constructors
 */
export const invalidTokenResponse = (source: ErrorSource, status: number, reason: string): InvalidTokenResponse => ({
  _tag: "InvalidTokenResponse",
  source,
  status,
  reason
})

/**
 * @since 0.1.0
 * @category constructors
 */
export const azureArcChallengeFailed = (reason: string): AzureArcChallengeFailed => ({
  _tag: "AzureArcChallengeFailed",
  source: "AzureArc",
  reason
})

/** The statuses endpoints answer for an identity they do not know, after which a message names the one asked for. */
const identityStatuses: ReadonlySet<number> = new Set([400, 403, 404])

const tokenRequestFailedMessage = (problem: TokenRequestFailed): string => {
  const code = problem.error === undefined ? "" : ` ${problem.error}`
  const description = problem.description === undefined ? "" : `: ${problem.description}`
  const asked = problem.identity !== undefined && identityStatuses.has(problem.status)
    ? ` (asked for ${problem.identity})`
    : ""
  return `${problem.source} answered ${problem.status}${code}${description}${asked}`
}

const unescapedMessage = (problem: Problem): string => {
  switch (problem._tag) {
    case "InvalidIdentity":
      return `${problem.source}: ${problem.reason}`
    case "SourceUnavailable":
      return `${problem.source} is not available at ${problem.endpoint}: ${problem.reason}`
    case "TokenRequestFailed":
      return tokenRequestFailedMessage(problem)
    case "ConnectionFailed":
      return `${problem.source} at ${problem.endpoint} failed after ${problem.attempts} attempt(s): ${problem.reason}`
    case "InvalidTokenResponse":
      return `${problem.source} answered ${problem.status} with an invalid token response: ${problem.reason}`
    case "AzureArcChallengeFailed":
      return `${titles.AzureArc} challenge failed: ${problem.reason}`
    case "ServiceFabricCertificateMismatch":
      return `${titles.ServiceFabric} endpoint ${problem.endpoint} is not trusted: ${problem.reason}`
    case "IdentityNotConfirmed":
      return `${problem.source} did not confirm the identity ${problem.expected}${
        problem.received === undefined ? " (no identity in the response)" : ` (it answered for ${problem.received})`
      }`
    case "IdentityMismatch":
      return `${problem.source} issued a token for ${problem.received}, not for ${problem.requested}${
        problem.reason === undefined ? "" : `: ${problem.reason}`
      }; nothing was cached`
    case "Timeout":
      return `${problem.source} timed out after ${problem.attempts} attempt(s): ${problem.reason}`
  }
}

/**
 * The one-line message of a problem, every character a terminal could act on escaped (`Text.printable`). A
 * `TokenRequestFailed` after a `400`, `403` or `404` names the identity asked for.
 *
 * @since 0.1.0
 * @category formatting
 */
export const messageOf = (problem: Problem): string => printable(unescapedMessage(problem))
