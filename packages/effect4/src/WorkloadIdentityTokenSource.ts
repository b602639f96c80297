/**
 * Tokens for an AKS pod's workload identity (`AZURE_FEDERATED_TOKEN_FILE` + `AZURE_TENANT_ID` + a client id): the
 * service-account token kubelet projects into the pod is exchanged at Microsoft Entra for an access token, in one
 * request and without a discovery request.
 *
 * With identity bindings (opt-in, the Azure SDKs' "Azure proxy" option) the exchange goes to the cluster's token
 * proxy instead, trusting only the CA the cluster names. Trusting one CA under one TLS server name is platform work,
 * so this module states it as a service, {@link TokenProxyHttpClient}, which a platform package provides
 * (`@managed-identity/platform-node` does, with an undici agent).
 *
 * @since 0.1.0
 */
import * as IdentityBindings from "@managed-identity/protocol/sources/IdentityBindings"
import * as WorkloadIdentity from "@managed-identity/protocol/sources/WorkloadIdentity"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import type * as HttpClient from "effect/http/HttpClient"
import * as Layer from "effect/Layer"
import * as SourceService from "./internal/http/sourceService.js"
import * as Results from "./internal/result.js"
import * as ClientAssertion from "./internal/source/clientAssertion.js"
import * as Environment from "./internal/source/environment.js"
import * as IdentityBindingsClients from "./internal/source/identityBindings.js"
import * as LocalHttpClient from "./LocalHttpClient.js"
import * as ManagedIdentity from "./ManagedIdentity.js"
import { fromProblem, type ManagedIdentityError } from "./ManagedIdentityError.js"
import type * as RetryPolicy from "./RetryPolicy.js"
import * as TokenSource from "./TokenSource.js"

/**
 * The retry policy workload identity uses unless a `retrySchedule` replaces it.
 *
 * @since 0.1.0
 * @category constants
 */
export const retryPolicy: RetryPolicy.RetryPolicy = SourceService.retryRules(WorkloadIdentity.facts).retryPolicy

/**
 * The failures workload identity retries (transport failures, timeouts, 408, 429, 500, 502, 503, 504; never `400`
 * or `401`, which is how Entra refuses an assertion); a `retrySchedule` never retries anything else.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isRetryable: (error: ManagedIdentityError) => boolean =
  SourceService.retryRules(WorkloadIdentity.facts).isRetryable

/**
 * Which servers a {@link TokenProxyHttpClient} client trusts: `ca` (PEM), the only authorities trusted (without it,
 * the platform's default trust), and `serverName`, the TLS server name presented (SNI) and checked against the
 * server's certificate (without it, the URL's host).
 *
 * @since 0.1.0
 * @category models
 */
export type Trust = IdentityBindingsClients.Trust

/**
 * An `HttpClient` per {@link Trust} for identity bindings' token proxy: it trusts only the given CA, presents and
 * checks the given server name, and never follows a redirect. A CA that holds no certificate fails with
 * `InvalidIdentity`.
 *
 * @since 0.1.0
 * @category tags
 */
export class TokenProxyHttpClient extends Context.Service<TokenProxyHttpClient, TokenProxyHttpClient.Service>()(
  "@managed-identity/effect4/WorkloadIdentityTokenSource/TokenProxyHttpClient"
) {}

/**
 * @since 0.1.0
 */
export declare namespace TokenProxyHttpClient {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Service {
    readonly forTrust: IdentityBindingsClients.ForTrust
  }
}

/**
 * Identity bindings: `url` (`AZURE_KUBERNETES_TOKEN_PROXY`), `sniName` (`AZURE_KUBERNETES_SNI_NAME`), and at most
 * one of `caFile` (`AZURE_KUBERNETES_CA_FILE`, read for every exchange) and `caData` (`AZURE_KUBERNETES_CA_DATA`).
 *
 * @since 0.1.0
 * @category models
 */
export type TokenProxy = IdentityBindings.TokenProxy

/**
 * @since 0.1.0
 * @category models
 */
export interface Options extends TokenSource.TimingOptions {
  /** `AZURE_TENANT_ID`: a GUID or a domain name. */
  readonly tenantId: string
  /** `AZURE_FEDERATED_TOKEN_FILE`: the projected service-account token, read for every exchange. */
  readonly tokenFile: string
  /** `AZURE_CLIENT_ID`: the client id a system-assigned identity means here; a `ClientId` identity replaces it. */
  readonly clientId?: string | undefined
  /** `AZURE_AUTHORITY_HOST`: an https URL (default `https://login.microsoftonline.com`). */
  readonly authorityHost?: string | undefined
  /** Identity bindings: send the exchange to the cluster's token proxy instead of the authority. */
  readonly tokenProxy?: TokenProxy | undefined
}

