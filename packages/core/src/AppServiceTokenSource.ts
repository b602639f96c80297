/**
 * Tokens from App Service, Azure Functions and Azure Automation (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`).
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
import * as Redacted from "effect/Redacted"
import * as EndpointRules from "./internal/endpointRules.js"
import * as Environment from "./internal/environment.js"
import * as HttpSource from "./internal/httpSource.js"
import * as Selector from "./internal/selector.js"
import * as Transport from "./internal/transport.js"
import type * as ManagedIdentity from "./ManagedIdentity.js"
import * as RetryPolicy from "./RetryPolicy.js"
import * as TokenSource from "./TokenSource.js"

/**
 * @since 0.1.0
 * @category constants
 */
export const apiVersion = "2019-08-01"

/**
 * The retry policy App Service uses unless a `retrySchedule` replaces it.
 *
 * @since 0.1.0
 * @category constants
 */
export const retryPolicy: RetryPolicy.RetryPolicy = RetryPolicy.defaultPolicy

/**
 * The failures App Service retries; a `retrySchedule` never retries anything else.
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
  /** `IDENTITY_ENDPOINT`: an http URL on a loopback host. */
  readonly endpoint: string
  /** `IDENTITY_HEADER`, sent as `X-IDENTITY-HEADER`. */
  readonly identityHeader: Redacted.Redacted<string>
}

/**
 * Builds the source. An endpoint the secret may not be sent to, and a secret a header cannot carry, are refused with
 * `InvalidIdentity` before anything is sent.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options
): Effect.Effect<TokenSource.TokenSource.Service, never, HttpClient.HttpClient | ManagedIdentity.ManagedIdentity> =>
  HttpSource.make(
    { ...Transport.endpoint("AppService", options.endpoint), retryPolicy, isRetryable, timing: options },
    (identity) =>
      Either.all([
        EndpointRules.secretEndpoint("AppService", "IDENTITY_ENDPOINT", options.endpoint, { pinned: false }),
        EndpointRules.secretHeader("AppService", "IDENTITY_HEADER", options.identityHeader)
      ]).pipe(Either.map(([url, secret]) => (request) =>
        HttpClientRequest.get(url, {
          urlParams: {
            "api-version": apiVersion,
            resource: request.resource,
            ...Selector.params("AppService", identity)
          },
          headers: { "X-IDENTITY-HEADER": Redacted.value(secret), Metadata: "true" }
        })
      ))
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
 * Reads `IDENTITY_ENDPOINT` and `IDENTITY_HEADER` through `Config`.
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
    endpoint: Environment.required("IDENTITY_ENDPOINT"),
    identityHeader: Environment.requiredSecret("IDENTITY_HEADER")
  }).pipe(
    Effect.flatMap((config) => make({ ...timing, ...config })),
    Layer.effect(TokenSource.TokenSource)
  )
