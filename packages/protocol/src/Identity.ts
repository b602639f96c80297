/**
 * The identity to get tokens for, as plain data, and how each source selects a user-assigned one (PROTOCOL.md's
 * selector table).
 *
 * @since 0.1.0
 */
import * as Problem from "./Problem.js"
import * as Result from "./Result.js"
import type { SourceKind } from "./SourceKind.js"

/**
 * The host's system-assigned identity, or a user-assigned one selected by client id, resource id or object id.
 *
 * @since 0.1.0
 * @category models
 */
export type Identity =
  | { readonly _tag: "SystemAssigned" }
  | { readonly _tag: "ClientId" | "ResourceId" | "ObjectId"; readonly id: string }

/**
 * @since 0.1.0
 * @category models
 */
export type Selector = Exclude<Identity["_tag"], "SystemAssigned">

/**
 * A stable text form of an identity, used in cache keys and messages (ids are not secrets).
 *
 * @since 0.1.0
 * @category formatting
 */
export const toKey = (identity: Identity): string =>
  identity._tag === "SystemAssigned" ? "system" : `${identity._tag}:${identity.id.toLowerCase()}`

/**
 * An identity in words, for messages: `the system-assigned identity`, `client id …`, `resource id …`, `object id …`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const describe = (identity: Identity): string => {
  switch (identity._tag) {
    case "SystemAssigned":
      return "the system-assigned identity"
    case "ClientId":
      return `client id ${identity.id}`
    case "ResourceId":
      return `resource id ${identity.id}`
    case "ObjectId":
      return `object id ${identity.id}`
  }
}

/**
 * The query parameter a source uses for each user-assigned selector.
 *
 * @since 0.1.0
 * @category models
 */
export type SelectorNames = { readonly [S in Selector]: string }

/**
 * The selector names of IMDS and Azure Arc (`client_id`, `msi_res_id`, `object_id`).
 *
 * @since 0.1.0
 * @category constants
 */
export const msiSelectors: SelectorNames = { ClientId: "client_id", ResourceId: "msi_res_id", ObjectId: "object_id" }

/**
 * The query parameters selecting `identity` with `names` (none for the system-assigned identity).
 *
 * @since 0.1.0
 * @category constructors
 */
export const selectorQuery = (
  names: SelectorNames,
  identity: Identity
): ReadonlyArray<readonly [string, string]> =>
  identity._tag === "SystemAssigned" ? [] : [[names[identity._tag], identity.id]]

/**
 * Accepts `identity` if the source of `kind` can take its kind, else the `InvalidIdentity` saying it cannot.
 *
 * @since 0.1.0
 * @category constructors
 */
export const accept = (
  kind: SourceKind,
  identity: Identity,
  accepted: ReadonlyArray<Identity["_tag"]>
): Result.Result<Identity, Problem.InvalidIdentity> =>
  accepted.includes(identity._tag) ? Result.ok(identity) : Result.err(
    Problem.invalidIdentity(
      kind,
      `a user-assigned identity (selected by ${identity._tag}) cannot be used with this source`
    )
  )

/**
 * MSAL's identity object, `{"ManagedIdentityIdType": …, "Id": …}`, as plain data.
 *
 * @since 0.1.0
 * @category models
 */
export interface MsalIdentity {
  readonly ManagedIdentityIdType: Identity["_tag"]
  readonly Id: string | null
}

/**
 * What MSAL's JSON form of an identity must look like, as messages say it.
 *
 * @since 0.1.0
 * @category constants
 */
export const msalExpected =
  `expected MSAL's {"ManagedIdentityIdType": "SystemAssigned" | "ClientId" | "ResourceId" | "ObjectId", "Id": …}`

const msalTypes: ReadonlyArray<Identity["_tag"]> = ["SystemAssigned", "ClientId", "ResourceId", "ObjectId"]

const keyOf = (key: string): string => `[${JSON.stringify(key.length > 64 ? `${key.slice(0, 64)}…` : key)}]`

/**
 * Reads MSAL's identity object (already parsed from JSON) into an identity, or says what is wrong with it: which
 * field and what it expected (at most three problems), never the value received. A user-assigned type needs a
 * non-empty `Id` (trimmed), a system-assigned one takes none; other keys are refused. Nothing here recurses, so
 * however deeply nested the value is, the answer comes at once.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromMsal = (value: unknown): Result.Result<Identity, string> => {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return Result.err("expected a JSON object")
  const record = value as Readonly<Record<string, unknown>>
  const problems: Array<string> = []
  const type = record.ManagedIdentityIdType
  if (!("ManagedIdentityIdType" in record)) problems.push(`["ManagedIdentityIdType"]: is missing`)
  else if (!msalTypes.includes(type as Identity["_tag"])) {
    problems.push(`["ManagedIdentityIdType"]: expected ${msalTypes.map((each) => `"${each}"`).join(" or ")}`)
  }
  const id = record.Id
  if (id !== undefined && id !== null && typeof id !== "string") problems.push(`["Id"]: expected string or null`)
  for (const key of Object.keys(record)) {
    if (key !== "ManagedIdentityIdType" && key !== "Id") problems.push(`${keyOf(key)}: is not allowed`)
  }
  if (problems.length > 0) return Result.err(problems.slice(0, 3).join("; "))
  const trimmed = typeof id === "string" ? id.trim() : ""
  const tag = type as Identity["_tag"]
  if (tag === "SystemAssigned") {
    return trimmed === "" ? Result.ok({ _tag: "SystemAssigned" }) : Result.err("a system-assigned identity takes no Id")
  }
  return trimmed === ""
    ? Result.err(`a ${tag} identity needs a non-empty Id`)
    : Result.ok({ _tag: tag, id: trimmed })
}

/**
 * An identity in MSAL's form.
 *
 * @since 0.1.0
 * @category constructors
 */
export const toMsal = (identity: Identity): MsalIdentity =>
  identity._tag === "SystemAssigned"
    ? { ManagedIdentityIdType: "SystemAssigned", Id: null }
    : { ManagedIdentityIdType: identity._tag, Id: identity.id }