/**
 * Builds the source. Each attempt reads the token file (kubelet rotates it) and `POST`s the form `client_id`, `scope`
 * (the resource + `/.default`), `grant_type=client_credentials`, `client_assertion`, `client_assertion_type` and, for a
 * claims challenge, `claims`. The token file (and identity bindings' CA file) is read through the
 * `TokenSource.FileReader` in context (else `TokenSource.makeFileReader`), links followed: only a regular file of at
 * most 64 KiB (the CA file: 1 MiB) is read. A missing, empty, larger or non-regular file (a FIFO, a device such as
 * `/dev/zero`, a directory) is a `SourceUnavailable` naming the variable, and nothing is sent. A resource id or object
 * id, an authority that is not https, a tenant that is neither a GUID nor a domain name, or a bad identity-bindings
 * configuration is an `InvalidIdentity` found when the source is built; every `getToken` then fails with it and nothing
 * is sent.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options
): Effect.Effect<
  TokenSource.TokenSource.Service,
  never,
  HttpClient.HttpClient | ManagedIdentity.ManagedIdentity | FileSystem.FileSystem | TokenProxyHttpClient
> =>
  Effect.gen(function*() {
    const client = yield* LocalHttpClient.routed
    const identity = yield* ManagedIdentity.ManagedIdentity
    const reader = yield* Effect.flatMap(FileSystem.FileSystem, TokenSource.fileReader)
    const proxies = yield* TokenProxyHttpClient
    const checked = WorkloadIdentity.check(options, identity)
    const url = checked._tag === "Ok"
      ? checked.value.url
      : options.authorityHost ?? WorkloadIdentity.defaultAuthorityHost
    const definition = SourceService.definition(WorkloadIdentity.facts, url, options)
    const assertion = (settings: WorkloadIdentity.Checked) =>
      reader.read(options.tokenFile, { maxBytes: WorkloadIdentity.maxTokenFileBytes, followLinks: true }).pipe(
        Effect.mapError((failure) =>
          fromProblem(WorkloadIdentity.tokenFileUnread(settings, options.tokenFile, failure))
        ),
        Effect.flatMap((bytes) => Results.toEffect(WorkloadIdentity.assertion(settings, options.tokenFile, bytes)))
      )
    const attempt = yield* Effect.result(Effect.gen(function*() {
      const settings = yield* Results.toEffect(checked)
      const clientOfAttempt = settings.proxy === undefined
        ? Effect.succeed(client)
        : yield* IdentityBindingsClients.clients(settings.proxy, proxies.forTrust, reader.read)
      return ClientAssertion.attempt(
        definition,
        assertion(settings),
        clientOfAttempt,
        (clientAssertion, request) => WorkloadIdentity.request(settings, clientAssertion, request)
      )
    }))
    return { ...SourceService.fromChecked(definition, identity, attempt), defaultClientId: options.clientId }
  })

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<
  TokenSource.TokenSource,
  never,
  HttpClient.HttpClient | ManagedIdentity.ManagedIdentity | FileSystem.FileSystem | TokenProxyHttpClient
> => Layer.effect(TokenSource.TokenSource, make(options))

/**
 * @since 0.1.0
 * @category models
 */
export interface ConfigOptions extends TokenSource.TimingOptions {
  /**
   * Identity bindings: read `AZURE_KUBERNETES_TOKEN_PROXY`, `AZURE_KUBERNETES_SNI_NAME`, `AZURE_KUBERNETES_CA_FILE`
   * and `AZURE_KUBERNETES_CA_DATA` and send the exchange to the proxy (default `false`: they are ignored, as the
   * Azure SDKs ignore them unless their "Azure proxy" option is set).
   */
  readonly identityBindings?: boolean | undefined
}

const tokenProxyConfig: Config.Config<TokenProxy | undefined> = Config.map(
  Config.all({
    url: Environment.optionalValue(IdentityBindings.variables.url),
    sniName: Environment.optionalValue(IdentityBindings.variables.sniName),
    caFile: Environment.optionalValue(IdentityBindings.variables.caFile),
    caData: Environment.optionalValue(IdentityBindings.variables.caData)
  }),
  (proxy) => Object.values(proxy).some((value) => value !== undefined) ? proxy : undefined
)

/**
 * Reads `AZURE_TENANT_ID`, `AZURE_FEDERATED_TOKEN_FILE`, `AZURE_CLIENT_ID` and `AZURE_AUTHORITY_HOST` (optional)
 * through `Config`, and with `identityBindings` the `AZURE_KUBERNETES_*` variables.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  options: ConfigOptions = {}
): Layer.Layer<
  TokenSource.TokenSource,
  Config.ConfigError,
  HttpClient.HttpClient | ManagedIdentity.ManagedIdentity | FileSystem.FileSystem | TokenProxyHttpClient
> => {
  const { identityBindings, ...timing } = options
  return Config.all({
    tenantId: Environment.required("AZURE_TENANT_ID"),
    tokenFile: Environment.required("AZURE_FEDERATED_TOKEN_FILE"),
    clientId: Environment.optionalValue("AZURE_CLIENT_ID"),
    authorityHost: Environment.optionalValue("AZURE_AUTHORITY_HOST"),
    tokenProxy: identityBindings === true ? tokenProxyConfig : Config.succeed(undefined)
  }).pipe(
    Effect.flatMap((config) => make({ ...timing, ...config })),
    Layer.effect(TokenSource.TokenSource)
  )
}
