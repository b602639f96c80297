/**
 * Tokens from Azure Machine Learning compute (`MSI_ENDPOINT` + `MSI_SECRET`).
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as EndpointRules from "./internal/endpointRules.js"
import * as Environment from "./internal/environment.js"
import * as HttpSource from "./internal/httpSource.js"
import * as Transport from "./internal/transport.js"
import type * as ManagedIdentity from "./ManagedIdentity.js"
import * as RetryPolicy from "./RetryPolicy.js"
import * as TokenSource from "./TokenSource.js"

/**
 * @since 0.1.0
 * @category constants
 */
export const apiVersion = "2017-09-01"

/**
 * The retry policy Azure Machine Learning uses unless a `retrySchedule` replaces it.
 *
 * @since 0.1.0
 * @category constants
 */
export const retryPolicy: RetryPolicy.RetryPolicy = RetryPolicy.defaultPolicy

/**
 * The failures Azure Machine Learning retries; a `retrySchedule` never retries anything else.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isRetryable = RetryPolicy.isRetryableDefault

/**
 * @since 0.1.0
 * @category models
 */
export interface Options extends TokenSource.TimingOptions {
  /** `MSI_ENDPOINT`: an http URL on a loopback host. */
  readonly endpoint: string
  /** `MSI_SECRET`, sent as `secret`. */
  readonly secret: Redacted.Redacted<string>
  /** `DEFAULT_IDENTITY_CLIENT_ID`: sent as `clientid` for the system-assigned identity when set. */
  readonly defaultClientId?: string | undefined
}

/**
 * Builds the source. A user-assigned identity is selected by client id (`clientid`); a resource id or object id is
 * refused with `InvalidIdentity` before anything is sent, and so are an endpoint the secret may not be sent to and a
 * secret a header cannot carry.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options
): Effect.Effect<TokenSource.TokenSource.Service, never, HttpClient.HttpClient | ManagedIdentity.ManagedIdentity> =>
  HttpSource.make(
    { ...Transport.endpoint("MachineLearning", options.endpoint), retryPolicy, isRetryable, timing: options },
    (identity) =>
      Either.all([
        EndpointRules.acceptIdentity("MachineLearning", identity, ["SystemAssigned", "ClientId"]),
        EndpointRules.secretEndpoint("MachineLearning", "MSI_ENDPOINT", options.endpoint, { pinned: false }),
        EndpointRules.secretHeader("MachineLearning", "MSI_SECRET", options.secret)
      ]).pipe(Either.map(([, url, secret]) => {
        const clientId = identity._tag === "ClientId" ? identity.id : options.defaultClientId
        return (request) =>
          HttpClientRequest.get(url, {
            urlParams: {
              "api-version": apiVersion,
              resource: request.resource,
              ...(clientId === undefined ? {} : { clientid: clientId })
            },
            headers: { secret: Redacted.value(secret), Metadata: "true" }
          })
      }))
  )

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<TokenSource.TokenSource, never, HttpClient.HttpClient | ManagedIdentity.ManagedIdentity> =>
  Layer.effect(TokenSource.TokenSource, make(options))

/**
 * Reads `MSI_ENDPOINT`, `MSI_SECRET` and `DEFAULT_IDENTITY_CLIENT_ID` (optional) through `Config`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  timing: TokenSource.TimingOptions = {}
): Layer.Layer<
  TokenSource.TokenSource,
  ConfigError.ConfigError,
  HttpClient.HttpClient | ManagedIdentity.ManagedIdentity
> =>
  Config.all({
    endpoint: Environment.required("MSI_ENDPOINT"),
    secret: Environment.requiredSecret("MSI_SECRET"),
    defaultClientId: Config.map(Environment.optional("DEFAULT_IDENTITY_CLIENT_ID"), Option.getOrUndefined)
  }).pipe(
    Effect.flatMap((config) => make({ ...timing, ...config })),
    Layer.effect(TokenSource.TokenSource)
  )
