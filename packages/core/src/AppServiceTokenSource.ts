/**
 * Tokens from App Service, Azure Functions and Azure Automation (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`).
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Environment from "./internal/environment.js"
import * as Selector from "./internal/selector.js"
import * as TokenEndpoint from "./internal/tokenEndpoint.js"
import * as ManagedIdentity from "./ManagedIdentity.js"
import * as RetryPolicy from "./RetryPolicy.js"
import * as TokenSource from "./TokenSource.js"

/**
 * @since 0.1.0
 * @category constants
 */
export const apiVersion = "2019-08-01"

/**
 * The default retry policy of App Service.
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
  /** `IDENTITY_ENDPOINT`: an http URL on a loopback host. */
  readonly endpoint: string
  /** `IDENTITY_HEADER`, sent as `X-IDENTITY-HEADER`. */
  readonly identityHeader: Redacted.Redacted<string>
}

const selectorNames: Selector.SelectorNames = { ClientId: "client_id", ResourceId: "mi_res_id", ObjectId: "object_id" }

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options
): Effect.Effect<TokenSource.TokenSource.Service, never, HttpClient.HttpClient | ManagedIdentity.ManagedIdentity> =>
  Effect.map(Effect.all([HttpClient.HttpClient, ManagedIdentity.ManagedIdentity]), ([client, identity]) => {
    return TokenEndpoint.makeSimpleSource(client, {
      kind: "AppService",
      url: options.endpoint,
      identity,
      capabilities: TokenSource.noCapabilities,
      timing: options,
      buildRequest: (request) =>
        Effect.map(
          TokenEndpoint.secretEndpoint("AppService", "IDENTITY_ENDPOINT", options.endpoint, { pinned: false }),
          (url) =>
            HttpClientRequest.get(url, {
              urlParams: {
                "api-version": apiVersion,
                resource: request.resource,
                ...Selector.selectorParams(identity, selectorNames)
              },
              headers: { "X-IDENTITY-HEADER": Redacted.value(options.identityHeader), Metadata: "true" }
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
 * Reads `IDENTITY_ENDPOINT` and `IDENTITY_HEADER` through `Config`.
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
        endpoint: Environment.required("IDENTITY_ENDPOINT"),
        identityHeader: Environment.requiredSecret("IDENTITY_HEADER")
      }),
      (config) => make({ ...timing, ...config })
    )
  )
