import type * as ManagedIdentity from "../ManagedIdentity.js"

/** The query parameter names a source uses for each user-assigned selector. */
export interface SelectorNames {
  readonly ClientId: string
  readonly ResourceId: string
  readonly ObjectId: string
}

/** The query parameters selecting `identity` (none for system-assigned). */
export const selectorParams = (
  identity: ManagedIdentity.Identity,
  names: SelectorNames
): Record<string, string> => identity._tag === "SystemAssigned" ? {} : { [names[identity._tag]]: identity.id }
