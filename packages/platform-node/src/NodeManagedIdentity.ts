/**
 * Node.js layers: the platform services the core needs (undici `HttpClient`, `FileSystem`, the Service Fabric
 * pinned TLS client, the host platform) and the whole client with defaults.
 *
 * @since 0.1.0
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as ManagedIdentity from "@managed-identity/core/ManagedIdentity"
import * as ManagedIdentityClient from "@managed-identity/core/ManagedIdentityClient"
import * as ManagedIdentitySource from "@managed-identity/core/ManagedIdentitySource"
import type * as ServiceFabricTokenSource from "@managed-identity/core/ServiceFabricTokenSource"
import * as TokenCache from "@managed-identity/core/TokenCache"
import type * as WorkloadIdentityTokenSource from "@managed-identity/core/WorkloadIdentityTokenSource"
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Layer from "effect/Layer"
import * as PinnedHttpClient from "./internal/pinnedHttpClient.js"
import * as TokenProxyHttpClient from "./internal/tokenProxyHttpClient.js"

/**
 * Everything platform-specific the core's layers need on Node.js.
 *
 * @since 0.1.0
 * @category models
 */
export type Platform =
  | HttpClient.HttpClient
  | FileSystem.FileSystem
  | ServiceFabricTokenSource.PinnedHttpClient
  | WorkloadIdentityTokenSource.TokenProxyHttpClient
  | ManagedIdentitySource.HostPlatform

/**
 * `HttpClient` over Node's built-in `fetch` (redirects never followed; it trusts what Node trusts, `NODE_EXTRA_CA_CERTS`
 * included), `NodeFileSystem`, the Service Fabric client pinned to `IDENTITY_SERVER_THUMBPRINT` and the identity
 * bindings' token proxy client trusting only the cluster's CA (both undici, loaded only when used), and
 * `process.platform`. Node's own `fetch` keeps the undici package out of the start-up path and out of bundles of apps
 * that never talk to Service Fabric or a token proxy.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerPlatform: Layer.Layer<Platform> = Layer.mergeAll(
  FetchHttpClient.layer.pipe(Layer.provide(Layer.succeed(FetchHttpClient.RequestInit, { redirect: "manual" }))),
  NodeFileSystem.layer,
  PinnedHttpClient.layer,
  TokenProxyHttpClient.layer,
  ManagedIdentitySource.layerHostPlatform(process.platform)
)

/**
 * Options of {@link layerWithOptions}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Timing of the detected source and, for Azure Arc, the key directory. */
  readonly source?: ManagedIdentitySource.Options | undefined
  /** Client options, e.g. client capabilities. */
  readonly client?: ManagedIdentityClient.Options | undefined
}

/**
 * The client for the identity in context, with the source detected from the environment, an in-memory cache and
 * the Node platform. Swap any piece by building the same graph yourself (see the README).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWithOptions = (options: Options): Layer.Layer<
  ManagedIdentityClient.ManagedIdentityClient,
  ConfigError.ConfigError,
  ManagedIdentity.ManagedIdentity
> =>
  ManagedIdentityClient.layerWithOptions(options.client ?? {}).pipe(
    Layer.provide(ManagedIdentitySource.layerWithOptions(options.source ?? {})),
    Layer.provide(TokenCache.layerMemory),
    Layer.provide(layerPlatform)
  )

/**
 * {@link layerWithOptions} with defaults: the identity in context, the detected source, an in-memory cache.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWithoutIdentity: Layer.Layer<
  ManagedIdentityClient.ManagedIdentityClient,
  ConfigError.ConfigError,
  ManagedIdentity.ManagedIdentity
> = layerWithOptions({})

/**
 * Everything with defaults: the system-assigned identity, the detected source, an in-memory cache.
 *
 * @example
 * ```ts
 * import { ManagedIdentityClient } from "@managed-identity/core"
 * import { NodeManagedIdentity } from "@managed-identity/platform-node"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const client = yield* ManagedIdentityClient.ManagedIdentityClient
 *   const token = yield* client.getToken("https://vault.azure.net")
 *   return token.expiresOn
 * }).pipe(Effect.provide(NodeManagedIdentity.layer))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<ManagedIdentityClient.ManagedIdentityClient, ConfigError.ConfigError> =
  layerWithoutIdentity.pipe(Layer.provide(ManagedIdentity.layerSystemAssigned))

/**
 * Everything with defaults and the identity from `config`, e.g.
 * `NodeManagedIdentity.layerConfig(Config.map(Config.string("AZURE_CLIENT_ID"), ManagedIdentity.clientId))`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  config: Config.Config<ManagedIdentity.Identity>
): Layer.Layer<ManagedIdentityClient.ManagedIdentityClient, ConfigError.ConfigError> =>
  layerWithoutIdentity.pipe(Layer.provide(ManagedIdentity.layerConfig(config)))
