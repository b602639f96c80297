/**
 * The typed errors of every managed identity operation. Callers match them with `Effect.catchTag`; no field
 * ever holds a token or a secret.
 *
 * @since 0.1.0
 */
import type * as Problem from "@managed-identity/protocol/Problem"
import { messageOf } from "@managed-identity/protocol/Problem"
import { kinds } from "@managed-identity/protocol/SourceKind"
import * as Text from "@managed-identity/protocol/Text"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

/**
 * Where an error arose: a source, or host detection.
 *
 * @since 0.1.0
 * @category models
 */
export const ErrorSource = Schema.Literals([...kinds, "Detection"])

/**
 * @since 0.1.0
 * @category models
 */
export type ErrorSource = typeof ErrorSource.Type

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
export const printable: (text: string) => string = Text.printable

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: unique symbol = Symbol.for("@managed-identity/effect4/ManagedIdentityError")

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
export class InvalidIdentity extends Schema.TaggedError<InvalidIdentity>()(
  "InvalidIdentity",
  { source: ErrorSource, reason: Schema.String }
) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  get message(): string {
    return messageOf(this)
  }
}

/**
 * The source is not reachable on this host (connection refused, host unreachable, DNS failure on the first
 * attempt, or no endpoint configured): the code is most likely not running on that kind of Azure host.
 *
 * @since 0.1.0
 * @category errors
 */
export class SourceUnavailable extends Schema.TaggedError<SourceUnavailable>()("SourceUnavailable", {
  source: ErrorSource,
  endpoint: Schema.String,
  reason: Schema.String
}) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  get message(): string {
    return messageOf(this)
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
export class TokenRequestFailed extends Schema.TaggedError<TokenRequestFailed>()("TokenRequestFailed", {
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
    return messageOf(this)
  }
}

/**
 * The connection was made but the exchange broke (reset, closed early, unreadable response) on every attempt.
 *
 * @since 0.1.0
 * @category errors
 */
export class ConnectionFailed extends Schema.TaggedError<ConnectionFailed>()("ConnectionFailed", {
  source: ErrorSource,
  endpoint: Schema.String,
  reason: Schema.String,
  attempts: Schema.Number
}) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  get message(): string {
    return messageOf(this)
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
export class InvalidTokenResponse extends Schema.TaggedError<InvalidTokenResponse>()("InvalidTokenResponse", {
  source: ErrorSource,
  status: Schema.Number,
  reason: Schema.String
}) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  get message(): string {
    return messageOf(this)
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
export class AzureArcChallengeFailed extends Schema.TaggedError<AzureArcChallengeFailed>()("AzureArcChallengeFailed", {
  source: ErrorSource,
  reason: Schema.String
}) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  get message(): string {
    return messageOf(this)
  }
}

/**
 * The Service Fabric endpoint presented a certificate whose SHA-1 thumbprint is not `IDENTITY_SERVER_THUMBPRINT`.
 * The secret was not sent.
 *
 * @since 0.1.0
 * @category errors
 */
export class ServiceFabricCertificateMismatch
  extends Schema.TaggedError<ServiceFabricCertificateMismatch>()("ServiceFabricCertificateMismatch", {
    source: ErrorSource,
    endpoint: Schema.String,
    reason: Schema.String
  })
{
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  get message(): string {
    return messageOf(this)
  }
}

/**
 * The endpoint issued a token without confirming the requested user-assigned identity (Azure Arc echoes it).
 * Nothing was cached.
 *
 * @since 0.1.0
 * @category errors
 */
export class IdentityNotConfirmed extends Schema.TaggedError<IdentityNotConfirmed>()("IdentityNotConfirmed", {
  source: ErrorSource,
  expected: Schema.String,
  received: Schema.optional(Schema.String)
}) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  get message(): string {
    return messageOf(this)
  }
}

/**
 * With `verifyIdentity` on (`ManagedIdentityClient.layerWithOptions({ verifyIdentity: true })`), the token the source
 * issued names another identity than the one asked for, by the rules `doctor` checks with (claims read without
 * verifying the signature). `requested` and `received` name both identities in words (`client id …`, `the
 * user-assigned identity /subscriptions/…`), `reason` the known cause when there is one (such as IMDS answering a
 * system-assigned request with a VM's only user-assigned identity). The token is in no field, and nothing was cached.
 *
 * @since 0.1.0
 * @category errors
 */
export class IdentityMismatch extends Schema.TaggedError<IdentityMismatch>()("IdentityMismatch", {
  source: ErrorSource,
  requested: Schema.String,
  received: Schema.String,
  reason: Schema.optional(Schema.String)
}) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  get message(): string {
    return messageOf(this)
  }
}

/**
 * An attempt or the whole `getToken` ran out of time.
 *
 * @since 0.1.0
 * @category errors
 */
export class Timeout extends Schema.TaggedError<Timeout>()("Timeout", {
  source: ErrorSource,
  attempts: Schema.Number,
  reason: Schema.String
}) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  get message(): string {
    return messageOf(this)
  }
}

/** The error class of each tag. */
const classes = {
  InvalidIdentity,
  SourceUnavailable,
  TokenRequestFailed,
  ConnectionFailed,
  InvalidTokenResponse,
  AzureArcChallengeFailed,
  ServiceFabricCertificateMismatch,
  IdentityNotConfirmed,
  IdentityMismatch,
  Timeout
} as const

/**
 * Every typed error, as one schema (its type is the union of the error classes).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ManagedIdentityError = Schema.Union([
  InvalidIdentity,
  SourceUnavailable,
  TokenRequestFailed,
  ConnectionFailed,
  InvalidTokenResponse,
  AzureArcChallengeFailed,
  ServiceFabricCertificateMismatch,
  IdentityNotConfirmed,
  IdentityMismatch,
  Timeout
])

/**
 * @since 0.1.0
 * @category errors
 */
export type ManagedIdentityError = typeof ManagedIdentityError.Type

/**
 * The error class of a problem's tag.
 *
 * @since 0.1.0
 * @category models
 */
export type ErrorOf<P extends Problem.Problem> = Extract<ManagedIdentityError, { readonly _tag: P["_tag"] }>

/**
 * The typed error of a problem the protocol found (`@managed-identity/protocol`), with the same tag and fields.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromProblem = <P extends Problem.Problem>(problem: P): ErrorOf<P> => {
  const { _tag, ...fields } = problem
  return new classes[_tag as P["_tag"]](fields as never) as ErrorOf<P>
}

/**
 * @since 0.1.0
 * @category guards
 */
export const isManagedIdentityError = (u: unknown): u is ManagedIdentityError => Predicate.hasProperty(u, TypeId)
