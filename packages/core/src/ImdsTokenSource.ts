/**
 * Tokens from the Azure Instance Metadata Service (VMs, VM scale sets, AKS, Container Instances).
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as EndpointRules from "./internal/endpointRules.js"
import * as Environment from "./internal/environment.js"
import * as HttpSource from "./internal/httpSource.js"
import * as Selector from "./internal/selector.js"
import * as Transport from "./internal/transport.js"
import type * as ManagedIdentity from "./ManagedIdentity.js"
import * as RetryPolicy from "./RetryPolicy.js"
import * as TokenSource from "./TokenSource.js"

/**
 * The IMDS host when `AZURE_POD_IDENTITY_AUTHORITY_HOST` is not set.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultAuthorityHost = "http://169.254.169.254"

/**
 * @since 0.1.0
 * @category constants
 */
export const apiVersion = "2018-02-01"

/**
 * The retry policy IMDS uses unless a `retrySchedule` replaces it.
 *
 * @since 0.1.0
 * @category constants
 */
export const retryPolicy: RetryPolicy.RetryPolicy = RetryPolicy.imds

/**
 * The failures IMDS retries; a `retrySchedule` never retries anything else.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isRetryable = RetryPolicy.isRetryableImds

/**
 * @since 0.1.0
 * @category models
 */
export interface Options extends TokenSource.TimingOptions {
  /** The IMDS host (default `http://169.254.169.254`); leading and trailing `/` are ignored. */
  readonly authorityHost?: string | undefined
}

/**
 * The token URL for an authority host: `<host>/metadata/identity/oauth2/token`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const tokenUrl = (authorityHost: string): string =>
  `${authorityHost.replace(/^\/+|\/+$/g, "")}/metadata/identity/oauth2/token`

/**
 * Builds the source. An authority host that does not make an http or https URL, or holds a user name or password,
 * is refused with `InvalidIdentity` before anything is sent.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<TokenSource.TokenSource.Service, never, HttpClient.HttpClient | ManagedIdentity.ManagedIdentity> => {
  const url = tokenUrl(options.authorityHost ?? defaultAuthorityHost)
  return HttpSource.make(
    { ...Transport.endpoint("Imds", url), retryPolicy, isRetryable, timing: options },
    (identity) =>
      Either.map(
        EndpointRules.publicEndpoint("Imds", "AZURE_POD_IDENTITY_AUTHORITY_HOST", url),
        () => (request) =>
          HttpClientRequest.get(url, {
            urlParams: { "api-version": apiVersion, resource: request.resource, ...Selector.params("Imds", identity) },
            headers: { Metadata: "true" }
          })
      )
  )
}

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<TokenSource.TokenSource, never, HttpClient.HttpClient | ManagedIdentity.ManagedIdentity> =>
  Layer.effect(TokenSource.TokenSource, make(options))

/**
 * The authority host from `AZURE_POD_IDENTITY_AUTHORITY_HOST` (read through `Config`), default IMDS otherwise.
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
  Environment.optional("AZURE_POD_IDENTITY_AUTHORITY_HOST").pipe(
    Effect.flatMap((host) => make({ ...timing, authorityHost: Option.getOrUndefined(host) })),
    Layer.effect(TokenSource.TokenSource)
  )
