import type * as ManagedIdentity from "../ManagedIdentity.js"

/** The query parameter names a source uses for each user-assigned selector. */
interface SelectorNames {
  readonly ClientId: string
  readonly ResourceId: string
  readonly ObjectId: string
}

const msi: SelectorNames = { ClientId: "client_id", ResourceId: "msi_res_id", ObjectId: "object_id" }

/** PROTOCOL.md's selector table, for the sources that take every user-assigned selector as a query parameter. */
export const names = {
  Imds: msi,
  AzureArc: msi,
  AppService: { ...msi, ResourceId: "mi_res_id" }
} as const satisfies Record<string, SelectorNames>

/** The query parameters selecting `identity` at `kind` (none for system-assigned). */
export const params = (kind: keyof typeof names, identity: ManagedIdentity.Identity): Record<string, string> =>
  identity._tag === "SystemAssigned" ? {} : { [names[kind][identity._tag]]: identity.id }
