/**
 * Tokens from Azure Machine Learning compute (`MSI_ENDPOINT` + `MSI_SECRET`).
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Environment from "./internal/environment.js"
import * as TokenEndpoint from "./internal/tokenEndpoint.js"
import * as ManagedIdentity from "./ManagedIdentity.js"
import * as RetryPolicy from "./RetryPolicy.js"
import * as TokenSource from "./TokenSource.js"

/**
 * @since 0.1.0
 * @category constants
 */
export const apiVersion = "2017-09-01"

/**
 * The default retry policy of Azure Machine Learning.
 *
 * @since 0.1.0
 * @category constants
 */
export const retryPolicy: RetryPolicy.RetryPolicy = RetryPolicy.defaultPolicy

/**
 * @since 0.1.0
 * @category models
 */
export interface Options extends TokenEndpoint.TimingOptions {
  /** `MSI_ENDPOINT`: an http URL on a loopback host. */
  readonly endpoint: string
  /** `MSI_SECRET`, sent as `secret`. */
  readonly secret: Redacted.Redacted<string>
  /** `DEFAULT_IDENTITY_CLIENT_ID`: sent as `clientid` for the system-assigned identity when set. */
  readonly defaultClientId?: string | undefined
}

/**
 * Builds the source. A user-assigned identity is selected by client id (`clientid`); a resource id or object id is
 * refused with `InvalidIdentity` before anything is sent.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options
): Effect.Effect<TokenSource.TokenSource.Service, never, HttpClient.HttpClient | ManagedIdentity.ManagedIdentity> =>
  Effect.map(Effect.all([HttpClient.HttpClient, ManagedIdentity.ManagedIdentity]), ([client, identity]) => {
    const clientId = identity._tag === "ClientId" ? identity.id : options.defaultClientId
    return TokenEndpoint.makeSimpleSource(client, {
      kind: "MachineLearning",
      url: options.endpoint,
      identity,
      capabilities: TokenSource.noCapabilities,
      timing: options,
      buildRequest: (request) =>
        identity._tag === "ResourceId" || identity._tag === "ObjectId"
          ? Effect.fail(TokenEndpoint.unsupportedIdentity("MachineLearning", identity))
          : Effect.map(
            TokenEndpoint.secretEndpoint("MachineLearning", "MSI_ENDPOINT", options.endpoint, { pinned: false }),
            (url) =>
              HttpClientRequest.get(url, {
                urlParams: {
                  "api-version": apiVersion,
                  resource: request.resource,
                  ...(clientId === undefined ? {} : { clientid: clientId })
                },
                headers: { secret: Redacted.value(options.secret), Metadata: "true" }
              })
          )
    })
  })

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
  timing: TokenEndpoint.TimingOptions = {}
): Layer.Layer<
  TokenSource.TokenSource,
  ConfigError.ConfigError,
  HttpClient.HttpClient | ManagedIdentity.ManagedIdentity
> =>
  Layer.effect(
    TokenSource.TokenSource,
    Effect.flatMap(
      Config.all({
        endpoint: Environment.required("MSI_ENDPOINT"),
        secret: Environment.requiredSecret("MSI_SECRET"),
        defaultClientId: Environment.optional("DEFAULT_IDENTITY_CLIENT_ID")
      }),
      ({ defaultClientId, ...config }) =>
        make({ ...timing, ...config, defaultClientId: Option.getOrUndefined(defaultClientId) })
    )
  )
