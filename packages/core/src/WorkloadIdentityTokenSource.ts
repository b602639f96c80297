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
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Environment from "./internal/environment.js"
import * as HttpSource from "./internal/httpSource.js"
import * as TokenProxyRules from "./internal/tokenProxy.js"
import * as WorkloadIdentity from "./internal/workloadIdentity.js"
import * as ManagedIdentity from "./ManagedIdentity.js"
import type { InvalidIdentity, ManagedIdentityError } from "./ManagedIdentityError.js"
import * as RetryPolicy from "./RetryPolicy.js"
import type { TokenRequest } from "./TokenRequest.js"
import * as TokenSource from "./TokenSource.js"

/**
 * The authority when `AZURE_AUTHORITY_HOST` is not set.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultAuthorityHost = "https://login.microsoftonline.com"

/**
 * The `client_assertion_type` of the exchange.
 *
 * @since 0.1.0
 * @category constants
 */
export const clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

/**
 * The retry policy workload identity uses unless a `retrySchedule` replaces it.
 *
 * @since 0.1.0
 * @category constants
 */
export const retryPolicy: RetryPolicy.RetryPolicy = RetryPolicy.defaultPolicy

/**
 * The failures workload identity retries (transport failures, timeouts, 408, 429, 500, 502, 503, 504; never `400`
 * or `401`, which is how Entra refuses an assertion); a `retrySchedule` never retries anything else.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isRetryable = RetryPolicy.isRetryableDefault

/**
 * Which servers a {@link TokenProxyHttpClient} client trusts: `ca` (PEM), the only authorities trusted (without it,
 * the platform's default trust), and `serverName`, the TLS server name presented (SNI) and checked against the
 * server's certificate (without it, the URL's host).
 *
 * @since 0.1.0
 * @category models
 */
export type Trust = TokenProxyRules.Trust

/**
 * An `HttpClient` per {@link Trust} for identity bindings' token proxy: it trusts only the given CA, presents and
 * checks the given server name, and never follows a redirect. A CA that holds no certificate fails with
 * `InvalidIdentity`.
 *
 * @since 0.1.0
 * @category tags
 */
export class TokenProxyHttpClient extends Context.Tag(
  "@managed-identity/core/WorkloadIdentityTokenSource/TokenProxyHttpClient"
)<TokenProxyHttpClient, TokenProxyHttpClient.Service>() {}

/**
 * @since 0.1.0
 */
export declare namespace TokenProxyHttpClient {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Service {
    readonly forTrust: TokenProxyRules.ForTrust
  }
}

/**
 * Identity bindings: `url` (`AZURE_KUBERNETES_TOKEN_PROXY`), `sniName` (`AZURE_KUBERNETES_SNI_NAME`), and at most
 * one of `caFile` (`AZURE_KUBERNETES_CA_FILE`, read for every exchange) and `caData` (`AZURE_KUBERNETES_CA_DATA`).
 *
 * @since 0.1.0
 * @category models
 */
export type TokenProxy = TokenProxyRules.TokenProxy

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
 * Checks a tenant: a GUID or a domain-like name (`contoso.onmicrosoft.com`), so it cannot change the token path.
 *
 * @since 0.1.0
 * @category constructors
 */
export const checkTenant: (tenantId: string) => Either.Either<string, InvalidIdentity> = WorkloadIdentity.checkTenant

/**
 * The token URL for an authority and a tenant, `<authority>/<tenant>/oauth2/v2.0/token`, once both are checked: the
 * authority must be an https URL without userinfo, query or fragment (a trailing `/` is ignored).
 *
 * @since 0.1.0
 * @category constructors
 */
export const tokenUrl: (authorityHost: string, tenantId: string) => Either.Either<URL, InvalidIdentity> =
  WorkloadIdentity.tokenUrl

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
    const client = yield* HttpClient.HttpClient
    const identity = yield* ManagedIdentity.ManagedIdentity
    const reader = yield* Effect.flatMap(FileSystem.FileSystem, TokenSource.fileReader)
    const proxies = yield* TokenProxyHttpClient
    const authorityHost = options.authorityHost ?? defaultAuthorityHost
    const checked = Either.gen(function*() {
      const clientId = yield* WorkloadIdentity.clientIdOf(identity, options.clientId)
      const authority = yield* tokenUrl(authorityHost, options.tenantId)
      const proxy = options.tokenProxy === undefined
        ? Option.none<TokenProxyRules.Checked>()
        : Option.some(yield* TokenProxyRules.check(options.tokenProxy, authority.pathname))
      return { clientId, proxy, url: Option.match(proxy, { onNone: () => authority.href, onSome: ({ url }) => url }) }
    })
    const definition: HttpSource.Definition = {
      kind: "WorkloadIdentity",
      url: Either.match(checked, { onLeft: () => authorityHost, onRight: ({ url }) => url }),
      retryPolicy,
      isRetryable,
      timing: options
    }
    const form = (clientId: string, assertion: Redacted.Redacted<string>, request: TokenRequest) =>
      HttpClientRequest.post(definition.url, { headers: { accept: "application/json" } }).pipe(
        HttpClientRequest.bodyUrlParams({
          client_id: clientId,
          scope: `${request.resource}/.default`,
          grant_type: "client_credentials",
          client_assertion_type: clientAssertionType,
          client_assertion: Redacted.value(assertion),
          ...(request.claims === undefined ? {} : { claims: request.claims })
        })
      )
    const exchange = yield* Either.match(checked, {
      onLeft: (error) => Effect.succeed(Either.left<ManagedIdentityError>(error)),
      onRight: ({ clientId, proxy }) =>
        Effect.map(
          Option.match(proxy, {
            onNone: () => Effect.succeed(Effect.succeed(client)),
            onSome: (checkedProxy) => TokenProxyRules.clients(checkedProxy, proxies.forTrust, reader.read)
          }),
          (clientOfAttempt) =>
            Either.right(HttpSource.preparedRequest(definition, (request) =>
              Effect.zipWith(
                WorkloadIdentity.readAssertion(reader.read, options.tokenFile, definition.url),
                clientOfAttempt,
                (assertion, attemptClient) => ({
                  client: attemptClient,
                  request: form(clientId, assertion, request),
                  secretsInBody: [assertion]
                })
              )))
        )
    })
    return HttpSource.fromChecked(definition, identity, exchange)
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

const optionalVariable = (name: string) => Config.map(Environment.optional(name), Option.getOrUndefined)

const tokenProxyConfig: Config.Config<TokenProxy | undefined> = Config.map(
  Config.all({
    url: optionalVariable(TokenProxyRules.variables.url),
    sniName: optionalVariable(TokenProxyRules.variables.sniName),
    caFile: optionalVariable(TokenProxyRules.variables.caFile),
    caData: optionalVariable(TokenProxyRules.variables.caData)
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
  ConfigError.ConfigError,
  HttpClient.HttpClient | ManagedIdentity.ManagedIdentity | FileSystem.FileSystem | TokenProxyHttpClient
> => {
  const { identityBindings, ...timing } = options
  return Config.all({
    tenantId: Environment.required("AZURE_TENANT_ID"),
    tokenFile: Environment.required("AZURE_FEDERATED_TOKEN_FILE"),
    clientId: optionalVariable("AZURE_CLIENT_ID"),
    authorityHost: optionalVariable("AZURE_AUTHORITY_HOST"),
    tokenProxy: identityBindings === true ? tokenProxyConfig : Config.succeed(undefined)
  }).pipe(
    Effect.flatMap((config) => make({ ...timing, ...config })),
    Layer.effect(TokenSource.TokenSource)
  )
}
