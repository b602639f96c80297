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
 * Whether the character is a control character (C0, DEL, C1) or one that reorders or hides text (bidirectional
 * controls, line and paragraph separators).
 */
const isUnprintable = (code: number): boolean =>
  code <= 0x1f || (code >= 0x7f && code <= 0x9f) || code === 0x61c || code === 0x200e || code === 0x200f ||
  code === 0x2028 || code === 0x2029 || (code >= 0x202a && code <= 0x202e) || (code >= 0x2066 && code <= 0x2069)

const shortEscapes: Readonly<Record<number, string>> = { 0x09: "\\t", 0x0a: "\\n", 0x0d: "\\r" }

const escapeCode = (code: number): string =>
  shortEscapes[code] ??
    (code < 0x100 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`)

/**
 * Text as a terminal or a log line may show it: every control character (C0, DEL, C1) and every character that
 * reorders or hides text (bidirectional controls, line and paragraph separators) is written as an escape (`\n`,
 * `\x1b`, `\u202e`), so text an endpoint sent can neither drive the terminal (clear the screen, write the clipboard
 * with OSC 52) nor fake a line of output. Anything else is left as it is, backslashes included, so it can be applied
 * twice. Every error `message` goes through it, and so does every human-readable output of this library and its CLI
 * (`managed-identity doctor`'s page, the CLI's stderr, log annotations); JSON output needs no such escaping.
 *
 * @since 0.1.0
 * @category formatting
 */
export const printable = (text: string): string => {
  let shown = ""
  let from = 0
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index)
    if (isUnprintable(code)) {
      shown += text.slice(from, index) + escapeCode(code)
      from = index + 1
    }
  }
  return from === 0 ? text : shown + text.slice(from)
}

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
    return printable(`${this.source}: ${this.reason}`)
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
    return printable(`${this.source} is not available at ${this.endpoint}: ${this.reason}`)
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
    return printable(`${this.source} answered ${this.status}${code}${description}${asked}`)
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
    return printable(`${this.source} at ${this.endpoint} failed after ${this.attempts} attempt(s): ${this.reason}`)
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
    return printable(`${this.source} answered ${this.status} with an invalid token response: ${this.reason}`)
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
    return printable(`${titles.AzureArc} challenge failed: ${this.reason}`)
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
    return printable(`${titles.ServiceFabric} endpoint ${this.endpoint} is not trusted: ${this.reason}`)
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
    return printable(
      `${this.source} did not confirm the identity ${this.expected}${
        this.received === undefined ? " (no identity in the response)" : ` (it answered for ${this.received})`
      }`
    )
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
    return printable(`${this.source} timed out after ${this.attempts} attempt(s): ${this.reason}`)
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
