/**
 * The requested identity against the identity a token names (its claims, read without verifying anything), with the
 * known cause of a mismatch.
 *
 * @since 0.1.0
 */
import * as Claims from "./Claims.js"
import type * as Diagnosis from "./Diagnosis.js"
import * as Identity from "./Identity.js"
import type * as Problem from "./Problem.js"
import type { SourceKind } from "./SourceKind.js"
import { titles } from "./SourceKind.js"

const userAssignedPath = /\/providers\/microsoft\.managedidentity\/userassignedidentities\//i

/**
 * Whether `xms_mirid` names a user-assigned identity (rather than the host's own resource).
 *
 * @since 0.1.0
 * @category predicates
 */
export const isUserAssignedResource = (resourceId: string): boolean => userAssignedPath.test(resourceId)

/** The identity the claims name, in words: its kind and every id the token carries. */
const describeClaims = (claims: Claims.Claims): string => {
  const kind = claims.xms_mirid === undefined
    ? "an identity"
    : isUserAssignedResource(claims.xms_mirid)
    ? `the user-assigned identity ${claims.xms_mirid}`
    : `the system-assigned identity of ${claims.xms_mirid}`
  const ids = [
    claims.appid === undefined ? undefined : `client id ${claims.appid}`,
    claims.azp === undefined || claims.azp === claims.appid ? undefined : `azp ${claims.azp}`,
    claims.oid === undefined ? undefined : `object id ${claims.oid}`
  ].filter((id) => id !== undefined)
  return ids.length === 0 ? kind : `${kind} (${ids.join(", ")})`
}

const sameId = (a: string, b: string): boolean => a.trim().toLowerCase() === b.trim().toLowerCase()

/** Why a token can name another identity than the one asked for, as far as the source and identity tell. */
const knownCause = (kind: SourceKind, identity: Identity.Identity, claims: Claims.Claims): string => {
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

/**
 * What the identity check found: the verdict, and the finding saying it (none when the token names no identity).
 *
 * @since 0.1.0
 * @category models
 */
export interface Result {
  readonly check: Diagnosis.IdentityCheck
  readonly finding: Diagnosis.Finding | undefined
}

/**
 * The variables that say what a system-assigned request means on some hosts.
 *
 * @since 0.1.0
 * @category models
 */
export interface HostIdentity {
  /** Azure ML's `DEFAULT_IDENTITY_CLIENT_ID`, which a system-assigned request there asks for on purpose. */
  readonly defaultClientId: string | undefined
  /** Workload identity's `AZURE_CLIENT_ID`, which is what a system-assigned identity means there. */
  readonly workloadClientId: string | undefined
}

/**
 * The requested identity against the token's claims (`undefined`: not a JWT): a client id against `appid`/`azp`, an
 * object id against `oid`, a resource id against `xms_mirid` (case-insensitively), and system-assigned against an
 * `xms_mirid` naming a user-assigned identity. On workload identity a system-assigned identity is `AZURE_CLIENT_ID`'s
 * client id.
 *
 * @since 0.1.0
 * @category constructors
 */
export const check = (
  kind: SourceKind,
  requestedIdentity: Identity.Identity,
  claims: Claims.Claims | undefined,
  host: HostIdentity
): Result => {
  const workloadDefault = kind === "WorkloadIdentity" && requestedIdentity._tag === "SystemAssigned"
    ? host.workloadClientId
    : undefined
  const identity: Identity.Identity = workloadDefault === undefined
    ? requestedIdentity
    : { _tag: "ClientId", id: workloadDefault }
  const requested = workloadDefault === undefined
    ? Identity.describe(identity)
    : `client id ${workloadDefault} (AZURE_CLIENT_ID)`
  if (claims === undefined) {
    return { check: { verdict: "unchecked", requested, received: null, cause: null }, finding: undefined }
  }
  const received = describeClaims(claims)
  // Findings are written as plain values: importing `Diagnosis.finding` would bring detection's source table into every
  // app that verifies identities.
  const result = (
    verdict: Diagnosis.IdentityCheck["verdict"],
    found: Diagnosis.Finding,
    cause: string | null = null
  ): Result => ({ check: { verdict, requested, received, cause }, finding: found })
  const unconfirmed = (claim: string) =>
    result(
      "unconfirmed",
      {
        level: "warning",
        code: "identity.unconfirmed",
        message: `the token has no ${claim} claim, so ${requested} is not confirmed`
      }
    )
  const matched = () =>
    result(
      "match",
      {
        level: "ok",
        code: "identity.match",
        message: identity._tag === "SystemAssigned"
          ? `the token names ${received}`
          : `the token names ${requested}: ${received}`
      }
    )
  const mismatched = () => {
    const cause = knownCause(kind, identity, claims)
    return result(
      "mismatch",
      {
        level: "error",
        code: "identity.mismatch",
        message: `asked for ${requested}, the token names ${received}: ${cause}`
      },
      cause
    )
  }
  const compare = (claim: string, values: ReadonlyArray<string | undefined>, id: string) => {
    const present = values.filter((value) => value !== undefined)
    if (present.length === 0) return unconfirmed(claim)
    return present.some((value) => sameId(value, id)) ? matched() : mismatched()
  }
  switch (identity._tag) {
    case "ClientId":
      return compare("appid or azp", [claims.appid, claims.azp], identity.id)
    case "ObjectId":
      return compare("oid", [claims.oid], identity.id)
    case "ResourceId":
      return compare("xms_mirid", [claims.xms_mirid], identity.id)
    case "SystemAssigned": {
      if (claims.xms_mirid === undefined) return unconfirmed("xms_mirid")
      if (!isUserAssignedResource(claims.xms_mirid)) return matched()
      const mlDefault = kind === "MachineLearning" && host.defaultClientId !== undefined &&
        claims.appid !== undefined && sameId(claims.appid, host.defaultClientId)
      if (!mlDefault) return mismatched()
      const cause = "Azure Machine Learning sends DEFAULT_IDENTITY_CLIENT_ID for a system-assigned request: the " +
        "token is for the compute's default identity"
      return result(
        "match",
        {
          level: "warning",
          code: "identity.default",
          message: `asked for ${requested}, the token names ${received}: ${cause}`
        },
        cause
      )
    }
  }
}

/**
 * Identity verification of an issued token: {@link check} of its claims (read without verifying the signature), and
 * the `IdentityMismatch` problem when, and only when, the verdict is a mismatch. A token that is not JWT-shaped, or
 * that lacks the claim the identity is compared with, cannot be checked and passes (`undefined`), as does a match.
 * The problem names both identities in words, never the token.
 *
 * @since 0.1.0
 * @category constructors
 */
export const verify = (
  kind: SourceKind,
  requestedIdentity: Identity.Identity,
  token: string,
  host: HostIdentity
): Problem.IdentityMismatch | undefined => {
  const { check: checked } = check(kind, requestedIdentity, Claims.read(token), host)
  return checked.verdict !== "mismatch" || checked.received === null ? undefined : {
    _tag: "IdentityMismatch",
    source: kind,
    requested: checked.requested,
    received: checked.received,
    ...(checked.cause === null ? {} : { reason: checked.cause })
  }
}
