/**
 * The model of `ManagedIdentitySource.diagnose` (its report as schemas, public through that module) and the checks it
 * runs: the identity a token names, its issue time against the local clock, what the variables point at, the cache.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as Struct from "effect/Struct"
import { AccessToken, TokenOrigin } from "../AccessToken.js"
import * as ManagedIdentity from "../ManagedIdentity.js"
import * as TokenCache from "../TokenCache.js"
import { decodeBase64 } from "./claims.js"
import { SourceKind, titles } from "./sourceKind.js"

/** How serious a finding is: `error` findings make `managed-identity doctor` exit 1. */
export const FindingLevel = Schema.Literal("ok", "warning", "error")

/** The stable codes of findings, which a tool can act on. */
export const FindingCode = Schema.Literal(
  "source.detected",
  "source.reachable",
  "source.unavailable",
  "source.failed",
  "source.misconfigured",
  "token.received",
  "token.not-jwt",
  "identity.match",
  "identity.mismatch",
  "identity.unconfirmed",
  "identity.default",
  "clock.ok",
  "clock.skew",
  "cache.memory",
  "cache.key-value-store",
  "cache.directory",
  "cache.permissions",
  "cache.unchecked",
  "cache.custom"
)

export type FindingCode = typeof FindingCode.Type

/** One finding: how serious, a stable code, and a one-line message that names no secret. */
export const Finding = Schema.Struct({ level: FindingLevel, code: FindingCode, message: Schema.String })

export type Finding = typeof Finding.Type

/** A finding. */
export const finding = (level: Finding["level"], code: FindingCode, message: string): Finding => ({
  level,
  code,
  message
})

/**
 * What a variable points at: a URL's scheme, host, port and path, or a file's path; for anything else (ids, secrets),
 * only whether it is set.
 */
export const Target = Schema.Union(
  Schema.TaggedStruct("Url", { scheme: Schema.String, host: Schema.String, port: Schema.Number, path: Schema.String }),
  Schema.TaggedStruct("File", { path: Schema.String }),
  Schema.TaggedStruct("NotUrl", {}),
  Schema.TaggedStruct("Secret", {}),
  Schema.TaggedStruct("Set", {}),
  Schema.TaggedStruct("NotSet", {})
)

export type Target = typeof Target.Type

/** A source's variables and what each points at. */
export const SourceVariables = Schema.Struct({
  source: SourceKind,
  detected: Schema.Boolean,
  variables: Schema.Array(Schema.Struct({ name: Schema.String, target: Target }))
})

export type SourceVariables = typeof SourceVariables.Type

/** The outcome of the timed request: a token, or the error tag, HTTP status (when one came) and message. */
export const Outcome = Schema.Union(
  Schema.TaggedStruct("Token", {}),
  Schema.TaggedStruct("Error", { error: Schema.String, status: Schema.NullOr(Schema.Number), message: Schema.String })
)

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
  aud: Schema.optional(Schema.Union(Schema.String, Schema.Array(Schema.String))),
  iat: Schema.optional(Schema.Number),
  exp: Schema.optional(Schema.Number)
})

export type Claims = typeof Claims.Type

/** The token the client returned, without the token: where it came from, its expiry, and its claims (`null`: not a JWT). */
export const TokenReport = Schema.Struct({
  origin: TokenOrigin,
  ...Struct.pick(AccessToken.fields, "tokenType", "resource", "expiresOn"),
  claims: Schema.NullOr(Claims)
})

export type TokenReport = typeof TokenReport.Type

