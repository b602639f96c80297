/**
 * Node.js layers for Effect 4: the platform services `@managed-identity/effect4` needs (the `fetch` `HttpClient`,
 * `FileSystem`, the Service Fabric pinned TLS client, the identity bindings' token proxy client, the file reader, the
 * host platform) and the whole client with defaults.
 *
 * @since 0.1.0
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as FederatedCredentialTokenSource from "@managed-identity/effect4/FederatedCredentialTokenSource"
import * as LocalHttpClient from "@managed-identity/effect4/LocalHttpClient"
import * as ManagedIdentity from "@managed-identity/effect4/ManagedIdentity"
import * as ManagedIdentityClient from "@managed-identity/effect4/ManagedIdentityClient"
import * as ManagedIdentitySource from "@managed-identity/effect4/ManagedIdentitySource"
import * as ServiceFabricTokenSource from "@managed-identity/effect4/ServiceFabricTokenSource"
import * as TokenCache from "@managed-identity/effect4/TokenCache"
import * as TokenSource from "@managed-identity/effect4/TokenSource"
import * as WorkloadIdentityTokenSource from "@managed-identity/effect4/WorkloadIdentityTokenSource"
import type * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as FileSystem from "effect/FileSystem"
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import * as HttpClient from "effect/http/HttpClient"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as ArcKeyFile from "./internal/arcKeyFile.js"
import * as NodeLocalHttpClient from "./internal/localHttpClient.js"
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
  | TokenSource.FileReader
  | ManagedIdentitySource.HostPlatform
  | LocalHttpClient.LocalHttpClient

/**
 * Effect 4's `FetchHttpClient` reads `Fetch` and `RequestInit` from the context of each request; this client takes
 * the `Fetch` in context when the layer is built, and never follows a redirect, whoever calls it.
 */
const fetchClient: Effect.Effect<HttpClient.HttpClient> = Effect.map(
  Effect.all([FetchHttpClient.Fetch, Layer.build(FetchHttpClient.layer).pipe(Effect.scoped)]),
  ([fetch, context]) =>
    HttpClient.transformResponse(Context.get(context, HttpClient.HttpClient), (response) =>
      response.pipe(
        Effect.provideService(FetchHttpClient.RequestInit, { redirect: "manual" }),
        Effect.provideService(FetchHttpClient.Fetch, fetch)
      ))
)

/** The platform services, built in one step: one layer node instead of a merge of five keeps a cold start cheap. */
const makePlatform: Effect.Effect<Context.Context<Platform>, never, Scope.Scope> = Effect.gen(function*() {
  const http = yield* fetchClient
  const fileSystem = yield* Layer.build(NodeFileSystem.layer)
  const pinned = yield* PinnedHttpClient.make
  const tokenProxy = yield* TokenProxyHttpClient.make
  const local = yield* NodeLocalHttpClient.make
  return Context.add(fileSystem, HttpClient.HttpClient, http).pipe(
    Context.add(ServiceFabricTokenSource.PinnedHttpClient, pinned),
    Context.add(WorkloadIdentityTokenSource.TokenProxyHttpClient, tokenProxy),
    Context.add(TokenSource.FileReader, ArcKeyFile.reader),
    Context.add(ManagedIdentitySource.HostPlatform, process.platform),
    Context.add(LocalHttpClient.LocalHttpClient, local)
  )
})

/**
 * `HttpClient` over Node's built-in `fetch` (redirects never followed; it trusts what Node trusts,
 * `NODE_EXTRA_CA_CERTS` included; a `FetchHttpClient.Fetch` in context when the layer is built replaces it),
 * `NodeFileSystem`, the Service Fabric client pinned to `IDENTITY_SERVER_THUMBPRINT` and the identity bindings' token
 * proxy client trusting only the cluster's CA (both undici, loaded only when used), the file reader for Azure Arc's
 * key and workload identity's token and CA files (`O_NONBLOCK`, `O_NOFOLLOW` for the Arc key, the opened file checked
 * with `fstat`, never more than its bound read), `process.platform`, and the `LocalHttpClient` (Node's `http` with an
 * agent of its own: `http` requests to loopback and link-local hosts that a proxy variable would catch go through it,
 * so they never reach a proxy, whatever `HttpClient` the app provides).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerPlatform: Layer.Layer<Platform> = Layer.effectContext(makePlatform)

/**
 * Options of {@link layerWithOptions}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Timing of the detected source and, for Azure Arc, the key directory. */
  readonly source?: ManagedIdentitySource.Options | undefined
  /** Client options, e.g. client capabilities, or `verifyIdentity: true` to check every token's identity. */
  readonly client?: ManagedIdentityClient.Options | undefined
  /**
   * Use the managed identity as a federated credential of an application: the client's tokens are the application's,
   * got by exchanging the managed identity's token (`FederatedCredentialTokenSource`). `"config"` reads the
   * application from `MANAGED_IDENTITY_FEDERATED_CLIENT_ID`, `MANAGED_IDENTITY_FEDERATED_TENANT_ID`,
   * `MANAGED_IDENTITY_FEDERATED_AUDIENCE` and `AZURE_AUTHORITY_HOST`. Default: the managed identity's own tokens.
   */
  readonly federatedCredential?: FederatedCredentialTokenSource.Options | "config" | undefined
}

