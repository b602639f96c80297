/**
 * A managed identity as a federated credential of an application (Microsoft Entra's "configure an application to trust
 * a managed identity"), usually an application in another tenant. Two hops: the managed identity's token for the
 * token-exchange audience (`api://AzureADTokenExchange`) from the `TokenSource` this layer is given (IMDS, App
 * Service, any source), then that token as the `client_assertion` of a client-credentials exchange at
 * `<authority>/<tenant>/oauth2/v2.0/token` for the application's client id — the exchange workload identity sends.
 *
 * The layer provides a `TokenSource` over a `TokenSource`, so `ManagedIdentityClient` caches, single-flights and
 * refreshes the application's tokens as any other. The managed identity's token is itself held by a private
 * `ManagedIdentityClient` over an in-memory cache: cached and refreshed like any token, never persisted, `Redacted`,
 * never logged, and scrubbed from any text an endpoint answers.
 *
 * @since 0.1.0
 */
import * as ClientAssertion from "@managed-identity/protocol/sources/ClientAssertion"
import * as FederatedCredential from "@managed-identity/protocol/sources/FederatedCredential"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as HttpClient from "effect/http/HttpClient"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as SourceService from "./internal/http/sourceService.js"
import * as Exchange from "./internal/source/clientAssertion.js"
import * as Environment from "./internal/source/environment.js"
import * as ManagedIdentity from "./ManagedIdentity.js"
import * as ManagedIdentityClient from "./ManagedIdentityClient.js"
import type { ManagedIdentityError } from "./ManagedIdentityError.js"
import type * as RetryPolicy from "./RetryPolicy.js"
import * as TokenCache from "./TokenCache.js"
import * as TokenSource from "./TokenSource.js"

/**
 * The token-exchange audience of Azure's public cloud (the default): `api://AzureADTokenExchange`.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultAudience: string = FederatedCredential.defaultAudience

/**
 * The token-exchange audience of each cloud: `public` (`api://AzureADTokenExchange`), `usGovernment`
 * (`api://AzureADTokenExchangeUSGov`) and `china` (`api://AzureADTokenExchangeChina`).
 *
 * @since 0.1.0
 * @category constants
 */
export const audiences: typeof FederatedCredential.audiences = FederatedCredential.audiences

/**
 * The retry policy of the exchange (hop 2) unless a `retrySchedule` replaces it; the managed identity's token (hop 1)
 * is retried by its own source.
 *
 * @since 0.1.0
 * @category constants
 */
export const retryPolicy: RetryPolicy.RetryPolicy = SourceService.retryRules(FederatedCredential.facts).retryPolicy

/**
 * The failures the exchange retries (transport failures, timeouts, 408, 429, 500, 502, 503, 504; never `400` or
 * `401`, which is how Entra refuses an assertion).
 *
 * @since 0.1.0
 * @category predicates
 */
export const isRetryable: (error: ManagedIdentityError) => boolean =
  SourceService.retryRules(FederatedCredential.facts).isRetryable

/**
 * @since 0.1.0
 * @category models
 */
export interface Options extends TokenSource.TimingOptions {
  /** The application's (client) id: a GUID. */
  readonly clientId: string
  /** The application's tenant: a GUID or a domain name, usually not the managed identity's. */
  readonly tenantId: string
  /** The audience of the managed identity's token (default `api://AzureADTokenExchange`; see {@link audiences}). */
  readonly audience?: string | undefined
  /** An https URL (default `https://login.microsoftonline.com`). */
  readonly authorityHost?: string | undefined
}

/**
 * Builds the source over the managed identity's `TokenSource` in context. A `getToken` first takes the managed
 * identity's token for the audience from its private client (from its cache, or one request to the managed identity
 * source, shared by concurrent callers; its failure is the error, not retried again), then `POST`s the form
 * `client_id`, `scope` (the resource + `/.default`), `grant_type=client_credentials`, `client_assertion_type`,
 * `client_assertion` and, for a claims challenge, `claims`, retried by {@link retryPolicy}. Its `identity` is the
 * application, as a `ClientId` identity, so its tokens never share a cache key with a managed identity's. A client id
 * that is not a GUID, a tenant that is neither a GUID nor a domain name, an authority that is not https or an empty
 * audience is an `InvalidIdentity` found when the source is built; every `getToken` then fails with it and nothing is
 * sent.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options
): Effect.Effect<
  TokenSource.TokenSource.Service,
  never,
  TokenSource.TokenSource | HttpClient.HttpClient | Scope.Scope
> =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const managedIdentity = yield* ManagedIdentityClient.make().pipe(
      Effect.provideServiceEffect(TokenCache.TokenCache, TokenCache.makeMemory)
    )
    const checked = FederatedCredential.check(options)
    const url = checked._tag === "Ok"
      ? checked.value.url
      : options.authorityHost ?? ClientAssertion.defaultAuthorityHost
    const definition = SourceService.definition(FederatedCredential.facts, url, options)
    const application = ManagedIdentity.clientId(checked._tag === "Ok" ? checked.value.clientId : options.clientId)
    const assertion = (audience: string) =>
      Effect.map(managedIdentity.getToken(audience), (token) => Redacted.value(token.token))
    const exchange = SourceService.make(definition, application, checked, (settings) =>
      Exchange.attempt(
        definition,
        assertion(settings.audience),
        Effect.succeed(client),
        (clientAssertion, request) => FederatedCredential.request(settings, clientAssertion, request)
      ))
    if (checked._tag === "Err") return exchange
    return TokenSource.TokenSource.of({
      ...exchange,
      getToken: (request) => Effect.andThen(assertion(checked.value.audience), exchange.getToken(request))
    })
  })

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<TokenSource.TokenSource, never, TokenSource.TokenSource | HttpClient.HttpClient> =>
  Layer.effect(TokenSource.TokenSource, make(options))

/**
 * The application as the environment names it: `MANAGED_IDENTITY_FEDERATED_CLIENT_ID`,
 * `MANAGED_IDENTITY_FEDERATED_TENANT_ID`, `MANAGED_IDENTITY_FEDERATED_AUDIENCE` (optional) and `AZURE_AUTHORITY_HOST`
 * (optional).
 *
 * @since 0.1.0
 * @category config
 */
export const config: Config.Config<Omit<Options, keyof TokenSource.TimingOptions>> = Config.all({
  clientId: Environment.required(FederatedCredential.variables.clientId),
  tenantId: Environment.required(FederatedCredential.variables.tenantId),
  audience: Environment.optionalValue(FederatedCredential.variables.audience),
  authorityHost: Environment.optionalValue(FederatedCredential.variables.authorityHost)
})

/**
 * The source over the application {@link config} reads.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  options: TokenSource.TimingOptions = {}
): Layer.Layer<TokenSource.TokenSource, Config.ConfigError, TokenSource.TokenSource | HttpClient.HttpClient> =>
  config.pipe(
    Effect.flatMap((application) => make({ ...options, ...application })),
    Layer.effect(TokenSource.TokenSource)
  )