/** The requested identity against the token's claims. */
export const IdentityCheck = Schema.Struct({
  verdict: Schema.Literal("match", "mismatch", "unconfirmed", "unchecked"),
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

// ---------------------------------------------------------------------------------------------------------------------
// variables

type Role = "url" | "path" | "secret" | "value"

/** Each source's variables with their role, and which of them make the source detected. */
const sourceVariables: {
  readonly [K in SourceKind]: {
    readonly variables: ReadonlyArray<readonly [name: string, role: Role]>
    readonly required: ReadonlyArray<string>
  }
} = {
  Imds: { variables: [["AZURE_POD_IDENTITY_AUTHORITY_HOST", "url"]], required: ["AZURE_POD_IDENTITY_AUTHORITY_HOST"] },
  AppService: {
    variables: [["IDENTITY_ENDPOINT", "url"], ["IDENTITY_HEADER", "secret"]],
    required: ["IDENTITY_ENDPOINT", "IDENTITY_HEADER"]
  },
  ServiceFabric: {
    variables: [["IDENTITY_ENDPOINT", "url"], ["IDENTITY_HEADER", "secret"], ["IDENTITY_SERVER_THUMBPRINT", "value"]],
    required: ["IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT"]
  },
  AzureArc: {
    variables: [["IDENTITY_ENDPOINT", "url"], ["IMDS_ENDPOINT", "url"]],
    required: ["IDENTITY_ENDPOINT", "IMDS_ENDPOINT"]
  },
  CloudShell: { variables: [["MSI_ENDPOINT", "url"]], required: ["MSI_ENDPOINT"] },
  MachineLearning: {
    variables: [["MSI_ENDPOINT", "url"], ["MSI_SECRET", "secret"], ["DEFAULT_IDENTITY_CLIENT_ID", "value"]],
    required: ["MSI_ENDPOINT", "MSI_SECRET"]
  },
  WorkloadIdentity: {
    variables: [
      ["AZURE_FEDERATED_TOKEN_FILE", "path"],
      ["AZURE_TENANT_ID", "value"],
      ["AZURE_CLIENT_ID", "value"],
      ["AZURE_AUTHORITY_HOST", "url"],
      ["AZURE_KUBERNETES_TOKEN_PROXY", "url"],
      ["AZURE_KUBERNETES_SNI_NAME", "value"],
      ["AZURE_KUBERNETES_CA_FILE", "path"],
      ["AZURE_KUBERNETES_CA_DATA", "value"]
    ],
    required: ["AZURE_FEDERATED_TOKEN_FILE", "AZURE_TENANT_ID"]
  }
}

/** Every variable some source reads, once. */
export const variableNames: ReadonlyArray<string> = Array.from(
  new Set(Object.values(sourceVariables).flatMap(({ variables }) => variables.map(([name]) => name)))
)

const defaultPorts: Readonly<Record<string, number>> = { "http:": 80, "https:": 443 }

/** A URL's scheme, host, port and path, never its user name, password, query or fragment. */
export const urlTarget = (value: string): Target => {
  try {
    const url = new URL(value)
    return {
      _tag: "Url",
      scheme: url.protocol.replace(/:$/, ""),
      host: url.hostname,
      port: url.port === "" ? defaultPorts[url.protocol] ?? 0 : Number(url.port),
      path: url.pathname
    }
  } catch {
    return { _tag: "NotUrl" }
  }
}

const targetOf = (role: Role, value: Option.Option<string>): Target =>
  Option.match(value, {
    onNone: (): Target => ({ _tag: "NotSet" }),
    onSome: (text): Target =>
      role === "url"
        ? urlTarget(text)
        : role === "path"
        ? { _tag: "File", path: text }
        : { _tag: role === "secret" ? "Secret" : "Set" }
  })

/**
 * The detected source's variables, and those of every other source whose variables are all set (detection's order
 * passed it over), each with what it points at. Secrets are only said to be set.
 */
export const sourcesOf = (
  detected: SourceKind,
  values: ReadonlyMap<string, Option.Option<string>>
): ReadonlyArray<SourceVariables> =>
  SourceKind.literals.flatMap((kind) => {
    const { required, variables } = sourceVariables[kind]
    const value = (name: string) => values.get(name) ?? Option.none()
    if (kind !== detected && !required.every((name) => Option.isSome(value(name)))) return []
    return [{
      source: kind,
      detected: kind === detected,
      variables: variables.map(([name, role]) => ({ name, target: targetOf(role, value(name)) }))
    }]
  })

// ---------------------------------------------------------------------------------------------------------------------
// claims

const stringClaims = ["oid", "appid", "azp", "tid", "xms_mirid"] as const
const numberClaims = ["iat", "exp"] as const

/**
 * The identity and time claims of a JWT-shaped token (three dot-separated parts, the second base64url JSON object),
 * without verifying anything; `None` for any other token. Only those claims are kept, and only with their expected
 * types.
 */
export const readClaims = (token: string): Option.Option<Claims> => {
  const parts = token.split(".")
  if (parts.length !== 3) return Option.none()
  return Option.flatMap(decodeBase64(parts[1]), (json) => {
    let payload: unknown
    try {
      payload = JSON.parse(json)
    } catch {
      return Option.none()
    }
    if (!Predicate.isRecord(payload)) return Option.none()
    const claims: Record<string, unknown> = {}
    for (const name of stringClaims) if (typeof payload[name] === "string") claims[name] = payload[name]
    for (const name of numberClaims) if (Number.isFinite(payload[name])) claims[name] = payload[name]
    const aud = payload.aud
    if (typeof aud === "string" || (Array.isArray(aud) && aud.every(Predicate.isString))) claims.aud = aud
    return Option.some(claims as Claims)
  })
}

// ---------------------------------------------------------------------------------------------------------------------
// identity

const userAssignedPath = /\/providers\/microsoft\.managedidentity\/userassignedidentities\//i

/** Whether `xms_mirid` names a user-assigned identity (rather than the host's own resource). */
export const isUserAssignedResource = (resourceId: string): boolean => userAssignedPath.test(resourceId)

/** The identity the claims name, in words: its kind and every id the token carries. */
const describeClaims = (claims: Claims): string => {
  const kind = claims.xms_mirid === undefined
    ? "an identity"
    : isUserAssignedResource(claims.xms_mirid)
    ? `the user-assigned identity ${claims.xms_mirid}`
    : `the system-assigned identity of ${claims.xms_mirid}`
  const ids = [
    claims.appid === undefined ? undefined : `client id ${claims.appid}`,
    claims.azp === undefined || claims.azp === claims.appid ? undefined : `azp ${claims.azp}`,
    claims.oid === undefined ? undefined : `object id ${claims.oid}`
  ].filter(Predicate.isNotUndefined)
  return ids.length === 0 ? kind : `${kind} (${ids.join(", ")})`
}

const sameId = (a: string, b: string): boolean => a.trim().toLowerCase() === b.trim().toLowerCase()

/** Why a token can name another identity than the one asked for, as far as the source and identity tell. */
const knownCause = (kind: SourceKind, identity: ManagedIdentity.Identity, claims: Claims): string => {
  if (identity._tag === "SystemAssigned") {
    if (kind === "Imds" && claims.xms_mirid !== undefined && isUserAssignedResource(claims.xms_mirid)) {
      return "a known IMDS quirk: a VM with exactly one user-assigned identity and no system-assigned one answers a " +
        "system-assigned request with that identity; enable the system-assigned identity, or ask for the " +
        "user-assigned one by its id"
    }
    return `${titles[kind]} issued a token for a user-assigned identity to a system-assigned request; check which ` +
      "identities this host has"
  }
  if (kind === "AzureArc") {
    return "Azure Arc ignores an identity selector it does not know and answers for the machine's identity; check " +
      "that the identity is assigned to this machine"
  }
  if (kind === "WorkloadIdentity") {
    return "the token exchange names the client id of AZURE_CLIENT_ID (the service account's " +
      "azure.workload.identity/client-id annotation) unless a ClientId identity replaces it; check both, and the " +
      "identity's federated credentials"
  }
  return `the ${
    identity._tag === "ClientId" ? "client id" : identity._tag === "ObjectId" ? "object id" : "resource id"
  } may belong to another identity (copied from the wrong resource, or an identity not assigned to this host): ` +
    "compare it with the identity's own in the portal"
}

/** What the identity check found: the verdict, and the finding saying it. */
export interface IdentityResult {
  readonly check: IdentityCheck
  readonly finding: Option.Option<Finding>
}

/** The variables that say what a system-assigned request means on some hosts. */
export interface HostIdentity {
  /** Azure ML's `DEFAULT_IDENTITY_CLIENT_ID`, which a system-assigned request there asks for on purpose. */
  readonly defaultClientId: Option.Option<string>
  /** Workload identity's `AZURE_CLIENT_ID`, which is what a system-assigned identity means there. */
  readonly workloadClientId: Option.Option<string>
}

/**
 * The requested identity against the token's claims: a client id against `appid`/`azp`, an object id against `oid`,
 * a resource id against `xms_mirid` (case-insensitively), and system-assigned against an `xms_mirid` naming a
 * user-assigned identity. On workload identity a system-assigned identity is `AZURE_CLIENT_ID`'s client id.
 */
export const checkIdentity = (
  kind: SourceKind,
  requestedIdentity: ManagedIdentity.Identity,
  claims: Option.Option<Claims>,
  host: HostIdentity
): IdentityResult => {
  const workloadDefault = kind === "WorkloadIdentity" && requestedIdentity._tag === "SystemAssigned"
    ? host.workloadClientId
    : Option.none()
  const identity = Option.match(workloadDefault, {
    onNone: () => requestedIdentity,
    onSome: ManagedIdentity.clientId
  })
  const requested = Option.match(workloadDefault, {
    onNone: () => ManagedIdentity.describe(identity),
    onSome: (id) => `client id ${id} (AZURE_CLIENT_ID)`
  })
  if (Option.isNone(claims)) {
    return {
      check: { verdict: "unchecked", requested, received: null, cause: null },
      finding: Option.none()
    }
  }
  const token = claims.value
  const received = describeClaims(token)
  const result = (verdict: IdentityCheck["verdict"], found: Finding, cause: string | null = null): IdentityResult => ({
    check: { verdict, requested, received, cause },
    finding: Option.some(found)
  })
  const unconfirmed = (claim: string) =>
    result(
      "unconfirmed",
      finding("warning", "identity.unconfirmed", `the token has no ${claim} claim, so ${requested} is not confirmed`)
    )
  const matched = () =>
    result(
      "match",
      finding(
        "ok",
        "identity.match",
        identity._tag === "SystemAssigned" ? `the token names ${received}` : `the token names ${requested}: ${received}`
      )
    )
  const mismatched = () => {
    const cause = knownCause(kind, identity, token)
    return result(
      "mismatch",
      finding("error", "identity.mismatch", `asked for ${requested}, the token names ${received}: ${cause}`),
      cause
    )
  }
  const compare = (claim: string, values: ReadonlyArray<string | undefined>, id: string) => {
    const present = values.filter(Predicate.isNotUndefined)
    if (present.length === 0) return unconfirmed(claim)
    return present.some((value) => sameId(value, id)) ? matched() : mismatched()
  }
  switch (identity._tag) {
    case "ClientId":
      return compare("appid or azp", [token.appid, token.azp], identity.id)
    case "ObjectId":
      return compare("oid", [token.oid], identity.id)
    case "ResourceId":
      return compare("xms_mirid", [token.xms_mirid], identity.id)
    case "SystemAssigned": {
      if (token.xms_mirid === undefined) return unconfirmed("xms_mirid")
      if (!isUserAssignedResource(token.xms_mirid)) return matched()
      const mlDefault = kind === "MachineLearning" && Option.isSome(host.defaultClientId) &&
        token.appid !== undefined && sameId(token.appid, host.defaultClientId.value)
      if (!mlDefault) return mismatched()
      const cause = "Azure Machine Learning sends DEFAULT_IDENTITY_CLIENT_ID for a system-assigned request: the " +
        "token is for the compute's default identity"
      return result(
        "match",
        finding("warning", "identity.default", `asked for ${requested}, the token names ${received}: ${cause}`),
        cause
      )
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// clock

/** A skew beyond this between the token's `iat` and the local clock is a finding. */
export const maxSkewSeconds = 300

const minutes = (seconds: number): string => {
  const abs = Math.abs(seconds)
  return abs < 120 ? `${Math.round(abs)} s` : `${Math.round(abs / 60)} min`
}

/**
 * The token's `iat` against the local clock at `now` (epoch milliseconds). For a token just issued, an `iat` more
 * than 5 minutes away either way is a warning; a token from the cache was issued earlier by design, so only an `iat`
 * in the future counts.
 */
export const checkClock = (
  claims: Option.Option<Claims>,
  origin: TokenOrigin,
  now: number
): { readonly check: Option.Option<ClockCheck>; readonly finding: Option.Option<Finding> } => {
  const iat = Option.flatMap(claims, (token) => Option.fromNullable(token.iat))
  if (Option.isNone(iat)) return { check: Option.none(), finding: Option.none() }
  const offsetSeconds = Math.round(iat.value - Math.floor(now / 1000))
  const check: ClockCheck = {
    issuedAt: DateTime.unsafeMake(iat.value * 1000),
    checkedAt: DateTime.unsafeMake(now),
    offsetSeconds
  }
  const found = offsetSeconds > maxSkewSeconds
    ? finding(
      "warning",
      "clock.skew",
      `the token was issued ${
        minutes(offsetSeconds)
      } in the future by this host's clock: this clock is behind the identity provider's (sync it, e.g. with NTP); downstream services may call tokens "not yet valid"`
    )
    : offsetSeconds < -maxSkewSeconds && origin === "identity_provider"
    ? finding(
      "warning",
      "clock.skew",
      `the token was issued ${
        minutes(offsetSeconds)
      } before this host's clock says it arrived: this clock is ahead of the identity provider's (sync it), or the endpoint handed out a token it had cached`
    )
    : finding(
      "ok",
      "clock.ok",
      origin === "cache" && offsetSeconds < -maxSkewSeconds
        ? `the cached token was issued ${minutes(offsetSeconds)} ago, not in the future`
        : `the token's iat is within ${minutes(maxSkewSeconds)} of this host's clock (${offsetSeconds} s)`
    )
  return { check: Option.some(check), finding: Option.some(found) }
}

// ---------------------------------------------------------------------------------------------------------------------
// cache

const octal = (mode: number): string => `0${(mode & 0o777).toString(8).padStart(3, "0")}`

/** Modes that let the group or others in. */
const isTooOpen = (mode: number): boolean => (mode & 0o077) !== 0

/**
 * The configured cache, and for a file cache the modes of its directory and files (through `FileSystem`; not on
 * Windows, which has no such modes): the directory must be 0700 or stricter, each file 0600 or stricter.
 */
export const checkCache = (
  description: Option.Option<TokenCache.Description>,
  platform: string
): Effect.Effect<{ readonly check: CacheCheck; readonly finding: Finding }, never, FileSystem.FileSystem> => {
  if (Option.isNone(description)) {
    return Effect.succeed({
      check: { description: null, permissions: null },
      finding: finding("ok", "cache.custom", "a custom TokenCache (it does not describe itself)")
    })
  }
  const cache = description.value
  const plain = (code: FindingCode, message: string) =>
    Effect.succeed({ check: { description: cache, permissions: null }, finding: finding("ok", code, message) })
  switch (cache._tag) {
    case "Memory":
      return plain("cache.memory", "in-memory cache: tokens last as long as the process")
    case "KeyValueStore":
      return plain(
        "cache.key-value-store",
        "persistent cache through a KeyValueStore (its storage's permissions are not checked)"
      )
    case "Directory": {
      const { directory } = cache
      if (platform === "win32") {
        return plain("cache.directory", `file cache in ${directory} (permissions are not checked on Windows)`)
      }
      return Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const info = yield* fs.stat(directory)
        const names = [...(yield* fs.readDirectory(directory))].sort()
        const files = yield* Effect.forEach(
          names,
          (name) => Effect.map(fs.stat(`${directory.replace(/\/+$/, "")}/${name}`), (file) => ({ name, file }))
        )
        const entries = files.filter(({ file }) => file.type === "File")
        const permissions: Permissions = {
          directoryMode: octal(info.mode),
          files: entries.length,
          tooOpen: entries.filter(({ file }) => isTooOpen(file.mode)).map(({ file, name }) => ({
            name,
            mode: octal(file.mode)
          }))
        }
        const problems = [
          ...(isTooOpen(info.mode) ? [`the directory is ${permissions.directoryMode}, open to group or others`] : []),
          ...(permissions.tooOpen.length === 0 ? [] : [
            `${permissions.tooOpen.length} of ${entries.length} file(s) are open to group or others (${
              permissions.tooOpen.slice(0, 3).map(({ mode, name }) => `${name} ${mode}`).join(", ")
            })`
          ])
        ]
        return {
          check: { description: cache, permissions },
          finding: problems.length === 0
            ? finding(
              "ok",
              "cache.directory",
              `file cache in ${directory}: directory ${permissions.directoryMode}, ${entries.length} file(s), none open to group or others`
            )
            : finding(
              "error",
              "cache.permissions",
              `file cache in ${directory}: ${problems.join("; ")}: tokens there can be read by other users`
            )
        }
      }).pipe(
        Effect.catchAll((error) =>
          Effect.succeed({
            check: { description: cache, permissions: null },
            finding: finding("warning", "cache.unchecked", `file cache in ${directory}: not checked (${error.message})`)
          })
        )
      )
    }
  }
}
