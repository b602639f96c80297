/**
 * The typed errors of every managed identity operation. Callers match them with `Effect.catchTag`; no field
 * ever holds a token or a secret.
 *
 * @since 0.1.0
 */
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import { SourceKind, titles } from "./internal/sourceKind.js"

/**
 * Where an error arose: a source, or host detection.
 *
 * @since 0.1.0
 * @category models
 */
export const ErrorSource = Schema.Literal(...SourceKind.literals, "Detection")

/**
 * @since 0.1.0
 * @category models
 */
export type ErrorSource = typeof ErrorSource.Type

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: unique symbol = Symbol.for("@managed-identity/core/ManagedIdentityError")

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * The configuration is unusable, so it is never retried: a malformed identity, an identity kind the source cannot
 * take, an endpoint this library will not send a secret to, a malformed URL or one holding a user name or password, a
 * secret a header cannot carry (CR, LF, NUL, beyond Latin-1), or a request the HTTP client refuses to send (such as
 * a port `fetch` blocks), or a resource passed to `getToken` that is not one (`vault.azure.net`).
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidIdentity extends Schema.TaggedError<InvalidIdentity>("@managed-identity/core/InvalidIdentity")(
  "InvalidIdentity",
  { source: ErrorSource, reason: Schema.String }
) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  get message(): string {
    return `${this.source}: ${this.reason}`
  }
}

/**
 * The source is not reachable on this host (connection refused, host unreachable, DNS failure on the first
 * attempt, or no endpoint configured): the code is most likely not running on that kind of Azure host.
 *
 * @since 0.1.0
 * @category errors
 */
export class SourceUnavailable extends Schema.TaggedError<SourceUnavailable>(
  "@managed-identity/core/SourceUnavailable"
)("SourceUnavailable", { source: ErrorSource, endpoint: Schema.String, reason: Schema.String }) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  get message(): string {
    return `${this.source} is not available at ${this.endpoint}: ${this.reason}`
  }
}

/**
 * The endpoint answered with an error status. `error` and `description` carry the endpoint's own error code and
 * text (an error body of an unknown JSON shape is not shown), `correlationId` and `traceId` its request identifiers
 * (Entra sends both); `retryAfter` (seconds) what it asked for in `Retry-After`; `identity` the identity that was
 * asked for, in words (`client id …`, `the system-assigned identity`), which the message names after a `400`, `403`
 * or `404` — the answers endpoints give for an identity they do not know. A redirect (`3xx`) is one too: it is never
 * followed.
 *
 * @since 0.1.0
 * @category errors
 */
export class TokenRequestFailed extends Schema.TaggedError<TokenRequestFailed>(
  "@managed-identity/core/TokenRequestFailed"
)("TokenRequestFailed", {
  source: ErrorSource,
  status: Schema.Number,
  error: Schema.optional(Schema.String),
  description: Schema.optional(Schema.String),
  correlationId: Schema.optional(Schema.String),
  traceId: Schema.optional(Schema.String),
  retryAfter: Schema.optional(Schema.Number),
  identity: Schema.optional(Schema.String)
}) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  get message(): string {
    const code = this.error === undefined ? "" : ` ${this.error}`
    const description = this.description === undefined ? "" : `: ${this.description}`
    const asked = this.identity !== undefined && identityStatuses.has(this.status)
      ? ` (asked for ${this.identity})`
      : ""
    return `${this.source} answered ${this.status}${code}${description}${asked}`
  }
}

/** The statuses endpoints answer for an identity they do not know, after which a message names the one asked for. */
const identityStatuses: ReadonlySet<number> = new Set([400, 403, 404])

/**
 * The connection was made but the exchange broke (reset, closed early, unreadable response) on every attempt.
 *
 * @since 0.1.0
 * @category errors
 */
