import type { ManagedIdentityApplication } from "@azure/msal-node"
import * as ManagedIdentityClient from "@managed-identity/core/ManagedIdentityClient"
import * as TokenCredential from "@managed-identity/core/TokenCredential"
import * as ManagedIdentityEmulator from "@managed-identity/emulator/ManagedIdentityEmulator"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Scope from "effect/Scope"
import * as NodeManagedIdentity from "../src/NodeManagedIdentity.js"

export type Library = "ours" | "msal-node" | "@azure/identity"

export const libraries: ReadonlyArray<Library> = ["ours", "msal-node", "@azure/identity"]

/** Every variable a managed identity library might read to pick its source; removed so only IMDS is seen. */
const sourceVariables = [
  "IDENTITY_ENDPOINT",
  "IDENTITY_HEADER",
  "IDENTITY_SERVER_THUMBPRINT",
  "IMDS_ENDPOINT",
  "MSI_ENDPOINT",
  "MSI_SECRET",
  "AZURE_CLIENT_ID",
  "AZURE_TENANT_ID",
  "AZURE_FEDERATED_TOKEN_FILE",
  "DEFAULT_IDENTITY_CLIENT_ID"
]

export interface Emulator {
  readonly emulator: ManagedIdentityEmulator.Emulator
  readonly env: Record<string, string>
  readonly requestCount: () => Promise<number>
  readonly clearRequests: () => Promise<void>
  readonly close: () => Promise<void>
}

/**
 * Starts an emulator in this process and points every library at its IMDS through
 * `AZURE_POD_IDENTITY_AUTHORITY_HOST`, which ours, msal-node and @azure/identity all read (and with which
 * @azure/identity skips its IMDS probe).
 */
export const startEmulator = async (options: ManagedIdentityEmulator.Options = {}): Promise<Emulator> => {
  const scope = Effect.runSync(Scope.make())
  const emulator = await Effect.runPromise(Scope.extend(ManagedIdentityEmulator.start(options), scope))
  const env = emulator.env("Imds")
  for (const name of sourceVariables) delete process.env[name]
  Object.assign(process.env, env)
  return {
    emulator,
    env,
    requestCount: () => Effect.runPromise(emulator.requestCount()),
    clearRequests: () => Effect.runPromise(emulator.clearRequests),
    close: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

export interface Ours {
  readonly runtime: ManagedRuntime.ManagedRuntime<ManagedIdentityClient.ManagedIdentityClient, unknown>
  readonly client: ManagedIdentityClient.ManagedIdentityClient.Service
  readonly credential: TokenCredential.TokenCredential.Service
  readonly dispose: () => Promise<void>
}

/** A fresh client of this library (its own cache), built from `NodeManagedIdentity.layer` as a user would. */
export const makeOurs = async (): Promise<Ours> => {
  const runtime = ManagedRuntime.make(
    NodeManagedIdentity.layer as Layer.Layer<ManagedIdentityClient.ManagedIdentityClient, unknown>
  )
  const client = await runtime.runPromise(ManagedIdentityClient.ManagedIdentityClient)
  return { runtime, client, credential: TokenCredential.make(runtime), dispose: () => runtime.dispose() }
}

/**
 * msal-node keeps its token cache in a static field shared by every `ManagedIdentityApplication` (and by
 * @azure/identity, which uses msal-node), so each figure uses resources no other run has asked for.
 */
export const makeMsal = async (): Promise<ManagedIdentityApplication> => {
  const { ManagedIdentityApplication } = await import("@azure/msal-node")
  return new ManagedIdentityApplication({ system: { disableInternalRetries: false } })
}

export interface AzureCredential {
  readonly getToken: (scopes: string) => Promise<{ readonly token: string } | null>
}

export const makeIdentity = async (): Promise<AzureCredential> => {
  const { ManagedIdentityCredential } = await import("@azure/identity")
  return new ManagedIdentityCredential()
}

let resourceCounter = 0

/** A resource no earlier run in this process has asked for. */
export const freshResource = (label: string): string => `https://bench-${label}-${++resourceCounter}.example.com`

export const scopeOf = (resource: string): string => `${resource}/.default`

export const median = (values: ReadonlyArray<number>): number => percentile(values, 50)

export const percentile = (values: ReadonlyArray<number>, p: number): number => {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[index]
}

export const hrMillis = (): number => performance.now()

export const log = (message: string): void => {
  process.stderr.write(`${message}\n`)
}

/** One row of the report: a figure, each library's value, the unit, and which way is better. */
export interface Row {
  readonly figure: string
  readonly metric: string
  readonly unit: string
  readonly lowerIsBetter: boolean
  readonly values: Partial<Record<Library, number>>
  readonly note?: string
}