/** The federated credential's source over the detected one, as `options` say. */
const federatedSource = (options: FederatedCredentialTokenSource.Options | "config") =>
  options === "config" ? FederatedCredentialTokenSource.layerConfig() : FederatedCredentialTokenSource.layer(options)

/**
 * The client for the identity in context, with the source detected from the environment (or, with
 * `federatedCredential`, an application's tokens got with that source's), an in-memory cache and the Node platform.
 * Swap any piece by building the same graph yourself (see the README).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWithOptions = (options: Options): Layer.Layer<
  ManagedIdentityClient.ManagedIdentityClient,
  Config.ConfigError,
  ManagedIdentity.ManagedIdentity
> =>
  // What `ManagedIdentityClient.layerWithOptions` over the detected source, `TokenCache.layerMemory` and
  // `layerPlatform` builds, in one layer node.
  Layer.effect(
    ManagedIdentityClient.ManagedIdentityClient,
    Effect.gen(function*() {
      const platform = yield* makePlatform
      const identity = yield* ManagedIdentity.ManagedIdentity
      const detected = yield* Layer.build(ManagedIdentitySource.layerWithOptions(options.source ?? {})).pipe(
        Effect.provideContext(Context.add(platform, ManagedIdentity.ManagedIdentity, identity))
      )
      const source = options.federatedCredential === undefined
        ? detected
        : yield* Layer.build(federatedSource(options.federatedCredential)).pipe(
          Effect.provideContext(Context.merge(platform, detected))
        )
      const cache = yield* TokenCache.makeMemory
      return yield* ManagedIdentityClient.make(options.client ?? {}).pipe(
        Effect.provideContext(Context.add(source, TokenCache.TokenCache, cache))
      )
    })
  )

/**
 * {@link layerWithOptions} with defaults: the identity in context, the detected source, an in-memory cache.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWithoutIdentity: Layer.Layer<
  ManagedIdentityClient.ManagedIdentityClient,
  Config.ConfigError,
  ManagedIdentity.ManagedIdentity
> = layerWithOptions({})

/**
 * Everything with defaults: the system-assigned identity, the detected source, an in-memory cache.
 *
 * @example
 * ```ts
 * import { ManagedIdentityClient } from "@managed-identity/effect4"
 * import { NodeManagedIdentity } from "@managed-identity/effect4-node"
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
export const layer: Layer.Layer<ManagedIdentityClient.ManagedIdentityClient, Config.ConfigError> = layerWithoutIdentity
  .pipe(Layer.provide(ManagedIdentity.layerSystemAssigned))

/**
 * A managed identity as a federated credential, with defaults: the application named by
 * `MANAGED_IDENTITY_FEDERATED_CLIENT_ID` and `MANAGED_IDENTITY_FEDERATED_TENANT_ID` (audience
 * `MANAGED_IDENTITY_FEDERATED_AUDIENCE`, default `api://AzureADTokenExchange`; authority `AZURE_AUTHORITY_HOST`), the
 * system-assigned identity as its credential, the detected source, in-memory caches. For a user-assigned identity, use
 * `layerWithOptions({ federatedCredential: "config" })` with its `ManagedIdentity` layer.
 *
 * @example
 * ```ts
 * import { ManagedIdentityClient } from "@managed-identity/effect4"
 * import { NodeManagedIdentity } from "@managed-identity/effect4-node"
 * import { Effect } from "effect"
 *
 * // a token of the application, in its tenant, for Microsoft Graph
 * const program = Effect.gen(function*() {
 *   const client = yield* ManagedIdentityClient.ManagedIdentityClient
 *   return yield* client.getToken("https://graph.microsoft.com")
 * }).pipe(Effect.provide(NodeManagedIdentity.layerFederatedCredential))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFederatedCredential: Layer.Layer<
  ManagedIdentityClient.ManagedIdentityClient,
  Config.ConfigError
> = layerWithOptions({ federatedCredential: "config" }).pipe(Layer.provide(ManagedIdentity.layerSystemAssigned))

/**
 * Everything with defaults and the identity from `config`, e.g.
 * `NodeManagedIdentity.layerConfig(ManagedIdentity.userAssignedConfig("ClientId", "AZURE_CLIENT_ID"))`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  config: Config.Config<ManagedIdentity.Identity>
): Layer.Layer<ManagedIdentityClient.ManagedIdentityClient, Config.ConfigError> =>
  layerWithoutIdentity.pipe(Layer.provide(ManagedIdentity.layerConfig(config)))