export class ConnectionFailed extends Schema.TaggedError<ConnectionFailed>(
  "@managed-identity/core/ConnectionFailed"
)("ConnectionFailed", {
  source: ErrorSource,
  endpoint: Schema.String,
  reason: Schema.String,
  attempts: Schema.Number
}) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  get message(): string {
    return `${this.source} at ${this.endpoint} failed after ${this.attempts} attempt(s): ${this.reason}`
  }
}

/**
 * The endpoint answered success with a body that is not a token: not JSON, wrong types, an empty token, no
 * lifetime, a lifetime in none of the accepted forms or ending more than a year after issue, or larger than 64 KiB.
 * `reason` names the field and what was expected, never the value received.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidTokenResponse extends Schema.TaggedError<InvalidTokenResponse>(
  "@managed-identity/core/InvalidTokenResponse"
)("InvalidTokenResponse", { source: ErrorSource, status: Schema.Number, reason: Schema.String }) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  get message(): string {
    return `${this.source} answered ${this.status} with an invalid token response: ${this.reason}`
  }
}

/**
 * The Azure Arc challenge could not be answered: a missing or malformed `WWW-Authenticate` header, or a key file
 * that is missing, too large, a symbolic link, not a regular file, unreadable, empty, not UTF-8, holding a character a
 * header cannot carry, or on an unsupported platform. Never retried.
 *
 * @since 0.1.0
 * @category errors
 */
export class AzureArcChallengeFailed extends Schema.TaggedError<AzureArcChallengeFailed>(
  "@managed-identity/core/AzureArcChallengeFailed"
)("AzureArcChallengeFailed", { source: ErrorSource, reason: Schema.String }) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  get message(): string {
    return `${titles.AzureArc} challenge failed: ${this.reason}`
  }
}

/**
 * The Service Fabric endpoint presented a certificate whose SHA-1 thumbprint is not `IDENTITY_SERVER_THUMBPRINT`.
 * The secret was not sent.
 *
 * @since 0.1.0
 * @category errors
 */
export class ServiceFabricCertificateMismatch extends Schema.TaggedError<ServiceFabricCertificateMismatch>(
  "@managed-identity/core/ServiceFabricCertificateMismatch"
)("ServiceFabricCertificateMismatch", { source: ErrorSource, endpoint: Schema.String, reason: Schema.String }) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  get message(): string {
    return `${titles.ServiceFabric} endpoint ${this.endpoint} is not trusted: ${this.reason}`
  }
}

/**
 * The endpoint issued a token without confirming the requested user-assigned identity (Azure Arc echoes it).
 * Nothing was cached.
 *
 * @since 0.1.0
 * @category errors
 */
export class IdentityNotConfirmed extends Schema.TaggedError<IdentityNotConfirmed>(
  "@managed-identity/core/IdentityNotConfirmed"
)("IdentityNotConfirmed", { source: ErrorSource, expected: Schema.String, received: Schema.optional(Schema.String) }) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  get message(): string {
    return `${this.source} did not confirm the identity ${this.expected}${
      this.received === undefined ? " (no identity in the response)" : ` (it answered for ${this.received})`
    }`
  }
}

/**
 * An attempt or the whole `getToken` ran out of time.
 *
 * @since 0.1.0
 * @category errors
 */
export class Timeout extends Schema.TaggedError<Timeout>("@managed-identity/core/Timeout")("Timeout", {
  source: ErrorSource,
  attempts: Schema.Number,
  reason: Schema.String
}) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  get message(): string {
    return `${this.source} timed out after ${this.attempts} attempt(s): ${this.reason}`
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export type ManagedIdentityError =
  | InvalidIdentity
  | SourceUnavailable
  | TokenRequestFailed
  | ConnectionFailed
  | InvalidTokenResponse
  | AzureArcChallengeFailed
  | ServiceFabricCertificateMismatch
  | IdentityNotConfirmed
  | Timeout

/**
 * @since 0.1.0
 * @category guards
 */
export const isManagedIdentityError = (u: unknown): u is ManagedIdentityError => Predicate.hasProperty(u, TypeId)
