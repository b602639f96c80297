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
