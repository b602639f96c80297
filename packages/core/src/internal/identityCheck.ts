/**
 * The identity a token names, for `ManagedIdentitySource.diagnose`: its claims, read without verifying anything, and
 * the requested identity checked against them (with the known cause of a mismatch).
 */
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as ManagedIdentity from "../ManagedIdentity.js"
import { decodeBase64 } from "./claims.js"
import { type Claims, type Finding, finding, type IdentityCheck } from "./diagnosisModel.js"
import { type SourceKind, titles } from "./sourceKind.js"

const stringClaims = ["oid", "appid", "azp", "tid", "xms_mirid"] as const
const numberClaims = ["iat", "exp"] as const

/** The last second a `DateTime` (and so the report) can hold a claim time for: 9999-12-31T23:59:59Z. */
const maxEpochSeconds = 253_402_300_799

/** A time claim: whole epoch seconds from 1970 to the year 9999; anything else is not kept. */
const isEpochSeconds = (value: unknown): value is number =>
  Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) <= maxEpochSeconds

/**
 * The identity and time claims of a JWT-shaped token (three dot-separated parts, the second base64url JSON object),
 * without verifying anything; `None` for any other token. Only those claims are kept, and only with their expected
 * types (`iat` and `exp`: whole epoch seconds up to the year 9999, so they always make a date).
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
    for (const name of numberClaims) if (isEpochSeconds(payload[name])) claims[name] = payload[name]
    const aud = payload.aud
    if (typeof aud === "string" || (Array.isArray(aud) && aud.every(Predicate.isString))) claims.aud = aud
    return Option.some(claims as Claims)
  })
}

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
