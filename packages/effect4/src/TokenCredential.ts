/**
 * An adapter to the Azure SDK's `TokenCredential` shape (`@azure/core-auth`), so any Azure SDK client can get its
 * tokens from the `ManagedIdentityClient`. The shape is typed structurally: nothing here depends on Azure packages.
 *
 * @since 0.1.0
 */
import * as Claims from "@managed-identity/protocol/Claims"
import * as Resource from "@managed-identity/protocol/Resource"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import type { AccessToken } from "./AccessToken.js"
import * as SyncFirst from "./internal/client/syncFirst.js"
import { ManagedIdentityClient } from "./ManagedIdentityClient.js"
import type { ManagedIdentityError } from "./ManagedIdentityError.js"

/**
 * The part of an `AbortSignal` the adapter uses (`@azure/abort-controller`'s `AbortSignalLike`).
 *
 * @since 0.1.0
 * @category models
 */
export interface AbortSignalLike {
  readonly aborted: boolean
  addEventListener(type: "abort", listener: () => void): void
  removeEventListener(type: "abort", listener: () => void): void
}

/**
 * The options of `getToken` the adapter reads (`@azure/core-auth`'s `GetTokenOptions`; other fields are ignored).
 *
 * @since 0.1.0
 * @category models
 */
export interface GetTokenOptions {
  /** Interrupts the wait for the token; the promise rejects with an `AbortError`. */
  readonly abortSignal?: AbortSignalLike | undefined
  /** A claims challenge: JSON, or base64-encoded JSON. It bypasses the cache. */
  readonly claims?: string | undefined
}

/**
 * A token as the Azure SDK expects it (`@azure/core-auth`'s `AccessToken`): times are epoch milliseconds.
 *
 * @since 0.1.0
 * @category models
 */
export interface AzureAccessToken {
  readonly token: string
  readonly expiresOnTimestamp: number
  readonly refreshAfterTimestamp?: number
  readonly tokenType: "Bearer" | "pop"
}

/**
 * @since 0.1.0
 * @category tags
 */
export class TokenCredential
  extends Context.Service<TokenCredential, TokenCredential.Service>()("@managed-identity/effect4/TokenCredential")
{}

/**
 * @since 0.1.0
 */
export declare namespace TokenCredential {
  /**
   * Structurally an `@azure/core-auth` `TokenCredential`: pass it as `credential` to any Azure SDK client.
   *
   * @since 0.1.0
   * @category models
   */
  export interface Service {
    readonly getToken: (
      scopes: string | ReadonlyArray<string>,
      options?: GetTokenOptions
    ) => Promise<AzureAccessToken | null>
  }
}

const credentialFailure = (error: ManagedIdentityError): unknown =>
  error._tag === "SourceUnavailable"
    ? Object.assign(new Error(error.message, { cause: error }), { name: "CredentialUnavailableError" })
    : error

const toAzure = (token: AccessToken): AzureAccessToken => {
  const value = Redacted.value(token.token)
  const tokenType = token.tokenType === "Bearer" || token.tokenType.toLowerCase() !== "pop" ? "Bearer" : "pop"
  return token.refreshOn._tag === "Some"
    ? {
      token: value,
      expiresOnTimestamp: token.expiresOn.epochMilliseconds,
      refreshAfterTimestamp: token.refreshOn.value.epochMilliseconds,
      tokenType
    }
    : { token: value, expiresOnTimestamp: token.expiresOn.epochMilliseconds, tokenType }
}

const decodeClaims = (claims: string): string => {
  const trimmed = claims.trim()
  if (trimmed.startsWith("{")) return trimmed
  const decoded = Claims.decodeBase64(trimmed)
  return decoded !== undefined && decoded.trim().startsWith("{") ? decoded : trimmed
}

/**
 * Builds the adapter over a runtime that provides the `ManagedIdentityClient` (a `Runtime`, e.g. from
 * `Effect.runtime`, or a `ManagedRuntime`).
 *
 * - Exactly one scope is accepted; `https://vault.azure.net/.default` asks for the resource
 *   `https://vault.azure.net`. More or fewer scopes reject with an `Error`; a scope that is no resource
 *   (`vault.azure.net/.default`) rejects with the client's `InvalidIdentity`.
 * - `options.claims` (JSON, or base64 JSON) is passed to the client as a claims challenge.
 * - `options.abortSignal` interrupts the wait (a request shared with other callers keeps running for them) and
 *   rejects with an error named `AbortError`.
 * - A cache hit is served without a trip through the scheduler: the call runs synchronously first, and the promise it
 *   returns is already resolved; a miss goes on asynchronously on the same fiber.
 * - A `SourceUnavailable` rejects with an error named `CredentialUnavailableError` (its `cause` is the original),
 *   so a chain of Azure credentials moves on to the next; every other failure rejects with the
 *   `ManagedIdentityError` itself.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  runtime: Context.Context<ManagedIdentityClient> | ManagedRuntime.ManagedRuntime<ManagedIdentityClient, unknown>
): TokenCredential.Service => {
  const run = SyncFirst.make(runtime, ManagedIdentityClient)
  return TokenCredential.of({
    getToken: (scopes, options) => {
      const scopeList = typeof scopes === "string" ? [scopes] : scopes
      if (scopeList.length !== 1) {
        return Promise.reject(
          new Error(`ManagedIdentity TokenCredential takes exactly one scope, got ${scopeList.length}`)
        )
      }
      const resource = Resource.fromScope(scopeList[0])
      const claims = options?.claims === undefined || options.claims === "" ? undefined : decodeClaims(options.claims)
      return run((client) => client.getToken(resource, claims === undefined ? undefined : { claims }), {
        signal: options?.abortSignal,
        failure: credentialFailure,
        map: toAzure
      })
    }
  })
}

/**
 * Provides the adapter as the `TokenCredential` service, over the `ManagedIdentityClient` in context.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<TokenCredential, never, ManagedIdentityClient> = Layer.effect(
  TokenCredential,
  Effect.map(Effect.context<ManagedIdentityClient>(), make)
)
