/**
 * The model of `ManagedIdentityDiagnosis.diagnose`: its report as schemas (public through that module) and its findings.
 */
import * as Findings from "@managed-identity/protocol/Diagnosis"
import * as Schema from "effect/Schema"
import { AccessToken, TokenOrigin } from "../../AccessToken.js"
import * as ManagedIdentity from "../../ManagedIdentity.js"
import * as TokenCache from "../../TokenCache.js"
import { SourceKind } from "../../TokenSource.js"

/** How serious a finding is: `error` findings make `managed-identity doctor` exit 1. */
export const FindingLevel = Schema.Literals(["ok", "warning", "error"])

/** The stable codes of findings, which a tool can act on. */
export const FindingCode = Schema.Literals(Findings.findingCodes)

export type FindingCode = typeof FindingCode.Type

/** One finding: how serious, a stable code, and a one-line message that names no secret. */
export const Finding = Schema.Struct({ level: FindingLevel, code: FindingCode, message: Schema.String })

export type Finding = typeof Finding.Type

/** A finding. */
export const finding: (level: Finding["level"], code: FindingCode, message: string) => Finding = Findings.finding

/**
 * What a variable points at: a URL's scheme, host, port and path, or a file's path; for anything else (ids, secrets),
 * only whether it is set.
 */
export const Target = Schema.Union([
  Schema.TaggedStruct("Url", { scheme: Schema.String, host: Schema.String, port: Schema.Number, path: Schema.String }),
  Schema.TaggedStruct("File", { path: Schema.String }),
  Schema.TaggedStruct("NotUrl", {}),
  Schema.TaggedStruct("Secret", {}),
  Schema.TaggedStruct("Set", {}),
  Schema.TaggedStruct("NotSet", {})
])

export type Target = typeof Target.Type

/** A source's variables and what each points at. */
export const SourceVariables = Schema.Struct({
  source: SourceKind,
  detected: Schema.Boolean,
  variables: Schema.Array(Schema.Struct({ name: Schema.String, target: Target }))
})

export type SourceVariables = typeof SourceVariables.Type

/** The outcome of the timed request: a token, or the error tag, HTTP status (when one came) and message. */
export const Outcome = Schema.Union([
  Schema.TaggedStruct("Token", {}),
  Schema.TaggedStruct("Error", { error: Schema.String, status: Schema.NullOr(Schema.Number), message: Schema.String })
])

export type Outcome = typeof Outcome.Type

/** The timed request to the detected source: one attempt within the budget. */
export const Reachability = Schema.Struct({
  source: SourceKind,
  /** The URL as messages show it: scheme, host, port and path. */
  endpoint: Schema.String,
  /** The request was IMDS's probe: its first contact, which must connect and answer within the budget. */
  probe: Schema.Boolean,
  budgetMillis: Schema.Number,
  /** How long the request took. */
  millis: Schema.Number,
  outcome: Outcome
})

export type Reachability = typeof Reachability.Type

/** The claims that say which identity a token is for, and when it was issued; each only when the token has it. */
export const Claims = Schema.Struct({
  oid: Schema.optional(Schema.String),
  appid: Schema.optional(Schema.String),
  azp: Schema.optional(Schema.String),
  tid: Schema.optional(Schema.String),
  xms_mirid: Schema.optional(Schema.String),
  aud: Schema.optional(Schema.Union([Schema.String, Schema.Array(Schema.String)])),
  iat: Schema.optional(Schema.Number),
  exp: Schema.optional(Schema.Number)
})

export type Claims = typeof Claims.Type

/** The token the client returned, without the token: where it came from, its expiry, and its claims (`null`: not a JWT). */
export const TokenReport = Schema.Struct({
  origin: TokenOrigin,
  tokenType: AccessToken.fields.tokenType,
  resource: AccessToken.fields.resource,
  expiresOn: AccessToken.fields.expiresOn,
  claims: Schema.NullOr(Claims)
})

export type TokenReport = typeof TokenReport.Type

/** The requested identity against the token's claims. */
export const IdentityCheck = Schema.Struct({
  verdict: Schema.Literals(["match", "mismatch", "unconfirmed", "unchecked"]),
  requested: Schema.String,
  received: Schema.NullOr(Schema.String),
  cause: Schema.NullOr(Schema.String)
})

export type IdentityCheck = typeof IdentityCheck.Type

/** The token's `iat` against the local clock when it was checked; `offsetSeconds` is `iat` minus that time. */
export const ClockCheck = Schema.Struct({
  issuedAt: Schema.DateTimeUtc,
  checkedAt: Schema.DateTimeUtc,
  offsetSeconds: Schema.Number
})

export type ClockCheck = typeof ClockCheck.Type

/** A file cache's permissions: the directory's mode, how many files it holds, and those others may access. */
export const Permissions = Schema.Struct({
  directoryMode: Schema.String,
  files: Schema.Number,
  tooOpen: Schema.Array(Schema.Struct({ name: Schema.String, mode: Schema.String }))
})

export type Permissions = typeof Permissions.Type

/** The configured cache (`null`: a cache that does not describe itself) and, for a file cache, its permissions. */
export const CacheCheck = Schema.Struct({
  description: Schema.NullOr(TokenCache.Description),
  permissions: Schema.NullOr(Permissions)
})

export type CacheCheck = typeof CacheCheck.Type

/** Detection's answer, as in `ManagedIdentitySource.Detection`. */
export const DetectionReport = Schema.Struct({
  kind: SourceKind,
  reasons: Schema.Array(Schema.String),
  variablesSeen: Schema.Array(Schema.String),
  filesChecked: Schema.Array(Schema.Struct({ path: Schema.String, exists: Schema.Boolean }))
})

/** The whole report. */
export const Diagnosis = Schema.Struct({
  resource: Schema.String,
  identity: ManagedIdentity.Identity,
  detection: DetectionReport,
  sources: Schema.Array(SourceVariables),
  reachability: Schema.NullOr(Reachability),
  token: Schema.NullOr(TokenReport),
  identityCheck: IdentityCheck,
  clock: Schema.NullOr(ClockCheck),
  cache: CacheCheck,
  findings: Schema.Array(Finding),
  elapsedMillis: Schema.Number
})

export type Diagnosis = typeof Diagnosis.Type
